/* The scheduler's core: the loop every CPU runs, the run queues, blocking
 * and waking, load balancing, accounting. What to run next, for how long,
 * and where a vCPU should go is the policy's (struct sched_policy); this
 * file only moves vCPUs between states under the right locks. See
 * docs/scheduler.md for the loop in one screen and the lock order. */
#include "sched.h"
#include "arch.h"
#include "console.h"
#include "console_service.h"
#include "domain.h"
#include "format.h"
#include "hosttime.h"
#include "percpu.h"
#include "smp.h"
#include "vcpu.h"
#include "x86.h"

/* How often a busy CPU looks whether another queue is longer than its
 * own by two or more (an idle one looks whenever it runs out of work). */
#define BALANCE_PERIOD_MS 20

static const struct sched_policy *policy = &sched_credit;
static u64 timeslice_tsc;
static u64 balance_period_tsc;
static struct run_queue run_queues[MAX_CPUS];
static u32 sched_running; /* set once every queue and domain is ready */

u64 sched_timeslice(void) { return timeslice_tsc; }

void sched_init(u64 timeslice_ns)
{
    timeslice_tsc = timeslice_ns * host_tsc_khz() / 1000000;
    balance_period_tsc = BALANCE_PERIOD_MS * host_tsc_khz();
}

void sched_init_cpu(struct percpu *c)
{
    struct run_queue *rq = &run_queues[c->index];
    spin_init(&rq->lock, "runqueue");
    rq->cpu = c;
    c->rq = rq;
}

/* ---- states and accounting ---- */

/* Every state change goes through here: the time since the last one is
 * added to what the vCPU was doing. */
static void set_state(struct vcpu *v, enum vcpu_run_state state, u64 now)
{
    struct sched_vcpu *s = &v->sched;
    u64 dt = now > s->since ? now - s->since : 0;
    switch (s->state) {
    case VCPU_RUNNABLE: s->stats.wait += dt; break;
    case VCPU_RUNNING: s->stats.run += dt; break;
    case VCPU_BLOCKED: s->stats.blocked += dt; break;
    case VCPU_PAUSED:
    case VCPU_ENDED: break;
    }
    s->state = state;
    s->since = now;
}

/* ---- the blocked list of a run queue, earliest wake-up first ---- */

static void blocked_insert(struct run_queue *rq, struct vcpu *v)
{
    struct vcpu **p = &rq->blocked;
    while (*p && (*p)->sched.wake_at <= v->sched.wake_at)
        p = &(*p)->sched.next;
    v->sched.next = *p;
    *p = v;
}

static void blocked_remove(struct run_queue *rq, struct vcpu *v)
{
    for (struct vcpu **p = &rq->blocked; *p; p = &(*p)->sched.next)
        if (*p == v) {
            *p = v->sched.next;
            v->sched.next = NULL;
            return;
        }
}

static u64 next_wake(const struct run_queue *rq) { return rq->blocked ? rq->blocked->sched.wake_at : ~0ull; }

/* ---- locking a vCPU's queue ---- */

/* v->sched.cpu changes only with its queue's lock held, so once the lock
 * of the queue it names is taken, and it still names it, it stays. */
static struct run_queue *lock_vcpu_queue(struct vcpu *v)
{
    for (;;) {
        struct percpu *c = atomic_load(&v->sched.cpu);
        spin_lock(&c->rq->lock);
        if (atomic_load(&v->sched.cpu) == c)
            return c->rq;
        spin_unlock(&c->rq->lock);
    }
}

/* Two queues: the lower CPU's lock first (docs/scheduler.md). */
static void lock_two(struct run_queue *a, struct run_queue *b)
{
    if (a->cpu->index > b->cpu->index) {
        struct run_queue *t = a;
        a = b;
        b = t;
    }
    spin_lock(&a->lock);
    spin_lock(&b->lock);
}

static void unlock_two(struct run_queue *a, struct run_queue *b)
{
    spin_unlock(&a->lock);
    spin_unlock(&b->lock);
}

/* ---- waking ---- */

/* Work for an idle CPU: vCPUs that may run on the CPUs of `allowed` wait
 * on a busy one. Ask an idle one of those to come and take one (it pulls
 * in its loop). */
