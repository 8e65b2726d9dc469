/* unit-sources: devmodel/acpi_pm.c devmodel/sysctl.c devmodel/bus.c devmodel/clock.c */
/* The ACPI PM block (PM1 registers, PM timer, SCI, sleep), the 0xCF9
 * reset register, and the system ports 0x92 and 0x80. */
#include "unit.h"
#include "dm_fake.h"
#include "../../devmodel/acpi_pm.h"
#include "../../devmodel/sysctl.h"

#define PM_BASE 0x600
#define SCI_GSI 9
#define NS_PER_S 1000000000ull

static struct acpi_pm pm;
static struct sysctl sc;
static int poweroffs, resets;
static u8 post_codes[8];
static unsigned post_count;

static void on_poweroff(void *ctx)
{
    (void)ctx;
    poweroffs++;
}

static void on_reset(void *ctx)
{
    (void)ctx;
    resets++;
}

static void on_post(void *ctx, u8 code)
{
    (void)ctx;
    if (post_count < sizeof(post_codes))
        post_codes[post_count] = code;
    post_count++;
}

static bool setup(void)
{
    struct dm_env *env = fake_env_reset();
    memset(&pm, 0, sizeof(pm));
    memset(&sc, 0, sizeof(sc));
    poweroffs = resets = 0;
    post_count = 0;
    return acpi_pm_init(&pm, env, PM_BASE, SCI_GSI, on_poweroff, on_reset, NULL) &&
           sysctl_init(&sc, env, on_reset, on_post, NULL);
}

/* What the PM timer must read after ns nanoseconds, computed the direct
 * way: floor(ns * 3579545 / 10^9) modulo 2^32. */
static u32 expected_ticks(u64 ns) { return (u32)((unsigned __int128)ns * ACPI_PM_TIMER_HZ / NS_PER_S); }

/* The first nanosecond at which the timer has counted ticks. */
static u64 ns_of_tick(u64 ticks)
{
    return (u64)(((unsigned __int128)ticks * NS_PER_S + ACPI_PM_TIMER_HZ - 1) / ACPI_PM_TIMER_HZ);
}

static void advance_to(u64 ns) { clock_advance(&fake.clock, ns); }
static u32 pm_timer(void) { return io_in(PM_BASE + ACPI_PM_TMR, 4); }
static u16 pm1_sts(void) { return (u16)io_in(PM_BASE + ACPI_PM1_STS, 2); }
static u16 pm1_cnt(void) { return (u16)io_in(PM_BASE + ACPI_PM1_CNT, 2); }

TEST(pm_timer_counts_at_3_579545_mhz)
{
    CHECK(setup());
    CHECK_EQ(pm_timer(), 0);
    advance_to(NS_PER_S);
    CHECK_EQ(pm_timer(), 3579545);
    advance_to(NS_PER_S + 1000); /* 3.58 ticks more */
    CHECK_EQ(pm_timer(), 3579548);
    u64 times[] = {2 * NS_PER_S + 279, 12345678901ull, 599 * NS_PER_S + 777, 86400 * NS_PER_S + 3};
    for (unsigned i = 0; i < ARRAY_SIZE(times); i++) {
        advance_to(times[i]);
        CHECK_EQ(pm_timer(), expected_ticks(times[i]));
    }
    /* byte and word reads see the same count */
    u32 whole = pm_timer();
    u32 halves = io_in(PM_BASE + ACPI_PM_TMR, 2) | io_in(PM_BASE + ACPI_PM_TMR + 2, 2) << 16;
    CHECK_EQ(halves, whole);
    CHECK_EQ(inb_(PM_BASE + ACPI_PM_TMR + 3), whole >> 24);
    io_out(PM_BASE + ACPI_PM_TMR, 4, 0); /* read-only */
    CHECK_EQ(pm_timer(), whole);
}

/* The reading is counted from the last whole second kept at each toggle
 * of bit 31 (pm_ticks): exact at every moment, on either side of a
 * toggle, right after a reset, and after the clock jumped further than
 * the span that way covers. */
