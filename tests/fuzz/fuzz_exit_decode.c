/* fuzz-sources: vmx/vmx_exit.c svm/svm_exit.c */
/* The backends' exit decoding (vmx/vmx_exit.c, svm/svm_exit.c): random
 * exit information, as a VMCS's exit fields or a VMCB's, mostly around
 * the exit reasons the decoders know. The record is what the core reads
 * without further checks (vmm/exit.c's dispatch table, vmm/io.c's port
 * accesses, the instruction skip of vcpu_complete_instruction), so each
 * decoded record must hold, whatever the fields said:
 *  - a reason inside the dispatch table;
 *  - an instruction length of 0 (unknown: the core decodes it) or 1-15
 *    (SDM 2A 2.3.11, APM 3 1.1): a length from the fields outside that
 *    range is not an instruction's;
 *  - port accesses of 1, 2 or 4 bytes, string address sizes 2, 4 or 8
 *    (the segment is not checked: the core emulates INS/OUTS from the
 *    instruction bytes and reads it nowhere);
 *  - CR numbers 0-15, access kinds 0-3 and a GPR 0-15 or CR_GPR_UNKNOWN;
 *  - a task-switch source 0-3; an entry failure's detail terminated;
 *  - the same fields decode to the same record (nothing else is read).
 * The input: one byte picks the vendor and then the raw fields. */
#include "fuzz.h"
#include "../../svm/svm_exit.h"
#include "../../vmx/vmx_exit.h"

/* Reasons worth most of the inputs: the ones each decoder treats apart. */
static const u32 vmx_reasons[] = {0, 1, 2, 3, 7, 8, 9, 10, 12, 13, 18, 28, 30, 31, 32, 48, 52, 55, 65535};
static const u32 svm_codes[] = {0x0c, 0x14, 0x18, 0x40, 0x41, 0x4e, 0x5e, 0x60, 0x61, 0x62, 0x64,
                                0x72, 0x74, 0x78, 0x7b, 0x7c, 0x7f, 0x81, 0x8d, 0x400, 0xffffffff};

static u64 take_field(struct prog *g)
{
    u8 how = take8(g);
    u64 v = take64(g);
    switch (how % 4) {
    case 0: return v;
    case 1: return v & 0xff;
    case 2: return v & 0xffffffff;
    default: return (u64)-(s64)(v & 0xf);
    }
}

static void check_record(const struct vm_exit *e)
{
    FUZZ_CHECK(e->reason < EXIT_REASON_COUNT, "reason %d", e->reason);
    FUZZ_CHECK(e->insn_len <= 15, "instruction length %u (reason %d)", e->insn_len, e->reason);
    switch (e->reason) {
    case EXIT_IO:
        FUZZ_CHECK(e->io.size == 1 || e->io.size == 2 || e->io.size == 4, "port access of %u bytes", e->io.size);
        if (e->io.string)
            FUZZ_CHECK(e->io.addr_size == 2 || e->io.addr_size == 4 || e->io.addr_size == 8,
                       "string I/O: address size %u", e->io.addr_size);
        break;
    case EXIT_CR_ACCESS:
        FUZZ_CHECK(e->cr.cr < 16 && e->cr.access < 4 && (e->cr.gpr < 16 || e->cr.gpr == CR_GPR_UNKNOWN),
                   "CR%u access %u GPR %u", e->cr.cr, e->cr.access, e->cr.gpr);
        break;
    case EXIT_TASK_SWITCH:
        FUZZ_CHECK(e->task.source < 4, "task switch source %u", e->task.source);
        break;
    case EXIT_ENTRY_FAILED:
        FUZZ_CHECK(memchr(e->entry.detail, 0, sizeof(e->entry.detail)), "entry detail not terminated");
        break;
    default:
        break;
    }
}

static void decode_vmx(struct prog *g)
{
    struct vmx_exit_raw raw;
    u8 how = take8(g);
    raw.reason = how < 0xc0 ? vmx_reasons[how % (sizeof(vmx_reasons) / sizeof(vmx_reasons[0]))] : take32(g);
    if (how & 1 && how >= 0xc0)
        raw.reason |= 1u << 31; /* an entry failure */
    raw.qualification = take_field(g);
    raw.insn_len = (u32)take_field(g);
    raw.insn_info = (u32)take_field(g);
    raw.gpa = take_field(g);
    raw.gla = take_field(g);
    raw.intr_info = (u32)take_field(g);
    raw.intr_error = (u32)take_field(g);
    raw.idt_vectoring = (u32)take_field(g);
    raw.idt_vectoring_error = (u32)take_field(g);
    struct vm_exit a, b;
    memset(&a, 0xa5, sizeof(a)); /* what decoding leaves unset must not matter */
    memset(&b, 0x5a, sizeof(b));
    vmx_decode_exit(&raw, &a);
    vmx_decode_exit(&raw, &b);
    check_record(&a);
    FUZZ_CHECK(a.reason == b.reason && a.insn_len == b.insn_len && !memcmp(&a.io, &b.io, EXIT_CLEAR_BYTES),
               "VT-x reason %#x decodes differently from stale records", raw.reason);
}

static void decode_svm(struct prog *g)
{
    struct svm_exit_raw raw;
    u8 how = take8(g);
    raw.exitcode = how < 0xc0 ? svm_codes[how % (sizeof(svm_codes) / sizeof(svm_codes[0]))] : take_field(g);
    if (how & 1)
        raw.exitcode |= 0xffffffff00000000ull; /* QEMU's VMEXIT_INVALID is -1 in 32 bits */
    raw.exitinfo1 = take_field(g);
    raw.exitinfo2 = take_field(g);
    raw.rip = take_field(g);
    /* Next RIPs near RIP, as the hardware gives them, or anything. */
    u8 near = take8(g);
    raw.next_rip = near & 0x80 ? take_field(g) : raw.rip + (near & 0x1f);
    if (near & 0x40)
        raw.exitinfo2 = raw.rip + (near & 0x1f);
    u8 caps = take8(g);
    raw.nrips = caps & 1;
    raw.decode_assists = caps & 2;
    raw.exitintinfo = take_field(g);
    struct vm_exit a, b;
    memset(&a, 0xa5, sizeof(a));
    memset(&b, 0x5a, sizeof(b));
    svm_decode_exit(&raw, &a);
    svm_decode_exit(&raw, &b);
    check_record(&a);
    FUZZ_CHECK(a.reason == b.reason && a.insn_len == b.insn_len && !memcmp(&a.io, &b.io, EXIT_CLEAR_BYTES),
               "AMD-V code %#llx decodes differently from stale records", (unsigned long long)raw.exitcode);
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
    struct prog g = {data, size};
    while (prog_more(&g)) {
        if (take8(&g) & 1)
            decode_svm(&g);
        else
            decode_vmx(&g);
    }
    return 0;
}
