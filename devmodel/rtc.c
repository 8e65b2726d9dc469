/* rtc.c: the PC's real-time clock and CMOS RAM.
 * Datasheet: Motorola MC146818A, "CMOS Real-Time Clock plus RAM (RTC)".
 * Section names below are that datasheet's: "Address Map", "Time,
 * Calendar, and Alarm Locations" with its table of data modes (BCD,
 * binary, 12/24 h), "Update Cycle" with Table 6 (update cycle times),
 * "Interrupts", the periodic interrupt rate table, and the descriptions
 * of Registers A, B, C and D.
 *
 * How time is kept. The calendar lives in the registers, in binary and
 * 24 h, and moves on by whole update cycles, as the chip's does: one a
 * second, the first half a second after the divider leaves reset. At
 * rtc_init the phase is that of virtual time 0, so the time at virtual
 * time t is at_start plus t's whole seconds. Updates are applied lazily,
 * when the guest looks or when an enabled interrupt needs them on time.
 * Guest writes change the registers, and the calendar runs on from there.
 *
 * Choices of this model:
 *  - The update cycle itself takes no time: the time registers change at
 *    the update instant. UIP reads 1 for the 244 us before it (Register
 *    A, Table 6 t_BUC), which is what readers poll to avoid a torn read.
 *  - The registers show the calendar in the format register B selects at
 *    the time of the read, so changing DM or 24/12 converts rather than
 *    garbling (the datasheet asks software to re-initialize the time after
 *    changing them; doing so works here too). The alarm registers are
 *    compared as written, against the current time in the current format,
 *    as the chip compares bytes.
 *  - Only the PC's time base is modelled: DV = 010 (32.768 kHz) runs;
 *    DV = 11x holds the divider in reset; other DV values (other crystals
 *    and test modes) also stop the clock.
 *  - The century byte (0x32) is plain RAM on the MC146818A; here it is a
 *    calendar register that follows the year, in the data format of the
 *    others (the RTC century register that ACPI's FADT points at), and the
 *    leap-year rule is the full Gregorian one.
 *  - The periodic interrupt's period is rounded down to whole ns (2.6 ppm
 *    fast at 8192 Hz, 0.5 ppm at 1024 Hz, exact at 512 Hz and below):
 *    well inside a 32.768 kHz crystal's tolerance. */
#include "rtc.h"
#include "../vmm/string.h"

/* "Address Map": the clock registers, then RAM from 0x0E. */
#define REG_SECONDS 0x00
#define REG_ALARM_SECONDS 0x01
#define REG_MINUTES 0x02
#define REG_ALARM_MINUTES 0x03
#define REG_HOURS 0x04
#define REG_ALARM_HOURS 0x05
#define REG_DAY_OF_WEEK 0x06 /* 1-7, Sunday = 1 */
#define REG_DAY_OF_MONTH 0x07
#define REG_MONTH 0x08
#define REG_YEAR 0x09
#define REG_A 0x0a
#define REG_B 0x0b
#define REG_C 0x0c
#define REG_D 0x0d

#define INDEX_NMI_MASK 0x80 /* port 0x70 bit 7: the PC's NMI mask latch */
#define INDEX_MASK 0x7f

/* Register A. */
#define A_UIP 0x80
#define A_DV_MASK 0x70
#define A_DV_32768HZ 0x20 /* DV2-0 = 010: the PC's 32.768 kHz crystal */
#define A_DV_RESET 0x60   /* DV2-0 = 11x: divider chain held in reset */
#define A_RS_MASK 0x0f
#define A_WRITABLE 0x7f
#define A_PC_DEFAULT (A_DV_32768HZ | 0x06) /* 32.768 kHz, 1024 Hz: what PC firmware programs */

/* Register B. */
#define B_SET 0x80
#define B_PIE 0x40
#define B_AIE 0x20
#define B_UIE 0x10
#define B_SQWE 0x08
#define B_DM_BINARY 0x04
#define B_24H 0x02
#define B_DSE 0x01
#define B_PC_DEFAULT B_24H /* BCD, 24 h, nothing enabled: what PC firmware programs */

