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
/* Sleeps in HLT until an interrupt arrives (the host timer, if armed). */
void host_wait_for_interrupt(void);

#endif
