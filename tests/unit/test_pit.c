/* unit-sources: devmodel/pit.c devmodel/bus.c devmodel/clock.c */
/* The 8254 and port 0x61: IRQ0 in modes 2/3 (pulses, missed ticks) and
 * 0/4 (level), counter reads and latches, read-back, BCD, counter 2 with
 * its gate and OUT2 in port 0x61 (Linux's TSC calibration), mode 3, the
 * modes 1 and 5 triggers, the refresh toggle. Times are exact: CLK edge k
 * happens at ceil(k * 10^9 / PIT_HZ) ns. */
#include "unit.h"
#include "dm_fake.h"
#include "../../devmodel/pit.h"

#define CTRL 0x43
#define CH0 0x40
#define CH1 0x41
#define CH2 0x42
#define PORT61 0x61
#define OUT2 0x20

static struct pit pit;

static bool setup(void) { return pit_init(&pit, fake_env_reset()); }

/* When CLK edge k happens, and how many edges have happened by ns. */
static u64 edge_ns(u64 k) { return (k * 1000000000ull + PIT_HZ - 1) / PIT_HZ; }
static u64 edges_by(u64 ns) { return ns * PIT_HZ / 1000000000ull; }

static void at(u64 ns) { clock_advance(&fake.clock, ns); }

static void write_count(u16 port, u16 count)
{
    outb_(port, (u8)count);
    outb_(port, (u8)(count >> 8));
}

static u16 read_count(u16 port)
{
    u8 lo = inb_(port);
    u8 hi = inb_(port);
    return (u16)(lo | hi << 8);
}

static bool out2(void) { return inb_(PORT61) & OUT2; }

/* Lets a second of virtual time pass with the vCPU running (1 ms steps):
 * no tick is late. */
static void run_one_second(void)
{
    for (int ms = 0; ms < 1000; ms++)
        fake_advance(1000000);
}

TEST(pit_reset_state)
{
    CHECK(setup());
    CHECK(!fake.level[0]);
    CHECK_EQ(fake.edges[0], 0);
    CHECK_EQ(inb_(PORT61) & 0xef, 0x00); /* gate 2 low, OUT2 low (mode 0) */
    fake_advance(NS_PER_SEC);
    CHECK_EQ(fake.edges[0], 0); /* nothing counts before it is programmed */
    CHECK_EQ(clock_next_deadline(&fake.clock), DM_NEVER);
}

TEST(pit_mode2_100hz_irq0_and_missed_ticks)
{
    CHECK(setup());
    outb_(CTRL, 0x34); /* counter 0, LSB then MSB, mode 2, binary */
    write_count(CH0, 11932); /* written at edge 0: loaded on edge 1 */
    /* OUT0 rises on edges 1 + 11932k: 99 of them in the first second */
    run_one_second();
    CHECK_EQ(fake.edges[0], 99);
    CHECK(!fake.level[0]); /* pulses: the line rests low */
    CHECK_EQ(pit.ch[0].tick.missed, 0);
    fake_advance(1000000);
    CHECK_EQ(fake.edges[0], 100);
    /* half a second without running: one late tick, 49 counted missed,
     * the next one on the original phase */
    fake_advance(500000000);
    CHECK_EQ(fake.edges[0], 101);
    CHECK_EQ(pit.ch[0].tick.missed, 49);
    CHECK_EQ(clock_next_deadline(&fake.clock), edge_ns(1 + 11932ull * 151));
    at(edge_ns(1 + 11932ull * 151) - 1);
    CHECK_EQ(fake.edges[0], 101);
    at(edge_ns(1 + 11932ull * 151));
    CHECK_EQ(fake.edges[0], 102);

    /* the count follows the clock: 100 edges after a reload, N - 100 */
    at(edge_ns(1 + 11932ull * 151 + 100));
    outb_(CTRL, 0x00);
    CHECK_EQ(read_count(CH0), 11932 - 100);
}

