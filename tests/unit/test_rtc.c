/* unit-sources: devmodel/rtc.c devmodel/bus.c devmodel/clock.c */
/* The MC146818A RTC and CMOS RAM: the calendar in BCD/binary and 12/24 h,
 * rollovers, UIP, SET, the periodic, update-ended and alarm interrupts on
 * IRQ 8, register C, the NMI mask bit and the NVRAM. */
#include "unit.h"
#include "dm_fake.h"
#include "../../devmodel/rtc.h"

#define MS 1000000ull
#define US 1000ull

enum {
    SEC = 0x00, ASEC = 0x01, MIN = 0x02, AMIN = 0x03, HOUR = 0x04, AHOUR = 0x05,
    WDAY = 0x06, MDAY = 0x07, MON = 0x08, YEAR = 0x09, RA = 0x0a, RB = 0x0b, RC = 0x0c, RD = 0x0d,
};

#define B_SET 0x80
#define B_PIE 0x40
#define B_AIE 0x20
#define B_UIE 0x10
#define B_BIN 0x04
#define B_24H 0x02
#define B_DSE 0x01

static struct rtc rtc;

static u8 cmos_read(u8 index)
{
    outb_(RTC_INDEX_PORT, index);
    return inb_(RTC_DATA_PORT);
}

static void cmos_write(u8 index, u8 value)
{
    outb_(RTC_INDEX_PORT, index);
    outb_(RTC_DATA_PORT, value);
}

static bool start_at(u16 year, u8 month, u8 day, u8 hour, u8 minute, u8 second)
{
    struct rtc_time t = {year, month, day, hour, minute, second};
    return rtc_init(&rtc, fake_env_reset(), &t);
}

/* The calendar registers as one number, 0xYYMMDDhhmmss in BCD, to compare
 * at a glance. */
static u64 bcd_stamp(void)
{
    u64 v = 0;
    static const u8 regs[] = {YEAR, MON, MDAY, HOUR, MIN, SEC};
    for (unsigned i = 0; i < sizeof(regs); i++)
        v = v << 8 | cmos_read(regs[i]);
    return v;
}

TEST(rtc_start_time_in_bcd)
{
    CHECK(start_at(2026, 3, 14, 15, 9, 26));
    CHECK_EQ(cmos_read(RB), B_24H); /* BCD, 24 h */
    CHECK_EQ(cmos_read(SEC), 0x26);
    CHECK_EQ(cmos_read(MIN), 0x09);
    CHECK_EQ(cmos_read(HOUR), 0x15);
    CHECK_EQ(cmos_read(WDAY), 7); /* a Saturday */
    CHECK_EQ(cmos_read(MDAY), 0x14);
    CHECK_EQ(cmos_read(MON), 0x03);
    CHECK_EQ(cmos_read(YEAR), 0x26);
    CHECK_EQ(cmos_read(RTC_CENTURY), 0x20);
    CHECK_EQ(cmos_read(RA), 0x26); /* 32.768 kHz, 1024 Hz */
    CHECK_EQ(cmos_read(RD), 0x80); /* VRT */
    CHECK_EQ(cmos_read(RC), 0x00);
}

TEST(rtc_start_time_in_binary)
{
    CHECK(start_at(2026, 3, 14, 15, 9, 26));
    cmos_write(RB, B_24H | B_BIN);
    CHECK_EQ(cmos_read(SEC), 26);
    CHECK_EQ(cmos_read(MIN), 9);
    CHECK_EQ(cmos_read(HOUR), 15);
    CHECK_EQ(cmos_read(MDAY), 14);
    CHECK_EQ(cmos_read(MON), 3);
    CHECK_EQ(cmos_read(YEAR), 26);
    CHECK_EQ(cmos_read(RTC_CENTURY), 20);
    /* a binary write sets the time; back in BCD it reads the same */
    cmos_write(MIN, 59);
    cmos_write(RB, B_24H);
    CHECK_EQ(cmos_read(MIN), 0x59);
}

