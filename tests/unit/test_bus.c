/* The device bus and the 0xE9 debug console. */
/* unit-sources: devmodel/bus.c devmodel/debugcon.c */
#include "unit.h"
#include "../../devmodel/bus.h"
#include "../../devmodel/debugcon.h"

static struct io_bus bus;
static char lines[8][DEBUGCON_LINE_MAX + 1];
static int line_count;

static bool complete[8];
static void got_line(void *ctx, const char *line, unsigned len, bool ends_line)
{
    (void)ctx;
    memcpy(lines[line_count % 8], line, len);
    lines[line_count % 8][len] = 0;
    complete[line_count % 8] = ends_line;
    line_count++;
}

static u32 reg;
static u32 rd(void *dev, u16 port, u8 size)
{
    (void)dev;
    (void)port;
    (void)size;
    return reg;
}
static void wr(void *dev, u16 port, u8 size, u32 v)
{
    (void)dev;
    (void)port;
    (void)size;
    reg = v;
}

TEST(bus_unclaimed_reads_all_ones)
{
    bus_init(&bus);
    CHECK_EQ(bus_io_read(&bus, 0x80, 1), 0xff);
    CHECK_EQ(bus_io_read(&bus, 0x80, 2), 0xffff);
    CHECK_EQ(bus_io_read(&bus, 0x80, 4), 0xffffffff);
    CHECK_EQ(bus_mmio_read(&bus, 0xfed00000, 8), ~0ull);
    bus_io_write(&bus, 0x80, 1, 0); /* ignored, no crash */
}

TEST(bus_claims_and_overlaps)
{
    bus_init(&bus);
    CHECK(bus_claim_io(&bus, 0x70, 2, 4, rd, wr, NULL, "rtc"));
    CHECK(!bus_claim_io(&bus, 0x71, 1, 4, rd, wr, NULL, "overlap"));
    CHECK(!bus_claim_io(&bus, 0xffff, 2, 4, rd, wr, NULL, "wraps"));
    bus_io_write(&bus, 0x71, 1, 0x1234);
    CHECK_EQ(reg, 0x34); /* masked to the access size */
    reg = 0xabcdef;
    CHECK_EQ(bus_io_read(&bus, 0x70, 2), 0xcdef);
    CHECK(bus_claim_mmio(&bus, 0xfee00000, 0x1000, NULL, NULL, NULL, "apic"));
    CHECK(!bus_claim_mmio(&bus, 0xfee00800, 0x1000, NULL, NULL, NULL, "overlap"));
}

static u32 rd_dev(void *dev, u16 port, u8 size)
{
    (void)port;
    (void)size;
    return (u32)(uintptr_t)dev;
}

TEST(bus_release_keeps_the_other_ranges)
{
    bus_init(&bus);
    CHECK(bus_claim_io(&bus, 0x40, 4, 1, rd_dev, NULL, (void *)0x11, "pit"));
    CHECK(bus_claim_io(&bus, 0xc000, 16, 4, rd_dev, NULL, (void *)0x22, "bm"));
    CHECK(bus_claim_io(&bus, 0x3f8, 8, 1, rd_dev, NULL, (void *)0x33, "uart"));
    bus_release_io(&bus, 0x40, (void *)0x11); /* the last range moves into its slot */
    CHECK_EQ(bus_io_read(&bus, 0x41, 1), 0xff);
    CHECK_EQ(bus_io_read(&bus, 0x3ff, 1), 0x33);
    CHECK_EQ(bus_io_read(&bus, 0xc00f, 1), 0x22);
    /* a BAR moves: released at one base, claimed at another */
    bus_release_io(&bus, 0xc000, (void *)0x22);
    CHECK_EQ(bus_io_read(&bus, 0xc000, 1), 0xff);
    CHECK(bus_claim_io(&bus, 0xd000, 16, 4, rd_dev, NULL, (void *)0x44, "bm"));
    CHECK_EQ(bus_io_read(&bus, 0xd00c, 4), 0x44);
    CHECK_EQ(bus_io_read(&bus, 0x3f8, 1), 0x33);
    CHECK(bus_claim_io(&bus, 0x40, 4, 1, rd_dev, NULL, (void *)0x55, "pit again"));
    CHECK_EQ(bus_io_read(&bus, 0x43, 1), 0x55);
}