TEST(pit_mode2_count_zero_is_65536_and_new_count_waits_for_period_end)
{
    CHECK(setup());
    outb_(CTRL, 0x34);
    write_count(CH0, 0);
    run_one_second();
    CHECK_EQ(fake.edges[0], 18); /* edges 1 + 65536k: 18.2 Hz */

    CHECK(setup());
    outb_(CTRL, 0x34);
    write_count(CH0, 100); /* rises on edges 101, 201, ... */
    at(edge_ns(150));
    write_count(CH0, 50); /* loaded at the end of this period, edge 201 */
    at(edge_ns(200));
    CHECK_EQ(fake.edges[0], 1);
    at(edge_ns(201));
    CHECK_EQ(fake.edges[0], 2);
    at(edge_ns(250));
    CHECK_EQ(fake.edges[0], 2);
    at(edge_ns(251));
    CHECK_EQ(fake.edges[0], 3);
    at(edge_ns(260));
    CHECK_EQ(read_count(CH0), 41);
}

TEST(pit_mode0_terminal_count_raises_irq0)
{
    CHECK(setup());
    outb_(CTRL, 0x30); /* counter 0, LSB then MSB, mode 0 */
    at(1000);          /* edge 1 has happened */
    CHECK_EQ(edges_by(1000), 1);
    write_count(CH0, 1000); /* loaded on edge 2, terminal count on 1002 */
    CHECK(!fake.level[0]);
    at(edge_ns(1002) - 1);
    CHECK(!fake.level[0]);
    CHECK_EQ(read_count(CH0), 1);
    at(edge_ns(1002));
    CHECK(fake.level[0]);
    CHECK_EQ(fake.edges[0], 1);
    CHECK_EQ(read_count(CH0), 0);
    at(edge_ns(1003));
    CHECK_EQ(read_count(CH0), 0xffff); /* counts on, OUT stays high */
    at(edge_ns(100000));
    CHECK(fake.level[0]);
    CHECK_EQ(fake.edges[0], 1);
    /* a new count sets OUT low again: already with its first byte */
    outb_(CH0, 10);
    CHECK(!fake.level[0]);
    outb_(CH0, 0);
    at(edge_ns(100000 + 11));
    CHECK(fake.level[0]);
    CHECK_EQ(fake.edges[0], 2);
    /* a mode 0 control word sets OUT low */
    outb_(CTRL, 0x30);
    CHECK(!fake.level[0]);
}

TEST(pit_mode4_strobe_on_irq0)
{
    CHECK(setup());
    outb_(CTRL, 0x38); /* mode 4: OUT high at once */
    CHECK(fake.level[0]);
    CHECK_EQ(fake.edges[0], 1);
    write_count(CH0, 20); /* loaded on edge 1, strobe low on edge 21 */
    at(edge_ns(21) - 1);
    CHECK(fake.level[0]);
    at(edge_ns(21));
    CHECK(!fake.level[0]);
    at(edge_ns(22));
    CHECK(fake.level[0]);
    CHECK_EQ(fake.edges[0], 2);
    at(edge_ns(70000)); /* once only */
    CHECK_EQ(fake.edges[0], 2);
}