TEST(rtc_twelve_hour_mode)
{
    CHECK(start_at(2026, 3, 14, 15, 9, 26));
    cmos_write(RB, 0); /* BCD, 12 h */
    CHECK_EQ(cmos_read(HOUR), 0x83); /* 3 PM */
    cmos_write(HOUR, 0x12);          /* 12 AM: midnight */
    cmos_write(RB, B_24H);
    CHECK_EQ(cmos_read(HOUR), 0x00);
    cmos_write(HOUR, 0x12); /* noon */
    cmos_write(RB, 0);
    CHECK_EQ(cmos_read(HOUR), 0x92); /* 12 PM */
    cmos_write(HOUR, 0x81);          /* 1 PM */
    cmos_write(RB, B_24H);
    CHECK_EQ(cmos_read(HOUR), 0x13);
    cmos_write(RB, B_BIN); /* binary, 12 h */
    CHECK_EQ(cmos_read(HOUR), 0x81);
    cmos_write(HOUR, 0x8b); /* 11 PM */
    cmos_write(RB, B_BIN | B_24H);
    CHECK_EQ(cmos_read(HOUR), 23);
    /* 11:59:59 PM, 12 h mode: the next second is 12 AM on the next day */
    cmos_write(RB, 0);
    cmos_write(MIN, 0x59);
    cmos_write(SEC, 0x59);
    fake_advance(NS_PER_SEC);
    CHECK_EQ(cmos_read(HOUR), 0x12);
    CHECK_EQ(cmos_read(MDAY), 0x15);
}

TEST(rtc_time_advances_with_the_virtual_clock)
{
    CHECK(start_at(2026, 3, 14, 15, 9, 26));
    fake_advance(NS_PER_SEC - 1);
    CHECK_EQ(cmos_read(SEC), 0x26);
    fake_advance(1);
    CHECK_EQ(cmos_read(SEC), 0x27);
    fake_advance(33 * NS_PER_SEC); /* across the minute */
    CHECK_EQ(bcd_stamp(), 0x260314151000ull);
    fake_advance(50 * 60 * NS_PER_SEC); /* across the hour */
    CHECK_EQ(bcd_stamp(), 0x260314160000ull);
    fake_advance(8 * 3600 * NS_PER_SEC); /* across the day */
    CHECK_EQ(bcd_stamp(), 0x260315000000ull);
    CHECK_EQ(cmos_read(WDAY), 1); /* Saturday -> Sunday */
}

TEST(rtc_month_and_leap_year_rollover)
{
    CHECK(start_at(2024, 2, 28, 23, 59, 59));
    CHECK_EQ(cmos_read(WDAY), 4);
    fake_advance(NS_PER_SEC);
    CHECK_EQ(bcd_stamp(), 0x240229000000ull); /* 2024 is a leap year */
    CHECK_EQ(cmos_read(WDAY), 5);
    fake_advance(86400 * NS_PER_SEC);
    CHECK_EQ(bcd_stamp(), 0x240301000000ull);
    CHECK_EQ(cmos_read(WDAY), 6);

    CHECK(start_at(2023, 2, 28, 23, 59, 59));
    fake_advance(NS_PER_SEC);
    CHECK_EQ(bcd_stamp(), 0x230301000000ull); /* 2023 is not */

    CHECK(start_at(2026, 4, 30, 23, 59, 59));
    fake_advance(NS_PER_SEC);
    CHECK_EQ(bcd_stamp(), 0x260501000000ull); /* a 30-day month */

    CHECK(start_at(2100, 2, 28, 23, 59, 59));
    fake_advance(NS_PER_SEC);
    CHECK_EQ(bcd_stamp(), 0x000301000000ull); /* 2100 is not a leap year */
    CHECK_EQ(cmos_read(WDAY), 2);
}

