/* unit-sources: devmodel/clock.c devmodel/bus.c */
/* The virtual clock, timers and the periodic tick with its missed-tick
 * policy. */
#include "unit.h"
#include "dm_fake.h"

static int fired[4];
static u64 fired_at[4];

static void on_fire(void *dev, u64 now)
{
    int i = (int)(long)dev;
    fired[i]++;
    fired_at[i] = now;
}

TEST(clock_fires_in_deadline_order)
{
    struct dm_timer a, b, c;
    fake_env_reset();
    memset(fired, 0, sizeof(fired));
    timer_init(&a, on_fire, (void *)0);
    timer_init(&b, on_fire, (void *)1);
    timer_init(&c, on_fire, (void *)2);
    timer_arm(&fake.clock, &a, 300);
    timer_arm(&fake.clock, &b, 100);
    timer_arm(&fake.clock, &c, 200);
    CHECK_EQ(clock_next_deadline(&fake.clock), 100);
    clock_advance(&fake.clock, 250);
    CHECK_EQ(fired[1], 1);
    CHECK_EQ(fired[2], 1);
    CHECK_EQ(fired[0], 0);
    CHECK_EQ(clock_next_deadline(&fake.clock), 300);
    timer_cancel(&fake.clock, &a);
    CHECK_EQ(clock_next_deadline(&fake.clock), DM_NEVER);
    clock_advance(&fake.clock, 1000);
    CHECK_EQ(fired[0], 0);
}

TEST(clock_never_goes_back_and_rearms)
{
    struct dm_timer a;
    fake_env_reset();
    memset(fired, 0, sizeof(fired));
    timer_init(&a, on_fire, (void *)0);
    clock_advance(&fake.clock, 500);
    clock_advance(&fake.clock, 100);
    CHECK_EQ(clock_now(&fake.clock), 500);
    timer_arm(&fake.clock, &a, 400); /* already due */
    timer_arm(&fake.clock, &a, 450); /* re-arming moves it */
    clock_advance(&fake.clock, 500);
    CHECK_EQ(fired[0], 1);
    CHECK_EQ(fired_at[0], 500);
}

static u64 ticks_seen;
static void on_tick(void *dev, u64 now)
{
    (void)dev;
    (void)now;
    ticks_seen++;
}

/* Ticks missed while the vCPU did not run are owed, not dropped: they
 * follow the late one at period / 8, and the regular ticks keep their
 * phase; a guest counting ticks (jiffies) keeps its time. */
TEST(periodic_keeps_phase_and_catches_up)
{
    struct dm_periodic p;
    fake_env_reset();
    ticks_seen = 0;
    periodic_init(&p, &fake.clock, on_tick, NULL);
    periodic_start(&p, 1000, 1000);
    for (int i = 1; i <= 5; i++)
        clock_advance(&fake.clock, (u64)i * 1000);
    CHECK_EQ(ticks_seen, 5);
    CHECK_EQ(p.missed, 0);
    /* the vCPU did not run for 3.5 periods: one tick now, three owed */
    clock_advance(&fake.clock, 9500);
    CHECK_EQ(ticks_seen, 6);
    CHECK_EQ(p.missed, 3);
    CHECK_EQ(p.backlog, 3);
    CHECK_EQ(clock_next_deadline(&fake.clock), 9625); /* the first owed one */
    clock_advance(&fake.clock, 9625);
    clock_advance(&fake.clock, 9750);
    clock_advance(&fake.clock, 9875);
    CHECK_EQ(ticks_seen, 9);
    CHECK_EQ(p.backlog, 0);
    CHECK_EQ(clock_next_deadline(&fake.clock), 10000); /* phase kept */
    clock_advance(&fake.clock, 10000);
    CHECK_EQ(ticks_seen, 10); /* every period since 1000 delivered */
    /* a long stall owes at most a second's worth */
    clock_advance(&fake.clock, 10000 + 5000000000ull);
    CHECK_EQ(p.backlog, 1000000);
    periodic_stop(&p);
    CHECK_EQ(clock_next_deadline(&fake.clock), DM_NEVER);
}

TEST(clock_tsc_conversions)
{
    struct dm_clock c;
    clock_init(&c);
    clock_set_tsc(&c, 10000, 5000); /* a 10 MHz TSC, as Bochs's at ips=10M */
    CHECK_EQ(clock_ns_to_tsc(&c, 1000000), 5000 + 10000);
    CHECK_EQ(clock_tsc_to_ns(&c, 5000 + 10000), 1000000);
    CHECK_EQ(clock_tsc_to_ns(&c, 10), 0);
    clock_set_tsc(&c, 2400000, 0);
    u64 ns = clock_tsc_to_ns(&c, 2400000000ull);
    CHECK(ns >= 999999990 && ns <= 1000000010);
}

/* A muted tick arms no timer but keeps its phase; unmuted, it goes on at
 * the next regular deadline and owes nothing for the ticks nobody could
 * take. */
