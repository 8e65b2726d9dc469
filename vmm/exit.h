/* The vendor-neutral exit record. Each backend (vmx/, svm/) turns one
 * hardware VM exit into one struct vm_exit; the core dispatches it through
 * a table indexed by reason (vmm/exit.c) and counts every reason. */
#ifndef ZAZEN_EXIT_H
#define ZAZEN_EXIT_H

#include "types.h"

#define EXIT_REASONS(X)                                                           \
    X(NONE, "none")                    /* done by the fast way (vcpu_fast_exit) */ \
    X(IO, "io")                        /* IN/OUT/INS/OUTS */                      \
    X(CPUID, "cpuid")                                                             \
    X(MSR_READ, "rdmsr")                                                          \
    X(MSR_WRITE, "wrmsr")                                                         \
    X(HLT, "hlt")                                                                 \
    X(HYPERCALL, "hypercall")          /* VMCALL/VMMCALL */                       \
    X(NESTED_FAULT, "npf")             /* EPT violation / nested page fault */    \
    X(TRIPLE_FAULT, "triple-fault")    /* SVM shutdown, VMX triple fault */       \
    X(INVD, "invd")                                                               \
    X(WBINVD, "wbinvd")                                                           \
    X(VIRT_INSN, "virt-insn")          /* VMX/SVM instructions in the guest */    \
    X(MONITOR_MWAIT, "monitor-mwait")                                             \
    X(XSETBV, "xsetbv")                                                           \
    X(PAUSE, "pause")                                                             \
    X(EXTERNAL_INTR, "ext-intr")       /* a host interrupt arrived */             \
    X(IRQ_WINDOW, "irq-window")        /* the guest can take an interrupt now */  \
    X(NMI_WINDOW, "nmi-window")        /* ...or an NMI (VT-x), or it ran IRET (AMD-V) */ \
    X(TIMER, "timer")                  /* preemption timer / host timer */        \
    X(INIT_SIGNAL, "init")                                                        \
    X(EXCEPTION, "exception")          /* an intercepted guest exception */       \
    X(CR_ACCESS, "cr-access")          /* VMX: a write to a masked CR bit */      \
    X(TASK_SWITCH, "task-switch")      /* VMX: every hardware task switch */      \
    X(ENTRY_FAILED, "entry-failed")    /* VM entry refused the guest state */     \
    X(UNHANDLED, "unhandled")          /* a hardware exit Zazen has no use for */

enum exit_reason {
#define X(name, text) EXIT_##name,
    EXIT_REASONS(X)
#undef X
        EXIT_REASON_COUNT
};

const char *exit_reason_name(enum exit_reason r);

enum cr_access { CR_MOV_TO, CR_MOV_FROM, CR_CLTS, CR_LMSW };
/* What started a task switch (SDM 3C Table 28-2's encoding). */
enum task_switch_source { TS_CALL, TS_IRET, TS_JMP, TS_GATE };
#define CR_GPR_UNKNOWN 0xff /* AMD-V without decode assists does not say */

struct vm_exit {
    enum exit_reason reason;
    /* Length of the exiting instruction, when the hardware or a fixed
     * encoding tells it; 0 means "unknown: decode it if you must skip". */
    u8 insn_len;
    union {
        struct {
            u16 port;
            u8 size;         /* 1, 2 or 4 */
            bool in;
            bool string;     /* INS/OUTS */
            bool rep;
            u8 addr_size;    /* 2, 4 or 8 for string forms */
            u8 segment;      /* OUTS source segment (enum seg_reg); 0 if unknown */
        } io;
        struct {
            u64 gpa;
            bool read, write, fetch;
            bool present;    /* the nested entry was present: a permission fault */
            u64 gla;         /* guest linear address if valid_gla */
            bool valid_gla;
            /* The exit information says the access was the CPU's own, not
             * the instruction's operand: a guest page-table walk or A/D
             * update (VT-x qualification bit 8 clear, AMD-V EXITINFO1 bit
             * 33), or the delivery of an event (IDT, stack, descriptors). */
            bool cpu_access;
        } npf;
        struct {
            u8 cr;          /* 0, 3, 4, 8 */
            u8 access;      /* enum cr_access */
            u8 gpr;         /* enum gpr, for MOV to/from CR; CR_GPR_UNKNOWN: decode it */
            u16 lmsw_data;  /* the LMSW operand's low 16 bits */
        } cr;
        struct {
            u8 vector;
            bool has_error;
            u32 error;
            u64 cr2; /* for #PF */
            /* The exception arose while the CPU delivered another event
             * through the IDT (VT-x IDT-vectoring information, AMD-V
             * EXITINTINFO): that event's vector. */
            bool in_delivery;
            u8 delivery_vector;
        } exception;
        struct {
            u16 selector;     /* the new task's TSS (or the task gate's) selector */
            u8 source;        /* enum task_switch_source */
            bool has_error;   /* TS_GATE for an exception with an error code */
            u32 error;
        } task;
        struct {
            u32 error;        /* VMX VM-instruction error or SVM reason */
            u64 qualification;
            char detail[200]; /* which field the backend believes is wrong */
        } entry;
        struct {
            u32 raw_reason; /* the vendor's exit code, for the message */
            u64 info1, info2;
        } unhandled;
    };
};

/* The small members of the union, which decoders fill partly and the
 * core reads whole, fit in its first EXIT_CLEAR_BYTES; entry and
 * unhandled are filled field by field. */
#define EXIT_CLEAR_BYTES 32
_Static_assert(sizeof(((struct vm_exit *)0)->io) <= EXIT_CLEAR_BYTES, "io");
_Static_assert(sizeof(((struct vm_exit *)0)->npf) <= EXIT_CLEAR_BYTES, "npf");
_Static_assert(sizeof(((struct vm_exit *)0)->cr) <= EXIT_CLEAR_BYTES, "cr");
_Static_assert(sizeof(((struct vm_exit *)0)->exception) <= EXIT_CLEAR_BYTES, "exception");
_Static_assert(sizeof(((struct vm_exit *)0)->task) <= EXIT_CLEAR_BYTES, "task");

/* A fresh record for a decoder: what every exit path reads is zero. Not
 * the whole record (224 bytes, mostly the entry-failure text): this runs
 * on every exit, which Linux's PIT calibration times. */
static inline void vm_exit_clear(struct vm_exit *e)
{
    e->reason = EXIT_NONE;
    e->insn_len = 0;
    __builtin_memset(&e->io, 0, EXIT_CLEAR_BYTES);
    e->entry.error = 0;
    e->entry.qualification = 0;
    e->entry.detail[0] = 0;
}

/* Or'ed into an I/O exit's size when a backend hands it to the fast way
 * (vcpu_fast_exit): an OUT, whose value is in RAX. */
#define FAST_IO_OUT 0x80

#endif
