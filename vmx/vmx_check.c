/* See vmx_check.h. Rules are from SDM 3C 27.2 (controls and host state)
 * and 27.3 (guest state); first failure first. Only a failed entry runs
 * this: it is the message a developer reads, so each rule names its field. */
#include "vmx_check.h"
#include "../vmm/format.h"
#include "../vmm/vcpu.h"
#include "../vmm/x86.h"
#include "vmcs.h"

struct check {
    char *out;
    size_t size;
    bool failed;
};

static void fail(struct check *c, const char *fmt, ...) PRINTF_LIKE(2, 3);
static void fail(struct check *c, const char *fmt, ...)
{
    if (c->failed)
        return;
    c->failed = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->out, c->size, fmt, ap);
    va_end(ap);
}

static void check_control(struct check *c, u32 value, u64 cap, const char *name)
{
    u32 allowed0 = (u32)cap, allowed1 = (u32)(cap >> 32);
    if ((value & allowed0) != allowed0)
        fail(c, "%s controls 0x%x lack bits the CPU requires (0x%x)", name, value, allowed0 & ~value);
    else if (value & ~allowed1)
        fail(c, "%s controls 0x%x set bits the CPU does not allow (0x%x)", name, value, value & ~allowed1);
}

/* 27.2.1: VM-execution, exit and entry control fields. */
static void check_controls(struct check *c, const struct vmcs_snapshot *s, const struct vmx_caps *caps)
{
    check_control(c, s->pin, caps->pin, "pin-based");
    check_control(c, s->proc, caps->proc, "processor-based");
    check_control(c, s->proc2, caps->proc2, "secondary");
    check_control(c, s->exit, caps->exit, "VM-exit");
    check_control(c, s->entry, caps->entry, "VM-entry");
    if ((s->proc2 & PROC2_UNRESTRICTED_GUEST) && !(s->proc2 & PROC2_ENABLE_EPT))
        fail(c, "unrestricted guest without EPT");
    if ((s->proc2 & PROC2_ENABLE_VPID) && s->vpid == 0)
        fail(c, "VPID field is 0 with VPIDs enabled");
    /* SDM 3C 26.2.1.1, checks on the execution controls: "virtualize x2APIC mode"
     * needs "use TPR shadow" and excludes "virtualize APIC accesses". */
    if ((s->proc2 & PROC2_VIRTUALIZE_X2APIC) && !(s->proc & PROC_USE_TPR_SHADOW))
        fail(c, "virtualize x2APIC mode without use TPR shadow");
    if ((s->proc2 & PROC2_VIRTUALIZE_X2APIC) && (s->proc2 & PROC2_VIRTUALIZE_APIC_ACCESSES))
        fail(c, "virtualize x2APIC mode with virtualize APIC accesses");
    if ((s->proc2 & PROC2_ENABLE_EPT) && ((s->eptp & 7) != 6 || ((s->eptp >> 3) & 7) != 3))
        fail(c, "EPT pointer %llx: memory type or walk length invalid", (unsigned long long)s->eptp);
    u32 intr = s->entry_intr_info;
    if ((intr & INTR_INFO_VALID) && ((intr >> INTR_INFO_TYPE_SHIFT) & 7) == INTR_TYPE_HW_EXCEPTION && (intr & 0xff) > 31)
        fail(c, "VM-entry interruption info 0x%x: a hardware exception above vector 31", intr);
}

static bool fixed_ok(u64 value, u64 fixed0, u64 fixed1) { return (value & fixed0) == fixed0 && !(value & ~fixed1); }

/* 27.2.2-27.2.4: host control registers, selectors, address-space size. */
static void check_host(struct check *c, const struct vmcs_snapshot *s, const struct vmx_caps *caps)
{
    static const char *const names[7] = {"ES", "CS", "SS", "DS", "FS", "GS", "TR"};
    if (!fixed_ok(s->host_cr0, caps->cr0_fixed0, caps->cr0_fixed1))
        fail(c, "host CR0 %llx violates IA32_VMX_CR0_FIXED0/1", (unsigned long long)s->host_cr0);
    if (!fixed_ok(s->host_cr4, caps->cr4_fixed0, caps->cr4_fixed1))
        fail(c, "host CR4 %llx violates IA32_VMX_CR4_FIXED0/1", (unsigned long long)s->host_cr4);
    for (unsigned i = 0; i < 7; i++)
        if (s->host_selectors[i] & 7)
            fail(c, "host %s selector %x has RPL or TI set", names[i], s->host_selectors[i]);
    if (s->host_selectors[1] == 0)
        fail(c, "host CS selector is 0");
    if (s->host_selectors[6] == 0)
        fail(c, "host TR selector is 0");
    if ((s->exit & EXIT_HOST_ADDRESS_SPACE_SIZE) && !(s->host_cr4 & CR4_PAE))
        fail(c, "64-bit host without CR4.PAE");
}

static const char *const seg_names[SEG_COUNT] = {"ES", "CS", "SS", "DS", "FS", "GS", "LDTR", "TR"};

/* 27.3.1.2: the segment registers of a guest that is not in virtual-8086
 * mode; unrestricted guest relaxes CS and SS in real mode. */
