/* The CPU's own accesses to guest-physical memory that is not RAM.
 *
 * Besides an instruction's operands, the CPU reads and writes memory on
 * its own: it sets the accessed bit of a descriptor it loads (SDM 3A
 * 3.4.5.1) and the busy bit of a TSS (7.2.2), the A and D bits of the
 * guest's page-table entries (4.8), and reads the IDT and pushes onto the
 * stack while it delivers an event (6.12). On a PC such a write to the
 * firmware ROM, or to an address nothing decodes, is simply lost, and the
 * CPU goes on. Under nested paging it faults, and the instruction
 * emulator would run the instruction that caused it, which it may not
 * know (MOV to SS, a far JMP, IRET) and which is not what faulted.
 *
 * So when the exit information (or, for descriptor tables, the fault's
 * address) says the access was the CPU's own, the page is mapped, for
 * the domain, to a scratch copy of what it reads as (the ROM's bytes, or
 * all ones), readable and writable; the guest runs the instruction on
 * the hardware, and at the domain's next exit the page is mapped back,
 * its scratch written bytes forgotten (or, in a PAM segment that writes
 * shadow RAM, passed on to that RAM). */
#ifndef ZAZEN_CPU_ACCESS_H
#define ZAZEN_CPU_ACCESS_H

#include "vcpu.h"

struct domain;

/* The nested page fault e was the CPU's own access, not the operand of
 * the instruction at RIP. */
bool cpu_access_is_own(struct vcpu *v, const struct vm_exit *e);
/* Maps a scratch page at e's page until the domain's next exit. */
void cpu_access_open_window(struct vcpu *v, const struct vm_exit *e);
/* Every window back to what its page maps (the next exit). */
void cpu_access_close_windows(struct domain *d);

#endif