static void tickle_idle_cpu_of(u64 allowed)
{
    struct percpu *me = this_cpu();
    for (unsigned i = 0; i < cpu_count; i++) {
        struct percpu *c = cpus[i];
        if (c != me && c->rq && atomic_load(&c->rq->idle) && ((allowed >> i) & 1)) {
            cpu_raise_hazard(c, HAZARD_RESCHEDULE);
            return;
        }
    }
}

static void tickle_idle_cpu(const struct vcpu *v) { tickle_idle_cpu_of(v->sched.affinity); }

/* With rq locked: the CPUs its waiting vCPUs may run on. */
static u64 waiting_affinity(const struct run_queue *rq)
{
    u64 allowed = 0;
    for (const struct vcpu *v = rq->runnable; v; v = v->sched.next)
        allowed |= v->sched.affinity;
    return allowed;
}

/* With rq locked: blocked v becomes runnable there. True if it should
 * preempt what rq's CPU runs (or wake it from idle). */
static bool wake_locked(struct run_queue *rq, struct vcpu *v, u64 now)
{
    blocked_remove(rq, v);
    u64 due = v->sched.wake_at;
    v->sched.wake_at = ~0ull;
    if (atomic_load(&v->domain->paused)) {
        set_state(v, VCPU_PAUSED, now); /* it competes again when unpaused */
        return false;
    }
    if (due <= now)
        v->sched.woken_for = due; /* its timer: the wake-up latency is measured */
    set_state(v, VCPU_RUNNABLE, now);
    policy->enqueue(rq, v);
    return policy->wake(rq, v, now) || rq->idle;
}

/* After a wake on rq (unlocked now): the CPU reschedules if it should;
 * if it is busy and v must wait, an idle CPU may take v. */
static void after_wake(struct run_queue *rq, const struct vcpu *v, bool preempt)
{
    if (preempt)
        cpu_raise_hazard(rq->cpu, HAZARD_RESCHEDULE);
    else
        tickle_idle_cpu(v);
}

void sched_notify(struct vcpu *v)
{
    atomic_store(&v->sched.event, 1);
    vcpu_stop_fast(v);
    if (!atomic_load(&v->sched.cpu))
        return; /* not handed to the scheduler yet: it will run anyway */
    if (atomic_load(&this_cpu()->rq->curr) == v)
        return; /* it runs here: it looks before its next entry */
    struct run_queue *rq = lock_vcpu_queue(v);
    if (v->sched.state == VCPU_BLOCKED) {
        bool preempt = wake_locked(rq, v, rdtsc());
        spin_unlock(&rq->lock);
        after_wake(rq, v, preempt);
        return;
    }
    if (v->sched.state == VCPU_RUNNABLE) {
        /* Waiting for its CPU: an interrupt for it is a wake-up too, and
         * the policy may let it preempt (an IPI's sender often spins
         * until the target answers), or an idle CPU take it. */
        bool preempt = policy->wake(rq, v, rdtsc());
        spin_unlock(&rq->lock);
        after_wake(rq, v, preempt);
        return;
    }
    bool kick = v->sched.state == VCPU_RUNNING && rq->cpu != this_cpu();
    spin_unlock(&rq->lock);
    /* No hazard: the IPI alone makes the guest exit, and v->sched.event
     * makes the exit deliver. */
    if (kick)
        cpu_raise_hazard(rq->cpu, 0);
}

void sched_yield(struct vcpu *v)
{
    struct run_queue *rq = this_cpu()->rq;
    spin_lock(&rq->lock);
    bool others = rq->nr_runnable > 0 && rq->curr == v;
    if (others)
        v->sched.yielded = true;
    spin_unlock(&rq->lock);
    if (others)
        cpu_raise_hazard(this_cpu(), HAZARD_RESCHEDULE);
}

/* With rq locked: a paused or blocked vCPU goes back into the queue. */
static bool make_runnable_locked(struct run_queue *rq, struct vcpu *v, u64 now)
{
    if (v->sched.state == VCPU_BLOCKED)
        blocked_remove(rq, v);
    else if (v->sched.state != VCPU_PAUSED)
        return false;
    v->sched.wake_at = ~0ull;
    set_state(v, VCPU_RUNNABLE, now);
    policy->enqueue(rq, v);
    return true;
}

void sched_kick(struct vcpu *v)
{
    if (!atomic_load(&v->sched.cpu))
        return;
    struct run_queue *rq = lock_vcpu_queue(v);
    enum vcpu_run_state state = v->sched.state;
    bool queued = make_runnable_locked(rq, v, rdtsc());
    spin_unlock(&rq->lock);
    if (state == VCPU_RUNNING || queued)
        cpu_raise_hazard(rq->cpu, HAZARD_RESCHEDULE);
}

