/* The other CPUs: starting them, and asking them to do things. */
#ifndef ZAZEN_SMP_H
#define ZAZEN_SMP_H

#include "percpu.h"

struct bootinfo;

/* Starts the application processors the MADT lists, up to max_cpus CPUs
 * in all (the boot CPU included), each into `entry` (its scheduler loop)
 * once its tables, APIC, timer and virtualization are up. Prints
 * "zazen: N CPUs online". */
void smp_init(const struct bootinfo *bi, unsigned max_cpus, NORETURN void (*entry)(void));
/* What each AP (and the boot CPU itself) runs once, before its loop:
 * turns virtualization on for this CPU. Set by core_main. */
extern bool (*smp_cpu_setup)(char *why, size_t why_size);

/* Runs fn(arg) on CPU c at its next safe point and waits for it (at once
 * if c is this CPU). Never call it holding a lock: the target may need
 * that lock to reach its safe point. */
void smp_call(struct percpu *c, cross_call_fn fn, void *arg);
/* A safe point: runs the cross call waiting for this CPU, if any, and
 * halts if Zazen is stopping. Called after every VM exit and in idle:
 * the look at the hazard word inline (nearly always nothing waits). */
void smp_service_slow(void);
static inline void smp_service(void)
{
    if (__builtin_expect(atomic_load(&this_cpu()->hazard) & (HAZARD_STOP | HAZARD_CALL), 0))
        smp_service_slow();
}
/* A panic on this CPU: the others halt at their next safe point. */
void smp_stop_others(void);

#endif
