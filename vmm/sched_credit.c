/* The credit policy: proportional share by weight, an optional cap, CPU
 * affinity; xl.cfg's weight, cap and cpus with Xen's meanings. Its
 * accounting is closest to Xen's credit2 (docs/scheduler.md compares it
 * with credit1 and credit2):
 *
 *  - Each vCPU has credit, in TSC ticks. Running burns it at 256/weight
 *    per tick, so a domain of weight 512 burns half as fast as one of 256
 *    and, competing for one CPU, runs twice as long.
 *  - A CPU runs the runnable vCPU with the most credit for a time slice.
 *    When the best has none left, every vCPU of the queue gets a slice's
 *    worth more, up to that much: a deficit is carried, a surplus is not
 *    hoarded.
 *  - A halted vCPU burns nothing, so when it wakes it usually has more
 *    credit than the one running, and preempts it: I/O latency.
 *  - cap = N: the domain may run N% of one CPU per CAP_PERIOD; once its
 *    budget is spent its vCPUs are parked until the next period (credit2
 *    and NOVA's scheduling contexts do the same with a budget).
 *  - Placement and balancing: a new vCPU goes to the least loaded CPU it
 *    may run on; an idle CPU pulls the best waiting vCPU from the busiest
 *    queue, and a busy one every balancing period if another queue is
 *    longer by two (vmm/sched.c). */
#include "sched.h"
#include "domain.h"
#include "hosttime.h"
#include "percpu.h"
#include "vcpu.h"

#define MIN_BUDGET_SLICE_US 250 /* the shortest turn a capped domain's last budget buys */
#define CAP_PERIOD_MS 10
#define DEFAULT_WEIGHT 256

static u64 ms_to_tsc(u64 ms) { return ms * host_tsc_khz(); }

/* ---- caps ---- */

static u64 cap_period(void) { return ms_to_tsc(CAP_PERIOD_MS); }

/* The budget a domain with cap % gets each period. */
static s64 cap_budget(const struct sched_domain *s) { return (s64)(cap_period() * s->cap / 100); }

/* A capped domain that has used its budget waits for the next period;
 * a period that has begun refills it (a deficit carries over). */
static bool parked(struct domain *d, u64 now, u64 *next_event)
{
    struct sched_domain *s = &d->sched;
    if (!s->cap)
        return false;
    spin_lock(&s->budget_lock);
    if (now >= s->refill_at) {
        s64 full = cap_budget(s);
        s->budget = s->budget + full > full ? full : s->budget + full;
        u64 periods = (now - s->refill_at) / cap_period() + 1;
        s->refill_at += periods * cap_period();
    }
    bool out = s->budget <= 0;
    if (out && s->refill_at < *next_event)
        *next_event = s->refill_at;
    spin_unlock(&s->budget_lock);
    return out;
}

static s64 budget_left(struct domain *d)
{
    spin_lock(&d->sched.budget_lock);
    s64 b = d->sched.budget;
    spin_unlock(&d->sched.budget_lock);
    return b;
}

/* ---- credit ---- */

static s64 burn(const struct vcpu *v, u64 ran) { return (s64)(ran * DEFAULT_WEIGHT / v->domain->sched.weight); }

static void reset_one(struct vcpu *v, s64 init)
{
    v->sched.credit = v->sched.credit + init > init ? init : v->sched.credit + init;
}

/* A time slice's worth of credit at weight 256: what a queue's vCPUs get
 * at each reset, and the most one may keep. */
static s64 credit_init(void) { return (s64)sched_timeslice(); }

/* Everyone in the queue (waiting, running, blocked) gets credit_init()
 * more, up to credit_init(). The best has none left, so neither has any
 * other that may run: no surplus is lost, every deficit is kept, and over
 * time each gets its weight's share. */
static void reset_credits(struct run_queue *rq)
{
    s64 init = credit_init();
    for (struct vcpu *v = rq->runnable; v; v = v->sched.next)
        reset_one(v, init);
    for (struct vcpu *v = rq->blocked; v; v = v->sched.next)
        reset_one(v, init);
    if (rq->curr)
        reset_one(rq->curr, init);
}

/* ---- the operations ---- */