TEST(pit_counter_reads_lsb_msb_and_latch)
{
    CHECK(setup());
    outb_(CTRL, 0x30);
    write_count(CH0, 0x1234); /* loaded on edge 1 */
    at(edge_ns(1 + 0x100));
    CHECK_EQ(read_count(CH0), 0x1134);
    outb_(CTRL, 0x00); /* latch counter 0 */
    at(edge_ns(1 + 0x300));
    outb_(CTRL, 0x00); /* a second latch before the read is ignored */
    CHECK_EQ(read_count(CH0), 0x1134);
    CHECK_EQ(read_count(CH0), 0x0f34); /* unlatched again: live */

    /* unlatched, each byte is read at its own time */
    at(edge_ns(1 + 0x1234 - 2)); /* CE = 2 */
    CHECK_EQ(inb_(CH0), 0x02);
    at(edge_ns(1 + 0x1234 + 1)); /* CE = 0xffff */
    CHECK_EQ(inb_(CH0), 0xff);

    /* read and write flip-flops are separate: read LSB, write LSB, read
     * MSB, write MSB */
    outb_(CTRL, 0x74); /* counter 1, mode 2 */
    write_count(CH1, 0x0300);
    u64 t = clock_now(&fake.clock);
    u64 e = edges_by(t);
    at(edge_ns(e + 1 + 0x10)); /* CE = 0x02f0 */
    CHECK_EQ(inb_(CH1), 0xf0);
    outb_(CH1, 0x00);
    CHECK_EQ(inb_(CH1), 0x02);
    outb_(CH1, 0x02); /* 0x0200 waits for the end of the period */

    /* LSB only and MSB only */
    outb_(CTRL, 0x50); /* counter 1, LSB only, mode 0 */
    outb_(CH1, 0x80);
    e = edges_by(clock_now(&fake.clock));
    at(edge_ns(e + 1 + 0x10));
    CHECK_EQ(inb_(CH1), 0x70);
    CHECK_EQ(inb_(CH1), 0x70);
    outb_(CTRL, 0x60); /* counter 1, MSB only, mode 0 */
    outb_(CH1, 0x02);  /* 0x0200 */
    e = edges_by(clock_now(&fake.clock));
    at(edge_ns(e + 1 + 0x101));
    CHECK_EQ(inb_(CH1), 0x00); /* CE 0x00ff: its MSB */
}

TEST(pit_read_back_status_and_count)
{
    CHECK(setup());
    outb_(PORT61, 0x01); /* gate 2 high */
    outb_(CTRL, 0xb0);   /* counter 2, LSB then MSB, mode 0, binary */
    outb_(CTRL, 0xe8);   /* read-back: status of counter 2 */
    CHECK_EQ(inb_(CH2), 0x70); /* OUT low, null count, RW=3, mode 0 */
    write_count(CH2, 100); /* loaded on edge 1 */
    outb_(CTRL, 0xe8);
    CHECK_EQ(inb_(CH2), 0x70); /* not loaded yet */
    at(edge_ns(1));
    outb_(CTRL, 0xe8);
    CHECK_EQ(inb_(CH2), 0x30);
    at(edge_ns(101));
    outb_(CTRL, 0xe8);
    CHECK_EQ(inb_(CH2), 0xb0); /* OUT high at terminal count */

    /* status and count together: status first, then the count */
    at(edge_ns(111));
    outb_(CTRL, 0xc8);
    at(edge_ns(200));
    outb_(CTRL, 0xc8); /* both already latched: ignored */
    CHECK_EQ(inb_(CH2), 0xb0);
    CHECK_EQ(read_count(CH2), 0xfff6);
    /* count only, and several counters at once */
    outb_(CTRL, 0x36); /* counter 0, mode 3 */
    outb_(CTRL, 0xda); /* count of counters 0 and 2: 1 1 0 1 1 0 1 0 */
    CHECK_EQ(read_count(CH2), (u16)(100 - 199));
    outb_(CTRL, 0xe2); /* status of counter 0 */
    CHECK_EQ(inb_(CH0), 0xf6); /* OUT high (mode 3), null count, 0x36 */
    /* mode 6 and 7 are 2 and 3, and the status shows what was written */
    outb_(CTRL, 0x7c); /* counter 1, mode 6 */
    outb_(CTRL, 0xe4);
    CHECK_EQ(inb_(CH1), 0xfc);
}

TEST(pit_bcd_counting)
{
    CHECK(setup());
    outb_(CTRL, 0x71); /* counter 1, LSB then MSB, mode 0, BCD */
    write_count(CH1, 0x1000); /* 1000 decimal, loaded on edge 1 */
    at(edge_ns(1));
    CHECK_EQ(read_count(CH1), 0x1000);
    at(edge_ns(11));
    CHECK_EQ(read_count(CH1), 0x0990);
    at(edge_ns(1001));
    CHECK_EQ(read_count(CH1), 0x0000);
    at(edge_ns(1002));
    CHECK_EQ(read_count(CH1), 0x9999); /* wraps in decimal */

    /* count 0 is 10000 in BCD: mode 2 rises every 10000 edges */
    outb_(CTRL, 0x35); /* counter 0, mode 2, BCD */
    u64 load = edges_by(clock_now(&fake.clock)) + 1;
    write_count(CH0, 0);
    at(edge_ns(load + 10000) - 1);
    CHECK_EQ(fake.edges[0], 0);
    at(edge_ns(load + 10000));
    CHECK_EQ(fake.edges[0], 1);
    at(edge_ns(load + 10000 + 1));
    CHECK_EQ(read_count(CH0), 0x9999);
}

