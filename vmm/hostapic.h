/* The host's own local APIC, which Zazen drives on every CPU: its timer
 * (vmm/hosttime.c), end-of-interrupt, and inter-processor interrupts
 * (INIT and STARTUP to start the other CPUs, fixed IPIs to ask a CPU to
 * look at its work). xAPIC through the MMIO page, or x2APIC through MSRs
 * when the firmware left the boot CPU in x2APIC mode (SDM 3A 11.4, 11.12). */
#ifndef ZAZEN_HOSTAPIC_H
#define ZAZEN_HOSTAPIC_H

#include "types.h"

/* Host interrupt vectors. Zazen takes no device interrupts: only its
 * timer, its IPIs and the APIC's spurious vector (SDM 3A 11.9). */
#define HOST_TIMER_VECTOR 0xf0
#define HOST_IPI_VECTOR 0xf1 /* "look at your hazard word": reschedule, call, stop */
#define HOST_SPURIOUS_VECTOR 0xff

/* On the boot CPU: finds the APIC's mode and address. */
void hostapic_init_boot(void);
/* On every CPU: software-enables the local APIC (SVR) in the boot CPU's mode. */
void hostapic_enable_this_cpu(void);
u32 hostapic_read(u32 reg);
void hostapic_write(u32 reg, u32 value);
/* This CPU's APIC ID (x2APIC: 32 bits; xAPIC: bits 31:24 of the ID register). */
u32 hostapic_id(void);
bool hostapic_x2apic(void);
/* A fixed interrupt to the CPU with this APIC ID. */
void hostapic_send_ipi(u32 apic_id, u8 vector);
/* INIT, then STARTUP at page `vector` (code at vector * 4 KiB), the
 * universal start-up algorithm of the MP spec 1.4 B.4 / SDM 3A 10.4.4.1. */
void hostapic_send_init(u32 apic_id);
void hostapic_send_startup(u32 apic_id, u8 vector);
/* What a host interrupt needs at the APIC: EOI unless spurious. Called by
 * the trap handler, and by VT-x after an external-interrupt exit (the CPU
 * acknowledged the interrupt on exit, SDM 3C 25.7.1). */
void host_interrupt(u8 vector);
/* The IDT's entries for HOST_TIMER_VECTOR and HOST_IPI_VECTOR
 * (vmm/cpu.c): host_interrupt with no trap frame. */
struct interrupt_frame;
void host_timer_interrupt(struct interrupt_frame *frame);
void host_ipi_interrupt(struct interrupt_frame *frame);

#endif
