/* Why VMRUN refused a VMCB (VMEXIT_INVALID): the consistency checks of
 * AMD APM Vol. 2 15.5.1 run in software over the VMCB. Pure, so the host
 * unit tests can feed it broken states. Mirrors vmx/vmx_check.h. */
#ifndef ZAZEN_SVM_CHECK_H
#define ZAZEN_SVM_CHECK_H

#include "vmcb.h"

/* Writes the first rule the VMCB breaks, or that none is found. */
void svm_check_vmcb(const struct vmcb *vmcb, char *out, size_t size);

#endif