TEST(pm_timer_exact_from_the_kept_second)
{
    CHECK(setup());
    u64 ns = 0, step = 1;
    while (ns < 7200 * NS_PER_S) {
        advance_to(ns);
        CHECK_EQ(pm_timer(), expected_ticks(ns));
        ns += step;
        step = step * 3 + 7; /* ever longer steps, at odd offsets */
        if (step > 300 * NS_PER_S)
            step = 997;
    }
    u64 next_toggle = ((u64)((unsigned __int128)ns * ACPI_PM_TIMER_HZ / NS_PER_S) >> 31) + 1;
    u64 toggle = ns_of_tick(next_toggle << 31);
    advance_to(toggle - 1);
    CHECK_EQ(pm_timer(), expected_ticks(toggle - 1));
    advance_to(toggle);
    CHECK_EQ(pm_timer(), expected_ticks(toggle));
    u64 epoch = toggle + 12345;
    advance_to(epoch);
    acpi_pm_reset(&pm);
    advance_to(epoch + NS_PER_S - 1);
    CHECK_EQ(pm_timer(), expected_ticks(NS_PER_S - 1));
}

TEST(pm_timer_wraps_at_32_bits)
{
    CHECK(setup());
    u64 wrap = ns_of_tick(1ull << 32);
    advance_to(wrap - 1);
    CHECK_EQ(pm_timer(), 0xffffffffu);
    advance_to(wrap);
    CHECK_EQ(pm_timer(), 0);
    advance_to(wrap + NS_PER_S);
    CHECK_EQ(pm_timer(), 3579545);
}

TEST(pm_tmr_sts_on_bit31_toggle_and_sci)
{
    CHECK(setup());
    u64 half = ns_of_tick(1ull << 31);
    advance_to(half - 1);
    CHECK_EQ(pm_timer(), 0x7fffffffu);
    CHECK_EQ(pm1_sts() & ACPI_PM1_TMR_STS, 0);
    advance_to(half);
    CHECK_EQ(pm1_sts() & ACPI_PM1_TMR_STS, ACPI_PM1_TMR_STS);
    CHECK(!fake.level[SCI_GSI]); /* TMR_EN clear */
    io_out(PM_BASE + ACPI_PM1_EN, 2, ACPI_PM1_TMR_EN);
    CHECK(fake.level[SCI_GSI]);
    io_out(PM_BASE + ACPI_PM1_STS, 2, ACPI_PM1_TMR_STS);
    CHECK_EQ(pm1_sts(), 0);
    CHECK(!fake.level[SCI_GSI]);
    /* bit 31 going back to 0 at the wrap is a toggle too */
    advance_to(ns_of_tick(1ull << 32) - 1);
    CHECK_EQ(pm1_sts(), 0);
    advance_to(ns_of_tick(1ull << 32));
    CHECK_EQ(pm1_sts(), ACPI_PM1_TMR_STS);
    CHECK(fake.level[SCI_GSI]);
    CHECK_EQ(fake.edges[SCI_GSI], 2);
    /* no SCI while SCI_EN is clear */
    io_out(PM_BASE + ACPI_PM1_CNT, 2, 0);
    CHECK(!fake.level[SCI_GSI]);
    io_out(PM_BASE + ACPI_PM1_CNT, 2, ACPI_PM1_SCI_EN);
    CHECK(fake.level[SCI_GSI]);
}

TEST(pm1_sts_write_one_to_clear)
{
    CHECK(setup());
    acpi_pm_power_button(&pm);
    /* an S3 request is not entered but sets WAK_STS */
    io_out(PM_BASE + ACPI_PM1_CNT, 2, ACPI_PM1_SCI_EN | 1 << ACPI_PM1_SLP_TYP_SHIFT | ACPI_PM1_SLP_EN);
    CHECK_EQ(pm1_sts(), ACPI_PM1_PWRBTN_STS | ACPI_PM1_WAK_STS);
    io_out(PM_BASE + ACPI_PM1_STS, 2, 0);
    CHECK_EQ(pm1_sts(), ACPI_PM1_PWRBTN_STS | ACPI_PM1_WAK_STS);
    io_out(PM_BASE + ACPI_PM1_STS, 2, ACPI_PM1_PWRBTN_STS);
    CHECK_EQ(pm1_sts(), ACPI_PM1_WAK_STS);
    outb_(PM_BASE + ACPI_PM1_STS + 1, ACPI_PM1_WAK_STS >> 8); /* a byte write to the high half */
    CHECK_EQ(pm1_sts(), 0);
    /* a 32-bit write covers PM1_STS and PM1_EN together */
    acpi_pm_power_button(&pm);
    CHECK(!fake.level[SCI_GSI]);
    io_out(PM_BASE + ACPI_PM1_STS, 4, (u32)ACPI_PM1_PWRBTN_EN << 16);
    CHECK_EQ(io_in(PM_BASE + ACPI_PM1_EN, 2), ACPI_PM1_PWRBTN_EN);
    CHECK_EQ(pm1_sts(), ACPI_PM1_PWRBTN_STS);
    CHECK(fake.level[SCI_GSI]); /* power button with its enable: SCI */
    CHECK_EQ(io_in(PM_BASE + ACPI_PM1_STS, 4), (u32)ACPI_PM1_PWRBTN_EN << 16 | ACPI_PM1_PWRBTN_STS);
    io_out(PM_BASE + ACPI_PM1_STS, 4, (u32)ACPI_PM1_PWRBTN_EN << 16 | ACPI_PM1_PWRBTN_STS);
    CHECK_EQ(pm1_sts(), 0);
    CHECK(!fake.level[SCI_GSI]);
}