/* What Linux's PIT TSC calibration does: gate 2 up, speaker off, counter
 * 2 in mode 0, then polls port 0x61 bit 5 (and reads the counter). */
TEST(pit_channel2_mode0_gate_and_out2)
{
    CHECK(setup());
    at(12345678);
    outb_(PORT61, (u8)((inb_(PORT61) & ~0x02) | 0x01));
    outb_(CTRL, 0xb0);
    u64 load = edges_by(clock_now(&fake.clock)) + 1;
    write_count(CH2, 11931); /* 10 ms */
    CHECK(!out2());
    at(edge_ns(load + 11931) - 1);
    CHECK(!out2());
    CHECK_EQ(read_count(CH2), 1);
    at(edge_ns(load + 11931));
    CHECK(out2());
    CHECK_EQ(read_count(CH2), 0);

    /* gate low: a count written now is loaded but does not count */
    outb_(PORT61, 0x00);
    write_count(CH2, 50);
    CHECK(!out2());
    u64 e = edges_by(clock_now(&fake.clock));
    at(edge_ns(e + 1000));
    CHECK_EQ(read_count(CH2), 50);
    CHECK(!out2());
    outb_(PORT61, 0x01); /* counting from the next edge on */
    e = edges_by(clock_now(&fake.clock));
    at(edge_ns(e + 20));
    CHECK_EQ(read_count(CH2), 30);
    outb_(PORT61, 0x00); /* stops mid-count */
    at(edge_ns(e + 500));
    CHECK_EQ(read_count(CH2), 30);
    CHECK(!out2());
    outb_(PORT61, 0x01);
    e = edges_by(clock_now(&fake.clock));
    at(edge_ns(e + 30) - 1);
    CHECK(!out2());
    at(edge_ns(e + 30));
    CHECK(out2());

    /* bits 0-3 read back as written, bits 4-7 ignore writes */
    outb_(PORT61, 0xff);
    CHECK_EQ(inb_(PORT61) & 0xcf, 0x0f);
    outb_(PORT61, 0x0e);
    CHECK_EQ(inb_(PORT61) & 0xcf, 0x0e);
}