static struct percpu *credit_place(struct vcpu *v)
{
    struct percpu *best = NULL;
    unsigned best_load = ~0u;
    for (unsigned i = 0; i < cpu_count; i++) {
        struct percpu *c = cpus[i];
        if (!((v->sched.affinity >> i) & 1))
            continue;
        unsigned load = c->rq->nr_runnable + (c->rq->curr != NULL);
        if (load < best_load) {
            best = c;
            best_load = load;
        }
    }
    v->sched.credit = credit_init();
    return best ? best : cpus[0]; /* affinity was checked against the CPUs online */
}

static void credit_enqueue(struct run_queue *rq, struct vcpu *v)
{
    v->sched.next = rq->runnable;
    rq->runnable = v;
    rq->nr_runnable++;
}

static void credit_dequeue(struct run_queue *rq, struct vcpu *v)
{
    for (struct vcpu **p = &rq->runnable; *p; p = &(*p)->sched.next)
        if (*p == v) {
            *p = v->sched.next;
            v->sched.next = NULL;
            rq->nr_runnable--;
            return;
        }
}

/* The runnable vCPU with the most credit that may run now. */
static struct vcpu *best_runnable(struct run_queue *rq, u64 now, u64 *next_event)
{
    struct vcpu *best = NULL;
    for (struct vcpu *v = rq->runnable; v; v = v->sched.next) {
        if (parked(v->domain, now, next_event))
            continue;
        /* One that yielded (sched_yield) comes after every other. */
        if (!best || (best->sched.yielded && !v->sched.yielded) ||
            (best->sched.yielded == v->sched.yielded && v->sched.credit > best->sched.credit))
            best = v;
    }
    return best;
}

static struct vcpu *credit_pick_next(struct run_queue *rq, u64 now, u64 *until, u64 *next_event)
{
    struct vcpu *best = best_runnable(rq, now, next_event);
    if (!best)
        return NULL;
    if (best->sched.credit <= 0)
        reset_credits(rq);
    credit_dequeue(rq, best);
    /* A yield counts for this one pick: then everyone competes on
     * credit again, or a vCPU that yielded could wait for ever. */
    best->sched.yielded = false;
    for (struct vcpu *v = rq->runnable; v; v = v->sched.next)
        v->sched.yielded = false;
    /* A whole time slice (credit decides who is next, not how long), less
     * if a capped domain's budget runs out first. */
    u64 slice = sched_timeslice();
    if (best->domain->sched.cap)
        slice = MIN(slice, MAX((u64)budget_left(best->domain), MIN_BUDGET_SLICE_US * host_tsc_khz() / 1000));
    *until = now + slice;
    return best;
}

static void credit_tick(struct run_queue *rq, struct vcpu *v, u64 ran, u64 now)
{
    (void)rq;
    (void)now;
    v->sched.credit -= burn(v, ran);
    struct sched_domain *s = &v->domain->sched;
    if (s->cap) {
        spin_lock(&s->budget_lock);
        s->budget -= (s64)ran;
        spin_unlock(&s->budget_lock);
    }
}

static void credit_block(struct run_queue *rq, struct vcpu *v, u64 now)
{
    (void)rq;
    (void)v;
    (void)now; /* credit stays as it is while the vCPU sleeps */
}

static bool credit_wake(struct run_queue *rq, struct vcpu *v, u64 now)
{
    u64 ignored = ~0ull;
    if (parked(v->domain, now, &ignored))
        return false;
    struct vcpu *curr = rq->curr;
    return !curr || (v->sched.credit > 0 && v->sched.credit > curr->sched.credit);
}

/* For an idle or lightly loaded CPU: the waiting vCPU of src with the
 * most credit that may run on dst. Credit is relative to its queue, so
 * it arrives with at most a slice's worth. */
static struct vcpu *credit_migrate(struct run_queue *dst, struct run_queue *src, u64 now)
{
    struct vcpu *best = NULL;
    u64 ignored = ~0ull;
    for (struct vcpu *v = src->runnable; v; v = v->sched.next) {
        if (!((v->sched.affinity >> dst->cpu->index) & 1) || parked(v->domain, now, &ignored))
            continue;
        if (!best || v->sched.credit > best->sched.credit)
            best = v;
    }
    if (best && best->sched.credit > credit_init())
        best->sched.credit = credit_init();
    return best;
}

const struct sched_policy sched_credit = {
    .name = "credit",
    .place = credit_place,
    .enqueue = credit_enqueue,
    .dequeue = credit_dequeue,
    .pick_next = credit_pick_next,
    .tick = credit_tick,
    .block = credit_block,
    .wake = credit_wake,
    .migrate = credit_migrate,
};
