/* The pvclock ABI that Xen and KVM share: the per-vCPU time structure
 * (Xen public/xen.h vcpu_time_info; KVM's pvclock_vcpu_time_info of
 * Documentation/virt/kvm/x86/msr.rst, the same 32 bytes) and the wall
 * clock's version/sec/nsec (Xen shared_info.wc_*, KVM's
 * pvclock_wall_clock). Xen PVH domains (vmm/xen/vcpu_op.c) and hvm
 * domains with paravirt = kvm (vmm/kvm.c) both publish through here.
 *
 * The guest computes ns = system_time + ((tsc - tsc_timestamp) << shift)
 * * mul >> 32 (a negative shift shifts right; Linux pvclock.h
 * __pvclock_read_cycles), retrying while `version` is odd or changed.
 * Zazen's pvclock is the domain's device clock (devmodel/clock.h): ns
 * since the domain's time 0, driven by the guest TSC at one rate, so one
 * publication holds for the domain's life and a deadline the guest
 * computes falls where the device clock fires it. Pure: unit-tested. */
#ifndef ZAZEN_PVCLOCK_H
#define ZAZEN_PVCLOCK_H

#include "types.h"
#include "../devmodel/clock.h"

#define PVCLOCK_TIME_INFO_SIZE 32
#define PVCLOCK_WALL_CLOCK_SIZE 12 /* version, sec, nsec */
#define PVCLOCK_TSC_STABLE_BIT BIT(0)

struct PACKED pvclock_time_info {
    u32 version, pad0;
    u64 tsc_timestamp, system_time;
    u32 tsc_to_system_mul;
    s8 tsc_shift;
    u8 flags, pad1[2];
};
_Static_assert(sizeof(struct pvclock_time_info) == PVCLOCK_TIME_INFO_SIZE, "the ABI's 32 bytes");

/* The clock's scale in the pvclock's terms. */
struct pvclock_scale {
    u64 tsc_timestamp; /* the guest TSC at system time 0 */
    u32 mul;
    s8 shift;
};

struct pvclock_scale pvclock_scale_of(const struct dm_clock *c);

/* Writes the time structure at t (guest RAM, 32 bytes): version made odd,
 * the fields, version made even again, as Xen's and KVM's updates do. */
void pvclock_publish_time(void *t, const struct pvclock_scale *s, u8 flags);

/* Writes the wall clock at w (version, sec, nsec; and Xen's wc_sec_hi
 * after them when sec_hi): the time of day at system time 0. */
void pvclock_publish_wall(void *w, u64 sec, u32 nsec, bool sec_hi);

/* Whether a guest may place a structure of size bytes at gpa, as KVM's
 * MSRs take it: 4-byte aligned (msr.rst: "4-byte alignment physical
 * address") and within one page (KVM maps the page once, and refuses an
 * area that crosses into the next). Whether it is RAM is the caller's. */
static inline bool pvclock_area_placed_ok(u64 gpa, u64 size)
{
    return (gpa & 3) == 0 && size <= PAGE_SIZE && (gpa & (PAGE_SIZE - 1)) + size <= PAGE_SIZE;
}

/* The guest's reading of a published time structure at a TSC value (the
 * formula above), for tests and for Zazen's own checks. */
u64 pvclock_read(const void *t, u64 tsc);

#endif