/* Register C. */
#define C_IRQF 0x80
#define C_PF 0x40
#define C_AF 0x20
#define C_UF 0x10

/* Register D. */
#define D_VRT 0x80

/* The data modes table: 12-hour mode marks PM in bit 7 of the hours bytes. */
#define HOUR_PM 0x80
/* Alarm bytes with both top bits set match any value ("don't care"). */
#define ALARM_DONT_CARE 0xc0

#define RTC_CRYSTAL_HZ 32768ull
#define UIP_LEAD_NS 244000ull                 /* Table 6, t_BUC */
#define FIRST_UPDATE_AFTER_DIVIDER_RESET_NS (NS_PER_SEC / 2) /* Register A, DV */
#define SECONDS_PER_HOUR 3600ull
#define SECONDS_PER_DAY 86400ull

/* ---- Number formats ---- */

static u8 to_bcd(u8 v) { return (u8)(((v / 10) << 4) | (v % 10)); }
static u8 from_bcd(u8 v) { return (u8)((v >> 4) * 10 + (v & 0x0f)); }

static bool binary_mode(const struct rtc *r) { return r->reg_b & B_DM_BINARY; }

/* Register B DM: BCD (0) or binary (1), for every calendar byte. */
static u8 encode(const struct rtc *r, u8 v) { return binary_mode(r) ? v : to_bcd(v); }
static u8 decode(const struct rtc *r, u8 v) { return binary_mode(r) ? v : from_bcd(v); }

/* Register B 24/12: in 12-hour mode the hours run 12, 1..11 with bit 7
 * set for PM (the data modes table: 01-12 AM, 81-92 PM in BCD). */
static u8 encode_hour(const struct rtc *r, u8 hour)
{
    if (r->reg_b & B_24H)
        return encode(r, hour);
    u8 twelve = hour % 12 ? hour % 12 : 12;
    return (u8)(encode(r, twelve) | (hour >= 12 ? HOUR_PM : 0));
}

static u8 decode_hour(const struct rtc *r, u8 value)
{
    if (r->reg_b & B_24H)
        return decode(r, value);
    u8 twelve = decode(r, value & (u8)~HOUR_PM);
    return (u8)(twelve % 12 + (value & HOUR_PM ? 12 : 0));
}

/* ---- The calendar ---- */

static unsigned full_year(const struct rtc *r) { return r->century * 100u + r->year; }