TEST(pm_slp_en_with_s5_powers_off_other_types_do_not)
{
    CHECK(setup());
    const u16 s3 = 1 << ACPI_PM1_SLP_TYP_SHIFT, s0 = ACPI_PM_SLP_TYP_S0 << ACPI_PM1_SLP_TYP_SHIFT;
    io_out(PM_BASE + ACPI_PM1_CNT, 2, ACPI_PM1_SCI_EN | s3 | ACPI_PM1_SLP_EN);
    CHECK_EQ(poweroffs, 0);
    CHECK_EQ(pm.sleeps_ignored, 1);
    CHECK_EQ(pm1_cnt(), ACPI_PM1_SCI_EN | s3); /* SLP_EN reads as 0 */
    io_out(PM_BASE + ACPI_PM1_CNT, 2, ACPI_PM1_SCI_EN | s0 | ACPI_PM1_SLP_EN);
    CHECK_EQ(poweroffs, 0);
    /* SLP_TYP alone does nothing; SLP_EN with S5 powers off */
    io_out(PM_BASE + ACPI_PM1_CNT, 2, ACPI_PM1_SCI_EN | ACPI_PM_SLP_TYP_S5 << ACPI_PM1_SLP_TYP_SHIFT);
    CHECK_EQ(poweroffs, 0);
    io_out(PM_BASE + ACPI_PM1_CNT, 2, ACPI_PM1_SCI_EN | ACPI_PM_SLP_TYP_S5 << ACPI_PM1_SLP_TYP_SHIFT | ACPI_PM1_SLP_EN);
    CHECK_EQ(poweroffs, 1);
    /* a byte write of the high half works too */
    outb_(PM_BASE + ACPI_PM1_CNT + 1, ACPI_PM1_SLP_EN >> 8);
    CHECK_EQ(poweroffs, 2);
    CHECK_EQ(pm1_cnt(), ACPI_PM1_SCI_EN);
}

TEST(pm_sci_en_set_at_reset)
{
    CHECK(setup());
    CHECK_EQ(pm1_cnt(), ACPI_PM1_SCI_EN);
    io_out(PM_BASE + ACPI_PM1_EN, 2, ACPI_PM1_PWRBTN_EN);
    io_out(PM_BASE + ACPI_PM1_CNT, 2, ACPI_PM1_BM_RLD);
    acpi_pm_power_button(&pm);
    acpi_pm_reset(&pm);
    CHECK_EQ(pm1_cnt(), ACPI_PM1_SCI_EN);
    CHECK_EQ(pm1_sts(), 0);
    CHECK_EQ(io_in(PM_BASE + ACPI_PM1_EN, 2), 0);
    CHECK_EQ(io_in(PM_BASE + 6, 2), 0); /* reserved */
}

TEST(pm_reset_register_cf9)
{
    CHECK(setup());
    CHECK_EQ(inb_(ACPI_PM_RESET_PORT), 0);
    outb_(ACPI_PM_RESET_PORT, 0x02); /* choose a hard reset */
    CHECK_EQ(resets, 0);
    CHECK_EQ(inb_(ACPI_PM_RESET_PORT), 0x02);
    outb_(ACPI_PM_RESET_PORT, ACPI_PM_RESET_VALUE);
    CHECK_EQ(resets, 1);
    CHECK_EQ(inb_(ACPI_PM_RESET_PORT), 0x06);
    outb_(ACPI_PM_RESET_PORT, 0x0e);
    CHECK_EQ(resets, 2);
    outb_(ACPI_PM_RESET_PORT, 0x00);
    outb_(ACPI_PM_RESET_PORT, 0x04); /* soft reset: the domain restarts too */
    CHECK_EQ(resets, 3);
    CHECK_EQ(poweroffs, 0);
}

