/* VT-x exit decoding (SDM 3C ch. 28, "VM exits", and Appendix C). The CPU
 * reports the length of every instruction that exits (28.2.5), so, unlike
 * AMD-V without NRIP save, no length is ever guessed here. */
#include "vmx_exit.h"
#include "vmcs.h"

/* INS/OUTS instruction information (Table 28-8) */
#define INSN_INFO_ADDR_SIZE_SHIFT 7
#define INSN_INFO_SEGMENT_SHIFT 15
/* Control-register access qualification (Table 28-3) */
#define CR_NUMBER_MASK 0xf
#define CR_ACCESS_SHIFT 4
#define CR_GPR_SHIFT 8
#define CR_LMSW_DATA_SHIFT 16
/* EPT violation qualification (Table 28-7) */
#define EPT_READ BIT(0)
#define EPT_WRITE BIT(1)
#define EPT_FETCH BIT(2)
#define EPT_ENTRY_PERMS (BIT(3) | BIT(4) | BIT(5))
#define EPT_GLA_VALID BIT(7)
#define EPT_GLA_TRANSLATED BIT(8) /* with bit 7: the access was to the linear address's translation */

static void decode_unhandled(const struct vmx_exit_raw *raw, struct vm_exit *e, u32 basic)
{
    e->reason = EXIT_UNHANDLED;
    e->unhandled.raw_reason = basic;
    e->unhandled.info1 = raw->qualification;
    e->unhandled.info2 = raw->gpa;
}

static void decode_io(const struct vmx_exit_raw *raw, struct vm_exit *e)
{
    u64 q = raw->qualification;
    /* Table 28-5 "Size of access": 0 one byte, 1 two, 3 four; the other
     * encodings are not used, and are no port access the bus can take. */
    static const u8 sizes[8] = {1, 2, 0, 4, 0, 0, 0, 0};
    if (!sizes[q & IO_SIZE_MASK]) {
        decode_unhandled(raw, e, VMX_EXIT_IO);
        return;
    }
    e->reason = EXIT_IO;
    e->io.size = sizes[q & IO_SIZE_MASK];
    e->io.in = (q & IO_IN) != 0;
    e->io.string = (q & IO_STRING) != 0;
    e->io.rep = (q & IO_REP) != 0;
    e->io.port = (u16)(q >> IO_PORT_SHIFT);
    if (e->io.string) {
        static const u8 addr_sizes[4] = {2, 4, 8, 8};
        e->io.addr_size = addr_sizes[(raw->insn_info >> INSN_INFO_ADDR_SIZE_SHIFT) & 3];
        e->io.segment = (u8)((raw->insn_info >> INSN_INFO_SEGMENT_SHIFT) & 7);
    }
}

static void decode_cr(const struct vmx_exit_raw *raw, struct vm_exit *e)
{
    u64 q = raw->qualification;
    e->reason = EXIT_CR_ACCESS;
    e->cr.cr = (u8)(q & CR_NUMBER_MASK);
    e->cr.access = (u8)((q >> CR_ACCESS_SHIFT) & 3);
    e->cr.gpr = (u8)((q >> CR_GPR_SHIFT) & 0xf);
    e->cr.lmsw_data = (u16)(q >> CR_LMSW_DATA_SHIFT);
}

static void decode_ept_violation(const struct vmx_exit_raw *raw, struct vm_exit *e)
{
    u64 q = raw->qualification;
    e->reason = EXIT_NESTED_FAULT;
    e->npf.gpa = raw->gpa;
    e->npf.read = (q & EPT_READ) != 0;
    e->npf.write = (q & EPT_WRITE) != 0;
    e->npf.fetch = (q & EPT_FETCH) != 0;
    e->npf.present = (q & EPT_ENTRY_PERMS) != 0;
    e->npf.valid_gla = (q & EPT_GLA_VALID) != 0;
    e->npf.gla = raw->gla;
    /* Table 28-7: bit 7 clear (a PDPTE load by MOV to CR) or bit 8 clear
     * (a paging-structure entry read or its A/D bit written during a
     * walk) is the CPU's own access; so is any access while an event was
     * being delivered (28.2.4: IDT-vectoring information valid). */
    e->npf.cpu_access = !(q & EPT_GLA_VALID) || !(q & EPT_GLA_TRANSLATED) || (raw->idt_vectoring & INTR_INFO_VALID);
}

/* An event a guest instruction raised itself (INT n, INT1, INT3, INTO):
 * the old task resumes after it, and the exit reports its length (28.2.5). */
static bool software_event(u32 idt_vectoring)
{
    u32 type = (idt_vectoring >> INTR_INFO_TYPE_SHIFT) & 7;
    return type == INTR_TYPE_SW_INTERRUPT || type == INTR_TYPE_PRIV_SW_EXCEPTION || type == INTR_TYPE_SW_EXCEPTION;
}

/* Task-switch qualification (Table 28-2): the selector in 15:0, the
 * source in 31:30. Through a task gate in the IDT, the event is in the
 * IDT-vectoring information (28.2.4). insn_len is what the old task's
 * saved EIP skips: CALL, JMP and IRET are done by the switch, and so is
 * a software interrupt through a gate; an exception or external event
 * resumes at the instruction (0). */
