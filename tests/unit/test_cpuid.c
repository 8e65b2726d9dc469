/* The guest's view of CPUID, computed from a made-up host. */
/* unit-sources: vmm/cpuid.c vmm/cpu_rules.c vmm/string.c */
#include "unit.h"
#include "../../vmm/arch.h"
#include "../../vmm/cpuid.h"
#include "../../vmm/guest_state.h"

/* handle_cpuid and cpuid_guest_features, in the same file, ask the host
 * clock, the backend and the XSAVE state; not under test here. */
u64 host_tsc_khz(void);
u64 host_tsc_khz(void) { return 0; }
u64 guest_xcr0_supported(void) { return 0; }
void vcpu_complete_instruction_slow(struct vcpu *v, const struct vm_exit *e) { (void)v; (void)e; }
const struct arch_ops *arch;

static struct cpuid_regs fake_host(u32 leaf, u32 subleaf)
{
    (void)subleaf;
    switch (leaf) {
    case 0x0: return (struct cpuid_regs){0xd, 0x68747541, 0x444d4163, 0x69746e65}; /* AuthenticAMD */
    case 0x1: return (struct cpuid_regs){0x00600f12, 0x03040800, 0xffffffff, 0xffffffff};
    case 0x5: return (struct cpuid_regs){0x40, 0x40, 3, 0x11};
    case 0x80000001: return (struct cpuid_regs){0, 0, 0xffffffff, 0xffffffff};
    case 0x8000000a: return (struct cpuid_regs){1, 16, 0, 0xff};
    default: return (struct cpuid_regs){leaf, 1, 2, 3};
    }
}

static struct cpuid_regs fake_intel(u32 leaf, u32 subleaf)
{
    if (leaf == 0)
        return (struct cpuid_regs){0xd, 0x756e6547, 0x6c65746e, 0x49656e69}; /* GenuineIntel, last leaf 0Dh */
    return fake_host(leaf, subleaf);
}

static const struct cpuid_view amd = {.tsc_khz = 2500000, .host = fake_host};
static const struct cpuid_view intel = {.tsc_khz = 2500000, .host = fake_intel};

TEST(cpuid_signature_leaf)
{
    struct cpuid_regs r = cpuid_guest_view(0x40000000, 0, &amd);
    char sig[13];
    memcpy(sig, &r.ebx, 4);
    memcpy(sig + 4, &r.ecx, 4);
    memcpy(sig + 8, &r.edx, 4);
    sig[12] = 0;
    CHECK_STR(sig, "ZazenZazenZa");
    CHECK_EQ(r.eax, 0x40000001);
    r = cpuid_guest_view(0x40000100, 0, &amd); /* not ours: empty */
    CHECK_EQ(r.ebx, 0);
}

/* paravirt = kvm: KVM's two leaves (cpuid.rst), kvmclock announced, the
 * stable flag only where the TSC is known (and so invariant), nothing
 * else; the leaves past 4000_0001h stay empty and leaf 1 keeps the
 * hypervisor bit. Without it the hvm answer is Zazen's, as above. */
TEST(cpuid_kvm_leaves)
{
    struct cpuid_view kvm = amd;
    kvm.kvm = true;
    struct cpuid_regs r = cpuid_guest_view(0x40000000, 0, &kvm);
    char sig[12];
    memcpy(sig, &r.ebx, 4);
    memcpy(sig + 4, &r.ecx, 4);
    memcpy(sig + 8, &r.edx, 4);
    CHECK(memcmp(sig, "KVMKVMKVM\0\0\0", 12) == 0);
    CHECK_EQ(r.ebx, 0x4b4d564b); /* the values cpuid.rst lists */
    CHECK_EQ(r.ecx, 0x564b4d56);
    CHECK_EQ(r.edx, 0x4d);
    CHECK_EQ(r.eax, 0x40000001);
    r = cpuid_guest_view(0x40000001, 0, &kvm);
    CHECK_EQ(r.eax, (1u << 3) | (1u << 24)); /* CLOCKSOURCE2, CLOCKSOURCE_STABLE_BIT */
    CHECK_EQ(r.ebx, 0);
    CHECK_EQ(r.ecx, 0);
    CHECK_EQ(r.edx, 0);                      /* no hints */
    kvm.tsc_khz = 0;                         /* TSC rate unknown: not invariant, not stable */
    CHECK_EQ(cpuid_guest_view(0x40000001, 0, &kvm).eax, 1u << 3);
    CHECK_EQ(cpuid_guest_view(0x40000002, 0, &kvm).eax, 0);
    CHECK_EQ(cpuid_guest_view(0x40000100, 0, &kvm).ebx, 0);
    CHECK(cpuid_guest_view(1, 0, &kvm).ecx & (1u << 31));
    CHECK_EQ(cpuid_guest_view(0x40000001, 0, &amd).eax, 1); /* Zazen's interface version without it */
}