void sched_interrupt_guest(struct vcpu *v)
{
    vcpu_stop_fast(v);
    if (!atomic_load(&v->sched.cpu) || atomic_load(&this_cpu()->rq->curr) == v)
        return;
    struct run_queue *rq = lock_vcpu_queue(v);
    bool kick = v->sched.state == VCPU_RUNNING && rq->cpu != this_cpu();
    spin_unlock(&rq->lock);
    if (kick)
        cpu_raise_hazard(rq->cpu, 0); /* the IPI alone makes the guest exit */
}

void sched_pause(struct vcpu *v)
{
    if (!atomic_load(&v->sched.cpu))
        return;
    struct run_queue *rq = lock_vcpu_queue(v);
    enum vcpu_run_state state = v->sched.state;
    if (state == VCPU_RUNNABLE) {
        policy->dequeue(rq, v);
        set_state(v, VCPU_PAUSED, rdtsc());
    }
    /* A blocked vCPU stays blocked; it turns paused when it wakes. */
    spin_unlock(&rq->lock);
    if (state == VCPU_RUNNING)
        cpu_raise_hazard(rq->cpu, HAZARD_RESCHEDULE);
}

void sched_unpause(struct vcpu *v)
{
    if (!atomic_load(&v->sched.cpu))
        return;
    struct run_queue *rq = lock_vcpu_queue(v);
    bool queued = v->sched.state == VCPU_PAUSED && make_runnable_locked(rq, v, rdtsc());
    spin_unlock(&rq->lock);
    if (queued)
        after_wake(rq, v, true);
}

/* With both queues locked: v (runnable) moves from src to dst. */
static void move_runnable(struct run_queue *src, struct run_queue *dst, struct vcpu *v)
{
    policy->dequeue(src, v);
    atomic_store(&v->sched.cpu, dst->cpu);
    policy->enqueue(dst, v);
}

void sched_set_affinity(struct vcpu *v, u64 cpus_allowed)
{
    if (!atomic_load(&v->sched.cpu)) {
        v->sched.affinity = cpus_allowed;
        return;
    }
    struct run_queue *rq = lock_vcpu_queue(v);
    v->sched.affinity = cpus_allowed;
    enum vcpu_run_state state = v->sched.state;
    bool allowed_here = (cpus_allowed >> rq->cpu->index) & 1;
    spin_unlock(&rq->lock);
    if (allowed_here)
        return;
    if (state == VCPU_RUNNING) {
        cpu_raise_hazard(rq->cpu, HAZARD_RESCHEDULE); /* after_slice sends it on */
        return;
    }
    /* Waiting (runnable, blocked or paused) on a CPU it may not use: it
     * moves to the first it may. */
    struct percpu *to = policy->place(v);
    struct run_queue *dst = to->rq;
    lock_two(rq, dst);
    if (v->sched.cpu == rq->cpu && rq != dst) {
        if (v->sched.state == VCPU_RUNNABLE) {
            move_runnable(rq, dst, v);
        } else if (v->sched.state == VCPU_BLOCKED) {
            blocked_remove(rq, v);
            atomic_store(&v->sched.cpu, dst->cpu);
            blocked_insert(dst, v);
        } else if (v->sched.state == VCPU_PAUSED) {
            atomic_store(&v->sched.cpu, dst->cpu);
        }
    }
    unlock_two(rq, dst);
    cpu_raise_hazard(dst->cpu, HAZARD_RESCHEDULE);
}

/* Blocked vCPUs of this queue whose time has come (rq locked). */
static bool wake_due(struct run_queue *rq, u64 now)
{
    bool any = false;
    while (rq->blocked && rq->blocked->sched.wake_at <= now) {
        wake_locked(rq, rq->blocked, now);
        any = true;
    }
    return any;
}

/* ---- joining ---- */

void sched_add_vcpu(struct vcpu *v)
{
    struct percpu *c = policy->place(v);
    u64 now = rdtsc();
    spin_lock(&c->rq->lock);
    v->sched.cpu = c;
    v->sched.last_cpu = -1;
    v->sched.since = now;
    v->sched.wake_at = ~0ull;
    v->sched.state = VCPU_RUNNABLE;
    policy->enqueue(c->rq, v);
    bool idle = c->rq->idle;
    spin_unlock(&c->rq->lock);
    if (idle && atomic_load(&sched_running))
        cpu_raise_hazard(c, HAZARD_RESCHEDULE);
}

