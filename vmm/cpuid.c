/* The guest's CPUID. Bits are those of the Intel SDM Vol. 2A CPUID tables
 * and AMD APM Vol. 3 Appendix E. Anything Zazen does not virtualize is
 * hidden, so a guest never tries it: VMX/SVM (no nesting), MONITOR/MWAIT
 * and MONITORX (a guest must not sleep the physical CPU; Bochs's MWAITX
 * never wakes), performance and debug-store features, x2APIC unless the
 * domain asks for it (x2apic = yes, or paravirt = kvm), AMD memory
 * encryption (SME/SEV, leaf 8000_001Fh: Linux's decompressor reads MSR
 * C001_0131 when the leaf offers SEV), and XSAVE components beyond x87,
 * SSE and AVX (those are the ones vmm/guest_state.c switches, with each
 * vCPU's XCR0). The hypervisor leaves are Zazen's own, or KVM's with
 * paravirt = kvm (vmm/kvm.h). */
#include "cpuid.h"
#include "domain.h"
#include "domain_type.h"
#include "arch.h"
#include "guest_state.h"
#include "handlers.h"
#include "domain.h"
#include "fast_way.h"
#include "hosttime.h"
#include "string.h"

/* Leaf 1 ECX: keep SSE3, PCLMULQDQ, SSSE3, CX16, SSE4.1, SSE4.2, MOVBE,
 * POPCNT, AES, RDRAND; set the hypervisor bit (31). */
#define LEAF1_ECX_KEEP                                                                                       \
    (BIT(0) | BIT(1) | BIT(9) | BIT(13) | BIT(19) | BIT(20) | BIT(22) | BIT(23) | BIT(25) | BIT(30))
#define LEAF1_ECX_HYPERVISOR BIT(31)
#define LEAF1_ECX_X2APIC BIT(21) /* the device model's, not the host's (devmodel/lapic.c) */
/* TSC-deadline mode (SDM 3A 11.5.4.1) is the virtual local APIC's too,
 * on every host: AMD's CPUs have no such bit, and KVM offers it alike. */
#define LEAF1_ECX_TSC_DEADLINE BIT(24)
/* Leaf 1 ECX bits offered with XSAVE state: XSAVE, OSXSAVE (CR4.OSXSAVE
 * as the guest set it), and with AVX state FMA, AVX, F16C. */
#define LEAF1_ECX_FMA BIT(12)
#define LEAF1_ECX_XSAVE BIT(26)
#define LEAF1_ECX_OSXSAVE BIT(27)
#define LEAF1_ECX_AVX BIT(28)
#define LEAF1_ECX_F16C BIT(29)
#define LEAF7_EBX_AVX2 BIT(5)
/* Leaf 0Dh sub-leaf 1 EAX: XSAVEOPT and XGETBV with ECX = 1 need nothing
 * more; XSAVEC and XSAVES/IA32_XSS (compacted images, supervisor state)
 * are not offered (SDM 1 13.2). */
#define XSAVE_LEAF1_KEEP (BIT(0) | BIT(2))
#define XSAVE_LEGACY_AND_HEADER 576 /* bytes before the first extended component (13.4) */
/* Leaf 1 EDX: FPU VME DE PSE TSC MSR PAE MCE CX8 APIC SEP MTRR PGE MCA CMOV
 * PAT PSE36 CLFSH MMX FXSR SSE SSE2; not DS, ACPI (thermal), SS, HTT, TM, PBE. */
#define LEAF1_EDX_KEEP 0x07cbfbffu
/* MTRRs are not offered, yet vmm/msr.c keeps them per vCPU as written,
 * with the architectural checks (SDM 3A 12.11): firmware written for PCs
 * (U-Boot) uses them without asking CPUID. */
#define LEAF1_EDX_MTRR BIT(12)
#define LEAF1_EDX_HTT BIT(28)
#define EXT1_ECX_CMP_LEGACY BIT(1)
#define LEAF1_EDX_MCE BIT(7)
#define LEAF1_EDX_MCA BIT(14)
#define LEAF1_EDX_APIC BIT(9)
/* Leaf 7.0 EBX: FSGSBASE, BMI1, SMEP, BMI2, ERMS, INVPCID? no, ADX, SMAP,
 * CLFLUSHOPT, SHA. */
