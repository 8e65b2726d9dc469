/* unit-sources: vmx/vmx_check.c svm/svm_check.c vmm/format.c vmm/string.c */
/* The diagnosis of failed VM entries: a good state passes, and a broken
 * field is named. */
#include "unit.h"
#include "../../vmm/x86.h"
#include "../../vmx/vmcs.h"
#include "../../vmx/vmx_check.h"
#include "../../svm/svm_check.h"

static char out[160];

/* Bochs corei7_haswell_4770-like capabilities */
static const struct vmx_caps caps = {
    .basic = 0x00d810000000002bull,
    .pin = 0x0000007f00000016ull,
    .proc = 0xfff9fffe04006172ull,
    .proc2 = 0x000000ff00000000ull,
    .exit = 0x003fffff00036dfbull,
    .entry = 0x0000f3ff000011fbull,
    .cr0_fixed0 = 0x80000021,
    .cr0_fixed1 = 0xffffffff,
    .cr4_fixed0 = 0x2000,
    .cr4_fixed1 = 0x3767ff,
};

/* The state Zazen enters a fresh vCPU with (real mode at F000:FFF0). */
static struct vmcs_snapshot reset_state(void)
{
    struct vmcs_snapshot s = {
        .pin = 0x1f, .proc = 0xb60065f2, .proc2 = 0xaa, .exit = 0x3feffb, .entry = 0xd1fb,
        .vpid = 1, .eptp = 0x1000 | 6 | (3 << 3),
        .host_cr0 = 0x80050033, .host_cr4 = 0x2020,
        .host_selectors = {0x10, 0x08, 0x10, 0x10, 0, 0, 0x18},
        .cr0 = 0x60000030, .cr4 = 0x2000, .efer = 0, .dr7 = 0x400, .rflags = 2, .rip = 0xfff0,
        .link_pointer = ~0ull, .gdtr_limit = 0xffff, .idtr_limit = 0xffff,
    };
    for (int i = 0; i < 6; i++) {
        s.seg_ar[i] = 0x93;
        s.seg_limit[i] = 0xffff;
    }
    s.seg_ar[1] = 0x9b;
    s.seg_ar[6] = 0x82;
    s.seg_ar[7] = 0x8b;
    s.seg_limit[6] = s.seg_limit[7] = 0xffff;
    return s;
}

TEST(vmx_check_reset_state_passes)
{
    struct vmcs_snapshot s = reset_state();
    vmx_check_vmcs(&s, &caps, out, sizeof(out));
    CHECK_STR(out, "Zazen's checks find no bad field");
}

TEST(vmx_check_names_bad_fields)
{
    struct vmcs_snapshot s = reset_state();
    s.seg_ar[1] = 0x9a; /* CS not accessed */
    vmx_check_vmcs(&s, &caps, out, sizeof(out));
    CHECK_STR(out, "guest CS type 10 is not an accessed code segment (or 3)");

    s = reset_state();
    s.seg_ar[7] = 0x89; /* TR: an available, not busy, TSS */
    vmx_check_vmcs(&s, &caps, out, sizeof(out));
    CHECK_STR(out, "guest TR access rights 89: need a present busy TSS (type 11, or 3 outside IA-32e mode)");

    s = reset_state();
    s.entry |= ENTRY_IA32E_MODE_GUEST; /* long mode without paging */
    vmx_check_vmcs(&s, &caps, out, sizeof(out));
    CHECK_STR(out, "IA-32e mode guest entry control without CR0.PG and CR4.PAE");

    s = reset_state();
    s.rflags = 0; /* bit 1 must be one */
    vmx_check_vmcs(&s, &caps, out, sizeof(out));
    CHECK_STR(out, "guest RFLAGS 0: reserved bits wrong");

    s = reset_state();
    s.host_selectors[6] = 0;
    vmx_check_vmcs(&s, &caps, out, sizeof(out));
    CHECK_STR(out, "host TR selector is 0");

    s = reset_state();
    s.proc &= ~0x04006172u; /* drop bits the CPU requires */
    vmx_check_vmcs(&s, &caps, out, sizeof(out));
    CHECK(strstr(out, "processor-based controls") != NULL);

    s = reset_state();
    s.link_pointer = 0;
    vmx_check_vmcs(&s, &caps, out, sizeof(out));
    CHECK_STR(out, "VMCS link pointer is not all ones");

    s = reset_state();
    s.cr4 = 0; /* VMXE must stay set */
    vmx_check_vmcs(&s, &caps, out, sizeof(out));
    CHECK_STR(out, "guest CR4 0 violates IA32_VMX_CR4_FIXED0/1");
}