TEST(pit_mode3_square_wave)
{
    CHECK(setup());
    outb_(PORT61, 0x01);
    outb_(CTRL, 0xb6); /* counter 2, mode 3 */
    write_count(CH2, 1000); /* loaded on edge 1 */
    CHECK(out2());
    at(edge_ns(1));
    CHECK_EQ(read_count(CH2), 1000);
    at(edge_ns(2));
    CHECK_EQ(read_count(CH2), 998); /* down by two */
    at(edge_ns(500));
    CHECK(out2());
    at(edge_ns(501));
    CHECK(!out2());
    CHECK_EQ(read_count(CH2), 1000); /* reloaded for the low half */
    at(edge_ns(1000));
    CHECK(!out2());
    at(edge_ns(1001));
    CHECK(out2());
    /* gate low forces OUT high at once; the gate's rising edge reloads */
    at(edge_ns(1501));
    CHECK(!out2());
    outb_(PORT61, 0x00);
    CHECK(out2());
    at(edge_ns(1600));
    outb_(PORT61, 0x01); /* reload on edge 1601 */
    at(edge_ns(1601));
    CHECK_EQ(read_count(CH2), 1000);
    at(edge_ns(2100));
    CHECK(out2());
    at(edge_ns(2101));
    CHECK(!out2());

    /* odd count 5: high 3 edges, low 2 */
    outb_(CTRL, 0xb6);
    write_count(CH2, 5);
    u64 load = edges_by(clock_now(&fake.clock)) + 1;
    static const bool expect[10] = {1, 1, 1, 0, 0, 1, 1, 1, 0, 0};
    static const u16 counts[5] = {4, 2, 0, 4, 2};
    for (unsigned i = 0; i < 10; i++) {
        at(edge_ns(load + i));
        CHECK_EQ(out2(), expect[i]);
        if (i < 5)
            CHECK_EQ(read_count(CH2), counts[i]);
    }

    /* a new count waits for the end of the half-cycle: 60 written in the
     * high half of 100 starts with its own low half (30 edges) */
    outb_(CTRL, 0xb6);
    write_count(CH2, 100);
    load = edges_by(clock_now(&fake.clock)) + 1;
    at(edge_ns(load + 20));
    write_count(CH2, 60);
    at(edge_ns(load + 49));
    CHECK(out2());
    CHECK_EQ(read_count(CH2), 100 - 2 * 49);
    at(edge_ns(load + 50));
    CHECK(!out2());
    CHECK_EQ(read_count(CH2), 60);
    at(edge_ns(load + 79));
    CHECK(!out2());
    at(edge_ns(load + 80));
    CHECK(out2());
    at(edge_ns(load + 109));
    CHECK(out2());
    at(edge_ns(load + 110));
    CHECK(!out2());

    /* mode 7 is mode 3 */
    outb_(CTRL, 0xbe);
    write_count(CH2, 10);
    load = edges_by(clock_now(&fake.clock)) + 1;
    at(edge_ns(load + 4));
    CHECK(out2());
    CHECK_EQ(read_count(CH2), 2);
    at(edge_ns(load + 5));
    CHECK(!out2());

    /* on counter 0: one IRQ0 pulse per period */
    CHECK(setup());
    outb_(CTRL, 0x36);
    write_count(CH0, 11932);
    run_one_second();
    CHECK_EQ(fake.edges[0], 99);
    CHECK_EQ(pit.ch[0].tick.missed, 0);
    CHECK(!fake.level[0]);
}

TEST(pit_modes1_and_5_triggered_by_gate2)
{
    CHECK(setup());
    outb_(CTRL, 0xb2); /* counter 2, mode 1 */
    write_count(CH2, 10);
    CHECK(out2());
    at(edge_ns(100));
    CHECK(out2()); /* waits for a trigger */
    outb_(PORT61, 0x01); /* trigger: OUT low from edge 101 to 111 */
    CHECK(out2());
    at(edge_ns(101));
    CHECK(!out2());
    CHECK_EQ(read_count(CH2), 10);
    at(edge_ns(105));
    outb_(PORT61, 0x00);
    outb_(PORT61, 0x01); /* retrigger: low until 116 */
    at(edge_ns(115));
    CHECK(!out2());
    at(edge_ns(116));
    CHECK(out2());

    outb_(CTRL, 0xba); /* counter 2, mode 5 */
    write_count(CH2, 10);
    outb_(PORT61, 0x00);
    at(edge_ns(200));
    outb_(PORT61, 0x01); /* loaded on 201, strobe on 211 */
    at(edge_ns(210));
    CHECK(out2());
    at(edge_ns(211));
    CHECK(!out2());
    at(edge_ns(212));
    CHECK(out2());
}

TEST(pit_refresh_bit_toggles)
{
    CHECK(setup());
    CHECK_EQ(inb_(PORT61) & 0x10, 0);
    at(15084);
    CHECK_EQ(inb_(PORT61) & 0x10, 0);
    at(15085);
    CHECK_EQ(inb_(PORT61) & 0x10, 0x10);
    at(30169);
    CHECK_EQ(inb_(PORT61) & 0x10, 0x10);
    at(30170);
    CHECK_EQ(inb_(PORT61) & 0x10, 0);
    unsigned toggles = 0;
    bool last = false;
    for (u64 t = 30170; t < 30170 + 1000000; t += 1000) {
        at(t);
        bool now = inb_(PORT61) & 0x10;
        toggles += now != last;
        last = now;
    }
    CHECK(toggles >= 66 && toggles <= 67); /* 1 ms / 15.085 us */
}