static void check_segment(struct check *c, const struct vmcs_snapshot *st, unsigned seg, bool unrestricted,
                          bool real_mode, bool ia32e)
{
    u32 ar = st->seg_ar[seg], limit = st->seg_limit[seg];
    u32 type = ar & 0xf;
    bool s = ar & BIT(4), p = ar & BIT(7), g = ar & BIT(15);
    unsigned dpl = (ar >> 5) & 3;
    const char *n = seg_names[seg];
    if (ar & VMX_AR_UNUSABLE) {
        if (seg == SEG_CS || seg == SEG_TR)
            fail(c, "guest %s is marked unusable", n);
        return;
    }
    if (ar & 0xfffe0f00)
        fail(c, "guest %s access rights %x set reserved bits", n, ar);
    if (((limit & 0xfff) != 0xfff && g) || ((limit >> 20) && !g))
        fail(c, "guest %s limit %x does not match its G bit", n, limit);
    if (seg == SEG_TR) {
        if (!(type == 11 || (type == 3 && !ia32e)) || s || !p)
            fail(c, "guest TR access rights %x: need a present busy TSS (type 11, or 3 outside IA-32e mode)", ar);
        return;
    }
    if (seg == SEG_LDTR) {
        if (type != 2 || s || !p)
            fail(c, "guest LDTR access rights %x: need a present LDT (type 2)", ar);
        return;
    }
    if (!s || !p)
        fail(c, "guest %s access rights %x: not a present code/data segment", n, ar);
    if (seg == SEG_CS) {
        bool ok = type == 9 || type == 11 || type == 13 || type == 15 || (unrestricted && type == 3);
        if (!ok)
            fail(c, "guest CS type %u is not an accessed code segment%s", type, unrestricted ? " (or 3)" : "");
        if (type == 3 && dpl != 0)
            fail(c, "guest CS type 3 with DPL %u (must be 0)", dpl);
    } else if (seg == SEG_SS) {
        if (type != 3 && type != 7)
            fail(c, "guest SS type %u is not a writable accessed data segment", type);
        if (unrestricted && real_mode && dpl != 0)
            fail(c, "guest SS DPL %u in real mode (must be 0)", dpl);
    } else if (!(type & 1) || ((type & 8) && !(type & 2))) {
        fail(c, "guest %s type %u: not accessed, or code that is not readable", n, type);
    }
}

/* 27.3.1: control registers, EFER, RFLAGS, segments, descriptor tables,
 * non-register state. */
static void check_guest(struct check *c, const struct vmcs_snapshot *s, const struct vmx_caps *caps)
{
    bool unrestricted = (s->proc2 & PROC2_UNRESTRICTED_GUEST) != 0;
    bool ia32e = (s->entry & ENTRY_IA32E_MODE_GUEST) != 0;
    u64 cr0_fixed0 = caps->cr0_fixed0 & (unrestricted ? ~(CR0_PE | CR0_PG) : ~0ull);
    if (!fixed_ok(s->cr0, cr0_fixed0, caps->cr0_fixed1))
        fail(c, "guest CR0 %llx violates IA32_VMX_CR0_FIXED0/1", (unsigned long long)s->cr0);
    if ((s->cr0 & CR0_PG) && !(s->cr0 & CR0_PE))
        fail(c, "guest CR0.PG without CR0.PE");
    if (!fixed_ok(s->cr4, caps->cr4_fixed0, caps->cr4_fixed1))
        fail(c, "guest CR4 %llx violates IA32_VMX_CR4_FIXED0/1", (unsigned long long)s->cr4);
    if (ia32e && (!(s->cr0 & CR0_PG) || !(s->cr4 & CR4_PAE)))
        fail(c, "IA-32e mode guest entry control without CR0.PG and CR4.PAE");
    if (!ia32e && (s->cr4 & CR4_PCIDE))
        fail(c, "guest CR4.PCIDE outside IA-32e mode");
    if ((s->entry & ENTRY_LOAD_EFER) &&
        (!!(s->efer & EFER_LMA) != ia32e || ((s->cr0 & CR0_PG) && !!(s->efer & EFER_LME) != ia32e)))
        fail(c, "guest EFER %llx: LMA/LME disagree with the IA-32e mode guest control", (unsigned long long)s->efer);
    if (s->dr7 >> 32)
        fail(c, "guest DR7 bits 63:32 set");
    if (!(s->rflags & RFLAGS_FIXED) || (s->rflags & (BIT(3) | BIT(5) | BIT(15) | ~0x3fffffull)))
        fail(c, "guest RFLAGS %llx: reserved bits wrong", (unsigned long long)s->rflags);
    if ((s->rflags & RFLAGS_VM) && ia32e)
        fail(c, "guest RFLAGS.VM in IA-32e mode");
    for (unsigned seg = 0; seg < SEG_COUNT; seg++)
        check_segment(c, s, seg, unrestricted, !(s->cr0 & CR0_PE), ia32e);
    if (s->gdtr_limit > 0xffff || s->idtr_limit > 0xffff)
        fail(c, "guest GDTR/IDTR limit above 0xffff");
    if ((!ia32e || !(s->seg_ar[SEG_CS] & BIT(13))) && (s->rip >> 32))
        fail(c, "guest RIP bits 63:32 set outside 64-bit mode");
    if (s->activity > 3)
        fail(c, "guest activity state above 3");
    if ((s->interruptibility & 1) && !(s->rflags & RFLAGS_IF))
        fail(c, "blocking by STI with RFLAGS.IF clear");
    if (s->link_pointer != ~0ull)
        fail(c, "VMCS link pointer is not all ones");
}

void vmx_check_vmcs(const struct vmcs_snapshot *s, const struct vmx_caps *caps, char *out, size_t size)
{
    struct check c = {out, size, false};
    check_controls(&c, s, caps);
    check_host(&c, s, caps);
    check_guest(&c, s, caps);
    if (!c.failed)
        snprintf(out, size, "Zazen's checks find no bad field");
}