/* ---- load balancing ---- */

static unsigned queue_load(const struct run_queue *rq)
{
    return atomic_load(&rq->nr_runnable) + (atomic_load(&rq->curr) != NULL);
}

/* The queue to take work from: the most loaded other one, if it has a
 * vCPU waiting and (unless this CPU is idle) two more than this one. */
static struct run_queue *busiest_queue(struct run_queue *dst, bool idle)
{
    struct run_queue *best = NULL;
    unsigned best_load = 0, own = idle ? 0 : queue_load(dst);
    for (unsigned i = 0; i < cpu_count; i++) {
        struct run_queue *rq = cpus[i]->rq;
        if (rq == dst || !atomic_load(&rq->nr_runnable))
            continue;
        unsigned load = queue_load(rq);
        if (load > best_load && (idle || load >= own + 2)) {
            best = rq;
            best_load = load;
        }
    }
    return best;
}

/* Pulls one runnable vCPU from another queue, as the policy chooses. */
static bool pull_work(struct run_queue *dst, u64 now, bool idle)
{
    struct run_queue *src = busiest_queue(dst, idle);
    if (!src)
        return false;
    lock_two(dst, src);
    struct vcpu *v = policy->migrate(dst, src, now);
    if (v)
        move_runnable(src, dst, v);
    unlock_two(dst, src);
    return v != NULL;
}

/* ---- the loop ---- */

/* Halts this CPU until `wake` (on CPU 0 the console's due time too) or
 * an interrupt; returns the ticks it halted, counted as the CPU's idle
 * time. Interrupts are off until the HLT (which enables them in STI's
 * shadow): a wake-up raised after the caller's looks comes with an IPI
 * that stays pending and ends the HLT at once. */
static u64 halt_until(struct percpu *c, u64 wake)
{
    if (c->index == 0) {
        u64 due = console_service_due(); /* once: MIN evaluates an argument twice */
        wake = MIN(wake, due);
    }
    host_timer_arm_tsc(wake);
    u64 t = rdtsc();
    host_wait_for_interrupt();
    u64 dt = rdtsc() - t;
    c->idle_ticks += dt;
    return dt;
}

/* Nothing to run: halt until the next thing this CPU waits for (a
 * blocked vCPU's wake-up, a cap period, the console) or an IPI. */
static void idle(struct percpu *c, u64 wake)
{
    if (atomic_load(&c->hazard))
        return;
    c->last_vcpu = NULL; /* what follows an idle time is no switch */
    halt_until(c, wake);
}

/* A halted vCPU alone on its CPU waits there, as KVM's vCPU thread
 * blocks inside KVM_RUN: no put and load of its state, no trip through
 * the run queue and the policy. Only until its turn's end: then it
 * blocks as before, and the policy decides with everything in view.
 * What ends the wait: the host timer armed for its device deadline (or
 * the turn's end, or the console's due time on CPU 0), or an IPI: a
 * sender's sched_notify kicks the CPU of a running vCPU, and hazards
 * come with one (the run queue shows idle meanwhile, so a vCPU woken or
 * placed elsewhere may be sent here, and its hazard ends the wait). The
 * time counts as blocked and idle, not as run: the credit policy's burn,
 * a cap's budget and xl's figures take run time from `since`, which
 * moves past the wait. */
bool sched_halt_in_place(struct vcpu *v, u64 until, u64 *waited)
{
    struct percpu *c = this_cpu();
    struct run_queue *rq = c->rq;
    *waited = 0;
    if (v->sched.wake_at == ~0ull || rdtsc() >= until || __atomic_load_n(&rq->nr_runnable, __ATOMIC_RELAXED) ||
        atomic_load(&c->hazard))
        return false;
    if (atomic_load(&v->fast_stop) || atomic_load(&v->sched.event))
        return true; /* something came since the loop's top looked: it looks again */
    __atomic_store_n(&v->sched.halted_since, rdtsc(), __ATOMIC_RELAXED);
    atomic_store(&rq->idle, true);
    u64 dt = halt_until(c, MIN(v->sched.wake_at, until));
    atomic_store(&rq->idle, false);
    __atomic_store_n(&v->sched.halted_since, 0, __ATOMIC_RELAXED);
    v->sched.since += dt;
    v->sched.stats.blocked += dt;
    v->sched.stats.blocks++;
    *waited = dt;
    return true;
}