/* Linux's i8253 clockevent in one-shot mode: mode 4, a new count for each
 * event. The host looks at the clock only now and then, far later than
 * the one-clock strobe: every event must still give IRQ0 one edge. */
TEST(pit_mode4_oneshot_events_survive_a_late_clock)
{
    static struct pit p;
    struct dm_env *env = fake_env_reset();
    CHECK(pit_init(&p, env));
    outb_(0x43, 0x38);
    unsigned edges = fake.edges[0];
    for (int i = 0; i < 5; i++) {
        outb_(0x40, 0x9c);
        outb_(0x40, 0x2e);             /* 11932 counts, about 10 ms */
        fake_advance(11 * 1000 * 1000); /* one jump well past the strobe */
        CHECK_EQ(fake.edges[0], edges + 1);
        CHECK(fake.level[0]);
        edges = fake.edges[0];
    }
}

/* Muted (IRQ0 can reach no one), counter 0 arms no timer; its count stays
 * readable; unmuted, OUT0's next rising edge ticks, with nothing owed. */
TEST(pit_muted_irq0_arms_nothing_and_keeps_counting)
{
    CHECK(setup());
    outb_(CTRL, 0x34);
    write_count(CH0, 11932);
    at(edge_ns(1 + 11932ull));
    at(edge_ns(1 + 11932ull * 2));
    CHECK_EQ(fake.edges[0], 2);
    pit_mute_irq0(&pit, true);
    CHECK_EQ(clock_next_deadline(&fake.clock), DM_NEVER);
    at(edge_ns(1 + 11932ull * 50 + 100));
    CHECK_EQ(fake.edges[0], 2);
    outb_(CTRL, 0x00);
    CHECK_EQ(read_count(CH0), 11932 - 100);   /* the count follows the clock */
    pit_mute_irq0(&pit, false);
    CHECK_EQ(clock_next_deadline(&fake.clock), edge_ns(1 + 11932ull * 51));
    at(edge_ns(1 + 11932ull * 51));
    CHECK_EQ(fake.edges[0], 3);
    CHECK_EQ(pit.ch[0].tick.missed, 0);
    CHECK_EQ(pit.ch[0].tick.backlog, 0);
}

/* Linux's quick_pit_calibrate: counter 2, mode 0, count FFFFh: the high
 * byte reads FFh for the first 256 CLK edges after the count is loaded,
 * then steps down by one every 256 edges. */
TEST(pit_channel2_quick_calibration_msb_steps)
{
    CHECK(setup());
    at(1000000);
    outb_(PORT61, (u8)((inb_(PORT61) & ~0x02) | 0x01));
    outb_(CTRL, 0xb0);
    outb_(CH2, 0xff);
    outb_(CH2, 0xff);
    u64 loaded = fake.clock.now;
    u64 k0 = edges_by(loaded); /* the count reaches the CE on edge k0 + 1 */
    for (u64 k = 2; k < 3 * 256; k += 7) {
        at(edge_ns(k0 + 1 + k));
        u16 c = read_count(CH2);
        CHECK_EQ(c, 0xffff - k);
    }
}

/* The counters' reads and port 61h's are marked quiet
 * (bus_set_quiet_reads): reading them, latched or not, moves no deadline
 * and raises nothing. */
TEST(pit_counter_reads_are_quiet)
{
    CHECK(setup());
    outb_(CTRL, 0x34); /* channel 0, LSB then MSB, mode 2 */
    write_count(CH0, 1193);
    fake_advance(1000000);
    u64 deadline = clock_next_deadline(&fake.clock);
    unsigned edges = fake.edges[0];
    CHECK(bus_io_read_is_quiet(&fake.bus, CH0, 1));
    CHECK(bus_io_read_is_quiet(&fake.bus, CH2, 1));
    CHECK(bus_io_read_is_quiet(&fake.bus, PORT61, 1));
    CHECK(bus_fast_range(&fake.bus, CH0, 1)->clock_reads); /* they follow the clock alone */
    CHECK(bus_fast_range(&fake.bus, PORT61, 1)->clock_reads);
    for (int i = 0; i < 10; i++) {
        read_count(CH0);
        outb_(CTRL, 0x00); /* latch channel 0 */
        read_count(CH0);
        inb_(PORT61);
    }
    CHECK_EQ(clock_next_deadline(&fake.clock), deadline);
    CHECK_EQ(fake.edges[0], edges);
}