#define LEAF7_EBX_KEEP (BIT(0) | BIT(3) | BIT(7) | BIT(8) | BIT(9) | BIT(19) | BIT(20) | BIT(23) | BIT(29))
/* Leaf 7.0 EBX bit 1: IA32_TSC_ADJUST (3BH), whatever the host has: Zazen
 * keeps it itself (vmm/msr.c, vcpu.h tsc_adjust; SDM 3B 17.17.3). With it
 * and the invariant TSC, Linux trusts the TSC without its clocksource
 * watchdog (arch/x86/kernel/tsc.c check_system_tsc_reliable), which on a
 * PC without an HPET compares it with jiffies until the PM timer
 * registers: a guest whose timer interrupts come late (an emulated host
 * under load) loses jiffies, and Linux then calls the TSC unstable and
 * reads the PM timer instead, an exit per clock read. */
#define LEAF7_EBX_TSC_ADJUST BIT(1)
/* Extended leaf 8000_0001h ECX: LAHF/SAHF, ABM/LZCNT, SSE4A, MisalignSSE,
 * 3DNowPrefetch; EDX: SYSCALL, NX, 1 GiB pages, RDTSCP, LM and the AMD
 * copies of leaf 1 EDX bits. */
#define EXT1_ECX_KEEP (BIT(0) | BIT(5) | BIT(6) | BIT(7) | BIT(8))
#define EXT1_EDX_KEEP (LEAF1_EDX_KEEP | BIT(11) | BIT(20) | BIT(26) | BIT(27) | BIT(29))
#define EXT1_EDX_NX BIT(20)
/* Leaf 0's maximum with IA32_MISC_ENABLE.22 set (SDM 4 Table 2-2). */
#define LIMITED_CPUID_MAXVAL 2

static bool hidden_leaf(u32 leaf)
{
    switch (leaf) {
    case 0x5:        /* MONITOR/MWAIT */
    case 0x6:        /* thermal and power */
    case 0x9:        /* direct cache access */
    case 0xa:        /* architectural performance monitoring */
    case 0xf: case 0x10: case 0x12: case 0x14: case 0x1b: /* RDT, SGX, PT, PCONFIG */
    case 0x8000000a: /* SVM features: no nesting */
    case 0x8000001f: /* SME/SEV memory encryption: not virtualized */
        return true;
    default:
        return false;
    }
}

static struct cpuid_regs signature_leaf(const char sig[12])
{
    struct cpuid_regs r = {.eax = CPUID_HYPERVISOR_BASE + 1}; /* highest hypervisor leaf */
    memcpy(&r.ebx, sig + 0, 4);
    memcpy(&r.ecx, sig + 4, 4);
    memcpy(&r.edx, sig + 8, 4);
    return r;
}

/* The pvclock's TSC_STABLE flag says the guest TSCs of all vCPUs agree
 * and tick at one rate: the same promise as the invariant TSC bit
 * (invariant_tsc_leaf below), made under the same condition. */
u32 cpuid_kvm_features(const struct cpuid_view *view)
{
    return KVM_FEATURE_CLOCKSOURCE2 | (view->tsc_khz ? KVM_FEATURE_CLOCKSOURCE_STABLE_BIT : 0);
}

/* 4000_0000h-4000_FFFFh. Zazen's own (hvm, paravirt = none): a signature
 * and an interface version, no interface behind them; KVM's (paravirt =
 * kvm): the two leaves of cpuid.rst, EBX and ECX of 4000_0001h reserved,
 * EDX no hints (KVM_HINTS_REALTIME would promise dedicated host CPUs). */
static struct cpuid_regs hypervisor_leaf(u32 leaf, const struct cpuid_view *view)
{
    struct cpuid_regs r = {0};
    if (leaf == CPUID_HYPERVISOR_BASE)
        r = signature_leaf(view->kvm ? KVM_CPUID_SIGNATURE : ZAZEN_CPUID_SIGNATURE);
    else if (leaf == CPUID_HYPERVISOR_BASE + 1)
        r.eax = view->kvm ? cpuid_kvm_features(view) : 0x00000001; /* Zazen: interface version 1 */
    return r;
}

static bool is_intel(const struct cpuid_view *view)
{
    struct cpuid_regs r = view->host(0, 0);
    return r.ebx == 0x756e6547 && r.edx == 0x49656e69 && r.ecx == 0x6c65746e; /* "GenuineIntel" */
}