TEST(debugcon_lines)
{
    struct debugcon dc;
    bus_init(&bus);
    line_count = 0;
    CHECK(debugcon_attach(&dc, &bus, got_line, NULL));
    CHECK_EQ(bus_io_read(&bus, DEBUGCON_PORT, 1), 0xe9);
    const char *text = "hi\r\nthere\x01\n";
    for (const char *p = text; *p; p++)
        bus_io_write(&bus, DEBUGCON_PORT, 1, (u8)*p);
    CHECK_EQ(line_count, 2);
    CHECK_STR(lines[0], "hi");
    CHECK_STR(lines[1], "there?");
    CHECK(complete[0] && complete[1]);
    CHECK_EQ(dc.bytes, strlen(text));
    /* A word OUT is two byte writes: 'n' to 0xE9, 'o' to 0xEA, which is
     * nobody's (as on an ISA bus). */
    bus_io_write(&bus, DEBUGCON_PORT, 2, 'o' << 8 | 'n');
    debugcon_flush(&dc);
    CHECK_STR(lines[2], "n");
    CHECK(!complete[2]); /* shown unfinished: the line goes on */
    debugcon_flush(&dc);
    CHECK_EQ(line_count, 3); /* nothing new to show */
    /* the line grows: shown again whole, then ended whole */
    bus_io_write(&bus, DEBUGCON_PORT, 1, 'o');
    debugcon_flush(&dc);
    CHECK_EQ(line_count, 4);
    CHECK_STR(lines[3], "no");
    CHECK(!complete[3]);
    bus_io_write(&bus, DEBUGCON_PORT, 1, '\n');
    CHECK_EQ(line_count, 5);
    CHECK_STR(lines[4], "no");
    CHECK(complete[4]);
    /* at the domain's end an unfinished line is ended as it is */
    bus_io_write(&bus, DEBUGCON_PORT, 1, 'z');
    debugcon_finish(&dc);
    CHECK_EQ(line_count, 6);
    CHECK_STR(lines[5], "z");
    CHECK(complete[5]);
    debugcon_finish(&dc);
    CHECK_EQ(line_count, 6);
}

static void put(const char *text)
{
    for (const char *p = text; *p; p++)
        bus_io_write(&bus, DEBUGCON_PORT, 1, (u8)*p);
}

TEST(debugcon_backspace_takes_back_the_last_character)
{
    struct debugcon dc;
    bus_init(&bus);
    line_count = 0;
    CHECK(debugcon_attach(&dc, &bus, got_line, NULL));
    /* iPXE's prompt, erased with "\b \b" per character, then its answer */
    put("Go?");
    debugcon_flush(&dc);
    CHECK_EQ(line_count, 1);
    CHECK_STR(lines[0], "Go?");
    put("\b \b\b \b\b \b");
    debugcon_flush(&dc); /* shown longer than it is now: drawn again */
    CHECK_EQ(line_count, 2);
    CHECK_STR(lines[1], "");
    CHECK(!complete[1]);
    put("\bNo disk\n"); /* nothing left to take back */
    CHECK_EQ(line_count, 3);
    CHECK_STR(lines[2], "No disk");
    CHECK(complete[2]);
}

TEST(debugcon_long_line_goes_in_lines_of_the_buffers_length)
{
    struct debugcon dc;
    bus_init(&bus);
    line_count = 0;
    CHECK(debugcon_attach(&dc, &bus, got_line, NULL));
    for (int i = 0; i < DEBUGCON_LINE_MAX + 5; i++)
        bus_io_write(&bus, DEBUGCON_PORT, 1, 'x');
    CHECK_EQ(line_count, 1);
    CHECK_EQ(strlen(lines[0]), DEBUGCON_LINE_MAX);
    CHECK(complete[0]); /* a full buffer is a line of its own */
    bus_io_write(&bus, DEBUGCON_PORT, 1, '\n');
    CHECK_EQ(line_count, 2);
    CHECK_STR(lines[1], "xxxxx");
    CHECK(complete[1]);
}

static u8 regs[4];
static u32 rd8(void *dev, u16 port, u8 size)
{
    (void)dev;
    return size == 1 ? regs[port - 0x60] : 0xdead;
}
static void wr8(void *dev, u16 port, u8 size, u32 v)
{
    (void)dev;
    if (size == 1)
        regs[port - 0x60] = (u8)v;
}

TEST(bus_splits_wide_accesses_for_byte_devices)
{
    bus_init(&bus);
    CHECK(bus_claim_io(&bus, 0x60, 2, 1, rd8, wr8, NULL, "bytes"));
    bus_io_write(&bus, 0x60, 2, 0xbbaa);
    CHECK_EQ(regs[0], 0xaa);
    CHECK_EQ(regs[1], 0xbb);
    /* a dword read: two bytes from the device, two unclaimed (all ones) */
    CHECK_EQ(bus_io_read(&bus, 0x60, 4), 0xffffbbaa);
    CHECK(!bus_claim_io(&bus, 0x70, 1, 3, rd8, wr8, NULL, "bad width"));
}

/* Quiet reads (bus.h): marked per range, asked per access; a read that
 * runs into a range not marked is not quiet; nobody's port is. */
TEST(bus_quiet_reads)
{
    bus_init(&bus);
    CHECK(bus_claim_io(&bus, 0x40, 4, 1, rd, wr, NULL, "counters"));
    CHECK(bus_claim_io(&bus, 0x44, 4, 1, rd, wr, NULL, "noisy"));
    CHECK(!bus_io_read_is_quiet(&bus, 0x40, 1));
    CHECK(bus_set_quiet_reads(&bus, 0x41)); /* any port of the range names it */
    CHECK(bus_io_read_is_quiet(&bus, 0x40, 1));
    CHECK(bus_io_read_is_quiet(&bus, 0x42, 2));
    CHECK(!bus_io_read_is_quiet(&bus, 0x43, 2)); /* its second byte is the noisy range's */
    CHECK(!bus_io_read_is_quiet(&bus, 0x44, 1));
    CHECK(bus_io_read_is_quiet(&bus, 0x80, 4)); /* all ones, nothing changes */
    CHECK(!bus_set_quiet_reads(&bus, 0x90));
}