TEST(vmx_check_x2apic_virtualization_needs_tpr_shadow)
{
    struct vmcs_snapshot s = reset_state();
    s.proc |= PROC_USE_TPR_SHADOW;
    s.proc2 |= PROC2_VIRTUALIZE_X2APIC; /* what Zazen sets in x2APIC mode */
    vmx_check_vmcs(&s, &caps, out, sizeof(out));
    CHECK_STR(out, "Zazen's checks find no bad field");

    s.proc &= ~PROC_USE_TPR_SHADOW;
    vmx_check_vmcs(&s, &caps, out, sizeof(out));
    CHECK_STR(out, "virtualize x2APIC mode without use TPR shadow");

    s.proc |= PROC_USE_TPR_SHADOW;
    s.proc2 |= PROC2_VIRTUALIZE_APIC_ACCESSES;
    vmx_check_vmcs(&s, &caps, out, sizeof(out));
    CHECK_STR(out, "virtualize x2APIC mode with virtualize APIC accesses");
}

static struct vmcb vmcb;

static void good_vmcb(void)
{
    memset(&vmcb, 0, sizeof(vmcb));
    vmcb.save.efer = EFER_SVME;
    vmcb.save.cr0 = CR0_CD | CR0_NW | CR0_ET;
    vmcb.save.dr6 = 0xffff0ff0;
    vmcb.save.dr7 = 0x400;
    vmcb.control.intercept_misc2 = 1; /* VMRUN */
    vmcb.control.guest_asid = 1;
}

TEST(svm_check_reset_state_passes)
{
    good_vmcb();
    svm_check_vmcb(&vmcb, out, sizeof(out));
    CHECK_STR(out, "Zazen's checks find no bad field");
}

TEST(svm_check_names_bad_fields)
{
    good_vmcb();
    vmcb.save.efer = 0;
    svm_check_vmcb(&vmcb, out, sizeof(out));
    CHECK_STR(out, "guest EFER.SVME is clear");
    good_vmcb();
    vmcb.save.cr0 = CR0_NW | CR0_PE;
    svm_check_vmcb(&vmcb, out, sizeof(out));
    CHECK_STR(out, "guest CR0.NW set with CR0.CD clear");
    good_vmcb();
    vmcb.save.efer |= EFER_LME;
    vmcb.save.cr0 = CR0_PE | CR0_PG;
    svm_check_vmcb(&vmcb, out, sizeof(out));
    CHECK_STR(out, "guest EFER.LME and CR0.PG without CR4.PAE");
    good_vmcb();
    vmcb.control.guest_asid = 0;
    svm_check_vmcb(&vmcb, out, sizeof(out));
    CHECK_STR(out, "guest ASID is 0 (the host's)");
    good_vmcb();
    vmcb.control.intercept_misc2 = 0;
    svm_check_vmcb(&vmcb, out, sizeof(out));
    CHECK_STR(out, "the VMRUN intercept is clear");
    good_vmcb();
    vmcb.control.eventinj = (1u << 31) | (3 << 8) | 2;
    svm_check_vmcb(&vmcb, out, sizeof(out));
    CHECK_STR(out, "EVENTINJ injects vector 2 as an exception (NMI must use type 2)");
}
