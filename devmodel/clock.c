/* See clock.h. The timer list is short (a handful per domain) and kept
 * sorted, so arming is a linear insert and the next deadline is the head. */
#include "clock.h"

void clock_init(struct dm_clock *c)
{
    c->now = 0;
    c->timers = NULL;
    clock_set_tsc(c, 1000000, 0); /* 1 GHz until told otherwise */
}

/* The multipliers for clock_tsc_to_ns and clock_ns_to_tsc (clock.h). */
void clock_set_tsc(struct dm_clock *c, u64 tsc_khz, u64 tsc_base)
{
    c->tsc_khz = tsc_khz ? tsc_khz : 1;
    c->tsc_base = tsc_base;
    c->ns_per_tsc_mult = ((1000000ull << 32) + c->tsc_khz / 2) / c->tsc_khz; /* rounded to nearest */
    c->tsc_per_ns_mult = ((c->tsc_khz << 32) + 500000) / 1000000ull;
}


void timer_init(struct dm_timer *t, void (*fire)(void *dev, u64 now), void *dev)
{
    t->deadline = 0;
    t->armed = false;
    t->fire = fire;
    t->dev = dev;
    t->next = NULL;
}

void timer_cancel(struct dm_clock *c, struct dm_timer *t)
{
    if (!t->armed)
        return;
    for (struct dm_timer **p = &c->timers; *p; p = &(*p)->next)
        if (*p == t) {
            *p = t->next;
            break;
        }
    t->armed = false;
    t->next = NULL;
}

void timer_arm(struct dm_clock *c, struct dm_timer *t, u64 deadline)
{
    timer_cancel(c, t);
    t->deadline = deadline;
    t->armed = true;
    struct dm_timer **p = &c->timers;
    while (*p && (*p)->deadline <= deadline)
        p = &(*p)->next;
    t->next = *p;
    *p = t;
}


void clock_advance(struct dm_clock *c, u64 now)
{
    if (now > c->now)
        c->now = now;
    while (c->timers && c->timers->deadline <= c->now) {
        struct dm_timer *t = c->timers;
        c->timers = t->next;
        t->next = NULL;
        t->armed = false;
        t->fire(t->dev, c->now);
    }
}

static u64 backlog_cap(const struct dm_periodic *p) { return MAX(PERIODIC_BACKLOG_NS / p->period, 1ull); }

/* The timer for the next regular tick, when one may fire: not while
 * muted (nobody can take it) nor held (the last one waits for its
 * acknowledgement: the ticks that pass are counted on release). */
static void periodic_arm(struct dm_periodic *p)
{
    if (p->period && !p->muted && !p->held)
        timer_arm(p->clock, &p->timer, p->next);
    else
        timer_cancel(p->clock, &p->timer);
}

/* Reinject: the regular ticks due by now (from `next` on) are owed, the
 * backlog capped at one second's worth; `missed` counts those beyond the
 * first, which passed unseen. */
static void owe_passed_ticks(struct dm_periodic *p, u64 now)
{
    if (!p->period || now < p->next)
        return;
    u64 due = (now - p->next) / p->period + 1;
    p->missed += due - 1;
    p->backlog = MIN(p->backlog + due, backlog_cap(p));
    p->next += due * p->period;
}

/* Reinject: raises the next owed tick, if any, now. */
static bool raise_owed_tick(struct dm_periodic *p, u64 now)
{
    if (!p->backlog || p->muted) {
        periodic_arm(p);
        return false;
    }
    p->backlog--;
    p->ticks++;
    periodic_arm(p);
    p->tick(p->dev, now);
    return true;
}

static void periodic_fire(void *dev, u64 now)
{
    struct dm_periodic *p = dev;
    if (!p->period)
        return;
    if (p->reinject) {
        owe_passed_ticks(p, now);
        raise_owed_tick(p, now);
        return;
    }
    if (now >= p->next) { /* a regular tick, maybe late */
        u64 skipped = (now - p->next) / p->period; /* whole periods that passed unseen */
        p->missed += skipped;
        p->backlog = MIN(p->backlog + skipped, backlog_cap(p));
        p->next += (skipped + 1) * p->period;
    } else if (p->backlog) { /* a catch-up tick */
        p->backlog--;
    } else {
        timer_arm(p->clock, &p->timer, p->next);
        return;
    }
    p->ticks++;
    u64 at = p->next;
    if (p->backlog)
        at = MIN(at, now + MAX(p->period / PERIODIC_CATCH_UP_DIVISOR, 1ull));
    timer_arm(p->clock, &p->timer, at);
    p->tick(p->dev, now);
}

void periodic_init(struct dm_periodic *p, struct dm_clock *c, void (*tick)(void *dev, u64 now), void *dev)
{
    timer_init(&p->timer, periodic_fire, p);
    p->clock = c;
    p->period = 0;
    p->next = 0;
    p->ticks = p->missed = p->backlog = 0;
    p->muted = p->reinject = p->held = false;
    p->tick = tick;
    p->dev = dev;
}

void periodic_start(struct dm_periodic *p, u64 first, u64 period)
{
    if (!p->reinject)
        p->backlog = 0; /* a new rate or phase owes nothing */
    else if (!p->muted)
        owe_passed_ticks(p, p->clock->now); /* at the old rate, before it changes */
    p->period = period;
    p->next = first;
    if (!period)
        p->backlog = 0;
    periodic_arm(p);
}

bool periodic_hold(struct dm_periodic *p, bool hold)
{
    if (hold == p->held)
        return false;
    p->held = hold;
    if (hold || !p->period || p->muted) {
        periodic_arm(p);
        return false;
    }
    owe_passed_ticks(p, p->clock->now);
    return raise_owed_tick(p, p->clock->now);
}

u64 periodic_next(const struct dm_periodic *p, u64 now)
{
    if (!p->period)
        return DM_NEVER;
    if (p->next > now)
        return p->next;
    return p->next + ((now - p->next) / p->period + 1) * p->period;
}

void periodic_mute(struct dm_periodic *p, bool mute)
{
    if (mute == p->muted)
        return;
    p->muted = mute;
    if (mute) {
        timer_cancel(p->clock, &p->timer);
        return;
    }
    if (!p->period)
        return;
    p->next = periodic_next(p, p->clock->now);
    p->backlog = 0;
    periodic_arm(p);
}

void periodic_stop(struct dm_periodic *p)
{
    p->period = 0;
    p->backlog = 0;
    timer_cancel(p->clock, &p->timer);
}