void sched_note_first_entry(struct vcpu *v, u64 now)
{
    struct percpu *c = this_cpu();
    if (c->last_vcpu && c->last_vcpu != v) {
        c->switches++;
        c->switch_ticks += now - c->last_exit;
    }
    c->last_vcpu = v;
    u64 due = v->sched.woken_for;
    if (due) {
        u64 latency = now > due ? now - due : 0;
        v->sched.stats.wakeups++;
        v->sched.stats.wake_latency += latency;
        v->sched.stats.wake_latency_max = MAX(v->sched.stats.wake_latency_max, latency);
        v->sched.woken_for = 0;
    }
}

void sched_note_last_exit(struct vcpu *v, u64 now, bool ended)
{
    struct percpu *c = this_cpu();
    /* What follows a domain's end (its teardown and its summary on the
     * console, tens of thousands of ticks) is no switch, as what follows
     * an idle time is not (idle). */
    c->last_vcpu = ended ? NULL : v;
    c->last_exit = now;
}

static void note_cpu(struct vcpu *v, const struct percpu *c)
{
    if (v->sched.last_cpu >= 0 && (unsigned)v->sched.last_cpu != c->index)
        v->sched.stats.migrations++;
    v->sched.last_cpu = (int)c->index;
    v->sched.stats.cpus_used |= BIT(c->index);
}

/* With rq locked, after v's turn: back to the queue, to the blocked list,
 * or out. */
static void after_slice(struct run_queue *rq, struct vcpu *v, enum slice_end how, u64 now)
{
    policy->tick(rq, v, now > v->sched.since ? now - v->sched.since : 0, now);
    atomic_store(&rq->curr, NULL);
    switch (how) {
    case SLICE_PREEMPTED:
        set_state(v, VCPU_RUNNABLE, now);
        policy->enqueue(rq, v);
        break;
    case SLICE_PAUSED:
        /* An unpause between the slice's look at `paused` and this lock
         * found the vCPU still running and left it to us (sched_unpause
         * wakes only a paused one): it goes back in the queue. */
        if (!atomic_load(&v->domain->paused)) {
            set_state(v, VCPU_RUNNABLE, now);
            policy->enqueue(rq, v);
        } else {
            set_state(v, VCPU_PAUSED, now);
        }
        break;
    case SLICE_BLOCKED:
        if (atomic_load(&v->sched.event)) { /* sched_notify came while it ran: it looks again */
            set_state(v, VCPU_RUNNABLE, now);
            policy->enqueue(rq, v);
            break;
        }
        set_state(v, VCPU_BLOCKED, now);
        v->sched.stats.blocks++;
        policy->block(rq, v, now);
        blocked_insert(rq, v);
        break;
    case SLICE_ENDED:
        set_state(v, VCPU_ENDED, now);
        break;
    }
}

NORETURN void sched_start(void)
{
    console_set_buffered(true);
    atomic_store(&sched_running, 1);
    for (unsigned i = 1; i < cpu_count; i++)
        cpu_raise_hazard(cpus[i], HAZARD_RESCHEDULE);
    sched_cpu_loop();
}

NORETURN void sched_cpu_loop(void)
{
    struct percpu *c = this_cpu();
    while (!atomic_load(&sched_running)) {
        smp_service();
        host_wait_for_interrupt(); /* sched_start's IPI wakes us */
    }
    struct run_queue *rq = c->rq;
    for (;;) {
        smp_service();
        u64 now = rdtsc();
        if (c->index == 0 && now >= console_service_due())
            console_service(now);
        atomic_and(&c->hazard, ~HAZARD_RESCHEDULE); /* this is the rescheduling */
        if (now >= rq->next_balance) {
            rq->next_balance = now + balance_period_tsc;
            pull_work(rq, now, false);
        }
        u64 until = ~0ull, next_event = ~0ull;
        spin_lock(&rq->lock);
        wake_due(rq, now);
        struct vcpu *v = policy->pick_next(rq, now, &until, &next_event);
        if (v) {
            set_state(v, VCPU_RUNNING, now);
            note_cpu(v, c);
            atomic_store(&rq->curr, v);
        }
        atomic_store(&rq->idle, v == NULL);
        u64 wake = MIN(next_wake(rq), next_event);
        u64 waiting = waiting_affinity(rq);
        spin_unlock(&rq->lock);
        if (waiting)
            tickle_idle_cpu_of(waiting); /* more than this CPU can run now */
        if (!v) {
            if (!pull_work(rq, now, true))
                idle(c, wake);
            continue;
        }
        /* A blocked vCPU's wake-up or a cap period during the slice ends
         * it early: the policy then decides again with both in view. */
        enum slice_end how = vcpu_run_slice(v, MIN(until, wake));
        now = rdtsc();
        spin_lock(&rq->lock);
        after_slice(rq, v, how, now);
        bool must_move = how == SLICE_PREEMPTED && !((v->sched.affinity >> c->index) & 1);
        spin_unlock(&rq->lock);
        if (must_move)
            sched_set_affinity(v, v->sched.affinity); /* vcpu-pin took this CPU away */
        if (how == SLICE_ENDED)
            domain_vcpu_ended(v);
    }
}

