/* See walltime.h. The host RTC is read as the MC146818A datasheet says:
 * wait for the update-in-progress flag (register A bit 7) to clear, read,
 * and read again until two reads agree; register B says BCD or binary and
 * 12 or 24 hours. The century is in CMOS byte 32h (the ACPI FADT's
 * default "century" index). */
#include "walltime.h"
#include "hosttime.h"
#include "x86.h"

static u64 boot_unix, boot_tsc;

static u8 cmos_read(u8 index)
{
    outb(0x70, index);
    return inb(0x71);
}

static u8 from_bcd(u8 v) { return (u8)((v >> 4) * 10 + (v & 0xf)); }

static bool read_once(struct calendar_time *t)
{
    for (unsigned spins = 0; cmos_read(0x0a) & 0x80; spins++)
        if (spins > 1000000)
            return false;
    u8 regs[7] = {cmos_read(0x00), cmos_read(0x02), cmos_read(0x04), cmos_read(0x07),
                  cmos_read(0x08), cmos_read(0x09), cmos_read(0x32)};
    u8 b = cmos_read(0x0b);
    bool pm = false;
    if (!(b & 0x02)) { /* 12-hour mode: the PM flag is bit 7 of the hour */
        pm = (regs[2] & 0x80) != 0;
        regs[2] &= 0x7f;
    }
    if (!(b & 0x04))
        for (unsigned i = 0; i < 7; i++)
            regs[i] = from_bcd(regs[i]);
    if (!(b & 0x02))
        regs[2] = (u8)(regs[2] % 12 + (pm ? 12 : 0));
    unsigned century = regs[6] >= 19 && regs[6] <= 30 ? regs[6] : 20;
    *t = (struct calendar_time){(u16)(century * 100 + regs[5]), regs[4], regs[3], regs[2], regs[1], regs[0]};
    return true;
}

void walltime_init(void)
{
    struct calendar_time a = {2026, 1, 1, 0, 0, 0}, b;
    for (unsigned tries = 0; tries < 5; tries++) {
        if (!read_once(&a) || !read_once(&b))
            break;
        if (calendar_to_unix(&a) == calendar_to_unix(&b))
            break;
    }
    boot_unix = calendar_to_unix(&a);
    boot_tsc = rdtsc();
}

struct calendar_time walltime_now(void)
{
    u64 elapsed = (rdtsc() - boot_tsc) / (host_tsc_khz() * 1000);
    return calendar_from_unix(boot_unix + elapsed);
}

/* Days since 1970-01-01 of a civil date (H. Hinnant's algorithm). */
static s64 days_from_civil(s64 y, unsigned m, unsigned d)
{
    y -= m <= 2;
    s64 era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (s64)doe - 719468;
}

u64 calendar_to_unix(const struct calendar_time *t)
{
    s64 days = days_from_civil(t->year, t->month, t->day);
    return (u64)(days * 86400 + t->hour * 3600 + t->minute * 60 + t->second);
}

struct calendar_time calendar_from_unix(u64 seconds)
{
    s64 z = (s64)(seconds / 86400) + 719468;
    u64 rem = seconds % 86400;
    s64 era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    s64 y = (s64)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    return (struct calendar_time){(u16)y, (u8)m, (u8)d, (u8)(rem / 3600), (u8)(rem / 60 % 60), (u8)(rem % 60)};
}
