/* Why a vCPU shut down. A triple fault is the CPU giving up on a double
 * fault it could not deliver: "If another exception occurs while
 * attempting to call the double-fault handler, the processor enters
 * shutdown mode" (SDM 3A 6.15, Interrupt 8; APM 2 8.2.9). When the
 * shutdown exit comes, the state that decides it is still there: the IDT,
 * the #DF gate, the code segment it names and the stack the CPU would
 * push to. double_fault_check follows that path as the CPU does (SDM 3A
 * 6.12.1, and 6.14 in IA-32e mode) and says where it breaks, or that
 * nothing it looked at breaks it: then the shutdown came from something
 * the exit's state does not show (another vCPU rewriting the tables in
 * the meantime, or an emulator's own fault: docs/smp.md, Known problems).
 * Pure: memory comes through a callback, so host unit tests build tables
 * in a byte array. */
#ifndef ZAZEN_DOUBLE_FAULT_H
#define ZAZEN_DOUBLE_FAULT_H

#include "vcpu.h"

enum df_verdict {
    DF_BLOCKED,     /* the delivery breaks where *why says: the shutdown is explained */
    DF_DELIVERABLE, /* nothing checked breaks it */
    DF_UNCHECKED,   /* a path not followed here (task gate, LDT, 32-bit ring change) */
};

/* An access the CPU makes itself while it delivers an event: a
 * supervisor access at a linear address through the guest's paging (SDM
 * 3A 4.6.1, implicit supervisor-mode accesses). Reads fill data; a write
 * (data NULL) only asks whether it would be allowed. False if the walk
 * faults or the bytes are not RAM. */
typedef bool (*df_access)(void *ctx, u64 linear, void *data, unsigned size, bool write);

/* What the #DF's delivery meets in state s with stack pointer rsp; a
 * sentence in why either way (what breaks, or where it would go). */
enum df_verdict double_fault_check(const struct vcpu_sregs *s, u64 rsp, df_access access, void *ctx, char *why,
                                   size_t size);

/* The verdict's word for a report: "blocked", "deliverable", "not checked". */
const char *df_verdict_name(enum df_verdict v);

#endif
