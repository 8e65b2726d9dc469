/* Host time: the TSC rate, and the host local APIC timer Zazen uses to
 * get control back when a guest timer is due (while the guest runs: the
 * interrupt causes a VM exit; while a guest halts: it wakes the host from
 * HLT). Both calibrated against the PC's 8254 at boot. */
#ifndef ZAZEN_HOSTTIME_H
#define ZAZEN_HOSTTIME_H

#include "types.h"

#define HOST_TIMER_VECTOR 0xf0
#define HOST_SPURIOUS_VECTOR 0xff

/* Measures the TSC and local APIC timer rates and software-enables the
 * host local APIC. */
void hosttime_init(void);
u64 host_tsc_khz(void);
/* Arms the one-shot host timer for an absolute TSC value (DM-never: off). */
void host_timer_arm_tsc(u64 tsc_deadline);
void host_timer_stop(void);
/* Acknowledges an interrupt at the host local APIC. */
void host_lapic_eoi(void);
/* The host timer's interrupt arrived (through the IDT, or acknowledged by
 * a VT-x external-interrupt exit): EOI, and the armed deadline is gone.
 * Until the next host_timer_arm_tsc, host_timer_fired() says so: that
 * exit must take the run loop's whole way, whatever its reason, or no
 * host timer would be armed again. */
void host_timer_interrupt(void);
bool host_timer_fired(void);
/* Sleeps in HLT until an interrupt arrives (the host timer, if armed). */
void host_wait_for_interrupt(void);

#endif