TEST(sysctl_port_92_fast_reset_and_a20)
{
    CHECK(setup());
    CHECK_EQ(inb_(SYSCTL_PORT_A), 0);
    CHECK(!sysctl_a20(&sc));
    outb_(SYSCTL_PORT_A, SYSCTL_A_A20);
    CHECK(sysctl_a20(&sc));
    CHECK_EQ(resets, 0);
    CHECK_EQ(inb_(SYSCTL_PORT_A), 0x02);
    outb_(SYSCTL_PORT_A, SYSCTL_A_A20 | SYSCTL_A_FAST_RESET); /* 0 -> 1 */
    CHECK_EQ(resets, 1);
    outb_(SYSCTL_PORT_A, SYSCTL_A_A20 | SYSCTL_A_FAST_RESET); /* still 1: no transition */
    CHECK_EQ(resets, 1);
    CHECK_EQ(inb_(SYSCTL_PORT_A), 0x03);
    outb_(SYSCTL_PORT_A, SYSCTL_A_A20);
    CHECK_EQ(resets, 1);
    outb_(SYSCTL_PORT_A, SYSCTL_A_FAST_RESET);
    CHECK_EQ(resets, 2);
    CHECK(!sysctl_a20(&sc));
    sysctl_reset(&sc);
    CHECK_EQ(inb_(SYSCTL_PORT_A), 0);
    outb_(SYSCTL_PORT_A, SYSCTL_A_FAST_RESET); /* after reset the bit is 0 again */
    CHECK_EQ(resets, 3);
}

TEST(sysctl_port_80_keeps_the_post_code)
{
    CHECK(setup());
    CHECK_EQ(sysctl_post_code(&sc), 0);
    outb_(SYSCTL_POST_PORT, 0x42);
    CHECK_EQ(sysctl_post_code(&sc), 0x42);
    CHECK_EQ(inb_(SYSCTL_POST_PORT), 0x42);
    outb_(SYSCTL_POST_PORT, 0xaa);
    CHECK_EQ(sysctl_post_code(&sc), 0xaa);
    CHECK_EQ(post_count, 2);
    CHECK_EQ(post_codes[0], 0x42);
    CHECK_EQ(post_codes[1], 0xaa);
    io_out(SYSCTL_POST_PORT, 2, 0x1234); /* a word OUT: 0x80 takes the low byte, 0x81 is not ours */
    CHECK_EQ(sysctl_post_code(&sc), 0x34);
    CHECK_EQ(post_count, 3);
}

TEST(sysctl_post_callback_is_optional)
{
    struct dm_env *env = fake_env_reset();
    memset(&sc, 0, sizeof(sc));
    CHECK(sysctl_init(&sc, env, NULL, NULL, NULL));
    outb_(SYSCTL_POST_PORT, 0x10);
    outb_(SYSCTL_PORT_A, SYSCTL_A_FAST_RESET); /* no reset callback either: nothing happens */
    CHECK_EQ(sysctl_post_code(&sc), 0x10);
}

/* The PM block's reads are marked quiet, following the clock alone
 * (bus_set_clock_reads); the reset control port is not. */
TEST(pm_block_reads_are_quiet)
{
    CHECK(setup());
    CHECK(bus_io_read_is_quiet(&fake.bus, PM_BASE + ACPI_PM_TMR, 4));
    CHECK(bus_io_read_is_quiet(&fake.bus, PM_BASE + ACPI_PM1_STS, 2));
    CHECK(!bus_io_read_is_quiet(&fake.bus, ACPI_PM_RESET_PORT, 1));
    CHECK(bus_fast_range(&fake.bus, PM_BASE + ACPI_PM_TMR, 4)->clock_reads);
    CHECK(bus_fast_range(&fake.bus, PM_BASE + ACPI_PM1_STS, 2)->clock_reads);
    CHECK(!bus_fast_range(&fake.bus, ACPI_PM_RESET_PORT, 1)->clock_reads);
    /* the timer is a range of its own; a dword read at +6 still reaches
     * its low half through the block's first range */
    CHECK(bus_fast_range(&fake.bus, PM_BASE + ACPI_PM_TMR, 4) != bus_fast_range(&fake.bus, PM_BASE, 4));
    advance_to(NS_PER_S);
    CHECK_EQ(io_in(PM_BASE + 6, 4), (pm_timer() & 0xffff) << 16);
    u64 deadline = clock_next_deadline(&fake.clock);
    for (int i = 0; i < 10; i++)
        pm_timer();
    CHECK_EQ(clock_next_deadline(&fake.clock), deadline);
}