TEST(rtc_year_and_century_rollover)
{
    CHECK(start_at(2026, 12, 31, 23, 59, 59));
    CHECK_EQ(cmos_read(WDAY), 5);
    fake_advance(NS_PER_SEC);
    CHECK_EQ(bcd_stamp(), 0x270101000000ull);
    CHECK_EQ(cmos_read(WDAY), 6);
    CHECK_EQ(cmos_read(RTC_CENTURY), 0x20);

    CHECK(start_at(2099, 12, 31, 23, 59, 59));
    fake_advance(NS_PER_SEC);
    CHECK_EQ(bcd_stamp(), 0x000101000000ull);
    CHECK_EQ(cmos_read(RTC_CENTURY), 0x21);
    CHECK_EQ(rtc_nvram_read(&rtc, RTC_CENTURY), 0x21);
}

TEST(rtc_long_gap_catches_up)
{
    CHECK(start_at(2026, 1, 1, 0, 0, 0));
    /* 400 days, 1 h, 1 min, 8 s in one step (nobody looked meanwhile) */
    fake_advance((400 * 86400ull + 3661 + 7) * NS_PER_SEC + 500 * MS);
    CHECK_EQ(bcd_stamp(), 0x270205010108ull);
    CHECK_EQ(cmos_read(WDAY), 6); /* a Friday */
    /* flags, none enabled: periodic ticks (PF, 1024 Hz), updates (UF), and
     * the alarm registers' 00:00:00 came round (AF) */
    CHECK_EQ(cmos_read(RC), 0x70);
}

TEST(rtc_init_after_time_zero)
{
    struct rtc_time t = {2026, 3, 14, 15, 9, 26};
    fake_env_reset();
    fake_advance(5 * NS_PER_SEC + 3);
    CHECK(rtc_init(&rtc, &fake.env, &t));
    CHECK_EQ(cmos_read(SEC), 0x31); /* at_start is the time at virtual time 0 */
    CHECK_EQ(cmos_read(RC), 0x00);
}

TEST(rtc_uip_window_before_each_update)
{
    CHECK(start_at(2026, 3, 14, 15, 9, 26));
    fake_advance(NS_PER_SEC - 244 * US - 1);
    CHECK_EQ(cmos_read(RA), 0x26);
    fake_advance(1);
    CHECK_EQ(cmos_read(RA), 0xa6);
    CHECK_EQ(cmos_read(SEC), 0x26); /* still the old second */
    fake_advance(244 * US - 1);
    CHECK_EQ(cmos_read(RA), 0xa6);
    fake_advance(1);
    CHECK_EQ(cmos_read(RA), 0x26);
    CHECK_EQ(cmos_read(SEC), 0x27);
    /* and again a second later */
    fake_advance(NS_PER_SEC - 100 * US);
    CHECK_EQ(cmos_read(RA), 0xa6);
    /* SET: no update is coming, so UIP reads 0 */
    cmos_write(RB, B_24H | B_SET);
    CHECK_EQ(cmos_read(RA), 0x26);
}

TEST(rtc_set_inhibits_updates)
{
    CHECK(start_at(2026, 3, 14, 15, 9, 26));
    fake_advance(300 * MS);
    cmos_write(RB, B_24H | B_SET | B_UIE);
    CHECK_EQ(cmos_read(RB), B_24H | B_SET); /* SET going high clears UIE */
    fake_advance(5 * NS_PER_SEC);
    CHECK_EQ(cmos_read(SEC), 0x26);
    cmos_write(SEC, 0x00);
    cmos_write(MIN, 0x30);
    cmos_write(HOUR, 0x08);
    fake_advance(2 * NS_PER_SEC); /* now 7.3 s */
    CHECK_EQ(cmos_read(SEC), 0x00);
    cmos_write(RB, B_24H);
    CHECK_EQ(cmos_read(RC) & 0x10, 0); /* no update cycles happened */
    /* the divider kept its phase: the next update is at 8 s */
    fake_advance(700 * MS - 1);
    CHECK_EQ(bcd_stamp(), 0x260314083000ull);
    fake_advance(1);
    CHECK_EQ(bcd_stamp(), 0x260314083001ull);
}