/* Whether Zazen answers leaf 15h itself: on Intel CPUs (the leaf is
 * Intel's) once the TSC rate is measured. Without it, Linux calibrates the
 * TSC against the PIT, which fails when every port read is a VM exit, and
 * falls back to the ACPI PM timer: one exit per clock read. */
static bool reports_tsc_leaf(const struct cpuid_view *view)
{
    return view->tsc_khz && view->tsc_khz <= 0xffffffffu && is_intel(view);
}

/* SDM 2A CPUID leaf 15H: TSC = crystal (ECX Hz) * EBX / EAX. The crystal
 * is the LAPIC timer's 1 GHz. Linux 6.1 computes crystal_khz * EBX / EAX
 * in 32 bits (native_calibrate_tsc), so EBX stays at most
 * 2^32 / 10^6 = 4294 and EAX is chosen for the best ratio with such an
 * EBX: within 0.03% at 2.5 GHz, exact for Bochs's 10 MHz. */
#define TSC_LEAF_MAX_NUMERATOR (0xffffffffu / (CPUID_CRYSTAL_HZ / 1000))

static struct cpuid_regs tsc_leaf(const struct cpuid_view *view)
{
    u64 khz = view->tsc_khz, crystal_khz = CPUID_CRYSTAL_HZ / 1000;
    u32 best_num = 0, best_den = 1;
    u64 best_err = ~0ull;
    for (u32 num = TSC_LEAF_MAX_NUMERATOR; num > TSC_LEAF_MAX_NUMERATOR / 2; num--) {
        u64 den = (num * crystal_khz + khz / 2) / khz;
        if (den == 0 || den > 0xffffffffu)
            continue;
        u64 got = num * crystal_khz / den; /* as the guest computes it */
        u64 err = got > khz ? got - khz : khz - got;
        if (err < best_err) {
            best_err = err;
            best_num = num;
            best_den = (u32)den;
        }
        if (err == 0)
            break;
    }
    return (struct cpuid_regs){.eax = best_den, .ebx = best_num, .ecx = CPUID_CRYSTAL_HZ, .edx = 0};
}

/* The XSAVE area's size for the components in mask: the end of the last
 * one, from where the CPU says each is (leaf 0Dh sub-leaf n: EAX size, EBX
 * offset; SDM 1 13.4.3). */
static u32 xsave_size(const struct cpuid_view *view, u64 mask)
{
    u32 size = XSAVE_LEGACY_AND_HEADER;
    for (u32 n = 2; n < 64; n++)
        if (mask & BIT(n)) {
            struct cpuid_regs c = view->host(0xd, n);
            size = MAX(size, c.ebx + c.eax);
        }
    return size;
}

/* Leaf 0Dh, the XSAVE state components: those Zazen switches, sized for
 * the vCPU's XCR0 (EBX) and for all of them (ECX). */
static struct cpuid_regs xsave_leaf(u32 subleaf, const struct cpuid_view *view)
{
    u64 mask = view->xcr0_supported;
    struct cpuid_regs r = {0};
    if (!mask)
        return r;
    if (subleaf == 0) {
        r.eax = (u32)mask;
        r.edx = (u32)(mask >> 32);
        r.ebx = xsave_size(view, view->xcr0 & mask);
        r.ecx = xsave_size(view, mask);
    } else if (subleaf == 1) {
        r.eax = view->host(0xd, 1).eax & XSAVE_LEAF1_KEEP;
    } else if (subleaf < 64 && (mask & BIT(subleaf))) {
        r = view->host(0xd, subleaf);
    }
    return r;
}

/* Leaf 1 ECX's XSAVE and AVX bits, offered with the state Zazen switches. */
static u32 xsave_features(u32 host_ecx, const struct cpuid_view *view)
{
    u32 ecx = 0;
    if (!view->xcr0_supported)
        return 0;
    ecx |= LEAF1_ECX_XSAVE | (view->osxsave ? LEAF1_ECX_OSXSAVE : 0);
    if (view->xcr0_supported & XCR0_AVX)
        ecx |= host_ecx & (LEAF1_ECX_AVX | LEAF1_ECX_FMA | LEAF1_ECX_F16C);
    return ecx;
}

/* ---- topology: one package of vcpu_count cores, one thread each ---- */

static unsigned vcpus_of(const struct cpuid_view *view) { return view->vcpu_count ? view->vcpu_count : 1; }

