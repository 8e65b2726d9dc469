/* fuzz-sources: devmodel/rtc.c devmodel/bus.c devmodel/clock.c */
/* The MC146818A RTC and CMOS RAM from any valid start date, driven
 * through ports 0x70/0x71 (every register and RAM byte, data formats,
 * SET, divider control, periodic/alarm/update interrupts, register C
 * reads) and the platform's NVRAM accessors, with steps of virtual time
 * from a nanosecond to years. Checks: as long as the guest has not
 * written the clock, the calendar stays a real date and time whose day of
 * the week is right; the IRQ 8 line is what the RTC thinks it drives, and
 * no other line moves. */
#include "fuzz_dev.h"
#include "../../devmodel/rtc.h"

static struct rtc rtc;
static bool clock_written; /* the guest set the time: any values may follow */

static const struct window ports[] = {{RTC_INDEX_PORT, 2}};

static bool leap(unsigned y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static unsigned month_days(unsigned y, unsigned m)
{
    static const u8 days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : days[m - 1];
}

/* Sunday = 1 .. Saturday = 7, as the chip counts (Sakamoto's method). */
static unsigned weekday(unsigned y, unsigned m, unsigned d)
{
    static const u8 t[12] = {0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4};
    y += 400; /* the calendar repeats every 400 years: keep y - 1 >= 0 */
    if (m < 3)
        y--;
    return (y + y / 4 - y / 100 + y / 400 + t[m - 1] + d) % 7 + 1;
}

static void check_calendar(void)
{
    FUZZ_CHECK(fake.level[RTC_GSI] == rtc.irq_level, "IRQ 8 is %d, the RTC drives %d", fake.level[RTC_GSI],
               rtc.irq_level);
    if (clock_written)
        return;
    unsigned year = rtc.century * 100u + rtc.year;
    FUZZ_CHECK(rtc.second < 60 && rtc.minute < 60 && rtc.hour < 24, "time %u:%u:%u", rtc.hour, rtc.minute,
               rtc.second);
    FUZZ_CHECK(rtc.month >= 1 && rtc.month <= 12 && rtc.day >= 1 && rtc.day <= month_days(year, rtc.month),
               "date %u-%u-%u", year, rtc.month, rtc.day);
    FUZZ_CHECK(rtc.weekday == weekday(year, rtc.month, rtc.day), "%u-%u-%u is weekday %u, not %u", year, rtc.month,
               rtc.day, weekday(year, rtc.month, rtc.day), rtc.weekday);
}

/* Clock registers: seconds to year (0x00-0x09, alarms included for
 * simplicity) and the century byte. */
static bool is_clock_register(u8 index) { return index <= 0x09 || index == RTC_CENTURY; }

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
    struct prog g = {data, size};
    struct dm_env *env = fuzz_env_reset(BIT(RTC_GSI));
    /* A few years at most: catching up after a long gap steps the calendar
     * an hour at a time, so centuries would make every input slow; the
     * start date reaches the year and century rollovers instead. */
    fuzz_time_limit = 1ull << 57;
    struct rtc_time start;
    start.year = (u16)(1900 + take16(&g) % 8100);
    start.month = (u8)(1 + take8(&g) % 12);
    start.day = (u8)(1 + take8(&g) % month_days(start.year, start.month));
    start.hour = take8(&g) % 24;
    start.minute = take8(&g) % 60;
    start.second = take8(&g) % 60;
    clock_written = false;
    if (!rtc_init(&rtc, env, &start))
        abort();
    check_calendar();
    while (prog_more(&g)) {
        switch (take8(&g) % 7) {
        case 0:
            fuzz_any_in(&g, ports, ARRAY_SIZE(ports));
            break;
        case 1: {
            u16 port = take_port(&g, ports, ARRAY_SIZE(ports));
            u8 io_size = take_io_size(&g);
            u32 value = (u32)take_value(&g, io_size);
            /* A write reaching port 0x71: directly, or as the second byte
             * of a wider OUT to 0x70 (after the first has set the index). */
            if ((port == RTC_DATA_PORT && is_clock_register(rtc.index)) ||
                (port == RTC_INDEX_PORT && io_size > 1 && is_clock_register(value & 0x7f)))
                clock_written = true;
            fuzz_out(port, io_size, value);
            break;
        }
        case 2: { /* select a register, then read or write it */
            u8 index = take8(&g);
            fuzz_out(RTC_INDEX_PORT, 1, index);
            if (index & 0x80) {
                fuzz_in(RTC_DATA_PORT, 1);
            } else {
                if (is_clock_register(index & 0x7f))
                    clock_written = true;
                fuzz_out(RTC_DATA_PORT, 1, take8(&g));
            }
            break;
        }
        case 3:
            fuzz_advance(take_delay(&g));
            break;
        case 4: {
            u8 index = take8(&g), value = take8(&g);
            if (index == RTC_CENTURY)
                clock_written = true;
            rtc_nvram_write(&rtc, index, value);
            break;
        }
        case 5:
            rtc_nvram_read(&rtc, take8(&g));
            break;
        case 6:
            if (take8(&g) == 0xa5)
                rtc_reset(&rtc);
            break;
        }
        check_calendar();
    }
    return 0;
}