/* What a write may change (bus.h enum bus_writes), as the fast way asks
 * it of the one range that takes the write (bus_fast_range): full unless
 * marked; nobody's port is quiet; a write that runs past its range goes
 * whole to the range of its first port, as the bus hands it. */
TEST(bus_write_kinds)
{
    bus_init(&bus);
    CHECK(bus_claim_io(&bus, 0x20, 2, 2, rd, wr, NULL, "watched"));
    CHECK(bus_claim_io(&bus, 0x22, 2, 2, rd, wr, NULL, "quiet"));
    CHECK(bus_claim_io(&bus, 0x24, 2, 2, rd, wr, NULL, "full"));
    CHECK_EQ(bus_fast_range(&bus, 0x20, 1)->writes, BUS_WRITES_FULL);
    CHECK(bus_set_writes(&bus, 0x21, BUS_WRITES_WATCHED)); /* any port of the range names it */
    CHECK(bus_set_writes(&bus, 0x22, BUS_WRITES_QUIET));
    CHECK_EQ(bus_fast_range(&bus, 0x20, 2)->writes, BUS_WRITES_WATCHED);
    CHECK_EQ(bus_fast_range(&bus, 0x22, 2)->writes, BUS_WRITES_QUIET);
    CHECK_EQ(bus_fast_range(&bus, 0x21, 2)->writes, BUS_WRITES_WATCHED); /* the first port's range takes it */
    CHECK_EQ(bus_fast_range(&bus, 0x23, 2)->writes, BUS_WRITES_QUIET);
    CHECK_EQ(bus_fast_range(&bus, 0x24, 1)->writes, BUS_WRITES_FULL);
    CHECK_EQ(bus_fast_range(&bus, 0x80, 4)->writes, BUS_WRITES_QUIET); /* nobody's: dropped */
    CHECK(!bus_set_writes(&bus, 0x90, BUS_WRITES_QUIET));
}

/* The fast way's one lookup (bus_fast_range): the range that takes an
 * access whole (its first port's, as bus_io_read hands it, even past the
 * range's end), the unclaimed range where nobody answers any of its
 * bytes, NULL where the bus would split it (wider than the device takes,
 * an unclaimed first port with later bytes claimed, past port FFFFh). */
TEST(bus_fast_range_takes_whole_accesses_only)
{
    bus_init(&bus);
    CHECK(bus_claim_io(&bus, 0x20, 2, 1, rd, wr, NULL, "bytes"));
    CHECK(bus_claim_io(&bus, 0x40, 4, 4, rd, wr, NULL, "dwords"));
    CHECK(bus_set_writes(&bus, 0x21, BUS_WRITES_WATCHED));
    const struct io_range *r = bus_fast_range(&bus, 0x21, 1);
    CHECK(r != NULL && r->base == 0x20 && r->writes == BUS_WRITES_WATCHED);
    CHECK(bus_fast_range(&bus, 0x20, 2) == NULL); /* wider than the 8-bit device: split */
    CHECK(bus_fast_range(&bus, 0x40, 4) != NULL);
    CHECK(bus_fast_range(&bus, 0x42, 4) == bus_fast_range(&bus, 0x40, 4)); /* past the end: still the range's */
    CHECK(bus_claim_io(&bus, 0x50, 1, 4, rd, wr, NULL, "one port, dwords")); /* as PCI's CONFIG_ADDRESS */
    CHECK(bus_claim_io(&bus, 0x51, 1, 1, rd, wr, NULL, "the next byte"));
    CHECK_EQ(bus_fast_range(&bus, 0x50, 4)->base, 0x50);
    CHECK_EQ(bus_fast_range(&bus, 0x51, 1)->base, 0x51);
    CHECK(bus_fast_range(&bus, 0x80, 4) == &bus_unclaimed);
    CHECK(bus_unclaimed.quiet_reads && bus_unclaimed.writes == BUS_WRITES_QUIET && !bus_unclaimed.write);
    CHECK(bus_unclaimed.timeless_reads); /* all ones, whatever the time */
    CHECK(!bus_fast_range(&bus, 0x40, 4)->quiet_reads && !bus_fast_range(&bus, 0x40, 4)->timeless_reads);
    CHECK(bus_set_timeless_reads(&bus, 0x41)); /* quiet as well */
    CHECK(bus_fast_range(&bus, 0x40, 4)->quiet_reads && bus_fast_range(&bus, 0x40, 4)->timeless_reads);
    CHECK(!bus_set_timeless_reads(&bus, 0x90));
    CHECK(bus_fast_range(&bus, 0x3e, 4) == NULL); /* its last bytes are claimed */
    CHECK(bus_fast_range(&bus, 0xffff, 1) == &bus_unclaimed);
    CHECK(bus_fast_range(&bus, 0xffff, 2) == NULL); /* would wrap */
}
