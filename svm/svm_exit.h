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

void svm_decode_exit(const struct svm_exit_raw *raw, struct vm_exit *e);

#endif