TEST(cpuid_leaf1_filtered)
{
    struct cpuid_regs r = cpuid_guest_view(1, 0, &amd);
    CHECK(r.ecx & (1u << 31));  /* hypervisor present */
    CHECK(!(r.ecx & (1u << 5))); /* no VMX */
    CHECK(!(r.ecx & (1u << 3))); /* no MONITOR */
    CHECK(!(r.ecx & (1u << 26))); /* no XSAVE */
    CHECK(r.ecx & 1);             /* SSE3 kept */
    CHECK(r.edx & (1u << 25));    /* SSE kept */
    CHECK(!(r.edx & (1u << 28))); /* no HTT */
    CHECK_EQ((r.ebx >> 16) & 0xff, 1);
    CHECK_EQ(r.eax, 0x00600f12);
}

/* x2APIC (bit 21) is the device model's: offered when the view says so,
 * whatever the host has. */
TEST(cpuid_leaf1_x2apic_follows_the_model)
{
    struct cpuid_view v = amd;
    CHECK(!(cpuid_guest_view(1, 0, &v).ecx & (1u << 21)));
    v.x2apic = true;
    CHECK(cpuid_guest_view(1, 0, &v).ecx & (1u << 21));
}

TEST(cpuid_svm_and_monitorx_hidden)
{
    struct cpuid_regs r = cpuid_guest_view(0x80000001, 0, &amd);
    CHECK(!(r.ecx & (1u << 2)));  /* SVM */
    CHECK(!(r.ecx & (1u << 29))); /* MONITORX */
    CHECK(r.edx & (1u << 29));    /* long mode kept */
    r = cpuid_guest_view(0x8000000a, 0, &amd);
    CHECK_EQ(r.ebx, 0);
    r = cpuid_guest_view(5, 0, &amd);
    CHECK_EQ(r.eax, 0);
}

TEST(cpuid_apic_id_from_vcpu)
{
    struct cpuid_regs r = cpuid_guest_view(1, 0, &(struct cpuid_view){.vcpu_id = 3, .host = fake_host});
    CHECK_EQ(r.ebx >> 24, 3);
}

/* vcpus = 3 on AMD: one package of 3 cores (APIC IDs in 2 bits), HTT and
 * CmpLegacy set, NC = 2; leaf 0Bh as on Intel. */
TEST(cpuid_topology_amd)
{
    struct cpuid_view v = {.vcpu_id = 2, .vcpu_count = 3, .host = fake_host};
    struct cpuid_regs r = cpuid_guest_view(1, 0, &v);
    CHECK_EQ(r.ebx >> 24, 2);
    CHECK_EQ((r.ebx >> 16) & 0xff, 4);
    CHECK(r.edx & (1u << 28));
    r = cpuid_guest_view(0x80000001, 0, &v);
    CHECK(r.ecx & 2);
    r = cpuid_guest_view(0x80000008, 0, &v);
    CHECK_EQ(r.ecx & 0xff, 2);
    CHECK_EQ((r.ecx >> 12) & 0xf, 2);
    r = cpuid_guest_view(0xb, 1, &v);
    CHECK_EQ(r.eax, 2);
    CHECK_EQ(r.ebx, 3);
    CHECK_EQ(r.ecx, 0x201);
    CHECK_EQ(r.edx, 2);
}

/* vcpus = 2 on Intel: leaf 0Bh SMT level of one thread, core level of two;
 * leaf 4 says two cores; AMD's fields stay clear. */
TEST(cpuid_topology_intel)
{
    struct cpuid_view v = {.vcpu_id = 1, .vcpu_count = 2, .host = fake_intel};
    struct cpuid_regs r = cpuid_guest_view(0xb, 0, &v);
    CHECK_EQ(r.eax, 0);
    CHECK_EQ(r.ebx, 1);
    CHECK_EQ(r.ecx, 0x100);
    CHECK_EQ(r.edx, 1);
    r = cpuid_guest_view(0xb, 2, &v);
    CHECK_EQ(r.ebx, 0);
    CHECK_EQ((r.ecx >> 8) & 0xff, 0);
    r = cpuid_guest_view(4, 0, &v);
    CHECK_EQ(r.eax >> 26, 1);
    r = cpuid_guest_view(0x80000008, 0, &v);
    CHECK_EQ(r.ecx & 0xff, 0);
    r = cpuid_guest_view(1, 0, &v);
    CHECK_EQ((r.ebx >> 16) & 0xff, 2);
}

