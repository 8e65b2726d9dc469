/* A domain's virtual clock: nanoseconds since the domain started, and the
 * timers devices arm on it. The core sets `now` (from the host TSC) before
 * it lets a device run, fires what is due, and arranges a host timer for
 * the earliest deadline so guest timers fire on time (docs/devices.md).
 * Pure: unit tests move `now` by hand. */
#ifndef ZAZEN_DEVMODEL_CLOCK_H
#define ZAZEN_DEVMODEL_CLOCK_H

#include "../vmm/types.h"

#define DM_NEVER (~0ull)
#define NS_PER_SEC 1000000000ull

struct dm_timer {
    u64 deadline;          /* ns; meaningful while armed */
    bool armed;
    void (*fire)(void *dev, u64 now);
    void *dev;
    struct dm_timer *next; /* in the clock's list, earliest first */
};

struct dm_clock {
    u64 now;
    struct dm_timer *timers;
    /* The guest's TSC: tsc = tsc_base + now * tsc_khz / 10^6, for devices
     * that speak TSC (the LAPIC's TSC-deadline mode). */
    u64 tsc_base, tsc_khz;
    u64 ns_per_tsc_mult, tsc_per_ns_mult; /* 32.32 fixed point */
};

void clock_init(struct dm_clock *c);
void timer_init(struct dm_timer *t, void (*fire)(void *dev, u64 now), void *dev);
/* (Re)arms t for an absolute deadline; a deadline in the past fires at
 * the next clock_advance. */
void timer_arm(struct dm_clock *c, struct dm_timer *t, u64 deadline);
void timer_cancel(struct dm_clock *c, struct dm_timer *t);
/* The earliest armed deadline, or DM_NEVER. Inline, as the two below:
 * the hypervisor asks them on its fast way (vmm/fast_way.h). */
static inline u64 clock_next_deadline(const struct dm_clock *c) { return c->timers ? c->timers->deadline : DM_NEVER; }
/* Moves time forward to now and fires every timer due, earliest first;
 * a timer may re-arm itself from its callback. Time never goes back. */
void clock_advance(struct dm_clock *c, u64 now);
static inline u64 clock_now(const struct dm_clock *c) { return c->now; }
/* Declares the guest TSC's rate and its value at time 0. */
void clock_set_tsc(struct dm_clock *c, u64 tsc_khz, u64 tsc_base);
/* Multiplications in 32.32 fixed point: no 128-bit division, which a
 * freestanding build would have to take from libgcc. */
static inline u64 clock_mul_shift32(u64 a, u64 mult) { return (u64)(((unsigned __int128)a * mult) >> 32); }
static inline u64 clock_tsc_to_ns(const struct dm_clock *c, u64 tsc) /* 0 for a TSC before time 0 */
{
    return tsc <= c->tsc_base ? 0 : clock_mul_shift32(tsc - c->tsc_base, c->ns_per_tsc_mult);
}
static inline u64 clock_ns_to_tsc(const struct dm_clock *c, u64 ns) { return c->tsc_base + clock_mul_shift32(ns, c->tsc_per_ns_mult); }
/* Moves time forward to now when no timer is due by then (the caller
 * looked: clock_next_deadline(c) > now): clock_advance's work then. */
static inline void clock_advance_quiet(struct dm_clock *c, u64 now)
{
    if (now > c->now)
        c->now = now;
}

/* A count at a fixed rate of device time since an epoch (the PIT's CLK
 * edges, the PM timer's ticks): count(ns) = floor(ns * hz / 10^9). Kept
 * from a whole second, whose count is exact (hz times it), only the rest
 * of the second is converted: one multiply and one division by a
 * constant instead of two of each. The kept second moves on lazily when
 * ns has passed the next one (or went back behind it: a reset epoch). */
struct dm_rate_count {
    u64 second_ns, second_count;
};

static inline u64 rate_count_at(struct dm_rate_count *r, u64 hz, u64 ns)
{
    u64 rest = ns - r->second_ns;
    if (__builtin_expect(rest >= NS_PER_SEC, 0)) {
        u64 seconds = ns / NS_PER_SEC;
        r->second_ns = seconds * NS_PER_SEC;
        r->second_count = seconds * hz;
        rest = ns - r->second_ns;
    }
    return r->second_count + rest * hz / NS_PER_SEC; /* rest * hz < 2^64 for hz < 2^34 */
}

/* A periodic tick on top of a timer: PIT mode 2/3, the RTC's periodic
 * interrupt and the LAPIC timer share this policy for ticks missed while
 * the vCPU did not run (docs/devices.md, "missed ticks"): a late tick is
 * delivered at once, the periods that passed unseen are counted in
 * `missed` and owed in `backlog` (at most one second's worth), and the
 * owed ticks follow one every period / PERIODIC_CATCH_UP_DIVISOR until
 * none is owed; the regular ticks keep their original phase.
 *
 * With `reinject` (the PIT's counter 0, as KVM's in-kernel PIT does by
 * default) an owed tick follows the previous one as soon as the guest has
 * acknowledged it, not after a delay: the platform says when a tick is
 * still waiting for its acknowledgement (periodic_hold); while held, no
 * timer is armed and the regular ticks that pass are owed (at most one
 * second's worth); released, the next owed tick is raised at once. A
 * vCPU that comes back after a long stall gets its missed ticks back to
 * back, as fast as it acknowledges them. */
#define PERIODIC_CATCH_UP_DIVISOR 8
#define PERIODIC_BACKLOG_NS 1000000000ull

struct dm_periodic {
    struct dm_timer timer;
    struct dm_clock *clock;
    u64 period;      /* ns; 0: stopped */
    u64 next;        /* the deadline of the next regular tick (muted or held: maybe past) */
    u64 ticks, missed;
    u64 backlog;     /* missed ticks not yet delivered */
    bool muted;      /* keeps its period and phase but arms no timer */
    bool reinject;   /* owed ticks follow acknowledgements (above) */
    bool held;       /* reinject: the last tick raised waits for its acknowledgement */
    void (*tick)(void *dev, u64 now);
    void *dev;
};

void periodic_init(struct dm_periodic *p, struct dm_clock *c, void (*tick)(void *dev, u64 now), void *dev);
/* Starts ticking every period ns, the first tick at first (absolute).
 * Without reinject a new rate or phase owes nothing; with it, the ticks
 * owed so far (and the regular ones that passed while held) stay owed:
 * they were raised by the chip and not yet seen, a reprogramming does
 * not take them back. */
void periodic_start(struct dm_periodic *p, u64 first, u64 period);
/* Stops; what was owed is dropped (nothing ticks any more). */
void periodic_stop(struct dm_periodic *p);
/* A device whose ticks could reach no one (its interrupt is masked)
 * mutes them: no timer is armed, so no host timer runs at the tick rate,
 * but the period and phase stay, and what the device shows (a count)
 * can still be computed from periodic_next. The ticks it skips are not
 * owed: unmuted, it ticks on from the next regular deadline. */
void periodic_mute(struct dm_periodic *p, bool mute);
/* Reinject: hold while the last tick raised waits for its acknowledgement
 * (the platform looks at its interrupt controllers); on release the
 * regular ticks that passed are owed and the next owed tick is raised at
 * once. True if this raised one (the platform then looks again: the new
 * tick waits in its turn). Muted wins over released: nothing is raised. */
bool periodic_hold(struct dm_periodic *p, bool hold);
/* The deadline of the first regular tick after now (DM_NEVER if stopped). */
u64 periodic_next(const struct dm_periodic *p, u64 now);

#endif
