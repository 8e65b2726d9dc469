/* AMD-V exit decoding (APM 2 15.9 and Appendix C). Without NRIP save
 * (QEMU TCG has none) the next RIP comes from EXITINFO2 for IOIO exits
 * (APM 2 15.10.2); for other instructions the length stays unknown (0)
 * and the core decodes it, prefixes included. */
#include "svm_exit.h"
#include "vmcb.h"

/* NPF EXITINFO1 bits, APM 2 15.25.6 */
#define NPF_P BIT(0)
#define NPF_RW BIT(1)
#define NPF_ID BIT(4)
#define NPF_GUEST_PAGE_TABLES BIT(33) /* the fault hit a guest page-table access (bit 32: the final address) */

static void decode_ioio(const struct svm_exit_raw *raw, struct vm_exit *e)
{
    u64 info = raw->exitinfo1;
    e->reason = EXIT_IO;
    e->io.port = (u16)(info >> IOIO_PORT_SHIFT);
    e->io.in = (info & IOIO_TYPE_IN) != 0;
    e->io.string = (info & IOIO_STR) != 0;
    e->io.rep = (info & IOIO_REP) != 0;
    e->io.size = (info & IOIO_SZ32) ? 4 : (info & IOIO_SZ16) ? 2 : 1;
    e->io.addr_size = (info & IOIO_A64) ? 8 : (info & IOIO_A32) ? 4 : 2;
    e->io.segment = (u8)((info >> IOIO_SEG_SHIFT) & 7);
    /* EXITINFO2 holds the RIP of the next instruction (APM 2 15.10.2). */
    e->insn_len = svm_length_to(raw->rip, raw->exitinfo2);
}

static void decode_npf(const struct svm_exit_raw *raw, struct vm_exit *e)
{
    u64 err = raw->exitinfo1;
    e->reason = EXIT_NESTED_FAULT;
    e->npf.gpa = raw->exitinfo2;
    e->npf.write = (err & NPF_RW) != 0;
    e->npf.fetch = (err & NPF_ID) != 0;
    e->npf.read = !e->npf.write && !e->npf.fetch;
    e->npf.present = (err & NPF_P) != 0;
    e->npf.valid_gla = false; /* SVM does not report the linear address */
    /* The CPU's own access: a walk of the guest's page tables (APM 2
     * 15.25.6, EXITINFO1 bit 33), or anything while an event was being
     * delivered (EXITINTINFO valid, 15.7.2). */
    e->npf.cpu_access = (err & NPF_GUEST_PAGE_TABLES) || (raw->exitintinfo & SVM_EVENT_VALID);
}

/* A MOV to CR4 or CR8 that a CR write intercept caught. With decode
 * assists EXITINFO1 names the source register (bit 63 valid, 3:0 the GPR;
 * APM 2 15.33.1); without, the core decodes the instruction
 * (CR_GPR_UNKNOWN). */
#define CR_INFO_MOV BIT(63)

static void decode_cr_write(const struct svm_exit_raw *raw, struct vm_exit *e, u8 cr)
{
    e->reason = EXIT_CR_ACCESS;
    e->cr.cr = cr;
    e->cr.access = CR_MOV_TO;
    e->cr.gpr = raw->decode_assists && (raw->exitinfo1 & CR_INFO_MOV) ? (u8)(raw->exitinfo1 & 0xf) : CR_GPR_UNKNOWN;
    if (raw->nrips)
        e->insn_len = svm_length_to(raw->rip, raw->next_rip);
}

static enum exit_reason simple_reason(u32 code)
{
    switch (code) {
    case SVM_EXIT_CPUID: return EXIT_CPUID;
    case SVM_EXIT_HLT: return EXIT_HLT;
    case SVM_EXIT_VMMCALL: return EXIT_HYPERCALL;
    case SVM_EXIT_SHUTDOWN: return EXIT_TRIPLE_FAULT;
    case SVM_EXIT_INVD: return EXIT_INVD;
    case SVM_EXIT_WBINVD: return EXIT_WBINVD;
    case SVM_EXIT_VMRUN: case SVM_EXIT_VMLOAD: case SVM_EXIT_VMSAVE: case SVM_EXIT_STGI:
    case SVM_EXIT_CLGI: case SVM_EXIT_SKINIT: case SVM_EXIT_INVLPGA: return EXIT_VIRT_INSN;
    case SVM_EXIT_MONITOR: case SVM_EXIT_MWAIT: case SVM_EXIT_MWAIT_ARMED: return EXIT_MONITOR_MWAIT;
    case SVM_EXIT_XSETBV: return EXIT_XSETBV;
    case SVM_EXIT_PAUSE: return EXIT_PAUSE;
    case SVM_EXIT_INTR: case SVM_EXIT_NMI: case SVM_EXIT_SMI: return EXIT_EXTERNAL_INTR;
    case SVM_EXIT_VINTR: return EXIT_IRQ_WINDOW;
    case SVM_EXIT_IRET: return EXIT_NMI_WINDOW; /* the end of an NMI handler is near (svm.c) */
    case SVM_EXIT_INIT: return EXIT_INIT_SIGNAL;
    default: return EXIT_UNHANDLED;
    }
}

void svm_decode_exit(const struct svm_exit_raw *raw, struct vm_exit *e)
{
    u32 code = (u32)raw->exitcode; /* QEMU 7.2 stores VMEXIT_INVALID as 0x00000000ffffffff */
    vm_exit_clear(e);
    if (code == SVM_EXIT_INVALID) {
        e->reason = EXIT_ENTRY_FAILED;
        e->entry.error = code;
        return;
    }
    if (code == SVM_EXIT_IOIO) {
        decode_ioio(raw, e);
        return;
    }
    if (code == SVM_EXIT_NPF) {
        decode_npf(raw, e);
        return;
    }
    if (code == SVM_EXIT_CR4_WRITE || code == SVM_EXIT_CR8_WRITE) {
        decode_cr_write(raw, e, (u8)(code - SVM_EXIT_CR0_WRITE));
        return;
    }
    if (code >= SVM_EXIT_EXCEPTION_BASE && code < SVM_EXIT_EXCEPTION_BASE + 32) {
        e->reason = EXIT_EXCEPTION;
        e->exception.vector = (u8)(code - SVM_EXIT_EXCEPTION_BASE);
        e->exception.error = (u32)raw->exitinfo1;
        e->exception.cr2 = raw->exitinfo2;
        e->exception.in_delivery = (raw->exitintinfo & SVM_EVENT_VALID) != 0;
        e->exception.delivery_vector = (u8)raw->exitintinfo;
        return;
    }
    if (code == SVM_EXIT_MSR) {
        e->reason = raw->exitinfo1 ? EXIT_MSR_WRITE : EXIT_MSR_READ;
    } else {
        e->reason = simple_reason(code);
        if (e->reason == EXIT_UNHANDLED) {
            e->unhandled.raw_reason = code;
            e->unhandled.info1 = raw->exitinfo1;
            e->unhandled.info2 = raw->exitinfo2;
        }
    }
    /* Without NRIP save the length stays 0: the core decodes the bytes,
     * prefixes included (vcpu_complete_instruction). */
    if (raw->nrips)
        e->insn_len = svm_length_to(raw->rip, raw->next_rip);
}