/* Counter 0's missed ticks under the reinject policy (pit_hold_irq0):
 * held while the last IRQ0 waits for the guest, the rising edges that
 * pass are owed; each release pulses IRQ0 at once with the next owed
 * one, none twice, none lost; a new count (mode 2 takes it at the end of
 * the period) keeps what is owed, a new control word stops the counter
 * and drops it. */
TEST(pit_counter0_reinjects_owed_ticks_on_acknowledgement)
{
    CHECK(setup());
    outb_(CTRL, 0x34);
    write_count(CH0, 11932);                     /* 100 Hz: OUT0 rises on edges 1 + 11932k */
    at(edge_ns(1 + 11932ull));
    CHECK_EQ(fake.edges[0], 1);
    CHECK(!pit_hold_irq0(&pit, true));           /* the guest has interrupts off */
    CHECK_EQ(clock_next_deadline(&fake.clock), DM_NEVER);
    at(edge_ns(1 + 11932ull * 21 + 5966));       /* 20 more rising edges, 20.5 periods */
    CHECK_EQ(fake.edges[0], 1);
    for (int i = 0; i < 20; i++) {               /* INTA, handler, EOI: 20 times, back to back */
        CHECK(pit_hold_irq0(&pit, false));
        CHECK(!pit_hold_irq0(&pit, true));
    }
    CHECK_EQ(fake.edges[0], 21);
    CHECK(!pit_hold_irq0(&pit, false));          /* caught up */
    CHECK_EQ(fake.edges[0], 21);
    CHECK_EQ(clock_next_deadline(&fake.clock), edge_ns(1 + 11932ull * 22)); /* the phase kept */
    at(edge_ns(1 + 11932ull * 22));
    CHECK_EQ(fake.edges[0], 22);

    /* a new count while held: the edges before it stay owed */
    CHECK(!pit_hold_irq0(&pit, true));
    at(edge_ns(1 + 11932ull * 24 + 10));         /* edges 23 and 24 passed */
    write_count(CH0, 5966);                      /* taken at the end of this period */
    CHECK(pit_hold_irq0(&pit, false));
    CHECK(!pit_hold_irq0(&pit, true));
    CHECK(pit_hold_irq0(&pit, false));
    CHECK_EQ(fake.edges[0], 24);
    CHECK(!pit_hold_irq0(&pit, true));
    CHECK(!pit_hold_irq0(&pit, false));
    CHECK_EQ(fake.edges[0], 24);

    /* a control word while held: the counter stops, nothing is owed */
    CHECK(!pit_hold_irq0(&pit, true));
    at(edge_ns(1 + 11932ull * 30));
    outb_(CTRL, 0x34);
    write_count(CH0, 11932);
    CHECK(!pit_hold_irq0(&pit, false));
    CHECK_EQ(fake.edges[0], 24);
    CHECK(clock_next_deadline(&fake.clock) > fake.clock.now);
}

/* A free-running counter (mode 0 from 0: 65536 edges a turn) read at
 * moments on either side of whole seconds, seconds and hours apart:
 * the count is that of the CLK edges by then, exactly, however the
 * counter keeps the seconds it counts from (now_clk). */
