/* unit-sources: vmx/vmx_exit.c */
/* VT-x exit decoding into vendor-neutral records. */
#include "unit.h"
#include "../../vmx/vmcs.h"
#include "../../vmx/vmx_exit.h"

static struct vm_exit e;

static void decode(u32 reason, u64 qual, u32 len)
{
    struct vmx_exit_raw raw = {.reason = reason, .qualification = qual, .insn_len = len};
    vmx_decode_exit(&raw, &e);
}

TEST(vmx_exit_out_dx_al)
{
    /* OUT DX, AL to 0xE9: size 0 (1 byte), direction 0, port in 31:16 */
    decode(VMX_EXIT_IO, 0xe9ull << 16, 1);
    CHECK_EQ(e.reason, EXIT_IO);
    CHECK_EQ(e.io.port, 0xe9);
    CHECK_EQ(e.io.size, 1);
    CHECK(!e.io.in);
    CHECK_EQ(e.insn_len, 1);
}

TEST(vmx_exit_rep_insw_with_instruction_info)
{
    struct vmx_exit_raw raw = {.reason = VMX_EXIT_IO, .qualification = (0x1f0ull << 16) | 1 | 8 | 16 | 32,
                               .insn_len = 3, .insn_info = (1u << 7) | (0u << 15)};
    vmx_decode_exit(&raw, &e);
    CHECK(e.io.in);
    CHECK(e.io.string);
    CHECK(e.io.rep);
    CHECK_EQ(e.io.size, 2);
    CHECK_EQ(e.io.addr_size, 4);
    CHECK_EQ(e.insn_len, 3);
}

TEST(vmx_exit_cr_access)
{
    /* MOV CR0, RBX: CR 0, type 0, GPR 3 */
    decode(VMX_EXIT_CR_ACCESS, 0 | (0 << 4) | (3 << 8), 3);
    CHECK_EQ(e.reason, EXIT_CR_ACCESS);
    CHECK_EQ(e.cr.cr, 0);
    CHECK_EQ(e.cr.access, CR_MOV_TO);
    CHECK_EQ(e.cr.gpr, 3);
    /* LMSW with source 0x0001 */
    decode(VMX_EXIT_CR_ACCESS, (3 << 4) | (1ull << 16), 3);
    CHECK_EQ(e.cr.access, CR_LMSW);
    CHECK_EQ(e.cr.lmsw_data, 1);
}

TEST(vmx_exit_ept_violation)
{
    struct vmx_exit_raw raw = {.reason = VMX_EXIT_EPT_VIOLATION, .qualification = 2 | (1 << 7), .gpa = 0xfee000b0,
                               .gla = 0xfee000b0, .insn_len = 7};
    vmx_decode_exit(&raw, &e);
    CHECK_EQ(e.reason, EXIT_NESTED_FAULT);
    CHECK(e.npf.write);
    CHECK(!e.npf.present);
    CHECK(e.npf.valid_gla);
    CHECK_EQ(e.npf.gpa, 0xfee000b0);
    CHECK_EQ(e.insn_len, 0); /* undefined for EPT violations: the emulator decodes */
    raw.qualification = 1 | (1 << 3) | (1 << 5); /* read of a readable+executable page */
    vmx_decode_exit(&raw, &e);
    CHECK(e.npf.read);
    CHECK(e.npf.present);
}

TEST(vmx_exit_simple_reasons)
{
    decode(VMX_EXIT_CPUID, 0, 2);
    CHECK_EQ(e.reason, EXIT_CPUID);
    CHECK_EQ(e.insn_len, 2);
    decode(VMX_EXIT_HLT, 0, 1);
    CHECK_EQ(e.reason, EXIT_HLT);
    decode(VMX_EXIT_RDMSR, 0, 2);
    CHECK_EQ(e.reason, EXIT_MSR_READ);
    decode(VMX_EXIT_WRMSR, 0, 2);
    CHECK_EQ(e.reason, EXIT_MSR_WRITE);
    decode(VMX_EXIT_VMCALL, 0, 3);
    CHECK_EQ(e.reason, EXIT_HYPERCALL);
    decode(24, 0, 3); /* VMRESUME in the guest */
    CHECK_EQ(e.reason, EXIT_VIRT_INSN);
    decode(VMX_EXIT_TRIPLE_FAULT, 0, 5);
    CHECK_EQ(e.reason, EXIT_TRIPLE_FAULT);
    CHECK_EQ(e.insn_len, 0);
    decode(VMX_EXIT_EXTERNAL_INTERRUPT, 0, 0);
    CHECK_EQ(e.reason, EXIT_EXTERNAL_INTR);
}

TEST(vmx_exit_entry_failure)
{
    decode(VMX_EXIT_ENTRY_FAILURE | VMX_EXIT_INVALID_GUEST_STATE, 0, 0);
    CHECK_EQ(e.reason, EXIT_ENTRY_FAILED);
    CHECK_EQ(e.entry.error, VMX_EXIT_INVALID_GUEST_STATE);
}