TEST(rtc_divider_reset_delays_first_update_half_a_second)
{
    CHECK(start_at(2026, 3, 14, 15, 9, 26));
    cmos_write(RA, 0x76); /* DV = 111: divider held in reset */
    fake_advance(3 * NS_PER_SEC + 123);
    CHECK_EQ(cmos_read(SEC), 0x26);
    cmos_write(RA, 0x26);
    fake_advance(500 * MS - 1);
    CHECK_EQ(cmos_read(SEC), 0x26);
    fake_advance(1);
    CHECK_EQ(cmos_read(SEC), 0x27);
    fake_advance(NS_PER_SEC);
    CHECK_EQ(cmos_read(SEC), 0x28);
}

/* Counts the periodic interrupts of one virtual second, in steps shorter
 * than the period, reading register C (as a handler does) whenever IRQ 8
 * is up. */
static unsigned count_periodic_interrupts(u64 step)
{
    unsigned count = 0;
    for (u64 t = 0; t < NS_PER_SEC; t += step) {
        fake_advance(step);
        if (fake.level[RTC_GSI]) {
            u8 c = cmos_read(RC);
            if ((c & 0xc0) == 0xc0) /* IRQF | PF (UF may come with it) */
                count++;
            if (fake.level[RTC_GSI])
                return 9999; /* reading C must lower the line */
        }
    }
    return count;
}

TEST(rtc_periodic_interrupt_2hz)
{
    CHECK(start_at(2026, 3, 14, 15, 9, 26));
    cmos_write(RA, 0x2f); /* RS = 15: 2 Hz */
    cmos_write(RB, B_24H | B_PIE);
    CHECK(!fake.level[RTC_GSI]);
    CHECK_EQ(count_periodic_interrupts(MS), 2);
    CHECK_EQ(fake.edges[RTC_GSI], 2);
    CHECK_EQ(count_periodic_interrupts(MS), 2);
}

TEST(rtc_periodic_interrupt_1024hz)
{
    CHECK(start_at(2026, 3, 14, 15, 9, 26));
    cmos_write(RB, B_24H | B_PIE); /* RS = 6: 1024 Hz */
    CHECK_EQ(count_periodic_interrupts(100 * US), 1024);
    CHECK_EQ(count_periodic_interrupts(100 * US), 1024);
    CHECK_EQ(fake.edges[RTC_GSI], 2048);
}

TEST(rtc_periodic_rates_1_and_2)
{
    CHECK(start_at(2026, 3, 14, 15, 9, 26));
    cmos_write(RA, 0x21); /* RS = 1: 256 Hz on a 32.768 kHz time base */
    cmos_write(RB, B_24H | B_PIE);
    CHECK_EQ(count_periodic_interrupts(MS), 256);
    cmos_write(RA, 0x22); /* RS = 2: 128 Hz */
    CHECK_EQ(count_periodic_interrupts(MS), 128);
    cmos_write(RA, 0x20); /* RS = 0: none */
    CHECK_EQ(count_periodic_interrupts(MS), 0);
    CHECK_EQ(clock_next_deadline(&fake.clock), DM_NEVER);
}

