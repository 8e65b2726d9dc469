/* unit-sources: vmm/walltime.c */
/* Calendar arithmetic for the wall clock given to guests. (The host RTC
 * read itself runs only in the hypervisor.) */
#include "unit.h"
#include "../../vmm/walltime.h"

/* The host-side parts are not linked here. */
u64 host_tsc_khz(void) { return 1; }

TEST(calendar_round_trips)
{
    struct calendar_time t = {2000, 1, 1, 0, 0, 0};
    CHECK_EQ(calendar_to_unix(&t), 946684800); /* Bochs's time0 */
    t = (struct calendar_time){2026, 11, 26, 6, 30, 15};
    struct calendar_time back = calendar_from_unix(calendar_to_unix(&t));
    CHECK_EQ(back.year, 2026);
    CHECK_EQ(back.month, 11);
    CHECK_EQ(back.day, 26);
    CHECK_EQ(back.hour, 6);
    CHECK_EQ(back.minute, 30);
    CHECK_EQ(back.second, 15);
    back = calendar_from_unix(951782400); /* 2000-02-29, a leap day */
    CHECK_EQ(back.month, 2);
    CHECK_EQ(back.day, 29);
}
