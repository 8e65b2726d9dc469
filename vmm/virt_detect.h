/* Can this CPU run hardware virtual machines, and with which extension?
 * Used by the boot entries (to refuse early, back to the firmware) and by
 * the core (to pick a backend). */
#ifndef ZAZEN_VIRT_DETECT_H
#define ZAZEN_VIRT_DETECT_H

#include "types.h"

enum virt_kind { VIRT_NONE, VIRT_SVM, VIRT_VMX };

/* On VIRT_NONE, why holds a sentence that says what is missing: the
 * extension itself, or a feature the backend needs (nested paging, ...).
 * read_msr reads an MSR without faulting (returns false if it does not
 * exist: Bochs raises #GP on VM_CR). */
enum virt_kind virt_detect(char *why, size_t why_size, bool (*read_msr)(u32 msr, u64 *value));
const char *virt_kind_name(enum virt_kind k);

#endif
