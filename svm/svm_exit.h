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

void svm_decode_exit(const struct svm_exit_raw *raw, struct vm_exit *e);

#endif