/* Intel: leaf 15h gives the TSC rate as 1 GHz crystal * EBX / EAX, and
 * leaf 0 now reaches it; the reserved leaves in between read as zero. The
 * rate must come out right as Linux 6.1 computes it, in 32 bits:
 * crystal_khz * EBX / EAX. */
static u32 linux_tsc_khz(struct cpuid_regs r)
{
    u32 crystal_khz = r.ecx / 1000;
    return crystal_khz * r.ebx / r.eax; /* unsigned int arithmetic, as in native_calibrate_tsc */
}

TEST(cpuid_tsc_leaf_on_intel)
{
    struct cpuid_regs r = cpuid_guest_view(0, 0, &intel);
    CHECK_EQ(r.eax, 0x15);
    r = cpuid_guest_view(0x15, 0, &intel);
    CHECK_EQ(r.ecx, 1000000000u);
    CHECK((u64)(r.ecx / 1000) * r.ebx <= 0xffffffffu);
    u32 khz = linux_tsc_khz(r);
    CHECK(khz > 2500000 - 750 && khz < 2500000 + 750); /* within 0.03% */
    r = cpuid_guest_view(0x11, 0, &intel);
    CHECK_EQ(r.eax | r.ebx | r.ecx | r.edx, 0);
    /* Bochs's 10 MHz TSC (as measured, 10001 kHz): exact */
    struct cpuid_view bochs = {.tsc_khz = 10001, .host = fake_intel};
    CHECK_EQ(linux_tsc_khz(cpuid_guest_view(0x15, 0, &bochs)), 10001);
    struct cpuid_view odd = {.tsc_khz = 3456789, .host = fake_intel};
    khz = linux_tsc_khz(cpuid_guest_view(0x15, 0, &odd));
    CHECK(khz > 3456789 - 1100 && khz < 3456789 + 1100);
}

/* Not on AMD, where 15h is not defined, nor with the TSC rate unknown. */
TEST(cpuid_no_tsc_leaf_elsewhere)
{
    CHECK_EQ(cpuid_guest_view(0, 0, &amd).eax, 0xd);
    struct cpuid_regs r = cpuid_guest_view(0x15, 0, &amd);
    CHECK_EQ(r.eax | r.ebx | r.ecx | r.edx, 0);
    struct cpuid_view unknown = {.host = fake_intel};
    CHECK_EQ(cpuid_guest_view(0, 0, &unknown).eax, 0xd);
    r = cpuid_guest_view(0x15, 0, &unknown);
    CHECK_EQ(r.ebx, 0);
}

/* 8000_0007h: the invariant TSC once its rate is known, on either vendor;
 * the host's power-management bits never. */
TEST(cpuid_invariant_tsc)
{
    struct cpuid_regs r = cpuid_guest_view(0x80000007, 0, &amd);
    CHECK_EQ(r.edx, 0x100);
    CHECK_EQ(r.eax | r.ebx | r.ecx, 0);
    CHECK_EQ(cpuid_guest_view(0x80000007, 0, &intel).edx, 0x100);
    struct cpuid_view unknown = {.host = fake_host};
    r = cpuid_guest_view(0x80000007, 0, &unknown);
    CHECK_EQ(r.eax | r.ebx | r.ecx | r.edx, 0);
}

/* A host with x87, SSE, AVX and AVX-512 state (leaf 0Dh as on a Skylake
 * server): the guest is offered x87, SSE and AVX only. */
static struct cpuid_regs fake_xsave_host(u32 leaf, u32 subleaf)
{
    if (leaf == 0xd) {
        switch (subleaf) {
        case 0: return (struct cpuid_regs){0xe7, 2696, 2696, 0};
        case 1: return (struct cpuid_regs){0xf, 0, 0, 0}; /* XSAVEOPT, XSAVEC, XGETBV1, XSAVES */
        case 2: return (struct cpuid_regs){256, 576, 0, 0};
        case 5: return (struct cpuid_regs){64, 1088, 0, 0};
        default: return (struct cpuid_regs){0, 0, 0, 0};
        }
    }
    if (leaf == 7)
        return (struct cpuid_regs){0, 0xffffffff, 0xffffffff, 0xffffffff};
    return fake_host(leaf, subleaf);
}