/* The APIC ID bits that number the cores: ceil(log2(cores)). */
static u32 core_id_bits(unsigned cores)
{
    u32 bits = 0;
    while ((1u << bits) < cores)
        bits++;
    return bits;
}

/* SDM 2A CPUID leaf 0BH: sub-leaf 0 the SMT level (one thread, shift 0),
 * sub-leaf 1 the core level (shift to the package ID, the cores in it),
 * then invalid levels (type 0); EDX the x2APIC ID at every sub-leaf. */
static struct cpuid_regs extended_topology_leaf(u32 subleaf, const struct cpuid_view *view)
{
    unsigned n = vcpus_of(view);
    struct cpuid_regs r = {.ecx = subleaf & 0xff, .edx = view->vcpu_id};
    if (subleaf == 0) {
        r.ebx = 1;
        r.ecx |= 1u << 8; /* SMT */
    } else if (subleaf == 1) {
        r.eax = core_id_bits(n);
        r.ebx = n;
        r.ecx |= 2u << 8; /* core */
    }
    return r;
}

/* Leaf 8000_0007h, advanced power management: only EDX bit 8, the
 * invariant TSC (SDM 3B 17.17.1; APM 3 CPUID Fn8000_0007 EDX TscInvariant:
 * "the TSC rate is ensured to be invariant across all P-states, C-states,
 * and stop-grant transitions"), and only once Zazen has measured the TSC's
 * rate. The guest's TSC is the host's plus one offset per vCPU (equal
 * unless a host CPU's TSC ran behind: keep_tsc_monotonic), the host CPUs
 * enter no state deeper than HLT, and Zazen's own device time already
 * counts on a TSC of constant rate (clock_tsc_to_ns). Without the bit,
 * Linux on an AMD CPU with more than one CPU calls the TSCs unsynchronized
 * (arch/x86/kernel/tsc.c unsynchronized_tsc) and reads the ACPI PM timer
 * instead: an exit per clock read. The other bits (frequency and voltage
 * control, hardware P-states, RAS) name controls Zazen does not give. */
#define EXT7_EDX_TSC_INVARIANT BIT(8)

static struct cpuid_regs invariant_tsc_leaf(const struct cpuid_view *view)
{
    return (struct cpuid_regs){.edx = view->tsc_khz ? EXT7_EDX_TSC_INVARIANT : 0};
}

static void topology_leaf1(struct cpuid_regs *r, const struct cpuid_view *view)
{
    unsigned n = vcpus_of(view);
    /* EBX: initial APIC ID in 31:24; 23:16 the addressable logical
     * processor IDs in the package (with HTT set when above one); the
     * CLFLUSH size kept. */
    u32 ids = n > 1 ? 1u << core_id_bits(n) : 1;
    r->ebx = (r->ebx & 0x0000ffff) | (ids << 16) | (view->vcpu_id << 24);
    if (n > 1)
        r->edx |= LEAF1_EDX_HTT;
}