TEST(rtc_periodic_flag_without_pie)
{
    CHECK(start_at(2026, 3, 14, 15, 9, 26));
    cmos_write(RA, 0x2f); /* 2 Hz */
    fake_advance(400 * MS);
    CHECK_EQ(cmos_read(RC), 0x00);
    fake_advance(200 * MS); /* past the 500 ms tick */
    CHECK(!fake.level[RTC_GSI]);
    CHECK_EQ(cmos_read(RC), 0x40); /* PF without IRQF */
    CHECK_EQ(cmos_read(RC), 0x00);
    CHECK_EQ(clock_next_deadline(&fake.clock), DM_NEVER); /* no timer for it */
    /* a pending PF raises IRQ 8 as soon as PIE is set */
    fake_advance(500 * MS);
    cmos_write(RB, B_24H | B_PIE);
    CHECK(fake.level[RTC_GSI]);
    CHECK_EQ(cmos_read(RC) & 0xd0, 0xd0); /* IRQF, PF (and UF: a second passed) */
    CHECK(!fake.level[RTC_GSI]);
    /* a tick at the old rate still shows after the rate is changed */
    cmos_write(RB, B_24H);
    cmos_read(RC);
    fake_advance(600 * MS);
    cmos_write(RA, 0x20);
    CHECK_EQ(cmos_read(RC) & 0x40, 0x40);
    fake_advance(2 * NS_PER_SEC);
    CHECK_EQ(cmos_read(RC) & 0x40, 0); /* RS = 0: no more ticks */
}

TEST(rtc_update_ended_interrupt)
{
    CHECK(start_at(2026, 3, 14, 15, 9, 26));
    cmos_write(RA, 0x20); /* RS = 0: no PF to mask out */
    cmos_write(RB, B_24H | B_UIE);
    fake_advance(NS_PER_SEC - 1);
    CHECK(!fake.level[RTC_GSI]);
    fake_advance(1);
    CHECK(fake.level[RTC_GSI]);
    CHECK_EQ(fake.edges[RTC_GSI], 1);
    /* the line stays up until register C is read */
    fake_advance(500 * MS);
    CHECK(fake.level[RTC_GSI]);
    CHECK_EQ(cmos_read(RC), 0x90); /* IRQF | UF */
    CHECK(!fake.level[RTC_GSI]);
    CHECK_EQ(cmos_read(RC), 0x00);
    fake_advance(500 * MS);
    CHECK(fake.level[RTC_GSI]);
    CHECK_EQ(fake.edges[RTC_GSI], 2);
    CHECK_EQ(cmos_read(SEC), 0x28);
}

TEST(rtc_alarm_interrupt)
{
    CHECK(start_at(2026, 3, 14, 15, 9, 26));
    cmos_write(RA, 0x20); /* RS = 0: no PF to mask out */
    cmos_write(ASEC, 0x30);
    cmos_write(AMIN, 0x09);
    cmos_write(AHOUR, 0x15);
    cmos_write(RB, B_24H | B_AIE);
    fake_advance(3 * NS_PER_SEC);
    CHECK(!fake.level[RTC_GSI]);
    CHECK_EQ(cmos_read(RC), 0x10); /* only UF, not enabled: no IRQF */
    fake_advance(NS_PER_SEC);
    CHECK(fake.level[RTC_GSI]);
    CHECK_EQ(cmos_read(RC), 0xb0); /* IRQF | AF | UF */
    CHECK(!fake.level[RTC_GSI]);
    fake_advance(NS_PER_SEC);
    CHECK(!fake.level[RTC_GSI]);
    /* don't-care seconds and minutes: every second of 15:xx */
    cmos_write(ASEC, 0xc0);
    cmos_write(AMIN, 0xff);
    cmos_read(RC);
    fake_advance(NS_PER_SEC);
    CHECK(fake.level[RTC_GSI]);
    CHECK_EQ(cmos_read(RC), 0xb0);
    /* an alarm hour that is not now never fires */
    cmos_write(AHOUR, 0x16);
    fake_advance(NS_PER_SEC);
    CHECK(!fake.level[RTC_GSI]);
    CHECK_EQ(cmos_read(RC), 0x10);
}