TEST(periodic_muted_arms_nothing_and_owes_nothing)
{
    struct dm_periodic p;
    fake_env_reset();
    ticks_seen = 0;
    periodic_init(&p, &fake.clock, on_tick, NULL);
    periodic_start(&p, 1000, 1000);
    clock_advance(&fake.clock, 1000);
    CHECK_EQ(ticks_seen, 1);
    periodic_mute(&p, true);
    CHECK_EQ(clock_next_deadline(&fake.clock), DM_NEVER);
    clock_advance(&fake.clock, 5500);
    CHECK_EQ(ticks_seen, 1);
    CHECK_EQ(periodic_next(&p, 5500), 6000); /* the phase, for a counter to read */
    CHECK_EQ(periodic_next(&p, 6000), 7000);
    periodic_start(&p, 6000, 500);           /* restarted while muted: still silent */
    CHECK_EQ(clock_next_deadline(&fake.clock), DM_NEVER);
    periodic_start(&p, 6000, 1000);
    periodic_mute(&p, false);
    CHECK_EQ(clock_next_deadline(&fake.clock), 6000);
    clock_advance(&fake.clock, 6000);
    CHECK_EQ(ticks_seen, 2);
    CHECK_EQ(p.missed, 0);
    CHECK_EQ(p.backlog, 0);
    clock_advance(&fake.clock, 9200);        /* muted again later, unmuted late: */
    periodic_mute(&p, true);
    clock_advance(&fake.clock, 20500);
    periodic_mute(&p, false);
    CHECK_EQ(clock_next_deadline(&fake.clock), 21000); /* no catch-up */
    CHECK_EQ(p.backlog, 0);
}

/* The reinject policy (the PIT's): a tick raised is held by the platform
 * until the guest acknowledges it; the regular ticks that pass meanwhile
 * are owed, and each release raises the next owed one at once (not
 * period / 8 later), so a guest back from a long stall gets them back to
 * back, as fast as it acknowledges them. At most a second's worth owed. */
TEST(periodic_reinject_raises_owed_ticks_on_each_release)
{
    struct dm_periodic p;
    fake_env_reset();
    ticks_seen = 0;
    periodic_init(&p, &fake.clock, on_tick, NULL);
    p.reinject = true;
    periodic_start(&p, 1000, 1000);
    clock_advance(&fake.clock, 1000);
    CHECK_EQ(ticks_seen, 1);
    CHECK(!periodic_hold(&p, true));           /* it waits for its acknowledgement */
    CHECK_EQ(clock_next_deadline(&fake.clock), DM_NEVER); /* no host timer meanwhile */
    clock_advance(&fake.clock, 21500);         /* 20 regular ticks pass: 2000..21000 */
    CHECK_EQ(ticks_seen, 1);
    CHECK(periodic_hold(&p, false));           /* acknowledged: the next one at once */
    CHECK_EQ(ticks_seen, 2);
    CHECK_EQ(p.backlog, 19);
    for (int i = 0; i < 19; i++) {             /* each acknowledgement, at the same moment */
        CHECK(!periodic_hold(&p, true));
        CHECK(periodic_hold(&p, false));
    }
    CHECK_EQ(ticks_seen, 21);                  /* every regular tick, none twice */
    CHECK_EQ(p.backlog, 0);
    CHECK(!periodic_hold(&p, true));
    CHECK(!periodic_hold(&p, false));          /* nothing owed: nothing raised */
    CHECK_EQ(ticks_seen, 21);
    CHECK_EQ(clock_next_deadline(&fake.clock), 22000); /* phase kept */
    clock_advance(&fake.clock, 22000);
    CHECK_EQ(ticks_seen, 22);

    /* late without a hold (the vCPU away): one now, the rest owed; not
     * raised by a timer, only by releases */
    clock_advance(&fake.clock, 25500);
    CHECK_EQ(ticks_seen, 23);
    CHECK_EQ(p.backlog, 2);
    CHECK_EQ(clock_next_deadline(&fake.clock), 26000);
    CHECK(!periodic_hold(&p, true));
    CHECK(periodic_hold(&p, false));
    CHECK_EQ(ticks_seen, 24);

    /* a new rate keeps what is owed, counted at the old rate */
    CHECK(!periodic_hold(&p, true));
    clock_advance(&fake.clock, 27200);         /* 26000 and 27000 passed, held */
    periodic_start(&p, 27500, 500);
    CHECK_EQ(p.backlog, 1 + 2);
    CHECK(periodic_hold(&p, false));           /* now 27200: 27500 not yet due */
    CHECK_EQ(p.backlog, 2);

    /* masked (muted): owes nothing for the time masked */
    periodic_mute(&p, true);
    clock_advance(&fake.clock, 40000);
    periodic_mute(&p, false);
    CHECK_EQ(p.backlog, 0);
    CHECK_EQ(clock_next_deadline(&fake.clock), 40500);

    /* a stall of minutes owes a second's worth, no more */
    CHECK(!periodic_hold(&p, true));
    clock_advance(&fake.clock, 40000 + 300 * NS_PER_SEC);
    CHECK(periodic_hold(&p, false));
    CHECK_EQ(p.backlog, NS_PER_SEC / 500 - 1);

    /* stopped: nothing owed, nothing raised */
    periodic_stop(&p);
    CHECK_EQ(p.backlog, 0);
    CHECK(!periodic_hold(&p, true));
    CHECK(!periodic_hold(&p, false));
    CHECK_EQ(clock_next_deadline(&fake.clock), DM_NEVER);
}