struct cpuid_regs cpuid_guest_view(u32 leaf, u32 subleaf, const struct cpuid_view *view)
{
    if ((leaf & 0xffff0000) == CPUID_HYPERVISOR_BASE)
        return hypervisor_leaf(leaf, view);
    u32 host_max = view->host(0, 0).eax;
    if (leaf <= CPUID_TSC_LEAF && leaf > host_max) {
        /* Leaves Zazen adds past the CPU's last one: 15h; the rest reserved. */
        if (leaf == CPUID_TSC_LEAF && reports_tsc_leaf(view))
            return tsc_leaf(view);
        return (struct cpuid_regs){0};
    }
    struct cpuid_regs r = view->host(leaf, subleaf);
    if (hidden_leaf(leaf))
        return (struct cpuid_regs){0};
    switch (leaf) {
    case 0x0:
        if (reports_tsc_leaf(view) && r.eax < CPUID_TSC_LEAF)
            r.eax = CPUID_TSC_LEAF;
        /* Old OSes that stop at leaf 2 (SDM 4 Table 2-2, bit 22). */
        if ((view->misc_enable & MISC_ENABLE_LIMIT_CPUID_MAXVAL) && is_intel(view) && r.eax > LIMITED_CPUID_MAXVAL)
            r.eax = LIMITED_CPUID_MAXVAL;
        break;
    case CPUID_TSC_LEAF:
        r = reports_tsc_leaf(view) ? tsc_leaf(view) : (struct cpuid_regs){0};
        break;
    case 0x1:
        r.ecx = (r.ecx & LEAF1_ECX_KEEP) | LEAF1_ECX_HYPERVISOR | LEAF1_ECX_TSC_DEADLINE | xsave_features(r.ecx, view) |
                (view->x2apic ? LEAF1_ECX_X2APIC : 0);
        r.edx &= LEAF1_EDX_KEEP & ~(LEAF1_EDX_MTRR | LEAF1_EDX_MCE | LEAF1_EDX_MCA);
        if (view->apic_disabled)
            r.edx &= ~LEAF1_EDX_APIC;
        topology_leaf1(&r, view);
        break;
    case 0x4:
        /* Cache type/level kept; one thread shares each cache; EAX 31:26
         * the cores in the package less one (SDM 2A CPUID leaf 04H). */
        r.eax = (r.eax & 0x3ff) | (r.eax & 0x1f ? (vcpus_of(view) - 1) << 26 : 0);
        break;
    case 0x7:
        if (subleaf == 0) {
            r.ebx &= LEAF7_EBX_KEEP | ((view->xcr0_supported & XCR0_AVX) ? LEAF7_EBX_AVX2 : 0);
            r.ebx |= LEAF7_EBX_TSC_ADJUST;
            r.ecx = 0;
            r.edx = 0;
            r.eax = 0;
        } else {
            r = (struct cpuid_regs){0};
        }
        break;
    case 0xd:
        r = xsave_leaf(subleaf, view);
        break;
    case 0xb:
        /* One vCPU: no topology enumeration (as before SMP); several: it. */
        r = vcpus_of(view) > 1 ? extended_topology_leaf(subleaf, view) : (struct cpuid_regs){0};
        break;
    case 0x1f:
        r = (struct cpuid_regs){0}; /* absent: leaf 0Bh says it all */
        break;
    case 0x80000001:
        r.ecx &= EXT1_ECX_KEEP; /* drops SVM, MONITORX, topology extensions, ... */
        /* AMD: CmpLegacy, the cores of leaf 1 EBX are cores, not threads
         * (APM 3 CPUID Fn8000_0001 ECX bit 1). */
        if (vcpus_of(view) > 1 && !is_intel(view))
            r.ecx |= EXT1_ECX_CMP_LEGACY;
        r.edx &= EXT1_EDX_KEEP & ~(LEAF1_EDX_MTRR | LEAF1_EDX_MCE | LEAF1_EDX_MCA);
        if ((view->misc_enable & MISC_ENABLE_XD_DISABLE) && is_intel(view))
            r.edx &= ~EXT1_EDX_NX; /* SDM 4 Table 2-2, bit 34 */
        break;
    case 0x80000007:
        r = invariant_tsc_leaf(view);
        break;
    case 0x80000008:
        /* AMD: NC (7:0) the cores less one, ApicIdSize (15:12) the APIC ID
         * bits that number them (APM 3 CPUID Fn8000_0008 ECX); Intel:
         * reserved. The address sizes in EAX kept. */
        r.ecx &= ~0xf0ffu;
        if (vcpus_of(view) > 1 && !is_intel(view))
            r.ecx |= (vcpus_of(view) - 1) | core_id_bits(vcpus_of(view)) << 12;
        r.ebx = 0;
        break;
    default:
        break;
    }
    return r;
}

void cpuid_view_features(const struct cpuid_view *view, struct guest_features *f)
{
    struct cpuid_regs l1 = cpuid_guest_view(1, 0, view), l7 = cpuid_guest_view(7, 0, view);
    struct cpuid_regs ext1 = cpuid_guest_view(0x80000001, 0, view);
    *f = (struct guest_features){l1.ecx, l1.edx, l7.ebx, l7.ecx, ext1.ecx, ext1.edx, view->xcr0_supported};
    /* OSXSAVE is CR4's, not a feature: XSAVE is what CR4.OSXSAVE needs. */
    f->leaf1_ecx &= ~LEAF1_ECX_OSXSAVE;
}

void cpuid_guest_features(struct guest_features *f)
{
    struct cpuid_view view = {.host = cpuid, .xcr0_supported = guest_xcr0_supported()};
    cpuid_view_features(&view, f);
}

