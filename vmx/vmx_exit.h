/* Decoding of Intel VT-x VM exits into vendor-neutral exit records. Pure:
 * the host unit tests feed it raw VMCS fields. Mirrors svm/svm_exit.h. */
#ifndef ZAZEN_VMX_EXIT_H
#define ZAZEN_VMX_EXIT_H

#include "../vmm/exit.h"

/* The VMCS exit-information fields an exit is decoded from (SDM 3C 25.9). */
struct vmx_exit_raw {
    u32 reason;        /* VM_EXIT_REASON, with bit 31 for entry failures */
    u64 qualification; /* EXIT_QUALIFICATION */
    u32 insn_len;      /* VM_EXIT_INSTRUCTION_LENGTH */
    u32 insn_info;     /* VM_EXIT_INSTRUCTION_INFO */
    u64 gpa;           /* GUEST_PHYSICAL_ADDRESS (EPT violations) */
    u64 gla;           /* GUEST_LINEAR_ADDRESS */
    u32 intr_info;     /* VM_EXIT_INTR_INFO */
    u32 intr_error;    /* VM_EXIT_INTR_ERROR_CODE */
    u32 idt_vectoring; /* IDT_VECTORING_INFO (exception exits, EPT violations, task switches) */
    u32 idt_vectoring_error; /* IDT_VECTORING_ERROR_CODE (task switches) */
};

/* The VM-exit instruction length (28.2.5) is 1-15 for the exits that
 * report it; anything else is not an instruction's length, and 0 makes
 * the core decode it rather than skip a wrong number of bytes. */
static inline u8 vmx_insn_length(u32 field) { return field >= 1 && field <= 15 ? (u8)field : 0; }
/* The same for the fast way, in the 64 bits RIP is added to (no
 * zero-extension of its own): field - 1 < 15 is 1 <= field <= 15. */
static inline u64 vmx_fast_length(u64 field) { return field - 1 < 15 ? field : 0; }

/* I/O exit qualification (Table 28-5) */
#define IO_SIZE_MASK 0x7
#define IO_IN BIT(3)
#define IO_STRING BIT(4)
#define IO_REP BIT(5)
#define IO_PORT_SHIFT 16

/* An I/O exit's qualification for a plain IN (not INS) of 1, 2 or 4
 * bytes (Table 28-5; the other size encodings are not used): its port
 * and size, for the fast way. False: anything else. */
static inline bool vmx_io_plain(u64 q, u16 *port, u8 *size)
{
    static const u8 sizes[8] = {1, 2, 0, 4, 0, 0, 0, 0};
    if ((q & IO_STRING) || !sizes[q & IO_SIZE_MASK])
        return false;
    *port = (u16)(q >> IO_PORT_SHIFT);
    *size = (u8)(sizes[q & IO_SIZE_MASK] | (q & IO_IN ? 0 : FAST_IO_OUT));
    return true;
}

/* An EPT violation's qualification (Table 28-7) for a write by an
 * instruction's data operand, for the fast way: a data write (bit 1), no
 * fetch (bit 2), to a linear address's own translation (bits 7 and 8
 * set; clear, the access was the CPU's page walk or a PDPTE load), and
 * no NMI unblocking by an IRET to undo (bit 12). The caller checks the
 * IDT-vectoring information too: an access while an event was delivered
 * is the CPU's (28.2.4). */
static inline bool vmx_ept_operand_write(u64 q)
{
    return (q & (BIT(1) | BIT(2) | BIT(7) | BIT(8) | BIT(12))) == (BIT(1) | BIT(7) | BIT(8));
}

void vmx_decode_exit(const struct vmx_exit_raw *raw, struct vm_exit *e);

#endif