TEST(rtc_alarm_flag_set_while_nobody_looks)
{
    CHECK(start_at(2026, 3, 14, 15, 9, 26));
    cmos_write(RA, 0x20); /* RS = 0: no PF to mask out */
    cmos_write(ASEC, 0x00);
    cmos_write(AMIN, 0x00);
    cmos_write(AHOUR, 0x03); /* 03:00:00, tomorrow */
    fake_advance(3 * 86400 * NS_PER_SEC);
    CHECK_EQ(cmos_read(RC), 0x30); /* AF and UF, though neither enabled */
    cmos_write(AHOUR, 0x25); /* no such hour */
    fake_advance(3 * 86400 * NS_PER_SEC);
    CHECK_EQ(cmos_read(RC), 0x10);
}

TEST(rtc_alarm_in_12_hour_mode)
{
    CHECK(start_at(2026, 3, 14, 15, 9, 26));
    cmos_write(RA, 0x20); /* RS = 0: no PF to mask out */
    cmos_write(RB, B_AIE); /* BCD, 12 h */
    cmos_write(ASEC, 0x27);
    cmos_write(AMIN, 0x09);
    cmos_write(AHOUR, 0x83); /* 3 PM */
    fake_advance(NS_PER_SEC);
    CHECK(fake.level[RTC_GSI]);
    CHECK_EQ(cmos_read(RC), 0xb0);
}

TEST(rtc_register_c_read_lowers_irq8)
{
    CHECK(start_at(2026, 3, 14, 15, 9, 26));
    cmos_write(RB, B_24H | B_UIE | B_PIE);
    fake_advance(NS_PER_SEC);
    CHECK(fake.level[RTC_GSI]);
    outb_(RTC_INDEX_PORT, RC);
    CHECK(fake.level[RTC_GSI]); /* selecting C is not reading it */
    CHECK_EQ(inb_(RTC_DATA_PORT), 0xd0);
    CHECK(!fake.level[RTC_GSI]);
    /* writes to C and D change nothing */
    cmos_write(RC, 0xff);
    cmos_write(RD, 0x00);
    CHECK_EQ(cmos_read(RC), 0x00);
    CHECK_EQ(cmos_read(RD), 0x80);
    CHECK(!fake.level[RTC_GSI]);
}

TEST(rtc_daylight_saving)
{
    CHECK(start_at(2026, 4, 26, 1, 59, 59)); /* the last Sunday in April */
    cmos_write(RB, B_24H | B_DSE);
    fake_advance(NS_PER_SEC);
    CHECK_EQ(bcd_stamp(), 0x260426030000ull);

    CHECK(start_at(2026, 10, 25, 1, 59, 59)); /* the last Sunday in October */
    cmos_write(RB, B_24H | B_DSE);
    fake_advance(NS_PER_SEC);
    CHECK_EQ(bcd_stamp(), 0x261025010000ull);
    fake_advance(3600 * NS_PER_SEC); /* only once */
    CHECK_EQ(bcd_stamp(), 0x261025020000ull);

    CHECK(start_at(2026, 10, 18, 1, 59, 59)); /* not the last Sunday */
    cmos_write(RB, B_24H | B_DSE);
    fake_advance(NS_PER_SEC);
    CHECK_EQ(bcd_stamp(), 0x261018020000ull);
}

TEST(rtc_nmi_mask_bit)
{
    CHECK(start_at(2026, 3, 14, 15, 9, 26));
    CHECK(!rtc_nmi_masked(&rtc));
    outb_(RTC_INDEX_PORT, 0x80 | RA);
    CHECK(rtc_nmi_masked(&rtc));
    CHECK_EQ(inb_(RTC_DATA_PORT), 0x26); /* bit 7 is not part of the index */
    outb_(RTC_INDEX_PORT, 0x80 | SEC);
    CHECK_EQ(inb_(RTC_DATA_PORT), 0x26);
    CHECK(rtc_nmi_masked(&rtc));
    outb_(RTC_INDEX_PORT, MIN);
    CHECK(!rtc_nmi_masked(&rtc));
    CHECK_EQ(inb_(RTC_DATA_PORT), 0x09);
    CHECK_EQ(inb_(RTC_INDEX_PORT), 0xff); /* write-only */
}

