/* See pvclock.h. */
#include "pvclock.h"

/* The device clock's 32.32 ns-per-TSC-tick factor as mul >> 32 with a
 * shift: a TSC slower than 1 GHz (Bochs: 10 MHz) has a factor of 2^32 or
 * more, halved (and the shift raised) until it fits in 32 bits. */
struct pvclock_scale pvclock_scale_of(const struct dm_clock *c)
{
    u64 mult = c->ns_per_tsc_mult;
    s8 shift = 0;
    while (mult >> 32) {
        mult >>= 1;
        shift++;
    }
    return (struct pvclock_scale){.tsc_timestamp = c->tsc_base, .mul = (u32)mult, .shift = shift};
}

void pvclock_publish_time(void *area, const struct pvclock_scale *s, u8 flags)
{
    struct pvclock_time_info *t = area;
    u32 version = (t->version | 1) + 1; /* the even value after this update */
    __atomic_store_n(&t->version, version - 1, __ATOMIC_SEQ_CST);
    t->tsc_timestamp = s->tsc_timestamp;
    t->system_time = 0;
    t->tsc_to_system_mul = s->mul;
    t->tsc_shift = s->shift;
    t->flags = flags;
    __atomic_store_n(&t->version, version, __ATOMIC_SEQ_CST);
}

void pvclock_publish_wall(void *area, u64 sec, u32 nsec, bool sec_hi)
{
    u32 *w = area;
    u32 version = (w[0] | 1) + 1;
    __atomic_store_n(&w[0], version - 1, __ATOMIC_SEQ_CST);
    w[1] = (u32)sec;
    w[2] = nsec;
    if (sec_hi)
        w[3] = (u32)(sec >> 32);
    __atomic_store_n(&w[0], version, __ATOMIC_SEQ_CST);
}

u64 pvclock_read(const void *area, u64 tsc)
{
    const struct pvclock_time_info *t = area;
    u64 delta = tsc - t->tsc_timestamp;
    if (t->tsc_shift < 0)
        delta >>= -t->tsc_shift;
    else
        delta <<= t->tsc_shift;
    return t->system_time + (u64)(((unsigned __int128)delta * t->tsc_to_system_mul) >> 32);
}
