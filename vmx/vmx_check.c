/* What was wrong with a VMCS that VM entry refused: the checks of SDM 3C
 * chapter 27 ("VM entries"), 27.2 (controls and host state) and 27.3
 * (guest state), run in software over the current VMCS, first failure
 * first. Only a failed entry runs this; it is the message a developer
 * reads, so each rule names its field. Mirrors svm/svm_check.c. */
#include "../vmm/format.h"
#include "../vmm/vcpu.h"
#include "../vmm/x86.h"
#include "vmcs.h"
#include "vmx.h"
#include "vmx_ops.h"

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

static void check_control(struct check *c, u64 field, u64 cap_msr, const char *name)
{
    u64 cap = rdmsr(cap_msr);
    u32 value = (u32)vmread(field), allowed0 = (u32)cap, allowed1 = (u32)(cap >> 32);
    if ((value & allowed0) != allowed0)
        fail(c, "%s controls 0x%x lack bits the CPU requires (0x%x)", name, value, allowed0 & ~value);
    else if (value & ~allowed1)
        fail(c, "%s controls 0x%x set bits the CPU does not allow (0x%x)", name, value, value & ~allowed1);
}

/* 27.2.1: VM-execution, exit and entry control fields. */
static void check_controls(struct check *c)
{
    bool true_ctls = (vmx_cpu.basic & VMX_BASIC_TRUE_CTLS) != 0;
    check_control(c, VMCS_PIN_CONTROLS, true_ctls ? MSR_VMX_TRUE_PINBASED_CTLS : MSR_VMX_PINBASED_CTLS, "pin-based");
    check_control(c, VMCS_PROC_CONTROLS, true_ctls ? MSR_VMX_TRUE_PROCBASED_CTLS : MSR_VMX_PROCBASED_CTLS,
                  "processor-based");
    check_control(c, VMCS_PROC_CONTROLS2, MSR_VMX_PROCBASED_CTLS2, "secondary");
    check_control(c, VMCS_EXIT_CONTROLS, true_ctls ? MSR_VMX_TRUE_EXIT_CTLS : MSR_VMX_EXIT_CTLS, "VM-exit");
    check_control(c, VMCS_ENTRY_CONTROLS, true_ctls ? MSR_VMX_TRUE_ENTRY_CTLS : MSR_VMX_ENTRY_CTLS, "VM-entry");
    u32 proc2 = (u32)vmread(VMCS_PROC_CONTROLS2);
    if ((proc2 & PROC2_UNRESTRICTED_GUEST) && !(proc2 & PROC2_ENABLE_EPT))
        fail(c, "unrestricted guest without EPT");
    if ((proc2 & PROC2_ENABLE_VPID) && vmread(VMCS_VPID) == 0)
        fail(c, "VPID field is 0 with VPIDs enabled");
    u64 eptp = vmread(VMCS_EPT_POINTER);
    if ((proc2 & PROC2_ENABLE_EPT) && ((eptp & 7) != 6 || ((eptp >> 3) & 7) != 3))
        fail(c, "EPT pointer %llx: memory type or walk length invalid", (unsigned long long)eptp);
    u32 intr = (u32)vmread(VMCS_ENTRY_INTR_INFO);
    if ((intr & INTR_INFO_VALID) && ((intr >> INTR_INFO_TYPE_SHIFT) & 7) == INTR_TYPE_HW_EXCEPTION && (intr & 0xff) > 31)
        fail(c, "VM-entry interruption info 0x%x: a hardware exception above vector 31", intr);
}

/* 27.2.2-27.2.4: host control registers, selectors, address-space size. */
static void check_host(struct check *c)
{
    u64 cr0 = vmread(VMCS_HOST_CR0), cr4 = vmread(VMCS_HOST_CR4);
    if ((cr0 & vmx_cpu.cr0_fixed0) != vmx_cpu.cr0_fixed0 || (cr0 & ~vmx_cpu.cr0_fixed1))
        fail(c, "host CR0 %llx violates IA32_VMX_CR0_FIXED0/1", (unsigned long long)cr0);
    if ((cr4 & vmx_cpu.cr4_fixed0) != vmx_cpu.cr4_fixed0 || (cr4 & ~vmx_cpu.cr4_fixed1))
        fail(c, "host CR4 %llx violates IA32_VMX_CR4_FIXED0/1", (unsigned long long)cr4);
    for (unsigned i = 0; i < 7; i++) {
        u16 sel = (u16)vmread(VMCS_HOST_ES_SELECTOR + 2 * i);
        if (sel & 7)
            fail(c, "host selector field 0x%x = %x has RPL or TI set", VMCS_HOST_ES_SELECTOR + 2 * i, sel);
    }
    if (vmread(VMCS_HOST_CS_SELECTOR) == 0)
        fail(c, "host CS selector is 0");
    if (vmread(VMCS_HOST_TR_SELECTOR) == 0)
        fail(c, "host TR selector is 0");
    if (!(cr4 & CR4_PAE))
        fail(c, "64-bit host without CR4.PAE");
}