TEST(cpuid_xsave_offered_with_what_zazen_switches)
{
    struct cpuid_view v = {.host = fake_xsave_host, .xcr0_supported = 7, .xcr0 = 1};
    struct cpuid_regs r = cpuid_guest_view(1, 0, &v);
    CHECK(r.ecx & (1u << 26));    /* XSAVE */
    CHECK(!(r.ecx & (1u << 27))); /* OSXSAVE follows the guest's CR4: clear */
    CHECK(r.ecx & (1u << 28));    /* AVX */
    v.osxsave = true;
    CHECK(cpuid_guest_view(1, 0, &v).ecx & (1u << 27));
    r = cpuid_guest_view(0xd, 0, &v);
    CHECK_EQ(r.eax, 7);           /* x87, SSE, AVX; not AVX-512 */
    CHECK_EQ(r.edx, 0);
    CHECK_EQ(r.ebx, 576);         /* for XCR0 = 1 */
    CHECK_EQ(r.ecx, 832);         /* AVX ends at 576 + 256 */
    v.xcr0 = 7;
    CHECK_EQ(cpuid_guest_view(0xd, 0, &v).ebx, 832);
    CHECK_EQ(cpuid_guest_view(0xd, 1, &v).eax, 5); /* XSAVEOPT, XGETBV1; not XSAVEC, XSAVES */
    CHECK_EQ(cpuid_guest_view(0xd, 2, &v).ebx, 576);
    CHECK_EQ(cpuid_guest_view(0xd, 5, &v).eax, 0); /* AVX-512 hidden */
    CHECK(cpuid_guest_view(7, 0, &v).ebx & (1u << 5)); /* AVX2 with AVX state */
}

TEST(cpuid_xsave_hidden_without_switching)
{
    struct cpuid_view v = {.host = fake_xsave_host};
    struct cpuid_regs r = cpuid_guest_view(1, 0, &v);
    CHECK(!(r.ecx & (1u << 26)));
    CHECK(!(r.ecx & (1u << 28)));
    r = cpuid_guest_view(0xd, 0, &v);
    CHECK_EQ(r.eax | r.ebx | r.ecx | r.edx, 0);
    CHECK(!(cpuid_guest_view(7, 0, &v).ebx & (1u << 5)));
}

TEST(cpuid_guest_features_for_the_rules)
{
    struct cpuid_view v = {.host = fake_xsave_host, .xcr0_supported = 7, .osxsave = true};
    struct guest_features f;
    cpuid_view_features(&v, &f);
    CHECK(!(f.leaf1_ecx & (1u << 27))); /* OSXSAVE is CR4's, not a feature */
    CHECK(f.leaf1_ecx & (1u << 26));
    CHECK(!(f.ext1_ecx & (1u << 2)));   /* no SVM */
    CHECK(!(cr4_reserved_bits(&f) & CR4_OSXSAVE));
    CHECK(cr4_reserved_bits(&f) & CR4_VMXE);
    CHECK(!(efer_writable_bits(&f) & EFER_SVME));
}

/* IA32_MISC_ENABLE bits 22 and 34 (SDM 4 Table 2-2) on Intel: leaf 0
 * reports at most 2, NX leaves 8000_0001h EDX and EFER.NXE is reserved;
 * on AMD the MSR is not theirs and CPUID stays. */
TEST(cpuid_follows_misc_enable_on_intel)
{
    struct cpuid_view v = {.host = fake_intel, .misc_enable = MISC_ENABLE_LIMIT_CPUID_MAXVAL};
    CHECK_EQ(cpuid_guest_view(0, 0, &v).eax, 2);
    CHECK(cpuid_guest_view(0x80000001, 0, &v).edx & (1u << 20));
    v.misc_enable = MISC_ENABLE_XD_DISABLE;
    CHECK_EQ(cpuid_guest_view(0, 0, &v).eax, 0xd);
    CHECK(!(cpuid_guest_view(0x80000001, 0, &v).edx & (1u << 20)));
    struct guest_features f;
    cpuid_view_features(&v, &f);
    CHECK(!(efer_writable_bits(&f) & EFER_NXE));
    struct cpuid_view a = {.host = fake_host, .misc_enable = MISC_ENABLE_LIMIT_CPUID_MAXVAL | MISC_ENABLE_XD_DISABLE};
    CHECK_EQ(cpuid_guest_view(0, 0, &a).eax, 0xd);
    CHECK(cpuid_guest_view(0x80000001, 0, &a).edx & (1u << 20));
}
