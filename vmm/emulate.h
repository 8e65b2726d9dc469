/* Running the instruction emulator (vmm/x86emu.c) on a vCPU: the bridge
 * between the pure emulator and a domain's memory, bus and registers. */
#ifndef ZAZEN_EMULATE_H
#define ZAZEN_EMULATE_H

#include "vcpu.h"
#include "x86emu.h"

/* Emulates the instruction at the vCPU's CS:RIP. A guest fault is
 * injected; an instruction the emulator does not know ends the domain. */
void emulate_instruction(struct vcpu *v);

/* The mode the guest runs in, for the decoder (SDM 3A 2.2). */
enum x86emu_mode guest_mode(const struct vcpu *v, const struct vcpu_sregs *s);

/* Reads guest memory at a linear address through the guest's own page
 * tables; false if the walk faults. */
bool guest_read_linear(struct vcpu *v, const struct vcpu_sregs *s, u64 linear, void *data, unsigned size);

/* Writes guest memory at a linear address (as a supervisor); false if
 * the walk faults. */
bool guest_write_linear(struct vcpu *v, const struct vcpu_sregs *s, u64 linear, const void *data, unsigned size);

/* The guest-physical address the guest's page tables give a linear
 * address (as a supervisor read, without touching A/D bits); false if the
 * walk faults. */
bool guest_linear_to_phys(struct vcpu *v, const struct vcpu_sregs *s, u64 linear, u64 *gpa);

/* An access the CPU makes for itself (an event's delivery: IDT, GDT,
 * TSS, stack), as a supervisor through the guest's tables and RAM alone,
 * touching no A/D bit and no device: a read copies into data; a write
 * (data NULL) only asks whether it would be allowed. */
bool guest_supervisor_ram(struct vcpu *v, const struct vcpu_sregs *s, u64 linear, void *data, unsigned size,
                          bool write);

/* Up to max instruction bytes at a linear address, as a fetch at the
 * guest's CPL, from RAM only: the bytes read before the first page that
 * faults or is not RAM (0 if the first). No device is touched. */
unsigned guest_fetch_ram(struct vcpu *v, const struct vcpu_sregs *s, u64 linear, u8 *buf, unsigned max);
/* The same bytes in place, as far as the page holds them (at most max,
 * their count in *avail): a pointer into the RAM behind them, or NULL. */
const u8 *guest_code_in_ram(struct vcpu *v, const struct vcpu_sregs *s, u64 linear, unsigned max, unsigned *avail);

/* Guest-physical access for the emulator and for devices: RAM regions
 * are copied (writes to a ROM dropped), anything else goes to the bus. */
void guest_phys_access(struct domain *d, u64 gpa, void *data, unsigned size, bool write);

#endif
