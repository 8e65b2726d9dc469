/* What CPUID tells a guest: the host's answer, filtered to the features
 * Zazen virtualizes, plus the hypervisor leaves. Pure given the host's
 * answers, so the filter is unit-tested on the host. */
#ifndef ZAZEN_CPUID_H
#define ZAZEN_CPUID_H

#include "x86.h"

#define CPUID_HYPERVISOR_BASE 0x40000000
#define ZAZEN_CPUID_SIGNATURE "ZazenZazenZa"

/* Leaf 15h's crystal is the virtual local APIC timer's input clock
 * (devmodel/lapic.h LAPIC_TIMER_HZ): Linux sets its APIC timer period from
 * it (SDM 2A CPUID leaf 15H; SDM 3A 11.5.4). */
#define CPUID_CRYSTAL_HZ 1000000000u
#define CPUID_TSC_LEAF 0x15

struct cpuid_view {
    unsigned vcpu_id;
    u64 tsc_khz; /* the guest's TSC rate, reported in leaf 15h on Intel; 0: unknown */
    /* The real CPU's answer. */
    struct cpuid_regs (*host)(u32 leaf, u32 subleaf);
};

struct cpuid_regs cpuid_guest_view(u32 leaf, u32 subleaf, const struct cpuid_view *view);

#endif