TEST(pit_count_exact_across_seconds)
{
    CHECK(setup());
    outb_(CTRL, 0xb0); /* counter 2, LSB then MSB, mode 0 */
    write_count(CH2, 0);
    outb_(PORT61, 1); /* gate 2 high: counting from the next edge */
    u64 start = edges_by(clock_now(&fake.clock)) + 1;
    u64 ns = 1, step = 1;
    for (int i = 0; i < 400; i++) {
        ns += step;
        step = (step * 5 + 3) % 3000000000ull; /* up to 3 s, at odd offsets */
        u64 second = (ns / 1000000000ull + 1) * 1000000000ull;
        u64 moments[] = {ns, second - 1, second};
        for (unsigned m = 0; m < 3; m++) {
            at(moments[m]);
            u64 edges = edges_by(moments[m]);
            u16 want = edges < start ? 0 : (u16)(0x10000 - (edges - start) % 0x10000);
            outb_(CTRL, 0x80); /* latch counter 2 */
            CHECK_EQ(read_count(CH2), want);
        }
        ns = second;
    }
    at(ns + 3600 * 1000000000ull + 7);
    outb_(CTRL, 0x80);
    u64 edges = edges_by(ns + 3600 * 1000000000ull + 7);
    CHECK_EQ(read_count(CH2), (u16)(0x10000 - (edges - start) % 0x10000));
}

/* A live read takes the plain way when it can (pit.c,
 * channel_keep_plain_read); a latched one the whole way (ce_at): both
 * must give the same count at every moment, in every mode, count and
 * access, across periods, half-cycles, reloads and whole seconds. */
static void check_live_reads_match_latched(u16 port, u8 control, u16 count)
{
    unsigned sc = port - CH0;
    u8 access = control >> 4 & 3;
    outb_(CTRL, control);
    if (access == 3)
        write_count(port, count);
    else
        outb_(port, (u8)(access == 1 ? count : count >> 8));
    u64 ns = clock_now(&fake.clock);
    for (int i = 0; i < 300; i++) {
        ns += 1 + (u64)i * 7919 % 120000; /* up to 0.1 s, at uneven steps */
        at(ns);
        u16 live, latched;
        if (access == 3) {
            live = read_count(port);
            outb_(CTRL, (u8)(sc << 6)); /* latch */
            latched = read_count(port);
        } else {
            live = inb_(port);
            outb_(CTRL, (u8)(sc << 6));
            latched = inb_(port);
        }
        CHECK_EQ(live, latched);
    }
}

TEST(pit_live_reads_match_latched_reads)
{
    CHECK(setup());
    outb_(PORT61, 1); /* gate 2 high */
    static const u16 counts[] = {0, 1, 2, 3, 7, 100, 4773, 11932, 0x8001, 0xffff};
    static const u8 modes[] = {0, 1, 2, 3, 4, 5};
    for (unsigned c = 0; c < ARRAY_SIZE(counts); c++)
        for (unsigned m = 0; m < ARRAY_SIZE(modes); m++) {
            u8 mode = (u8)(modes[m] << 1);
            check_live_reads_match_latched(CH0, (u8)(0x30 | mode), counts[c]);
            check_live_reads_match_latched(CH2, (u8)(0xb0 | mode), counts[c]);
            check_live_reads_match_latched(CH1, (u8)(0x50 | mode), counts[c]);        /* LSB only */
            check_live_reads_match_latched(CH1, (u8)(0x60 | mode), counts[c]);        /* MSB only */
            check_live_reads_match_latched(CH0, (u8)(0x31 | mode), counts[c] & 0x9999); /* BCD */
        }
    /* modes 1 and 5 count once triggered: a rising edge of gate 2 */
    outb_(CTRL, 0xb2);
    write_count(CH2, 1000);
    outb_(PORT61, 0);
    outb_(PORT61, 1);
    check_live_reads_match_latched(CH2, 0xb2, 1000);
    /* a count written in mode 2 or 3 while counting waits for the end of
     * the period or half-cycle; in mode 3 one taken at the end of the high
     * half starts in its low half (a phase) */
    static const u8 waiting[] = {0x34, 0x36};
    for (unsigned m = 0; m < ARRAY_SIZE(waiting); m++)
        for (u64 into = 100000; into <= 4000000; into += 1300000) {
            outb_(CTRL, waiting[m]);
            write_count(CH0, 5000);
            at(clock_now(&fake.clock) + into);
            write_count(CH0, 300);
            u64 ns = clock_now(&fake.clock);
            for (int i = 0; i < 50; i++) {
                at(ns += 977 * (u64)(i + 1));
                u16 live = read_count(CH0);
                outb_(CTRL, 0x00);
                CHECK_EQ(live, read_count(CH0));
            }
        }
}