static void decode_task_switch(const struct vmx_exit_raw *raw, struct vm_exit *e)
{
    e->reason = EXIT_TASK_SWITCH;
    e->task.selector = (u16)raw->qualification;
    e->task.source = (u8)((raw->qualification >> 30) & 3);
    bool event = e->task.source == TS_GATE && (raw->idt_vectoring & INTR_INFO_VALID);
    if (e->task.source != TS_GATE || (event && software_event(raw->idt_vectoring)))
        e->insn_len = vmx_insn_length(raw->insn_len);
    if (event && (raw->idt_vectoring & INTR_INFO_ERROR_VALID)) {
        e->task.has_error = true;
        e->task.error = raw->idt_vectoring_error;
    }
}

static void decode_exception(const struct vmx_exit_raw *raw, struct vm_exit *e)
{
    /* A host NMI (NMI exiting, 25.6.1): the host's, nothing to do with the guest. */
    if (((raw->intr_info >> INTR_INFO_TYPE_SHIFT) & 7) == INTR_TYPE_NMI) {
        e->reason = EXIT_EXTERNAL_INTR;
        return;
    }
    e->reason = EXIT_EXCEPTION;
    e->exception.vector = (u8)raw->intr_info;
    e->exception.has_error = (raw->intr_info & INTR_INFO_ERROR_VALID) != 0;
    e->exception.error = raw->intr_error;
    e->exception.cr2 = raw->qualification; /* a #PF's linear address (28.2.1) */
    /* The exception interrupted the delivery of another event (28.2.4). */
    e->exception.in_delivery = (raw->idt_vectoring & INTR_INFO_VALID) != 0;
    e->exception.delivery_vector = (u8)raw->idt_vectoring;
    /* INT1 (ICEBP) is a privileged software exception: a trap after the
     * instruction, whose length the CPU reports (28.2.1, 28.2.5). */
    if (((raw->intr_info >> INTR_INFO_TYPE_SHIFT) & 7) == INTR_TYPE_PRIV_SW_EXCEPTION)
        e->insn_len = vmx_insn_length(raw->insn_len);
}

static enum exit_reason simple_reason(u32 basic)
{
    if (basic >= VMX_EXIT_VMCLEAR && basic <= VMX_EXIT_VMXON)
        return EXIT_VIRT_INSN;
    switch (basic) {
    case VMX_EXIT_EXTERNAL_INTERRUPT: return EXIT_EXTERNAL_INTR;
    case VMX_EXIT_TRIPLE_FAULT: return EXIT_TRIPLE_FAULT;
    case VMX_EXIT_INIT: return EXIT_INIT_SIGNAL;
    case VMX_EXIT_INTERRUPT_WINDOW: return EXIT_IRQ_WINDOW;
    case VMX_EXIT_NMI_WINDOW: return EXIT_NMI_WINDOW;
    case VMX_EXIT_CPUID: return EXIT_CPUID;
    case VMX_EXIT_HLT: return EXIT_HLT;
    case VMX_EXIT_INVD: return EXIT_INVD;
    case VMX_EXIT_WBINVD: return EXIT_WBINVD;
    case VMX_EXIT_VMCALL: return EXIT_HYPERCALL;
    case VMX_EXIT_RDMSR: return EXIT_MSR_READ;
    case VMX_EXIT_WRMSR: return EXIT_MSR_WRITE;
    case VMX_EXIT_MWAIT:
    case VMX_EXIT_MONITOR: return EXIT_MONITOR_MWAIT;
    case VMX_EXIT_PAUSE: return EXIT_PAUSE;
    case VMX_EXIT_XSETBV: return EXIT_XSETBV;
    case VMX_EXIT_PREEMPTION_TIMER: return EXIT_TIMER;
    /* The guest lowered CR8 below the class of an interrupt that waits
     * (29.1.2): a chance to deliver it, as an interrupt window is. */
    case VMX_EXIT_TPR_BELOW_THRESHOLD: return EXIT_IRQ_WINDOW;
    case VMX_EXIT_GETSEC:
    case VMX_EXIT_RSM:
    case VMX_EXIT_INVEPT:
    case VMX_EXIT_INVVPID: return EXIT_VIRT_INSN;
    default: return EXIT_UNHANDLED;
    }
}

void vmx_decode_exit(const struct vmx_exit_raw *raw, struct vm_exit *e)
{
    u32 basic = raw->reason & 0xffff;
    vm_exit_clear(e);
    if (raw->reason & VMX_EXIT_ENTRY_FAILURE) {
        e->reason = EXIT_ENTRY_FAILED;
        e->entry.error = basic;
        e->entry.qualification = raw->qualification;
        return;
    }
    switch (basic) {
    case VMX_EXIT_IO: decode_io(raw, e); break;
    case VMX_EXIT_CR_ACCESS: decode_cr(raw, e); break;
    case VMX_EXIT_EPT_VIOLATION: decode_ept_violation(raw, e); return; /* emulated: no length */
    case VMX_EXIT_EXCEPTION_NMI: decode_exception(raw, e); return;
    case VMX_EXIT_TASK_SWITCH: decode_task_switch(raw, e); return;
    default:
        e->reason = simple_reason(basic);
        if (e->reason == EXIT_UNHANDLED) {
            decode_unhandled(raw, e, basic);
            return;
        }
        if (e->reason == EXIT_EXTERNAL_INTR || e->reason == EXIT_TRIPLE_FAULT || e->reason == EXIT_IRQ_WINDOW || e->reason == EXIT_NMI_WINDOW ||
            e->reason == EXIT_TIMER || e->reason == EXIT_INIT_SIGNAL)
            return; /* not instruction exits: the length field is undefined */
        break;
    }
    if (e->reason != EXIT_UNHANDLED)
        e->insn_len = vmx_insn_length(raw->insn_len);
}
