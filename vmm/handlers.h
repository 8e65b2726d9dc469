/* Exit handlers, one per vendor-neutral exit reason (or family), each in
 * the file of its subject. vmm/exit.c wires them into the dispatch table. */
#ifndef ZAZEN_HANDLERS_H
#define ZAZEN_HANDLERS_H

#include "vcpu.h"
#include "../devmodel/bus.h"

typedef void (*exit_handler)(struct vcpu *v, struct vm_exit *e);

void handle_io(struct vcpu *v, struct vm_exit *e);          /* vmm/io.c */
void handle_cpuid(struct vcpu *v, struct vm_exit *e);       /* vmm/cpuid.c */
void handle_msr_read(struct vcpu *v, struct vm_exit *e);    /* vmm/msr.c */
void handle_msr_write(struct vcpu *v, struct vm_exit *e);   /* vmm/msr.c */
void handle_nested_fault(struct vcpu *v, struct vm_exit *e);/* vmm/mmio.c */
void handle_xsetbv(struct vcpu *v, struct vm_exit *e);      /* vmm/guest_state.c */
void handle_task_switch(struct vcpu *v, struct vm_exit *e); /* vmm/task_switch.c */

/* The fast handlers (vcpu_fast_exit, vmm/fast_way.h, calls each by its
 * reason): each carries out its instruction from the GPRs (and an IN's
 * or OUT's port and size) alone, with no exit record:
 * FAST_BACK_IN, done and nothing the run loop's top looks at changed;
 * FAST_DONE, done but the top has work (device time found something
 * due); FAST_NO, declined having changed nothing: the full way does it. */
#define MSR_X2APIC_EOI 0x80bu /* SDM 3A 11.12.1.2: 800H + B0H / 16 */
#define MSR_IA32_TSC_DEADLINE 0x6e0u /* SDM 3A 11.5.4.1 */
/* (CPUID's, a hit in the CPUID cache, is inline: fast_cpuid, vmm/fast_way.h.) */
enum fast_way fast_msr_write(struct vcpu *v, u16 port, u8 size); /* vmm/msr.c: an x2APIC EOI that changes only the ISR */
/* (An IN's or OUT's, fast_io_in and fast_io_out, is inline too, but a
 * watched write's part: vmm/io.c.) */
enum fast_way fast_io_out_watched(struct vcpu *v, const struct io_range *range, u16 port, u8 size, u32 value);
bool fast_io_gate_after_write(struct vcpu *v);
enum fast_way fast_mmio_write(struct vcpu *v, u16 port, u8 size); /* vmm/mmio.c: a plain MOV to a device (mmio_fast_decode) */
/* vmm/mmio.c: for a backend's fast way, the exit a data write to gpa made
 * (an operand, not the CPU's own access, not during event delivery):
 * the length of the plain MOV at CS:RIP that wrote it, its size and
 * value noted for fast_mmio_write; 0 if it is no such instruction (the
 * full way emulates it). code/avail: the instruction's bytes if the
 * exit gave them (AMD-V decode assists), else NULL. */
unsigned mmio_fast_decode(struct vcpu *v, u64 gpa, const u8 *code, unsigned avail);

/* Exit dispatch, the one entry point of the run loop (vmm/exit.c). */
void exit_dispatch(struct vcpu *v, struct vm_exit *e);
/* Exits whose handlers read no device time and change no device or
 * interrupt state: the instruction is answered from the vCPU's own view
 * (CPUID, RDMSR) or is a no-op (INVD, WBINVD). After one of them the run
 * loop may go straight back (domain_run). A mask, as this is asked on
 * every exit. */
#define EXITS_LEAVING_DEVICES_ALONE \
    (BIT(EXIT_CPUID) | BIT(EXIT_MSR_READ) | BIT(EXIT_INVD) | BIT(EXIT_WBINVD))

static inline bool exit_leaves_devices_alone(enum exit_reason r)
{
    return r < 32 && (EXITS_LEAVING_DEVICES_ALONE >> r) & 1;
}
/* An IN that reads only devices whose reads change no interrupt request
 * or deadline (the PM timer, the PIT's counters: bus_set_quiet_reads):
 * quick too, once device time has moved (platform_update_time_quick). */
bool io_exit_reads_quietly(const struct vcpu *v, const struct vm_exit *e); /* vmm/io.c */

/* Queues a hardware exception for the guest (#UD, #GP(0), ...). */
void vcpu_inject_exception(struct vcpu *v, u8 vector, bool has_error, u32 error);
/* Queues a #PF with the address for CR2. */
void vcpu_inject_page_fault(struct vcpu *v, u32 error, u64 address);

#define VECTOR_DE 0
#define VECTOR_DB 1
#define VECTOR_UD 6
#define VECTOR_GP 13
#define VECTOR_PF 14
#define VECTOR_AC 17

#endif