void cpuid_vcpu_features(const struct vcpu *v, struct guest_features *f)
{
    struct cpuid_view view = {.vcpu_id = v->id, .vcpu_count = v->domain->vcpu_count, .host = cpuid,
                              .xcr0_supported = guest_xcr0_supported(), .misc_enable = v->misc_enable};
    cpuid_view_features(&view, f);
}

/* Each slot gets the key of leaf slot + 1, sub-leaf 0, which belongs in
 * the next slot: no lookup finds it. */
void cpuid_forget(struct vcpu *v)
{
    for (unsigned i = 0; i < ARRAY_SIZE(v->cpuid_cache); i++)
        v->cpuid_cache[i] = (struct cpuid_cached){cpuid_cache_key(i + 1, 0), {0, 0, 0, 0}};
}

u64 cpuid_guest_cr4_reserved(void)
{
    static u64 reserved;
    static bool known;
    if (!known) {
        struct guest_features f;
        cpuid_guest_features(&f);
        reserved = cr4_reserved_bits(&f);
        known = true;
    }
    return reserved;
}

u8 cpuid_guest_maxphyaddr(void)
{
    if (cpuid(0x80000000, 0).eax < 0x80000008)
        return 36;
    return (u8)cpuid(0x80000008, 0).eax;
}

/* The guest's answer, worked out in full. */
static struct cpuid_regs guest_cpuid(struct vcpu *v, u32 leaf, u32 subleaf, bool apic_disabled)
{
    struct cpuid_view view = {.vcpu_id = v->id, .vcpu_count = v->domain->vcpu_count, .tsc_khz = host_tsc_khz(),
                              .host = cpuid, .xcr0_supported = guest_xcr0_supported(), .xcr0 = v->xcr0,
                              .apic_disabled = apic_disabled, .misc_enable = v->misc_enable,
                              .x2apic = v->lapic->x2apic_offered,
                              .kvm = v->domain->cfg->paravirt == PARAVIRT_KVM};
    if (leaf == 1 && view.xcr0_supported) { /* OSXSAVE mirrors the guest's CR4 (SDM 2A CPUID) */
        struct vcpu_sregs s;
        arch->get_sregs(v, &s);
        view.osxsave = (s.cr4 & CR4_OSXSAVE) != 0;
    }
    struct cpuid_regs r;
    const struct domain_type_ops *type = v->domain->type;
    if (!type->cpuid || !type->cpuid(v, leaf, subleaf, &r))
        r = cpuid_guest_view(leaf, subleaf, &view);
    return r;
}

/* A guest asks the same few leaves again and again (a CPUID loop to
 * serialize, Linux's per-CPU feature probes): an answer depends only on
 * the leaf, sub-leaf, the host (fixed), the vCPU's id and count (fixed),
 * and what empties the cache when it changes: its XCR0 (leaf 0Dh), its
 * local APIC's enable (leaf 1), IA32_MISC_ENABLE (cpuid_cache_find,
 * vmm/fast_way.h, which the fast way asks too); but leaf 1's OSXSAVE
 * bit, which follows CR4 and so is never kept. */
static struct cpuid_regs cached_guest_cpuid(struct vcpu *v, u32 leaf, u32 subleaf)
{
    const struct cpuid_cached *hit = cpuid_cache_find(v, leaf, subleaf);
    if (hit)
        return (struct cpuid_regs){hit->regs[0], hit->regs[1], hit->regs[2], hit->regs[3]};
    struct cpuid_regs r = guest_cpuid(v, leaf, subleaf, !(v->lapic->apic_base & LAPIC_BASE_EN));
    if (leaf != 1)
        v->cpuid_cache[cpuid_cache_slot(leaf, subleaf)] =
            (struct cpuid_cached){cpuid_cache_key(leaf, subleaf), {r.eax, r.ebx, r.ecx, r.edx}};
    return r;
}

void handle_cpuid(struct vcpu *v, struct vm_exit *e)
{
    struct cpuid_regs r = cached_guest_cpuid(v, (u32)v->gpr[GPR_RAX], (u32)v->gpr[GPR_RCX]);
    v->gpr[GPR_RAX] = r.eax;
    v->gpr[GPR_RBX] = r.ebx;
    v->gpr[GPR_RCX] = r.ecx;
    v->gpr[GPR_RDX] = r.edx;
    vcpu_complete_instruction(v, e);
}
