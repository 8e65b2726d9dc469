/* The vCPU scheduler: one loop on every host CPU (vmm/sched.c) and a
 * policy behind an interface a second policy could implement
 * (struct sched_policy; the first is vmm/sched_credit.c). See
 * docs/scheduler.md.
 *
 * A vCPU is always in exactly one of these states, and (but when ENDED)
 * belongs to exactly one CPU's run queue, whose lock guards its state:
 *
 *   RUNNABLE --pick--> RUNNING --preempted--> RUNNABLE
 *                         |  \--HLT--> BLOCKED --timer or event--> RUNNABLE
 *                         \--domain over--> ENDED
 *   any of the first three --domain paused--> PAUSED --unpaused--> RUNNABLE
 */
#ifndef ZAZEN_SCHED_H
#define ZAZEN_SCHED_H

#include "lock.h"
#include "types.h"

struct vcpu;
struct domain;
struct percpu;

enum vcpu_run_state {
    VCPU_RUNNABLE, /* waits in its CPU's run queue */
    VCPU_RUNNING,  /* on its CPU now */
    VCPU_BLOCKED,  /* halted: waits for its wake-up time or an event */
    VCPU_PAUSED,   /* its domain is paused: in no list until unpaused */
    VCPU_ENDED,    /* its domain is over; out of every queue */
};

/* What a vCPU's last turn on a CPU ended with (vcpu_run_slice). */
enum slice_end { SLICE_PREEMPTED, SLICE_BLOCKED, SLICE_PAUSED, SLICE_ENDED };

/* Per-vCPU accounting, in TSC ticks (docs/scheduler.md, "time"). */
struct vcpu_sched_stats {
    u64 run;          /* on a CPU */
    u64 wait;         /* runnable, waiting for a CPU */
    u64 blocked;      /* halted */
    u64 blocks;       /* times it blocked */
    u64 migrations;   /* times it ran on another CPU than the time before */
    u64 cpus_used;    /* bit i: it has run on CPU i */
    u64 wakeups;      /* timer wake-ups ... */
    u64 wake_latency, wake_latency_max; /* ... and from the due time to the guest running */
};

/* The scheduler's part of a vCPU (struct vcpu.sched). */
struct sched_vcpu {
    enum vcpu_run_state state;
    struct percpu *cpu;      /* whose run queue it belongs to */
    struct vcpu *next;       /* in that queue's runnable or blocked list */
    u64 wake_at;             /* BLOCKED: host TSC to wake at; ~0: only an event wakes it */
    u64 woken_for;           /* the wake_at it was woken for, until it enters; 0: none */
    u64 since;               /* TSC of the last state change */
    /* RUNNING, but halted in place on its CPU (sched_halt_in_place): the
     * TSC it began waiting at; 0: not waiting. */
    u64 halted_since;
    int last_cpu;            /* where it last ran; -1: never */
    u64 affinity;            /* bit i: it may run on host CPU i (cpus =, vcpu-pin) */
    s64 credit;              /* the policy's (credit: TSC ticks at weight 256) */
    struct vcpu_sched_stats stats;
    /* An interrupt or start-up message came for it (sched_notify) that it
     * has not looked at yet: it does not block, and its next entry
     * delivers first. */
    u32 event;
    /* It spun in a PAUSE loop and gave its CPU up (sched_yield): any other
     * runnable vCPU goes first at the next pick (that one only). */
    bool yielded;
};

/* The scheduler's part of a domain (struct domain.sched): xl.cfg's
 * weight, cap and cpus, and the cap's budget. */
struct sched_domain {
    u32 weight;      /* share of CPU in proportion, 1-65535 (default 256) */
    u32 cap;         /* percent of one CPU, 0: none */
    u64 affinity;    /* bit i: may run on host CPU i */
    struct spinlock budget_lock; /* "budget" in the lock order */
    s64 budget;      /* TSC ticks it may still run this cap period */
    u64 refill_at;   /* TSC of the next cap period */
};

/* One CPU's run queue (percpu.rq). */
struct run_queue {
    struct spinlock lock;    /* "runqueue" in the lock order; two are taken lowest CPU first */
    struct percpu *cpu;
    struct vcpu *runnable;   /* waiting to run, unordered: the policy picks */
    unsigned nr_runnable;
    struct vcpu *blocked;    /* halted vCPUs that belong here, earliest wake_at first */
    struct vcpu *curr;       /* running now, or NULL */
    bool idle;               /* halted with nothing to run */
    u64 next_balance;        /* TSC: when to look at the other queues again */
};

/* A scheduling policy. Every operation runs with the run queue lock of
 * the CPU it names held (migrate: both), and must not take other locks
 * but a domain's budget lock. Times are host TSC values. */
