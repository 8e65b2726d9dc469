/* paravirt = kvm: the part of the KVM paravirtual ABI an hvm domain gets
 * (Linux Documentation/virt/kvm/x86/cpuid.rst and msr.rst). CPUID's
 * leaves are vmm/cpuid.c's (cpuid_kvm_features says what is offered);
 * this is what they promise: kvmclock, the wall clock MSR 4b564d00h and
 * the per-vCPU system time MSR 4b564d01h, published with the pvclock code
 * Xen PVH domains use (vmm/pvclock.h). Nothing else of KVM's (async page
 * faults, steal time, PV EOI, PV unhalt, PV IPIs and TLB flushes, the
 * hypercalls) is offered, so none of its MSRs exists (docs/paravirt.md). */
#ifndef ZAZEN_KVM_H
#define ZAZEN_KVM_H

#include "types.h"

struct vcpu;
struct domain;

#define MSR_KVM_WALL_CLOCK_NEW 0x4b564d00
#define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01

/* RDMSR/WRMSR of the two kvmclock MSRs; false (#GP) in a domain without
 * paravirt = kvm, as on a CPU without them. */
bool kvm_msr_read(struct vcpu *v, u32 msr, u64 *value);
bool kvm_msr_write(struct vcpu *v, u32 msr, u64 value);

/* RESET and INIT (vcpu_reset): no system time area registered (the wall
 * clock MSR is the domain's: platform_reset clears it). */
void kvm_vcpu_reset(struct vcpu *v);
/* After vcpu_move_tsc: the vCPU's time info follows its TSC. */
void kvm_tsc_moved(struct vcpu *v);

#endif
