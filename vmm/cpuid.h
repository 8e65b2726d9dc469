/* What CPUID tells a guest: the host's answer, filtered to the features
 * Zazen virtualizes, plus the hypervisor leaves. Pure given the host's
 * answers, so the filter is unit-tested on the host. */
#ifndef ZAZEN_CPUID_H
#define ZAZEN_CPUID_H

#include "cpu_rules.h"
#include "x86.h"

struct vcpu;

#define CPUID_HYPERVISOR_BASE 0x40000000
#define ZAZEN_CPUID_SIGNATURE "ZazenZazenZa"

/* The KVM interface of `paravirt = kvm` (Linux Documentation/virt/kvm/
 * x86/cpuid.rst): 4000_0000h EAX the last KVM leaf, EBX:ECX:EDX
 * "KVMKVMKVM\0\0\0"; 4000_0001h EAX the features, EDX the hints. Only
 * what vmm/kvm.c implements is announced: kvmclock at MSRs 4b564d00h/
 * 4b564d01h (CLOCKSOURCE2, bit 3) and, where Zazen's TSC is invariant,
 * the pvclock's stable flag (CLOCKSOURCE_STABLE_BIT, bit 24). */
#define KVM_CPUID_SIGNATURE "KVMKVMKVM\0\0\0"
#define KVM_FEATURE_CLOCKSOURCE2 BIT(3)
#define KVM_FEATURE_CLOCKSOURCE_STABLE_BIT BIT(24)

/* Leaf 15h's crystal is the virtual local APIC timer's input clock
 * (devmodel/lapic.h LAPIC_TIMER_HZ): Linux sets its APIC timer period from
 * it (SDM 2A CPUID leaf 15H; SDM 3A 11.5.4). */
#define CPUID_CRYSTAL_HZ 1000000000u
#define CPUID_TSC_LEAF 0x15

struct cpuid_view {
    unsigned vcpu_id;
    /* The domain's vCPUs (0 counts as 1): with several, the topology
     * leaves describe one package of that many cores, one thread each,
     * APIC ID = vCPU number (docs/smp.md), as the MADT and SMBIOS do. */
    unsigned vcpu_count;
    u64 tsc_khz; /* the guest's TSC rate, reported in leaf 15h on Intel; 0: unknown */
    /* The real CPU's answer. */
    struct cpuid_regs (*host)(u32 leaf, u32 subleaf);
    /* XCR0 components Zazen switches for guests (0: XSAVE is not offered)
     * and, for the leaves that show them, the vCPU's XCR0 and CR4.OSXSAVE. */
    u64 xcr0_supported;
    u64 xcr0;
    bool osxsave;
    /* IA32_APIC_BASE.EN is clear: CPUID.1:EDX.APIC reads 0 (SDM 3A 11.4.3). */
    bool apic_disabled;
    /* The vCPU's IA32_MISC_ENABLE (vmm/msr.c), whose bits 22 and 34 change
     * CPUID on Intel CPUs (SDM 4 Table 2-2). */
    u64 misc_enable;
    /* The local APIC offers x2APIC mode: CPUID.1:ECX.x2APIC (bit 21). */
    bool x2apic;
    /* paravirt = kvm: the hypervisor leaves are KVM's, not Zazen's. */
    bool kvm;
};

/* IA32_MISC_ENABLE bits that change what CPUID reports (SDM 4 Table 2-2,
 * Intel only): "Limit CPUID Maxval" makes leaf 0 report at most 2, and
 * "XD Bit Disable" clears CPUID.80000001H:EDX.NX (and so EFER.NXE is
 * reserved). */
#define MISC_ENABLE_LIMIT_CPUID_MAXVAL BIT(22)
#define MISC_ENABLE_XD_DISABLE BIT(34)

/* The KVM features leaf's EAX for a view (kvm set): what kvm.c must honour. */
u32 cpuid_kvm_features(const struct cpuid_view *view);

struct cpuid_regs cpuid_guest_view(u32 leaf, u32 subleaf, const struct cpuid_view *view);

/* The feature bits of the guest's CPUID that architectural checks
 * depend on (vmm/cpu_rules.h), on this host. */
void cpuid_view_features(const struct cpuid_view *view, struct guest_features *f);
void cpuid_guest_features(struct guest_features *f);
/* The same for one vCPU, with what its IA32_MISC_ENABLE takes away. */
void cpuid_vcpu_features(const struct vcpu *v, struct guest_features *f);
/* The vCPU's remembered answers no longer hold (RESET, IA32_MISC_ENABLE). */
void cpuid_forget(struct vcpu *v);
/* The CR4 bits reserved for guests on this host (cr4_reserved_bits of the
 * above; the host's CPUID does not change once Zazen runs). */
u64 cpuid_guest_cr4_reserved(void);
/* MAXPHYADDR as the guest's CPUID reports it (80000008H EAX[7:0], kept
 * from the host; 36 where the leaf is absent, SDM 3A 4.1.4). */
u8 cpuid_guest_maxphyaddr(void);

#endif