/* ---- figures ---- */

static u64 ticks_to_us(u64 ticks) { return ticks * 1000 / (host_tsc_khz() ? host_tsc_khz() : 1); }

static void print_ms(const char *what, u64 ticks)
{
    u64 us = ticks_to_us(ticks);
    kprintf(" %s %llu.%03llu s", what, (unsigned long long)(us / 1000000), (unsigned long long)(us / 1000 % 1000));
}

static void print_cpu_set(u64 set)
{
    kprintf(" on CPUs");
    const char *sep = " ";
    for (unsigned i = 0; i < 64; i++)
        if ((set >> i) & 1) {
            kprintf("%s%u", sep, i);
            sep = ",";
        }
    if (!set)
        kprintf(" none");
}

void sched_print_vcpu_stats(const struct domain *d, const char *when)
{
    u64 now = rdtsc();
    for (unsigned i = 0; i < d->vcpu_count; i++) {
        const struct vcpu *v = d->vcpus[i];
        struct vcpu_sched_stats st = v->sched.stats;
        u64 dt = now > v->sched.since ? now - v->sched.since : 0;
        /* The current state's time so far counts too. */
        if (v->sched.state == VCPU_RUNNING)
            st.run += dt;
        else if (v->sched.state == VCPU_RUNNABLE)
            st.wait += dt;
        else if (v->sched.state == VCPU_BLOCKED)
            st.blocked += dt;
        /* paused time counts as none of the three */
        kprintf("zazen: domain %s (id %u) %svcpu %u:", d->name, d->id, when, v->id);
        print_ms("ran", st.run);
        print_ms("waited", st.wait);
        print_ms("blocked", st.blocked);
        kprintf(" (%llu times), %llu migrations,", (unsigned long long)st.blocks, (unsigned long long)st.migrations);
        print_cpu_set(st.cpus_used);
        if (st.wakeups)
            kprintf("; %llu timer wake-ups, latency %llu us on average, %llu us at most",
                    (unsigned long long)st.wakeups, (unsigned long long)ticks_to_us(st.wake_latency / st.wakeups),
                    (unsigned long long)ticks_to_us(st.wake_latency_max));
        kprintf("; x87 state loads %llu\n", (unsigned long long)v->x87_loads);
    }
}

u64 sched_vcpu_ran(const struct vcpu *v)
{
    u64 halted = __atomic_load_n(&v->sched.halted_since, __ATOMIC_RELAXED);
    u64 ran = v->sched.stats.run, since = v->sched.since, now = rdtsc();
    if (v->sched.state == VCPU_RUNNING && now > since) {
        ran += now - since;
        /* A wait in place so far is no run time (sched_halt_in_place). */
        if (halted && now > halted && now - halted <= now - since)
            ran -= now - halted;
    }
    return ran;
}

enum vcpu_run_state sched_vcpu_state(const struct vcpu *v)
{
    enum vcpu_run_state s = v->sched.state;
    return s == VCPU_RUNNING && __atomic_load_n(&v->sched.halted_since, __ATOMIC_RELAXED) ? VCPU_BLOCKED : s;
}

void sched_print_cpu_stats(void)
{
    for (unsigned i = 0; i < cpu_count; i++) {
        struct percpu *c = cpus[i];
        kprintf("zazen: CPU %u: %llu vCPU switches, %llu ticks each;", i, (unsigned long long)c->switches,
                (unsigned long long)(c->switches ? c->switch_ticks / c->switches : 0));
        print_ms("idle", c->idle_ticks);
        kprintf("\n");
    }
}
