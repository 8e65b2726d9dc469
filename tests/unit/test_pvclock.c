/* unit-sources: vmm/pvclock.c devmodel/clock.c */
/* The pvclock Xen PVH and paravirt = kvm share (vmm/pvclock.h): what a
 * guest computes from the published structure is the device clock's
 * time, at Bochs's 10 MHz TSC and at GHz rates; updates leave the version
 * even and bump it; the wall clock's layout (KVM's 12 bytes, Xen's
 * sec_hi after them); and where KVM's MSRs accept an area. */
#include "unit.h"
#include "../../vmm/pvclock.h"

static u64 abs_diff(u64 a, u64 b) { return a > b ? a - b : b - a; }

/* The guest's reading against the device clock's own, over a day of
 * guest time: within 1 ns per second (the 32-bit mul's rounding). */
static void check_rate(u64 tsc_khz, u64 tsc_base)
{
    struct dm_clock c;
    clock_init(&c);
    clock_set_tsc(&c, tsc_khz, tsc_base);
    struct pvclock_scale s = pvclock_scale_of(&c);
    static u8 area[PVCLOCK_TIME_INFO_SIZE];
    memset(area, 0, sizeof(area));
    pvclock_publish_time(area, &s, PVCLOCK_TSC_STABLE_BIT);
    for (u64 secs = 0; secs <= 86400; secs += 3600) {
        u64 tsc = tsc_base + secs * tsc_khz * 1000 + 12345;
        u64 want = clock_tsc_to_ns(&c, tsc), got = pvclock_read(area, tsc);
        if (abs_diff(got, want) > secs + 1)
            printf("%llu kHz at %llu s: pvclock %llu ns, device clock %llu ns\n", (unsigned long long)tsc_khz,
                   (unsigned long long)secs, (unsigned long long)got, (unsigned long long)want);
        CHECK(abs_diff(got, want) <= secs + 1);
    }
    CHECK_EQ(pvclock_read(area, tsc_base), 0);
}

TEST(pvclock_reads_the_device_clock)
{
    check_rate(10000, 5000000);         /* Bochs: 10 MHz, a shift of 7 */
    check_rate(1000000, 0);             /* 1 GHz: mul 2^32 does not fit, shift 1 */
    check_rate(2500000, 123456789012);  /* 2.5 GHz: no shift */
    check_rate(3999999, 1ull << 40);
    struct dm_clock c;
    clock_init(&c);
    clock_set_tsc(&c, 10000, 0);
    struct pvclock_scale s = pvclock_scale_of(&c);
    CHECK_EQ(s.shift, 7);               /* 100 ns a tick: 100 * 2^32 = 2^38.6 */
    CHECK(s.mul >= 1u << 31);           /* all 32 bits used */
}

TEST(pvclock_update_keeps_version_even)
{
    static struct pvclock_time_info t;
    struct pvclock_scale s = {.tsc_timestamp = 77, .mul = 0x80000000u, .shift = -1};
    memset(&t, 0, sizeof(t));
    t.version = 5; /* junk the guest left: odd */
    pvclock_publish_time(&t, &s, 0);
    CHECK_EQ(t.version, 6);  /* odd (5) while writing, then even */
    pvclock_publish_time(&t, &s, PVCLOCK_TSC_STABLE_BIT);
    CHECK_EQ(t.version, 8);  /* 7, then 8 */
    CHECK_EQ(t.tsc_timestamp, 77);
    CHECK_EQ(t.system_time, 0);
    CHECK_EQ(t.tsc_to_system_mul, 0x80000000u);
    CHECK_EQ(t.tsc_shift, -1);
    CHECK_EQ(t.flags, PVCLOCK_TSC_STABLE_BIT);
    CHECK_EQ(pvclock_read(&t, 77 + 4000), 1000); /* (4000 >> 1) * 1/2 */
}

TEST(pvclock_wall_clock_layout)
{
    u32 w[5] = {3, 0, 0, 0xdeadbeef, 0xdeadbeef};
    pvclock_publish_wall(w, 0x123456789ull, 999999999, false); /* KVM: 12 bytes */
    CHECK_EQ(w[0], 4);
    CHECK_EQ(w[1], 0x23456789);
    CHECK_EQ(w[2], 999999999);
    CHECK_EQ(w[3], 0xdeadbeef); /* past pvclock_wall_clock: untouched */
    pvclock_publish_wall(w, 0x123456789ull, 1, true); /* Xen: wc_sec_hi */
    CHECK_EQ(w[0], 6);
    CHECK_EQ(w[3], 1);
    CHECK_EQ(w[4], 0xdeadbeef);
}

/* KVM's MSRs take an area 4-byte aligned and within one page. */
TEST(pvclock_area_placement)
{
    CHECK(pvclock_area_placed_ok(0x1000, 32));
    CHECK(pvclock_area_placed_ok(0x1fe0, 32));   /* ends at the page's end */
    CHECK(pvclock_area_placed_ok(0x1ff4, 12));
    CHECK(!pvclock_area_placed_ok(0x1fe4, 32));  /* crosses into the next page */
    CHECK(!pvclock_area_placed_ok(0x1ff8, 12));
    CHECK(!pvclock_area_placed_ok(0x1002, 32));  /* not 4-byte aligned */
    CHECK(!pvclock_area_placed_ok(0x1001, 12));
    CHECK(pvclock_area_placed_ok(0xfffff000ull, 32));
    CHECK(!pvclock_area_placed_ok(~0ull & ~3ull, 32)); /* the top of the address space: crosses */
}
