/* Per-CPU data: one struct percpu for each host CPU Zazen runs on, reached
 * through the GS segment base (IA32_GS_BASE, SDM 3A 3.4.4), whose first
 * quadword points back at the structure. What a CPU owns lives here: its
 * descriptor tables and stacks, its run queue and the vCPU it runs, its
 * hazard word, its host timer, its cross-call mailbox and the backend's
 * per-CPU state (VMXON region, host save area, ASID generation). What a
 * vCPU owns lives in struct vcpu and moves with it. */
#ifndef ZAZEN_PERCPU_H
#define ZAZEN_PERCPU_H

#include "cpu.h"
#include "lock.h"
#include "types.h"

#define MAX_CPUS 64

struct vcpu;

/* Hazards: requests to a CPU, set by anyone (atomically), looked at by the
 * CPU itself with interrupts off just before it enters a guest and at each
 * scheduling point (NOVA's per-CPU "hazard" word). Whoever sets one on
 * another CPU follows with an IPI (HOST_IPI_VECTOR), which pulls that CPU
 * out of its guest or out of HLT. */
#define HAZARD_RESCHEDULE BIT(0) /* run the scheduler before going back to the guest */
#define HAZARD_CALL BIT(1)       /* a cross call waits in the mailbox */
#define HAZARD_STOP BIT(2)       /* Zazen is stopping (panic): halt */

/* A function one CPU asks another to run at its next safe point (after a
 * VM exit, or in its idle loop), and waits for: what VT-x needs to VMCLEAR
 * a VMCS that is active on another CPU (SDM 3C 25.11.1). */
typedef void (*cross_call_fn)(void *arg);
struct cross_call {
    struct spinlock lock; /* one caller at a time: "mailbox" in the lock order */
    cross_call_fn fn;
    void *arg;
    u32 done; /* set by the target after fn returned */
};

struct run_queue; /* the scheduler's, vmm/sched.h */

/* Whose guest registers this CPU holds (vmm/guest_state.c): the x87/SSE/
 * AVX state with XCR0 and DR0-DR3, and its IA32_TSC_AUX. */
struct guest_state_cpu {
    struct vcpu *owner; /* whose x87/SSE/AVX, XCR0, DR0-DR3 are loaded; NULL: nobody's */
    u64 xcr0;           /* the CPU's XCR0 now */
    u64 tsc_aux;        /* the CPU's IA32_TSC_AUX now (~0: not known yet) */
    bool regs_pristine; /* its x87/SSE/AVX registers hold the pristine image (guest_state.c) */
};

struct percpu {
    struct percpu *self; /* at GS:0 */
    unsigned index;      /* 0: the boot CPU; then in MADT order */
    u32 apic_id;
    bool online;
    u32 hazard;          /* HAZARD_* */
    struct cpu_tables tables;
    u8 *stack_top;       /* the stack this CPU's scheduler runs on */
    struct cross_call call;
    struct run_queue *rq;
    struct vcpu *current; /* the vCPU whose state is on this CPU now, or NULL */
    u64 timer_deadline;   /* the TSC deadline the host one-shot timer counts to; 0: none */
    bool timer_fired;     /* its interrupt came since it was last armed (host_timer_fired) */
    struct guest_state_cpu guest_state;
    /* The scheduler's costs on this CPU, in TSC ticks: from one vCPU's
     * last exit to the next vCPU's first entry when another follows it
     * without the CPU idling between (a vCPU switch), and time idle. */
    struct vcpu *last_vcpu; /* the vCPU that ran last here; NULL after idling */
    u64 last_exit;          /* TSC of its last exit */
    u64 switches, switch_ticks, idle_ticks;
    void *arch;           /* the backend's per-CPU state */
    /* Console output is collected here until a line is whole, then goes
     * to the console ring in one piece (vmm/console.c). */
    char line[256];
    unsigned line_len;
    unsigned line_depth; /* console_lines_begin nesting */
};

extern struct percpu *cpus[MAX_CPUS];
extern unsigned cpu_count; /* CPUs online */

/* The CPU this code runs on. Valid once percpu_init_this_cpu has run. */
static inline struct percpu *this_cpu(void)
{
    struct percpu *p;
    __asm__ volatile("movq %%gs:0, %0" : "=r"(p));
    return p;
}

/* True once the boot CPU has its per-CPU data (before: early boot). */
extern bool percpu_ready;

/* Allocates the structure for CPU `index` (the boot CPU's is static). */
struct percpu *percpu_create(unsigned index, u32 apic_id);
/* Points this CPU's GS base at p and loads its descriptor tables. */
void percpu_init_this_cpu(struct percpu *p);

/* Sets hazards on a CPU; an IPI follows unless it is this CPU. */
void cpu_raise_hazard(struct percpu *c, u32 hazard);

#endif