TEST(rtc_nvram_persists)
{
    CHECK(start_at(2026, 3, 14, 15, 9, 26));
    for (unsigned i = RTC_NVRAM_FIRST; i < RTC_REGISTERS; i++)
        if (i != RTC_CENTURY)
            cmos_write((u8)i, (u8)(i * 7 + 1));
    rtc_nvram_write(&rtc, 0x15, 0x80); /* the platform: base memory */
    rtc_nvram_write(&rtc, 0x0d, 0x00); /* not NVRAM: ignored */
    fake_advance(10 * NS_PER_SEC);
    cmos_write(RB, B_24H | B_UIE | B_PIE);
    rtc_reset(&rtc);
    for (unsigned i = RTC_NVRAM_FIRST; i < RTC_REGISTERS; i++) {
        if (i == RTC_CENTURY || i == 0x15)
            continue;
        CHECK_EQ(cmos_read((u8)i), (u8)(i * 7 + 1));
        CHECK_EQ(rtc_nvram_read(&rtc, (u8)i), (u8)(i * 7 + 1));
    }
    CHECK_EQ(cmos_read(0x15), 0x80);
    CHECK_EQ(cmos_read(RD), 0x80);
    CHECK_EQ(rtc_nvram_read(&rtc, 0x05), 0); /* a clock register, not NVRAM */
    /* reset kept the time and the format, cleared the enables */
    CHECK_EQ(cmos_read(SEC), 0x36);
    CHECK_EQ(cmos_read(RB), B_24H);
}

TEST(rtc_century_byte)
{
    CHECK(start_at(1999, 12, 31, 23, 59, 59));
    CHECK_EQ(cmos_read(RTC_CENTURY), 0x19);
    CHECK_EQ(rtc_nvram_read(&rtc, RTC_CENTURY), 0x19);
    fake_advance(NS_PER_SEC);
    CHECK_EQ(cmos_read(RTC_CENTURY), 0x20);
    CHECK_EQ(cmos_read(YEAR), 0x00);
    /* guest writes, in BCD and in binary */
    cmos_write(RTC_CENTURY, 0x21);
    cmos_write(RB, B_24H | B_BIN);
    CHECK_EQ(cmos_read(RTC_CENTURY), 21);
    cmos_write(RTC_CENTURY, 20);
    cmos_write(RB, B_24H);
    CHECK_EQ(cmos_read(RTC_CENTURY), 0x20);
    rtc_nvram_write(&rtc, RTC_CENTURY, 0x19);
    CHECK_EQ(cmos_read(RTC_CENTURY), 0x19);
    /* 1900 is not a leap year: the century decides */
    cmos_write(MON, 0x02);
    cmos_write(MDAY, 0x28);
    cmos_write(HOUR, 0x23);
    cmos_write(MIN, 0x59);
    cmos_write(SEC, 0x59);
    fake_advance(NS_PER_SEC);
    CHECK_EQ(bcd_stamp(), 0x000301000000ull);
}

TEST(rtc_reset_clears_enables_flags_and_irq)
{
    CHECK(start_at(2026, 3, 14, 15, 9, 26));
    cmos_write(RB, B_24H | B_BIN | B_DSE | B_UIE | B_PIE | B_AIE | 0x08);
    fake_advance(NS_PER_SEC);
    CHECK(fake.level[RTC_GSI]);
    rtc_reset(&rtc);
    CHECK(!fake.level[RTC_GSI]);
    CHECK_EQ(cmos_read(RB), B_24H | B_BIN | B_DSE);
    CHECK_EQ(cmos_read(RC), 0x00);
    CHECK_EQ(cmos_read(RA), 0x26);
    CHECK_EQ(clock_next_deadline(&fake.clock), DM_NEVER);
    fake_advance(NS_PER_SEC);
    CHECK(!fake.level[RTC_GSI]);
    CHECK_EQ(cmos_read(SEC), 28);
}