static const char *const seg_names[SEG_COUNT] = {"ES", "CS", "SS", "DS", "FS", "GS", "LDTR", "TR"};

/* 27.3.1.2: the segment registers of a guest that is not in virtual-8086
 * mode, with unrestricted guest relaxing CS and SS in real mode. */
static void check_segment(struct check *c, unsigned seg, bool unrestricted, bool real_mode, bool ia32e)
{
    u32 ar = (u32)vmread(VMCS_GUEST_ES_AR + 2 * seg);
    u32 limit = (u32)vmread(VMCS_GUEST_ES_LIMIT + 2 * seg);
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
static void check_guest(struct check *c)
{
    u64 cr0 = vmread(VMCS_GUEST_CR0), cr4 = vmread(VMCS_GUEST_CR4);
    u32 proc2 = (u32)vmread(VMCS_PROC_CONTROLS2), entry = (u32)vmread(VMCS_ENTRY_CONTROLS);
    bool unrestricted = (proc2 & PROC2_UNRESTRICTED_GUEST) != 0;
    bool ia32e = (entry & ENTRY_IA32E_MODE_GUEST) != 0;
    u64 fixed0 = vmx_cpu.cr0_fixed0 & (unrestricted ? ~(CR0_PE | CR0_PG) : ~0ull);
    if ((cr0 & fixed0) != fixed0 || (cr0 & ~vmx_cpu.cr0_fixed1))
        fail(c, "guest CR0 %llx violates IA32_VMX_CR0_FIXED0/1", (unsigned long long)cr0);
    if ((cr0 & CR0_PG) && !(cr0 & CR0_PE))
        fail(c, "guest CR0.PG without CR0.PE");
    if ((cr4 & vmx_cpu.cr4_fixed0) != vmx_cpu.cr4_fixed0 || (cr4 & ~vmx_cpu.cr4_fixed1))
        fail(c, "guest CR4 %llx violates IA32_VMX_CR4_FIXED0/1", (unsigned long long)cr4);
    if (ia32e && (!(cr0 & CR0_PG) || !(cr4 & CR4_PAE)))
        fail(c, "IA-32e mode guest entry control without CR0.PG and CR4.PAE");
    if (!ia32e && (cr4 & CR4_PCIDE))
        fail(c, "guest CR4.PCIDE outside IA-32e mode");
    u64 efer = vmread(VMCS_GUEST_IA32_EFER);
    if ((entry & ENTRY_LOAD_EFER) && (!!(efer & EFER_LMA) != ia32e || ((cr0 & CR0_PG) && !!(efer & EFER_LME) != ia32e)))
        fail(c, "guest EFER %llx: LMA/LME disagree with the IA-32e mode guest control", (unsigned long long)efer);
    if (vmread(VMCS_GUEST_DR7) >> 32)
        fail(c, "guest DR7 bits 63:32 set");
    u64 rflags = vmread(VMCS_GUEST_RFLAGS);
    if (!(rflags & RFLAGS_FIXED) || (rflags & (BIT(3) | BIT(5) | BIT(15) | ~0x3fffffull)))
        fail(c, "guest RFLAGS %llx: reserved bits wrong", (unsigned long long)rflags);
    if ((rflags & RFLAGS_VM) && ia32e)
        fail(c, "guest RFLAGS.VM in IA-32e mode");
    for (unsigned seg = 0; seg < SEG_COUNT; seg++)
        check_segment(c, seg, unrestricted, !(cr0 & CR0_PE), ia32e);
    if (vmread(VMCS_GUEST_GDTR_LIMIT) > 0xffff || vmread(VMCS_GUEST_IDTR_LIMIT) > 0xffff)
        fail(c, "guest GDTR/IDTR limit above 0xffff");
    u32 cs_ar = (u32)vmread(VMCS_GUEST_ES_AR + 2 * SEG_CS);
    if ((!ia32e || !(cs_ar & BIT(13))) && (vmread(VMCS_GUEST_RIP) >> 32))
        fail(c, "guest RIP bits 63:32 set outside 64-bit mode");
    if (vmread(VMCS_GUEST_ACTIVITY_STATE) > 3)
        fail(c, "guest activity state above 3");
    u32 intr = (u32)vmread(VMCS_GUEST_INTERRUPTIBILITY);
    if ((intr & 1) && !(rflags & RFLAGS_IF))
        fail(c, "blocking by STI with RFLAGS.IF clear");
    if (vmread(VMCS_LINK_POINTER) != ~0ull)
        fail(c, "VMCS link pointer is not all ones");
}

void vmx_diagnose(char *out, size_t size)
{
    struct check c = {out, size, false};
    check_controls(&c);
    check_host(&c);
    check_guest(&c);
    if (!c.failed)
        snprintf(out, size, "Zazen's checks find no bad field");
}
