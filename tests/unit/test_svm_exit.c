/* AMD-V exit decoding into vendor-neutral records. */
/* unit-sources: svm/svm_exit.c */
#include "unit.h"
#include "../../svm/svm_exit.h"
#include "../../svm/vmcb.h"

static struct vm_exit e;

static void decode(u64 code, u64 info1, u64 info2, u64 rip)
{
    struct svm_exit_raw raw = {code, info1, info2, rip, 0, false, 0, false};
    svm_decode_exit(&raw, &e);
}

TEST(svm_exit_out_byte)
{
    /* OUT DX, AL to port 0xE9: EXITINFO1 = port << 16 | SZ8; EXITINFO2 = next RIP */
    decode(SVM_EXIT_IOIO, (0xe9ull << 16) | (1 << 4) | (1 << 7), 0xfff1, 0xfff0);
    CHECK_EQ(e.reason, EXIT_IO);
    CHECK_EQ(e.io.port, 0xe9);
    CHECK_EQ(e.io.size, 1);
    CHECK(!e.io.in);
    CHECK(!e.io.string);
    CHECK_EQ(e.insn_len, 1);
}

TEST(svm_exit_in_dword_and_string)
{
    decode(SVM_EXIT_IOIO, (0xcfcull << 16) | (1 << 6) | 1, 0x1002, 0x1000);
    CHECK(e.io.in);
    CHECK_EQ(e.io.size, 4);
    CHECK_EQ(e.io.port, 0xcfc);
    CHECK_EQ(e.insn_len, 2);
    /* REP INSW with a 32-bit address size, ES */
    decode(SVM_EXIT_IOIO, (0x1f0ull << 16) | 1 | (1 << 2) | (1 << 3) | (1 << 5) | (1 << 8), 0x2003, 0x2000);
    CHECK(e.io.string);
    CHECK(e.io.rep);
    CHECK_EQ(e.io.size, 2);
    CHECK_EQ(e.io.addr_size, 4);
    CHECK_EQ(e.insn_len, 3);
}

/* Without NRIP save the length is not guessed from the fixed encoding (a
 * CS-prefixed CPUID is 3 bytes): 0, for the core to decode. */
TEST(svm_exit_length_unknown_without_nrips)
{
    decode(SVM_EXIT_CPUID, 0, 0, 0x100);
    CHECK_EQ(e.reason, EXIT_CPUID);
    CHECK_EQ(e.insn_len, 0);
    decode(SVM_EXIT_HLT, 0, 0, 0x100);
    CHECK_EQ(e.reason, EXIT_HLT);
    CHECK_EQ(e.insn_len, 0);
    decode(SVM_EXIT_VMMCALL, 0, 0, 0x100);
    CHECK_EQ(e.reason, EXIT_HYPERCALL);
    CHECK_EQ(e.insn_len, 0);
    decode(SVM_EXIT_MSR, 0, 0, 0x100);
    CHECK_EQ(e.reason, EXIT_MSR_READ);
    CHECK_EQ(e.insn_len, 0);
    decode(SVM_EXIT_MSR, 1, 0, 0x100);
    CHECK_EQ(e.reason, EXIT_MSR_WRITE);
}

TEST(svm_exit_uses_nrip_when_present)
{
    struct svm_exit_raw raw = {SVM_EXIT_CPUID, 0, 0, 0x100, 0x103, true, 0, false}; /* a prefixed CPUID */
    svm_decode_exit(&raw, &e);
    CHECK_EQ(e.insn_len, 3);
}

/* The length from RIP and the next RIP: the full way's takes the
 * difference in the widths the next RIP may have wrapped in (32-bit and
 * 16-bit code); the fast way's only the plain difference, and a wrapped
 * one is 0, which sends the exit the full way. */
TEST(svm_lengths_full_and_fast)
{
    CHECK_EQ(svm_length_to(0x1000, 0x1002), 2);
    CHECK_EQ(svm_fast_length(0x1000, 0x1002), 2u);
    CHECK_EQ(svm_fast_length(0x1000, 0x100f), 15u);
    CHECK_EQ(svm_fast_length(0x1000, 0x1010), 0u); /* 16 bytes: no instruction is */
    CHECK_EQ(svm_fast_length(0x1000, 0x1000), 0u);
    /* OUT at 0:FFFFh in real mode: IP wraps to 0 */
    CHECK_EQ(svm_length_to(0xffff, 0x0000), 1);
    CHECK_EQ(svm_fast_length(0xffff, 0x0000), 0u);
    /* a 2-byte instruction at 4 GiB - 1 in 32-bit code: EIP wraps to 1 */
    CHECK_EQ(svm_length_to(0xffffffff, 0x1), 2);
    CHECK_EQ(svm_fast_length(0xffffffff, 0x1), 0u);
}

TEST(svm_exit_npf)
{
    decode(SVM_EXIT_NPF, (1ull << 32) | 2 | 4, 0xfec00000, 0);
    CHECK_EQ(e.reason, EXIT_NESTED_FAULT);
    CHECK_EQ(e.npf.gpa, 0xfec00000);
    CHECK(e.npf.write);
    CHECK(!e.npf.read);
    CHECK(!e.npf.present);
    decode(SVM_EXIT_NPF, 1 | (1 << 4), 0x1000, 0);
    CHECK(e.npf.fetch);
    CHECK(e.npf.present);
}

