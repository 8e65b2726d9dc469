/* What CPUID tells a guest: the host's answer, filtered to the features
 * Zazen virtualizes, plus the hypervisor leaves. Pure given the host's
 * answers, so the filter is unit-tested on the host. */
#ifndef ZAZEN_CPUID_H
#define ZAZEN_CPUID_H

#include "x86.h"

#define CPUID_HYPERVISOR_BASE 0x40000000
#define ZAZEN_CPUID_SIGNATURE "ZazenZazenZa"

/* host(leaf, subleaf) gives the real CPU's answer. */
struct cpuid_regs cpuid_guest_view(u32 leaf, u32 subleaf, unsigned vcpu_id,
                                   struct cpuid_regs (*host)(u32 leaf, u32 subleaf));

#endif