static bool leap_year(unsigned year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

static u8 days_in_month(const struct rtc *r)
{
    switch (r->month) {
    case 2:
        return leap_year(full_year(r)) ? 29 : 28;
    case 4:
    case 6:
    case 9:
    case 11:
        return 30;
    default:
        return 31;
    }
}

/* Zeller's congruence for the Gregorian calendar, turned into the chip's
 * numbering (Sunday = 1 .. Saturday = 7). Only for rtc_init: after that
 * the day of the week counts on its own, as on the chip. */
static u8 day_of_week(unsigned year, unsigned month, unsigned day)
{
    if (month < 3) { /* January and February count as months 13 and 14 of the year before */
        month += 12;
        year--;
    }
    unsigned k = year % 100, j = year / 100;
    unsigned h = (day + 13 * (month + 1) / 5 + k + k / 4 + j / 4 + 5 * j) % 7; /* 0 = Saturday */
    return (u8)(h ? h : 7);
}

/* Register B DSE: on the last Sunday in April the clock goes from
 * 1:59:59 to 3:00:00; on the last Sunday in October, the first time it
 * reaches 1:59:59 it goes back to 1:00:00. A last Sunday is one with no
 * Sunday after it in the month. */
static bool last_sunday_of(const struct rtc *r, u8 month)
{
    return r->month == month && r->weekday == 1 && r->day + 7 > days_in_month(r);
}

static void apply_daylight_saving(struct rtc *r)
{
    if (last_sunday_of(r, 4)) {
        r->hour = 3;
    } else if (last_sunday_of(r, 10) && !r->fall_back_done) {
        r->hour = 1;
        r->fall_back_done = true;
    }
}

/* The carries of an update (the datasheet's "automatic end of month
 * recognition" and leap years). Out-of-range values a guest wrote carry
 * at the next increment. */
static void advance_day(struct rtc *r)
{
    r->fall_back_done = false;
    r->weekday = r->weekday >= 7 ? 1 : (u8)(r->weekday + 1);
    if (++r->day <= days_in_month(r))
        return;
    r->day = 1;
    if (++r->month <= 12)
        return;
    r->month = 1;
    if (++r->year <= 99)
        return;
    r->year = 0;
    r->century = r->century >= 99 ? 0 : (u8)(r->century + 1);
}

static void advance_hour(struct rtc *r)
{
    r->hour++;
    if (r->hour == 2 && (r->reg_b & B_DSE))
        apply_daylight_saving(r);
    if (r->hour < 24)
        return;
    r->hour = 0;
    advance_day(r);
}

static void advance_second(struct rtc *r)
{
    if (++r->second < 60)
        return;
    r->second = 0;
    if (++r->minute < 60)
        return;
    r->minute = 0;
    advance_hour(r);
}

/* "Interrupts": the alarm fires when each alarm byte equals its time
 * byte or is a don't-care (11xxxxxx), compared in the current format. */
static bool alarm_byte_matches(u8 alarm, u8 now) { return (alarm & ALARM_DONT_CARE) == ALARM_DONT_CARE || alarm == now; }

static bool alarm_matches(const struct rtc *r)
{
    return alarm_byte_matches(r->alarm[0], encode(r, r->second)) &&
           alarm_byte_matches(r->alarm[1], encode(r, r->minute)) &&
           alarm_byte_matches(r->alarm[2], encode_hour(r, r->hour));
}

/* One update cycle: the time moves one second on, the alarm is compared,
 * and the update-ended flag is set at its end ("Update Cycle"). */
static void update_cycle(struct rtc *r)
{
    advance_second(r);
    if (alarm_matches(r))
        r->flags |= C_AF;
    r->flags |= C_UF;
}

/* Applies n update cycles at once, after a stretch in which nobody
 * looked. Beyond one day only the calendar matters (any alarm time of
 * day comes round in the last day, which is stepped second by second),
 * so the rest moves by whole hours: few steps even for long gaps. */
static void apply_updates(struct rtc *r, u64 n)
{
    if (n > SECONDS_PER_DAY) {
        u64 skip = n - SECONDS_PER_DAY;
        for (; skip % SECONDS_PER_HOUR; skip--)
            advance_second(r);
        for (skip /= SECONDS_PER_HOUR; skip; skip--)
            advance_hour(r);
        n = SECONDS_PER_DAY;
    }
    while (n--)
        update_cycle(r);
}

/* ---- The divider chain and its timing ---- */

static bool divider_running(const struct rtc *r) { return (r->reg_a & A_DV_MASK) == A_DV_32768HZ; }
static bool updates_inhibited(const struct rtc *r) { return r->reg_b & B_SET; }

/* Brings the registers up to now: every update cycle due since the last
 * look. While SET = 1 the update cycles are inhibited (Register B) but the
 * divider keeps counting, so the phase of the next one is kept. */
static void catch_up(struct rtc *r)
{
    if (!divider_running(r))
        return;
    u64 now = clock_now(r->env->clock);
    if (now < r->next_update)
        return;
    u64 due = (now - r->next_update) / NS_PER_SEC + 1;
    r->next_update += due * NS_PER_SEC;
    if (!updates_inhibited(r))
        apply_updates(r, due);
}

/* Register A UIP: 1 from 244 us before an update cycle to its end; 0
 * while SET = 1 or the divider is stopped (no update is coming). */
static bool update_in_progress(const struct rtc *r)
{
    if (!divider_running(r) || updates_inhibited(r))
        return false;
    return clock_now(r->env->clock) + UIP_LEAD_NS >= r->next_update;
}

/* The periodic rate (the rate table, 32.768 kHz column) as a period in crystal
 * cycles: RS = 0 none, 1 and 2 are 256 and 128 Hz, 3..15 are 32768 >>
 * (RS - 1) Hz (8192 Hz .. 2 Hz). */
static u64 periodic_cycles(const struct rtc *r)
{
    unsigned rs = r->reg_a & A_RS_MASK;
    if (rs == 0)
        return 0;
    return rs < 3 ? 1ull << (rs + 6) : 1ull << (rs - 1);
}

static bool periodic_running(const struct rtc *r) { return divider_running(r) && periodic_cycles(r); }

/* Crystal cycles since the divider started; split in whole seconds so the
 * product stays far from overflow. */
static u64 cycles_since_origin(const struct rtc *r, u64 now)
{
    u64 elapsed = now - r->divider_origin;
    return elapsed / NS_PER_SEC * RTC_CRYSTAL_HZ + elapsed % NS_PER_SEC * RTC_CRYSTAL_HZ / NS_PER_SEC;
}

/* The virtual time of a divider count, rounded up to the next ns. */
static u64 ns_at_cycle(const struct rtc *r, u64 cycles)
{
    u64 part = cycles % RTC_CRYSTAL_HZ * NS_PER_SEC;
    return r->divider_origin + cycles / RTC_CRYSTAL_HZ * NS_PER_SEC + (part + RTC_CRYSTAL_HZ - 1) / RTC_CRYSTAL_HZ;
}

/* How many periodic ticks the divider has produced by now. */
static u64 periodic_boundaries(const struct rtc *r, u64 now) { return cycles_since_origin(r, now) / periodic_cycles(r); }

/* While PIE = 0 no timer runs, but PF is still set by each tick (Register
 * C): it is worked out from the divider when register C or B is looked at. */
static void catch_up_periodic_flag(struct rtc *r)
{
    if (!periodic_running(r) || (r->reg_b & B_PIE))
        return;
    u64 seen = periodic_boundaries(r, clock_now(r->env->clock));
    if (seen > r->pf_seen) {
        r->flags |= C_PF;
        r->pf_seen = seen;
    }
}

/* ---- Interrupts ---- */

/* Register C: IRQF = PF·PIE + AF·AIE + UF·UIE, and the IRQ pin is
 * asserted while IRQF is 1; only reading C (or RESET) lowers it. */
static bool irq_asserted(const struct rtc *r)
{
    u8 enabled = r->reg_b & (B_PIE | B_AIE | B_UIE); /* the enables sit at the flags' bit positions */
    return r->flags & enabled;
}

static void update_irq(struct rtc *r)
{
    bool level = irq_asserted(r);
    if (level != r->irq_level) {
        r->irq_level = level;
        dm_irq_set(r->env->irq, RTC_GSI, level);
    }
}

static void periodic_tick(void *dev, u64 now)
{
    struct rtc *r = dev;
    (void)now;
    r->flags |= C_PF;
    update_irq(r);
}

/* The periodic timer runs only while PIE = 1, from the divider's next
 * tick; otherwise PF is counted lazily from where we are now. */
static void restart_periodic(struct rtc *r)
{
    u64 now = clock_now(r->env->clock);
    if (periodic_running(r) && (r->reg_b & B_PIE)) {
        u64 cycles = periodic_cycles(r);
        u64 next_tick = (periodic_boundaries(r, now) + 1) * cycles;
        u64 period_ns = cycles * NS_PER_SEC / RTC_CRYSTAL_HZ;
        periodic_start(&r->periodic, ns_at_cycle(r, next_tick), period_ns);
        return;
    }
    periodic_stop(&r->periodic);
    if (periodic_running(r))
        r->pf_seen = periodic_boundaries(r, now);
}

/* Update-ended and alarm interrupts must come on time, so while UIE or
 * AIE is set a timer wakes us for each update cycle; otherwise updates
 * wait until the guest looks. */
static void update_timer_fired(void *dev, u64 now);

static void schedule_update_timer(struct rtc *r)
{
    if (divider_running(r) && !updates_inhibited(r) && (r->reg_b & (B_UIE | B_AIE)))
        timer_arm(r->env->clock, &r->update_timer, r->next_update);
    else
        timer_cancel(r->env->clock, &r->update_timer);
}

static void update_timer_fired(void *dev, u64 now)
{
    struct rtc *r = dev;
    (void)now;
    catch_up(r);
    update_irq(r);
    schedule_update_timer(r);
}

/* ---- Registers ---- */

/* Register A: UIP is read-only. Leaving divider reset starts the chain
 * afresh; the first update cycle comes half a second later. */
static void write_register_a(struct rtc *r, u8 value)
{
    catch_up_periodic_flag(r); /* ticks at the old rate still count */
    bool was_running = divider_running(r);
    r->reg_a = value & A_WRITABLE;
    if (!was_running && divider_running(r)) {
        u64 now = clock_now(r->env->clock);
        r->divider_origin = now;
        r->next_update = now + FIRST_UPDATE_AFTER_DIVIDER_RESET_NS;
    }
    restart_periodic(r);
    schedule_update_timer(r);
}

/* Register B: SET going high aborts updates and clears UIE. PF is
 * brought up to date first, so a PIE change starts from the right flag. */
static void write_register_b(struct rtc *r, u8 value)
{
    if ((value & B_SET) && !(r->reg_b & B_SET))
        value &= (u8)~B_UIE;
    catch_up_periodic_flag(r);
    r->reg_b = value;
    restart_periodic(r);
    schedule_update_timer(r);
}

/* Register C: reading returns the flags and IRQF, then clears them all,
 * which releases the IRQ line. */
static u8 read_register_c(struct rtc *r)
{
    catch_up_periodic_flag(r);
    u8 value = r->flags | (irq_asserted(r) ? C_IRQF : 0);
    r->flags = 0;
    return value;
}

static u8 read_register(struct rtc *r, u8 index)
{
    switch (index) {
    case REG_SECONDS:
        return encode(r, r->second);
    case REG_ALARM_SECONDS:
        return r->alarm[0];
    case REG_MINUTES:
        return encode(r, r->minute);
    case REG_ALARM_MINUTES:
        return r->alarm[1];
    case REG_HOURS:
        return encode_hour(r, r->hour);
    case REG_ALARM_HOURS:
        return r->alarm[2];
    case REG_DAY_OF_WEEK:
        return encode(r, r->weekday);
    case REG_DAY_OF_MONTH:
        return encode(r, r->day);
    case REG_MONTH:
        return encode(r, r->month);
    case REG_YEAR:
        return encode(r, r->year);
    case REG_A:
        return (u8)(r->reg_a | (update_in_progress(r) ? A_UIP : 0));
    case REG_B:
        return r->reg_b;
    case REG_C:
        return read_register_c(r);
    case REG_D:
        return D_VRT; /* the battery never runs down */
    case RTC_CENTURY:
        return encode(r, r->century);
    default:
        return r->nvram[index];
    }
}

static void write_register(struct rtc *r, u8 index, u8 value)
{
    switch (index) {
    case REG_SECONDS:
        r->second = decode(r, value);
        break;
    case REG_ALARM_SECONDS:
        r->alarm[0] = value;
        break;
    case REG_MINUTES:
        r->minute = decode(r, value);
        break;
    case REG_ALARM_MINUTES:
        r->alarm[1] = value;
        break;
    case REG_HOURS:
        r->hour = decode_hour(r, value);
        break;
    case REG_ALARM_HOURS:
        r->alarm[2] = value;
        break;
    case REG_DAY_OF_WEEK:
        r->weekday = decode(r, value);
        break;
    case REG_DAY_OF_MONTH:
        r->day = decode(r, value);
        break;
    case REG_MONTH:
        r->month = decode(r, value);
        break;
    case REG_YEAR:
        r->year = decode(r, value);
        break;
    case REG_A:
        write_register_a(r, value);
        break;
    case REG_B:
        write_register_b(r, value);
        break;
    case REG_C:
    case REG_D:
        break; /* read-only */
    case RTC_CENTURY:
        r->century = decode(r, value);
        break;
    default:
        r->nvram[index] = value;
        break;
    }
}

/* Port 0x70 is write-only on the PC: reading it finds nothing driving the
 * bus. Port 0x71 reaches the register the index selects. */
static u32 rtc_io_read(void *dev, u16 port, u8 size)
{
    struct rtc *r = dev;
    (void)size; /* byte wide: the bus splits wider INs */
    if (port == RTC_INDEX_PORT)
        return 0xff;
    catch_up(r);
    u8 value = read_register(r, r->index);
    update_irq(r);
    return value;
}

static void rtc_io_write(void *dev, u16 port, u8 size, u32 value)
{
    struct rtc *r = dev;
    (void)size;
    if (port == RTC_INDEX_PORT) {
        r->index = value & INDEX_MASK;
        r->nmi_masked = value & INDEX_NMI_MASK;
        return;
    }
    catch_up(r);
    write_register(r, r->index, (u8)value);
    update_irq(r);
}

/* ---- The platform's side ---- */

static bool is_nvram(u8 index) { return index >= RTC_NVRAM_FIRST && index < RTC_REGISTERS; }

void rtc_nvram_write(struct rtc *r, u8 index, u8 value)
{
    if (index == RTC_CENTURY)
        r->century = decode(r, value);
    else if (is_nvram(index))
        r->nvram[index] = value;
}

u8 rtc_nvram_read(const struct rtc *r, u8 index)
{
    if (index == RTC_CENTURY)
        return encode(r, r->century);
    return is_nvram(index) ? r->nvram[index] : 0;
}

bool rtc_nmi_masked(const struct rtc *r) { return r->nmi_masked; }

/* The RESET pin (Register B and C descriptions): PIE, AIE, UIE and SQWE
 * cleared, the flags and IRQF cleared, IRQ released. SET, DM, 24/12, DSE,
 * register A and the time are not affected. The index latch with its NMI
 * mask is board logic beside the chip; it starts over at 0 (NMI unmasked). */
void rtc_reset(struct rtc *r)
{
    catch_up(r);
    r->reg_b &= (u8)~(B_PIE | B_AIE | B_UIE | B_SQWE);
    r->flags = 0;
    r->index = 0;
    r->nmi_masked = false;
    restart_periodic(r);
    schedule_update_timer(r);
    update_irq(r);
}

static void set_calendar(struct rtc *r, const struct rtc_time *t)
{
    r->century = (u8)(t->year / 100 % 100);
    r->year = (u8)(t->year % 100);
    r->month = t->month;
    r->day = t->day;
    r->hour = t->hour;
    r->minute = t->minute;
    r->second = t->second;
    r->weekday = day_of_week(t->year, t->month, t->day);
}

/* The chip as PC firmware leaves it: running on the 32.768 kHz crystal,
 * BCD, 24 h, no interrupts. at_start is the time at virtual time 0; if
 * the clock has already moved, the updates since are applied at once. */
bool rtc_init(struct rtc *r, struct dm_env *env, const struct rtc_time *at_start)
{
    memset(r, 0, sizeof(*r));
    r->env = env;
    r->reg_a = A_PC_DEFAULT;
    r->reg_b = B_PC_DEFAULT;
    set_calendar(r, at_start);
    r->divider_origin = 0;
    r->next_update = NS_PER_SEC;
    timer_init(&r->update_timer, update_timer_fired, r);
    periodic_init(&r->periodic, env->clock, periodic_tick, r);
    catch_up(r);
    r->flags = 0;
    restart_periodic(r);
    return bus_claim_io(env->bus, RTC_INDEX_PORT, 2, 1, rtc_io_read, rtc_io_write, r, "rtc");
}