TEST(vmx_exit_exception_and_unknown)
{
    struct vmx_exit_raw raw = {.reason = VMX_EXIT_EXCEPTION_NMI, .intr_info = 8 | (3 << 8) | (1 << 11) | (1u << 31),
                               .intr_error = 0};
    vmx_decode_exit(&raw, &e);
    CHECK_EQ(e.reason, EXIT_EXCEPTION);
    CHECK_EQ(e.exception.vector, 8);
    CHECK(e.exception.has_error);
    decode(VMX_EXIT_GETSEC + 100, 0x1234, 0); /* a reason Zazen has no use for */
    CHECK_EQ(e.reason, EXIT_UNHANDLED);
    CHECK_EQ(e.unhandled.raw_reason, VMX_EXIT_GETSEC + 100);
}

/* Task switch qualification (SDM 3C Table 28-2): selector, source; a
 * task gate's exception error code from the IDT-vectoring fields. */
TEST(vmx_exit_task_switch)
{
    struct vmx_exit_raw raw = {.reason = VMX_EXIT_TASK_SWITCH, .qualification = (2u << 30) | 0x20, .insn_len = 7};
    vmx_decode_exit(&raw, &e);
    CHECK_EQ(e.reason, EXIT_TASK_SWITCH);
    CHECK_EQ(e.task.selector, 0x20);
    CHECK_EQ(e.task.source, TS_JMP);
    CHECK_EQ(e.insn_len, 7);
    raw = (struct vmx_exit_raw){.reason = VMX_EXIT_TASK_SWITCH, .qualification = (3u << 30) | 0x28,
                                .idt_vectoring = 8 | (3 << 8) | (1 << 11) | (1u << 31), .idt_vectoring_error = 0};
    vmx_decode_exit(&raw, &e);
    CHECK_EQ(e.task.source, TS_GATE);
    CHECK(e.task.has_error);
    CHECK_EQ(e.insn_len, 0);
}

TEST(vmx_exit_debug_exceptions)
{
    /* #DB from a single step: a hardware exception, DR6 bits in the
     * qualification, no instruction length */
    struct vmx_exit_raw raw = {.reason = VMX_EXIT_EXCEPTION_NMI, .qualification = 1u << 14,
                               .intr_info = 1 | (3 << 8) | (1u << 31), .insn_len = 5};
    vmx_decode_exit(&raw, &e);
    CHECK_EQ(e.reason, EXIT_EXCEPTION);
    CHECK_EQ(e.exception.vector, 1);
    CHECK_EQ(e.insn_len, 0);
    CHECK(!e.exception.in_delivery);
    /* INT1 (ICEBP): a privileged software exception, a trap after it */
    raw.intr_info = 1 | (5 << 8) | (1u << 31);
    raw.insn_len = 1;
    vmx_decode_exit(&raw, &e);
    CHECK_EQ(e.insn_len, 1);
    /* #AC raised while delivering #AC (IDT-vectoring information valid) */
    raw = (struct vmx_exit_raw){.reason = VMX_EXIT_EXCEPTION_NMI, .intr_info = 17 | (3 << 8) | (1 << 11) | (1u << 31),
                                .idt_vectoring = 17 | (3 << 8) | (1 << 11) | (1u << 31)};
    vmx_decode_exit(&raw, &e);
    CHECK_EQ(e.exception.vector, 17);
    CHECK(e.exception.in_delivery);
    CHECK_EQ(e.exception.delivery_vector, 17);
}

TEST(vmx_exit_tpr_below_threshold)
{
    decode(VMX_EXIT_TPR_BELOW_THRESHOLD, 0, 3);
    CHECK_EQ(e.reason, EXIT_IRQ_WINDOW);
    CHECK_EQ(e.insn_len, 0); /* trap-like: RIP is past the MOV to CR8 already */
}

TEST(vmx_exit_unused_io_size_is_no_port_access)
{
    /* Table 28-5: size encodings 2 and 4-7 are not used; found by fuzz/exit_decode */
    decode(VMX_EXIT_IO, (0x60ull << 16) | 2, 1);
    CHECK_EQ(e.reason, EXIT_UNHANDLED);
    CHECK_EQ(e.unhandled.raw_reason, VMX_EXIT_IO);
    CHECK_EQ(e.insn_len, 0);
}

TEST(vmx_exit_length_outside_1_to_15_is_unknown)
{
    decode(VMX_EXIT_CPUID, 0, 0x20);
    CHECK_EQ(e.reason, EXIT_CPUID);
    CHECK_EQ(e.insn_len, 0); /* the core decodes it */
    decode(VMX_EXIT_CPUID, 0, 15);
    CHECK_EQ(e.insn_len, 15);
}

/* The EPT violations the fast way takes as an operand's write (Table
 * 28-7): a data write to a linear address's own translation; not a
 * read, a fetch, a page walk's access, a PDPTE load or one whose IRET
 * unblocked NMIs. */
TEST(vmx_ept_operand_write)
{
    u64 write = BIT(1) | BIT(7) | BIT(8);
    CHECK(vmx_ept_operand_write(write));
    CHECK(vmx_ept_operand_write(write | BIT(0) | BIT(3))); /* read-modify-write, entry present */
    CHECK(!vmx_ept_operand_write(BIT(0) | BIT(7) | BIT(8)));
    CHECK(!vmx_ept_operand_write(write | BIT(2)));
    CHECK(!vmx_ept_operand_write(BIT(1) | BIT(7)));        /* the walk's A/D update */
    CHECK(!vmx_ept_operand_write(BIT(1)));                 /* no linear address */
    CHECK(!vmx_ept_operand_write(write | BIT(12)));
}