struct sched_policy {
    const char *name;
    /* A new vCPU: the CPU it should start on. */
    struct percpu *(*place)(struct vcpu *v);
    /* v (RUNNABLE) goes into rq's runnable list: new, woken or preempted. */
    void (*enqueue)(struct run_queue *rq, struct vcpu *v);
    void (*dequeue)(struct run_queue *rq, struct vcpu *v);
    /* The next vCPU to run on rq's CPU, taken off the list, and until when
     * it may run; NULL when nothing may run (next_event: when to look again). */
    struct vcpu *(*pick_next)(struct run_queue *rq, u64 now, u64 *until, u64 *next_event);
    /* v ran for `ran` ticks (it is still rq's current). */
    void (*tick)(struct run_queue *rq, struct vcpu *v, u64 ran, u64 now);
    /* v blocked (HLT): it stops competing until woken. */
    void (*block)(struct run_queue *rq, struct vcpu *v, u64 now);
    /* v woke up (it is back in rq's runnable list): should it preempt rq's
     * running vCPU now? That is what lets an I/O-bound vCPU run promptly. */
    bool (*wake)(struct run_queue *rq, struct vcpu *v, u64 now);
    /* Load balancing: dst's CPU has run out of work, or its balancing
     * period came and src is longer by two. A runnable vCPU of src that
     * should move to dst (the core moves it), or NULL. Both locked. */
    struct vcpu *(*migrate)(struct run_queue *dst, struct run_queue *src, u64 now);
};

extern const struct sched_policy sched_credit;

/* The CPU loop: picks, runs, accounts, idles. Every CPU ends up here;
 * the APs wait in it until the boot CPU calls sched_start, once every
 * domain has joined. */
NORETURN void sched_cpu_loop(void);
NORETURN void sched_start(void);
/* Host-wide settings ([host] timeslice). */
void sched_init(u64 timeslice_ns);
/* This CPU's run queue, set up before its loop starts. */
void sched_init_cpu(struct percpu *c);
/* A new vCPU joins the scheduler (RUNNABLE) on the CPU the policy places it on. */
void sched_add_vcpu(struct vcpu *v);
/* Another vCPU or a device sent v an interrupt (an IPI, an I/O APIC
 * message, INIT or start-up) or typed input came for its domain: blocked,
 * it wakes; about to block, its slice's end sees the event and it runs;
 * running on another CPU, that CPU gets an IPI so v exits and takes it;
 * runnable, it looks when it next runs (docs/smp.md). */
void sched_notify(struct vcpu *v);
/* Asks v's CPU to stop running it at its next safe point (domain ended
 * from elsewhere, ...): a paused or blocked vCPU is made runnable to run
 * once and see why. */
void sched_kick(struct vcpu *v);
/* v, if it runs its guest on another CPU, leaves it now (an IPI) and goes
 * back in through its run loop: its domain's nested page tables changed,
 * and the backend flushes before that entry (arch->remap). */
void sched_interrupt_guest(struct vcpu *v);
/* v, running here, spins in a PAUSE loop (PAUSE-loop exiting, the AMD-V
 * PAUSE filter): most likely on a lock that a descheduled vCPU of its
 * domain holds. If another vCPU waits for this CPU, v's turn ends and
 * that one runs first. */
void sched_yield(struct vcpu *v);
/* The domain was paused (v stops at its next safe point and stays out of
 * the queues) or unpaused (v competes again). */
void sched_pause(struct vcpu *v);
void sched_unpause(struct vcpu *v);
/* vcpu-pin: the CPUs v may run on from now on; it moves at once if it is
 * waiting on a CPU it may no longer use, and at its next exit if running. */
void sched_set_affinity(struct vcpu *v, u64 cpus);
/* The time slice, in TSC ticks. */
u64 sched_timeslice(void);
/* Prints one line of scheduler figures per vCPU of d. */
void sched_print_vcpu_stats(const struct domain *d, const char *when);
/* v's time on a CPU so far (the current turn included), in TSC ticks. */
u64 sched_vcpu_ran(const struct vcpu *v);
/* A halted vCPU (vmm/vcpu.c, with its domain's devices unlocked) whose
 * CPU has nothing else to run waits there until its next device deadline
 * (v->sched.wake_at), its turn's end (`until`), an interrupt for it or a
 * hazard, instead of leaving its turn. False: it may not (another vCPU
 * waits for the CPU, a hazard came, its turn is over, or nothing but an
 * event would wake it): it blocks as before. True: it waited (*waited
 * ticks, counted as blocked, not run) or something came for it already
 * (*waited 0): the run loop looks again. */
bool sched_halt_in_place(struct vcpu *v, u64 until, u64 *waited);
/* The state management shows (xl list, vcpu-list): a vCPU halted in
 * place is blocked, as it would be had it left its turn. */
enum vcpu_run_state sched_vcpu_state(const struct vcpu *v);
/* Prints each CPU's vCPU switches, their cost and its idle time. */
void sched_print_cpu_stats(void);
/* The vCPU enters its guest for the first time in this turn (vmm/vcpu.c):
 * a switch from another vCPU and a timer wake-up are measured here. */
void sched_note_first_entry(struct vcpu *v, u64 now);
/* ... and leaves it for the last time in this turn (ended: its domain
 * ended). */
void sched_note_last_exit(struct vcpu *v, u64 now, bool ended);

#endif
