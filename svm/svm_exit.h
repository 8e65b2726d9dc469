/* Decoding of AMD-V #VMEXITs into vendor-neutral exit records. Pure: the
 * host unit tests feed it raw VMCB fields. */
#ifndef ZAZEN_SVM_EXIT_H
#define ZAZEN_SVM_EXIT_H

#include "../vmm/exit.h"

/* The VMCB fields an exit is decoded from. */
struct svm_exit_raw {
    u64 exitcode, exitinfo1, exitinfo2;
    u64 rip;      /* guest RIP at the exit */
    u64 next_rip; /* valid only with NRIP save */
    bool nrips;   /* CPUID 8000_000Ah EDX[3] */
    u64 exitintinfo; /* an event whose delivery the exit interrupted (APM 2 15.7.2) */
    bool decode_assists; /* CPUID 8000_000Ah EDX[7] */
};

/* The length of an instruction from its RIP and the next one's: 1-15
 * bytes (APM 3 1.1), or else unknown (0: the core decodes the bytes).
 * The next RIP of an instruction at the end of 32-bit or 16-bit code
 * wrapped at 4 GiB or 64 KiB (issue 12 item 10), so the difference is
 * taken in those widths too. */
static inline u8 svm_length_to(u64 rip, u64 next_rip)
{
    u64 d = next_rip - rip;
    if (d > 15)
        d = (u32)d;
    if (d > 15)
        d = (u16)d;
    return d >= 1 && d <= 15 ? (u8)d : 0;
}

/* The same for the fast way (vmm/fast_way.h), which declines an
 * instruction that wraps (vcpu_fast_exit): there the difference itself
 * is 1-15 bytes, and anything else (a wrapped next RIP) is 0, which
 * sends the exit the full way, where svm_length_to finds its length. */
static inline u64 svm_fast_length(u64 rip, u64 next_rip)
{
    u64 d = next_rip - rip;
    return d - 1 < 15 ? d : 0;
}

/* IOIO EXITINFO1 bits, APM 2 Figure 15-2 */
#define IOIO_TYPE_IN BIT(0)
#define IOIO_STR BIT(2)
#define IOIO_REP BIT(3)
#define IOIO_SZ8 BIT(4)
#define IOIO_SZ16 BIT(5)
#define IOIO_SZ32 BIT(6)
#define IOIO_A16 BIT(7)
#define IOIO_A32 BIT(8)
#define IOIO_A64 BIT(9)
#define IOIO_SEG_SHIFT 10
#define IOIO_PORT_SHIFT 16

/* An IOIO exit's EXITINFO1 for a plain IN (not INS) of 1, 2 or 4
 * bytes: its port and size, for the fast way. False: anything else. */
static inline bool svm_ioio_plain(u64 info, u16 *port, u8 *size)
{
    if (info & IOIO_STR)
        return false;
    *port = (u16)(info >> IOIO_PORT_SHIFT);
    *size = (u8)(((info & IOIO_SZ32) ? 4 : (info & IOIO_SZ16) ? 2 : 1) | (info & IOIO_TYPE_IN ? 0 : FAST_IO_OUT));
    return true;
}

/* A nested page fault's EXITINFO1 (APM 2 15.25.6) for a write by an
 * instruction's data operand, for the fast way: a write (bit 1), not a
 * fetch (bit 4), not a guest page-table access (bit 33; the full way's
 * decode_npf reads it the same). The caller checks EXITINTINFO too: an
 * access while an event was delivered is the CPU's (15.7.2). */
static inline bool svm_npf_operand_write(u64 info1)
{
    return (info1 & (BIT(1) | BIT(4) | BIT(33))) == BIT(1);
}

void svm_decode_exit(const struct svm_exit_raw *raw, struct vm_exit *e);

#endif
