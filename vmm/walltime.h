/* Wall-clock time: read once from the host's RTC at boot, then carried
 * forward with the TSC, and given to each new domain's RTC. */
#ifndef ZAZEN_WALLTIME_H
#define ZAZEN_WALLTIME_H

#include "types.h"

struct calendar_time {
    u16 year;
    u8 month, day, hour, minute, second;
};

/* Reads the host's MC146818 (ports 70h/71h) once. */
void walltime_init(void);
/* The wall-clock time now. */
struct calendar_time walltime_now(void);

/* Calendar arithmetic, pure (days-from-civil; proleptic Gregorian). */
u64 calendar_to_unix(const struct calendar_time *t);
struct calendar_time calendar_from_unix(u64 seconds);

#endif