TEST(svm_exit_shutdown_and_instructions)
{
    decode(SVM_EXIT_SHUTDOWN, 0, 0, 0);
    CHECK_EQ(e.reason, EXIT_TRIPLE_FAULT);
    decode(SVM_EXIT_VMRUN, 0, 0, 0);
    CHECK_EQ(e.reason, EXIT_VIRT_INSN);
    decode(SVM_EXIT_INVD, 0, 0, 0);
    CHECK_EQ(e.reason, EXIT_INVD);
    decode(SVM_EXIT_MWAIT, 0, 0, 0);
    CHECK_EQ(e.reason, EXIT_MONITOR_MWAIT);
    decode(SVM_EXIT_INTR, 0, 0, 0);
    CHECK_EQ(e.reason, EXIT_EXTERNAL_INTR);
}

TEST(svm_exit_invalid_as_qemu_writes_it)
{
    decode(0x00000000ffffffffull, 0, 0, 0); /* QEMU 7.2: only the low 32 bits are ones */
    CHECK_EQ(e.reason, EXIT_ENTRY_FAILED);
    decode(~0ull, 0, 0, 0);
    CHECK_EQ(e.reason, EXIT_ENTRY_FAILED);
}

TEST(svm_exit_exception_and_unknown)
{
    decode(SVM_EXIT_EXCEPTION_BASE + 14, 0x2, 0xdeadb000, 0);
    CHECK_EQ(e.reason, EXIT_EXCEPTION);
    CHECK_EQ(e.exception.vector, 14);
    CHECK_EQ(e.exception.error, 2);
    CHECK_EQ(e.exception.cr2, 0xdeadb000);
    decode(0x7d, 5, 6, 0); /* task switch: not used by Zazen */
    CHECK_EQ(e.reason, EXIT_UNHANDLED);
    CHECK_EQ(e.unhandled.raw_reason, 0x7d);
    CHECK_EQ(e.unhandled.info1, 5);
}

TEST(svm_exit_exception_during_delivery)
{
    /* #AC intercepted while the CPU delivered an #AC (EXITINTINFO: valid,
     * type 3 exception, vector 17, error code valid) */
    struct svm_exit_raw raw = {SVM_EXIT_EXCEPTION_BASE + 17, 0, 0, 0x100, 0, false,
                               SVM_EVENT_VALID | SVM_EVENT_ERROR_VALID | (3u << 8) | 17, false};
    svm_decode_exit(&raw, &e);
    CHECK_EQ(e.reason, EXIT_EXCEPTION);
    CHECK_EQ(e.exception.vector, 17);
    CHECK(e.exception.in_delivery);
    CHECK_EQ(e.exception.delivery_vector, 17);
    raw.exitintinfo = 0;
    svm_decode_exit(&raw, &e);
    CHECK(!e.exception.in_delivery);
}

TEST(svm_exit_cr8_write)
{
    /* without decode assists or NRIP save the core must decode it */
    struct svm_exit_raw raw = {SVM_EXIT_CR8_WRITE, 0, 0, 0x100, 0, false, 0, false};
    svm_decode_exit(&raw, &e);
    CHECK_EQ(e.reason, EXIT_CR_ACCESS);
    CHECK_EQ(e.cr.cr, 8);
    CHECK_EQ(e.cr.access, CR_MOV_TO);
    CHECK_EQ(e.cr.gpr, CR_GPR_UNKNOWN);
    CHECK_EQ(e.insn_len, 0);
    /* with them: EXITINFO1 bit 63 and the GPR, NRIP the length */
    raw = (struct svm_exit_raw){SVM_EXIT_CR8_WRITE, (1ull << 63) | 9, 0, 0x100, 0x104, true, 0, true};
    svm_decode_exit(&raw, &e);
    CHECK_EQ(e.cr.gpr, 9);
    CHECK_EQ(e.insn_len, 4);
}

TEST(svm_exit_io_length_from_next_rip_is_1_to_15)
{
    /* An EXITINFO2 far from RIP gives no length (found by fuzz/exit_decode) */
    decode(SVM_EXIT_IOIO, (0xe9ull << 16) | (1 << 4) | (1 << 7), 0x1100, 0x1000);
    CHECK_EQ(e.reason, EXIT_IO);
    CHECK_EQ(e.insn_len, 0);
    /* OUT at IP FFFFh in 16-bit code: the next IP wrapped to 0 */
    decode(SVM_EXIT_IOIO, (0xe9ull << 16) | (1 << 4) | (1 << 7), 0x0000, 0xffff);
    CHECK_EQ(e.insn_len, 1);
    /* and at 4 GiB in 32-bit code */
    decode(SVM_EXIT_IOIO, (0xe9ull << 16) | (1 << 4) | (1 << 8), 0x1, 0xffffffff);
    CHECK_EQ(e.insn_len, 2);
}

/* The nested page faults the fast way takes as an operand's write (APM
 * 2 15.25.6): a write that is no fetch and no guest page-table access. */
TEST(svm_npf_operand_write)
{
    CHECK(svm_npf_operand_write(BIT(1)));
    CHECK(svm_npf_operand_write(BIT(1) | BIT(0) | BIT(32)));
    CHECK(!svm_npf_operand_write(0));                  /* a read */
    CHECK(!svm_npf_operand_write(BIT(1) | BIT(4)));
    CHECK(!svm_npf_operand_write(BIT(1) | BIT(33)));   /* the walk's */
}
