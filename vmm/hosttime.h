/* Host time: the TSC rate, and each CPU's local APIC timer, which Zazen
 * uses to get control back when something is due (a guest timer, the end
 * of a time slice, a blocked vCPU's wake-up): while a guest runs, the
 * interrupt causes a VM exit; while the CPU idles, it wakes it from HLT.
 * Both rates are calibrated against the PC's 8254 at boot, on the boot
 * CPU; every CPU's APIC timer runs at the same rate. */
#ifndef ZAZEN_HOSTTIME_H
#define ZAZEN_HOSTTIME_H

#include "hostapic.h"
#include "percpu.h"
#include "types.h"

/* On the boot CPU: measures the TSC and local APIC timer rates. */
void hosttime_init(void);
/* On every CPU: the timer in one-shot mode, stopped. */
void hosttime_init_this_cpu(void);
u64 host_tsc_khz(void);
/* The TSC `ms` milliseconds from now (a 3 GHz guess before the rate is
 * measured), for bounded waits. */
u64 host_tsc_deadline_ms(u64 ms);
/* Busy-waits (for starting CPUs, before anything runs). */
void host_delay_us(u64 us);
/* Arms this CPU's one-shot timer for an absolute TSC value (~0: off). */
void host_timer_arm_tsc(u64 tsc_deadline);
void host_timer_stop(void);
/* A host timer interrupt arrived on this CPU since the timer was last
 * armed (through the IDT, or acknowledged by a VT-x external-interrupt
 * exit): the deadline it was armed for is due, so the exit it came with,
 * whatever its reason, must take the run loop's whole way (device time,
 * delivery, re-arming), or no host timer would be armed again. */
static inline bool host_timer_fired(void) { return this_cpu()->timer_fired; } /* asked on every exit */
/* The deadline was seen to pass another way (VT-x's preemption timer,
 * vmx.c): as if the one-shot's interrupt had come, though it may yet. */
void host_timer_expired(void);
/* Sleeps in HLT until an interrupt arrives (the host timer, if armed, or
 * an IPI). */
void host_wait_for_interrupt(void);

#endif
