/* unit-sources: devmodel/lapic.c devmodel/bus.c devmodel/clock.c */
/* The local APIC through its MMIO page and MSRs, as a guest programs it,
 * with the core's side (pending/ack, NMI, ExtINT) called by hand. */
#include "unit.h"
#include "dm_fake.h"
#include "../../devmodel/lapic.h"

#define BASE LAPIC_DEFAULT_BASE
#define APIC_ID 3

/* Register offsets (SDM 3A Table 11-1) */
#define ID 0x20
#define VERSION 0x30
#define TPR 0x80
#define APR 0x90
#define PPR 0xa0
#define EOI 0xb0
#define LDR 0xd0
#define DFR 0xe0
#define SVR 0xf0
#define ISR 0x100
#define TMR 0x180
#define IRR 0x200
#define ESR 0x280
#define LVT_CMCI 0x2f0
#define ICR_LO 0x300
#define ICR_HI 0x310
#define LVT_TIMER 0x320
#define LVT_THERMAL 0x330
#define LVT_PERF 0x340
#define LVT_LINT0 0x350
#define LVT_LINT1 0x360
#define LVT_ERROR 0x370
#define TIMER_INITIAL 0x380
#define TIMER_CURRENT 0x390
#define TIMER_DIVIDE 0x3e0

#define MASKED (1u << 16)
#define PERIODIC (1u << 17)
#define TSC_DEADLINE (2u << 17)
#define DM_NMI (4u << 8)
#define DM_EXTINT (7u << 8)
#define LEVEL (1u << 15)
#define REMOTE_IRR (1u << 14)
#define ENABLE (1u << 8)

static struct lapic apic;
static unsigned broadcasts;
static u8 broadcast_vector;

static void on_eoi_broadcast(void *ctx, u8 vector)
{
    (void)ctx;
    broadcasts++;
    broadcast_vector = vector;
}

static void setup(bool bsp)
{
    struct dm_env *env = fake_env_reset();
    memset(&apic, 0, sizeof(apic));
    broadcasts = 0;
    broadcast_vector = 0;
    lapic_init(&apic, env, APIC_ID, bsp, on_eoi_broadcast, NULL);
}

static u32 rd(u32 off) { return (u32)bus_mmio_read(&fake.bus, BASE + off, 4); }
static void wr(u32 off, u32 v) { bus_mmio_write(&fake.bus, BASE + off, 4, v); }

/* setup, software-enabled with spurious vector FF */
static void setup_enabled(void)
{
    setup(true);
    wr(SVR, ENABLE | 0xff);
}

static void fixed(u8 vector, bool level)
{
    struct apic_message m = {.vector = vector, .delivery_mode = APIC_DM_FIXED, .level_triggered = level};
    lapic_deliver(&apic, &m);
}

/* The bit of vector v in a 256-bit register bank read through MMIO */
static bool bank_bit(u32 bank, u8 v) { return rd(bank + (v / 32) * 16) & (1u << (v % 32)); }

/* What the core does: take the pending vector, if any */
static int take(void)
{
    int v = lapic_pending(&apic);
    if (v >= 0)
        lapic_ack(&apic, (u8)v);
    return v;
}

/* Counts timer interrupts (vector v) while moving the clock by step, n
 * times, servicing each like a guest handler (ack, EOI). */
static unsigned count_timer_interrupts(u8 v, u64 step, unsigned n)
{
    unsigned seen = 0;
    for (unsigned i = 0; i < n; i++) {
        fake_advance(step);
        while (lapic_pending(&apic) == v) {
            lapic_ack(&apic, v);
            wr(EOI, 0);
            seen++;
        }
    }
    return seen;
}

TEST(lapic_reset_state)
{
    setup(true);
    CHECK_EQ(rd(VERSION), 0x00050014);
    CHECK_EQ(rd(ID), (u32)APIC_ID << 24);
    CHECK_EQ(rd(SVR), 0xff); /* software-disabled */
    CHECK_EQ(rd(DFR), 0xffffffff);
    CHECK_EQ(rd(TPR), 0);
    CHECK_EQ(rd(PPR), 0);
    CHECK_EQ(rd(LDR), 0);
    CHECK_EQ(rd(TIMER_DIVIDE), 0);
    CHECK_EQ(rd(TIMER_INITIAL), 0);
    CHECK_EQ(rd(TIMER_CURRENT), 0);
    const u32 lvts[] = {LVT_CMCI, LVT_TIMER, LVT_THERMAL, LVT_PERF, LVT_LINT0, LVT_LINT1, LVT_ERROR};
    for (unsigned i = 0; i < ARRAY_SIZE(lvts); i++)
        CHECK_EQ(rd(lvts[i]), MASKED);
    CHECK_EQ(lapic_get_base(&apic), 0xfee00000 | (1u << 11) | (1u << 8));
    CHECK_EQ(lapic_pending(&apic), -1);
    CHECK(!lapic_passes_extint(&apic)); /* LINT0 masked until virtual wire is set up */

    setup(false);
    CHECK_EQ(lapic_get_base(&apic), 0xfee00000 | (1u << 11)); /* no BSP flag */
}

TEST(lapic_software_disabled_keeps_lvts_masked)
{
    setup(true);
    wr(LVT_TIMER, 0x30);
    wr(LVT_LINT0, DM_EXTINT);
    CHECK_EQ(rd(LVT_TIMER), MASKED | 0x30);
    CHECK_EQ(rd(LVT_LINT0), MASKED | DM_EXTINT);
    CHECK(!lapic_passes_extint(&apic));
    fixed(0x40, false); /* refused while software-disabled */
    CHECK(!bank_bit(IRR, 0x40));
    struct apic_message nmi = {.delivery_mode = APIC_DM_NMI};
    lapic_deliver(&apic, &nmi); /* but NMI is answered (SDM 3A 11.4.7.2) */
    CHECK(lapic_take_nmi(&apic));
}

TEST(lapic_enable_via_svr_and_disable_again)
{
    setup_enabled();
    CHECK_EQ(rd(SVR), 0x1ff);
    wr(LVT_TIMER, 0x30);
    CHECK_EQ(rd(LVT_TIMER), 0x30);
    wr(LVT_LINT1, DM_NMI);
    CHECK_EQ(rd(LVT_LINT1), DM_NMI);
    wr(SVR, 0xff); /* explicitly cleared: every LVT masked */
    CHECK_EQ(rd(LVT_TIMER), MASKED | 0x30);
    CHECK_EQ(rd(LVT_LINT1), MASKED | DM_NMI);
    wr(SVR, ENABLE | 0xff); /* enabling does not unmask */
    CHECK_EQ(rd(LVT_TIMER), MASKED | 0x30);
}

TEST(lapic_fixed_delivery_priority_classes_and_isr_nesting)
{
    setup_enabled();
    fixed(0x40, false);
    CHECK(bank_bit(IRR, 0x40));
    CHECK(!bank_bit(TMR, 0x40));
    CHECK_EQ(lapic_pending(&apic), 0x40);
    lapic_ack(&apic, 0x40);
    CHECK(!bank_bit(IRR, 0x40));
    CHECK(bank_bit(ISR, 0x40));
    CHECK_EQ(rd(PPR), 0x40);
    CHECK_EQ(lapic_pending(&apic), -1);

    fixed(0x45, false); /* same class as the one in service: waits */
    CHECK_EQ(lapic_pending(&apic), -1);
    fixed(0x61, false); /* a higher class nests */
    CHECK_EQ(take(), 0x61);
    CHECK_EQ(rd(PPR), 0x60);
    CHECK(bank_bit(ISR, 0x40) && bank_bit(ISR, 0x61));

    wr(EOI, 0); /* ends the highest in service, 0x61 */
    CHECK(!bank_bit(ISR, 0x61));
    CHECK(bank_bit(ISR, 0x40));
    CHECK_EQ(rd(PPR), 0x40);
    CHECK_EQ(lapic_pending(&apic), -1);
    wr(EOI, 0);
    CHECK_EQ(rd(PPR), 0);
    CHECK_EQ(take(), 0x45);
    wr(EOI, 0);
    CHECK_EQ(lapic_pending(&apic), -1);
    CHECK_EQ(broadcasts, 0); /* all edge triggered */

    /* the highest of several pending goes first */
    fixed(0x31, false);
    fixed(0x92, false);
    fixed(0x50, false);
    CHECK_EQ(take(), 0x92);
    wr(EOI, 0);
    CHECK_EQ(take(), 0x50);
    wr(EOI, 0);
    CHECK_EQ(take(), 0x31);
    lapic_ack(&apic, 0x77); /* not pending: ignored */
    CHECK(!bank_bit(ISR, 0x77));
}

TEST(lapic_tpr_masks_lower_classes)
{
    setup_enabled();
    wr(TPR, 0x1ff);
    CHECK_EQ(rd(TPR), 0xff); /* 8 bits */
    wr(TPR, 0x50);
    CHECK_EQ(rd(PPR), 0x50);
    fixed(0x55, false);
    CHECK_EQ(lapic_pending(&apic), -1); /* class 5 is not above 5 */
    CHECK_EQ(rd(APR), 0x50);
    fixed(0x62, false);
    CHECK_EQ(lapic_pending(&apic), 0x62);
    CHECK_EQ(rd(APR), 0x60); /* the pending class is above the TPR's */
    CHECK_EQ(take(), 0x62);
    CHECK_EQ(rd(PPR), 0x60); /* in service beats the TPR */
    wr(TPR, 0x6a);
    CHECK_EQ(rd(PPR), 0x6a); /* same class: the TPR, subclass included */
    wr(TPR, 0x7a);
    CHECK_EQ(rd(PPR), 0x7a); /* the TPR wins, subclass included */
    wr(EOI, 0);
    wr(TPR, 0x4f);
    CHECK_EQ(rd(PPR), 0x4f);
    CHECK_EQ(take(), 0x55);
}

TEST(lapic_illegal_vector_logs_error_and_raises_lvt_error)
{
    setup_enabled();
    wr(LVT_ERROR, 0xe3);
    fixed(0x05, false); /* vectors 0-15 are refused */
    CHECK_EQ(lapic_pending(&apic), 0xe3);
    CHECK(!bank_bit(IRR, 0x05));
    CHECK_EQ(rd(ESR), 0); /* not latched until written */
    wr(ESR, 0);
    CHECK_EQ(rd(ESR), 0x40); /* received illegal vector */
    wr(ESR, 0);
    CHECK_EQ(rd(ESR), 0);
    CHECK_EQ(rd(0x40), 0); /* a reserved offset */
    wr(ESR, 0);
    CHECK_EQ(rd(ESR), 0x80); /* illegal register address */
}

TEST(lapic_level_triggered_eoi_broadcasts)
{
    setup_enabled();
    fixed(0x70, true);
    CHECK(bank_bit(TMR, 0x70));
    CHECK_EQ(take(), 0x70);
    wr(EOI, 0);
    CHECK_EQ(broadcasts, 1);
    CHECK_EQ(broadcast_vector, 0x70);
    fixed(0x70, false); /* accepted as edge: the TMR bit clears */
    CHECK(!bank_bit(TMR, 0x70));
    CHECK_EQ(take(), 0x70);
    wr(EOI, 0);
    CHECK_EQ(broadcasts, 1);
    wr(EOI, 0); /* nothing in service */
    CHECK_EQ(broadcasts, 1);
}

TEST(lapic_self_ipi_through_icr)
{
    setup_enabled();
    wr(ICR_LO, (1u << 18) | 0x50); /* shorthand self, fixed */
    CHECK_EQ(lapic_pending(&apic), 0x50);
    CHECK_EQ(rd(ICR_LO), (1u << 18) | 0x50); /* delivery status idle */
    CHECK_EQ(take(), 0x50);
    wr(EOI, 0);

    wr(ICR_HI, (u32)APIC_ID << 24); /* physical, own ID */
    wr(ICR_LO, 0x51);
    CHECK_EQ(take(), 0x51);
    wr(EOI, 0);
    wr(ICR_LO, (2u << 18) | 0x52); /* all including self */
    CHECK_EQ(take(), 0x52);
    wr(EOI, 0);
    wr(ICR_LO, (3u << 18) | 0x53); /* all excluding self: nobody here */
    wr(ICR_HI, (u32)(APIC_ID + 1) << 24);
    wr(ICR_LO, 0x54); /* another APIC */
    CHECK_EQ(lapic_pending(&apic), -1);

    wr(LDR, 0x04000000); /* logical, flat model */
    wr(ICR_HI, 0x0c000000);
    wr(ICR_LO, (1u << 11) | 0x55);
    CHECK_EQ(take(), 0x55);
    wr(EOI, 0);
    wr(ICR_HI, 0x03000000);
    wr(ICR_LO, (1u << 11) | 0x56);
    CHECK_EQ(lapic_pending(&apic), -1);

    wr(ICR_HI, (u32)APIC_ID << 24);
    wr(ICR_LO, DM_NMI); /* NMI to own ID */
    CHECK(lapic_take_nmi(&apic));
    wr(ICR_LO, (1u << 18) | DM_NMI); /* with the self shorthand it is invalid */
    CHECK(!lapic_take_nmi(&apic));
    /* two NMIs before the first is taken are two; a third is lost (latch_nmi) */
    for (int i = 0; i < 3; i++)
        wr(ICR_LO, DM_NMI);
    CHECK(lapic_take_nmi(&apic));
    CHECK(lapic_take_nmi(&apic));
    CHECK(!lapic_take_nmi(&apic));
    /* while the CPU's NMI handler runs it holds one */
    wr(ICR_LO, DM_NMI);
    wr(ICR_LO, DM_NMI);
    lapic_hold_one_nmi(&apic);
    CHECK(lapic_take_nmi(&apic));
    CHECK(!lapic_take_nmi(&apic));
    wr(ICR_LO, 0x08); /* illegal vector: both send and receive errors */
    wr(ESR, 0);
    CHECK_EQ(rd(ESR), 0x60);
}

TEST(lapic_one_shot_timer_counts_down_at_the_divided_clock)
{
    setup_enabled();
    wr(LVT_TIMER, 0x30);
    wr(TIMER_DIVIDE, 0x3); /* divide by 16 */
    wr(TIMER_INITIAL, 1000); /* 1000 counts of 16 ns */
    CHECK_EQ(rd(TIMER_CURRENT), 1000);
    fake_advance(8000);
    CHECK_EQ(rd(TIMER_CURRENT), 500);
    fake_advance(7999);
    CHECK_EQ(rd(TIMER_CURRENT), 1);
    CHECK_EQ(lapic_pending(&apic), -1);
    fake_advance(1);
    CHECK_EQ(rd(TIMER_CURRENT), 0);
    CHECK_EQ(take(), 0x30);
    wr(EOI, 0);
    CHECK_EQ(count_timer_interrupts(0x30, 16000, 5), 0); /* once only */
    CHECK_EQ(rd(TIMER_INITIAL), 1000);

    /* a write of 0 stops it */
    wr(TIMER_INITIAL, 10);
    wr(TIMER_INITIAL, 0);
    CHECK_EQ(count_timer_interrupts(0x30, 1000, 3), 0);
}

TEST(lapic_timer_divide_configuration)
{
    /* Figure 11-10: 0000 /2, 0001 /4, 0010 /8, 0011 /16, 1000 /32,
     * 1001 /64, 1010 /128, 1011 /1 */
    const u32 value[] = {0x0, 0x1, 0x2, 0x3, 0x8, 0x9, 0xa, 0xb};
    const u64 divisor[] = {2, 4, 8, 16, 32, 64, 128, 1};
    for (unsigned i = 0; i < ARRAY_SIZE(value); i++) {
        setup_enabled();
        wr(LVT_TIMER, 0x30);
        wr(TIMER_DIVIDE, value[i] | 0xf4); /* reserved bits dropped */
        CHECK_EQ(rd(TIMER_DIVIDE), value[i]);
        wr(TIMER_INITIAL, 3);
        fake_advance(3 * divisor[i] - 1);
        CHECK_EQ(lapic_pending(&apic), -1);
        fake_advance(1);
        CHECK_EQ(lapic_pending(&apic), 0x30);
    }
}

TEST(lapic_periodic_timer_over_virtual_time)
{
    setup_enabled();
    wr(LVT_TIMER, PERIODIC | 0x31);
    wr(TIMER_DIVIDE, 0xb); /* divide by 1: 1 ns per count */
    wr(TIMER_INITIAL, 100);
    CHECK_EQ(count_timer_interrupts(0x31, 50, 20), 10); /* 1000 ns */
    CHECK_EQ(rd(TIMER_CURRENT), 100);                     /* just reloaded */
    fake_advance(30);
    CHECK_EQ(rd(TIMER_CURRENT), 70);

    wr(TIMER_DIVIDE, 0x0); /* divide by 2: the rest of this count is slower, then 200 ns periods */
    CHECK_EQ(rd(TIMER_CURRENT), 70);
    CHECK_EQ(count_timer_interrupts(0x31, 140, 1), 1);
    CHECK_EQ(count_timer_interrupts(0x31, 100, 10), 5);

    /* masked: it keeps counting, without interrupts */
    wr(LVT_TIMER, MASKED | PERIODIC | 0x31);
    CHECK_EQ(count_timer_interrupts(0x31, 100, 10), 0);
    CHECK(rd(TIMER_CURRENT) != 0);
    wr(LVT_TIMER, PERIODIC | 0x31);
    CHECK_EQ(count_timer_interrupts(0x31, 100, 10), 5);

    /* a vCPU that did not run for 10 periods sees one tick; the clock's
     * periodic policy counts the others as missed */
    u64 missed = apic.periodic.missed;
    CHECK_EQ(count_timer_interrupts(0x31, 2000, 1), 1);
    CHECK_EQ(apic.periodic.missed, missed + 9);

}

/* Between one-shot and periodic the count goes on from where it was
 * (lapic_timer_mode_changed; kvm-unit-tests' apic "change mode"). */
TEST(lapic_timer_mode_change_keeps_the_count)
{
    setup_enabled();
    wr(LVT_TIMER, PERIODIC | 0x31);
    wr(TIMER_DIVIDE, 0xb); /* divide by 1: 1 ns per count */
    wr(TIMER_INITIAL, 100);
    CHECK_EQ(count_timer_interrupts(0x31, 30, 1), 0);
    CHECK_EQ(rd(TIMER_CURRENT), 70);
    /* periodic to one-shot: on to zero, one interrupt there, then zero */
    wr(LVT_TIMER, 0x31);
    CHECK_EQ(rd(TIMER_CURRENT), 70);
    CHECK_EQ(count_timer_interrupts(0x31, 69, 1), 0);
    CHECK_EQ(count_timer_interrupts(0x31, 1, 1), 1);
    CHECK_EQ(count_timer_interrupts(0x31, 100, 10), 0);
    CHECK_EQ(rd(TIMER_CURRENT), 0);
    /* one-shot at zero to periodic: it stays at zero */
    wr(LVT_TIMER, PERIODIC | 0x31);
    CHECK_EQ(rd(TIMER_CURRENT), 0);
    CHECK_EQ(count_timer_interrupts(0x31, 100, 10), 0);
    /* one-shot half way to periodic: on from there, then reloads */
    wr(LVT_TIMER, 0x31);
    wr(TIMER_INITIAL, 100);
    CHECK_EQ(count_timer_interrupts(0x31, 50, 1), 0);
    wr(LVT_TIMER, PERIODIC | 0x31);
    CHECK_EQ(rd(TIMER_CURRENT), 50);
    CHECK_EQ(count_timer_interrupts(0x31, 50, 1), 1);
    CHECK_EQ(rd(TIMER_CURRENT), 100);
    CHECK_EQ(count_timer_interrupts(0x31, 100, 3), 3);
    /* to TSC-deadline mode: disarmed (SDM 3A 11.5.4.1) */
    wr(LVT_TIMER, (2u << 17) | 0x31);
    CHECK_EQ(rd(TIMER_CURRENT), 0);
    CHECK_EQ(count_timer_interrupts(0x31, 100, 10), 0);
}

/* IA32_TSC_ADJUST (SDM 3B 17.17.3): the CPU's TSC runs ahead of the
 * device clock's; a deadline is its TSC's value, compared with its TSC. */
TEST(lapic_tsc_deadline_with_tsc_adjust)
{
    setup_enabled();
    clock_set_tsc(&fake.clock, 2000000, 1000); /* 2 GHz, TSC 1000 at time 0 */
    wr(LVT_TIMER, TSC_DEADLINE | 0x33);
    lapic_set_tsc_adjust(&apic, 1000000); /* the CPU's TSC: the clock's + 1,000,000 */
    lapic_write_tsc_deadline(&apic, 1000 + 1000000 + 2000); /* the clock's TSC 3000: at 1000 ns */
    CHECK_EQ(lapic_read_tsc_deadline(&apic), 1003000);     /* reads back as written */
    fake_advance(999);
    CHECK_EQ(lapic_pending(&apic), -1);
    fake_advance(1);
    CHECK_EQ(take(), 0x33);
    wr(EOI, 0);

    /* a deadline passed for the adjusted TSC fires at once, though the
     * clock's TSC is far from it */
    lapic_write_tsc_deadline(&apic, 500000);
    CHECK_EQ(lapic_pending(&apic), 0x33);
    take();
    wr(EOI, 0);

    /* an armed deadline keeps its TSC value as the TSC moves: moved back,
     * it comes later; moved past it, it fires at once */
    u64 tsc = clock_ns_to_tsc(&fake.clock, clock_now(&fake.clock)) + 1000000;
    lapic_write_tsc_deadline(&apic, tsc + 2000); /* 1000 ns ahead */
    lapic_set_tsc_adjust(&apic, 1000000 - 2000); /* now 2000 ns ahead */
    fake_advance(1999);
    CHECK_EQ(lapic_pending(&apic), -1);
    fake_advance(1);
    CHECK_EQ(take(), 0x33);
    wr(EOI, 0);
    tsc = clock_ns_to_tsc(&fake.clock, clock_now(&fake.clock)) + 1000000 - 2000;
    lapic_write_tsc_deadline(&apic, tsc + 10000);
    CHECK_EQ(lapic_pending(&apic), -1);
    lapic_set_tsc_adjust(&apic, 1000000 - 2000 + 10000);
    CHECK_EQ(lapic_pending(&apic), 0x33);
    CHECK_EQ(lapic_read_tsc_deadline(&apic), 0); /* fired: cleared */
}

TEST(lapic_tsc_deadline_timer)
{
    setup_enabled();
    clock_set_tsc(&fake.clock, 2000000, 1000); /* 2 GHz, TSC 1000 at time 0 */
    wr(LVT_TIMER, 0x32);
    lapic_write_tsc_deadline(&apic, 5000); /* ignored outside TSC-deadline mode */
    CHECK_EQ(lapic_read_tsc_deadline(&apic), 0);

    wr(LVT_TIMER, TSC_DEADLINE | 0x32);
    wr(TIMER_INITIAL, 100); /* ignored in TSC-deadline mode */
    CHECK_EQ(rd(TIMER_INITIAL), 0);
    CHECK_EQ(rd(TIMER_CURRENT), 0);
    fake_advance(1000);
    lapic_write_tsc_deadline(&apic, 1000 + 12003); /* the TSC gets there at 6001.5 ns */
    CHECK_EQ(lapic_read_tsc_deadline(&apic), 13003);
    fake_advance(5001);
    CHECK_EQ(lapic_pending(&apic), -1); /* TSC 13002 at 6001 ns: not yet */
    fake_advance(1);
    CHECK_EQ(clock_ns_to_tsc(&fake.clock, clock_now(&fake.clock)), 13004);
    CHECK_EQ(take(), 0x32);
    wr(EOI, 0);
    CHECK_EQ(lapic_read_tsc_deadline(&apic), 0); /* fired: disarmed and cleared */
    CHECK_EQ(count_timer_interrupts(0x32, 10000, 3), 0);

    /* writing 0 disarms */
    lapic_write_tsc_deadline(&apic, clock_ns_to_tsc(&fake.clock, clock_now(&fake.clock)) + 100);
    CHECK(clock_next_deadline(&fake.clock) != DM_NEVER);
    lapic_write_tsc_deadline(&apic, 0);
    CHECK_EQ(clock_next_deadline(&fake.clock), DM_NEVER);
    CHECK_EQ(count_timer_interrupts(0x32, 1000, 3), 0);

    /* a deadline already passed interrupts at once */
    lapic_write_tsc_deadline(&apic, 1);
    CHECK_EQ(lapic_pending(&apic), 0x32);
    CHECK_EQ(lapic_read_tsc_deadline(&apic), 0);
    take();
    wr(EOI, 0);

    /* leaving TSC-deadline mode disarms */
    lapic_write_tsc_deadline(&apic, clock_ns_to_tsc(&fake.clock, clock_now(&fake.clock)) + 100);
    wr(LVT_TIMER, 0x32);
    CHECK_EQ(clock_next_deadline(&fake.clock), DM_NEVER);
    wr(LVT_TIMER, TSC_DEADLINE | 0x32);
    CHECK_EQ(lapic_read_tsc_deadline(&apic), 0);
}

TEST(lapic_extint_passes_in_virtual_wire_mode_and_when_disabled)
{
    setup_enabled();
    CHECK(!lapic_passes_extint(&apic));
    wr(LVT_LINT0, DM_EXTINT); /* virtual wire */
    CHECK(lapic_passes_extint(&apic));
    wr(LVT_LINT0, MASKED | DM_EXTINT);
    CHECK(!lapic_passes_extint(&apic));
    wr(LVT_LINT0, 0x20); /* fixed: the 8259 cannot reach the CPU */
    CHECK(!lapic_passes_extint(&apic));

    /* hardware-disabled: no MMIO, nothing delivered, INTR passes */
    fixed(0x40, false);
    CHECK(lapic_set_base(&apic, 0xfee00000 | (1u << 8)));
    CHECK(lapic_passes_extint(&apic));
    CHECK_EQ(rd(VERSION), 0xffffffff);
    CHECK_EQ(lapic_pending(&apic), -1);
    fixed(0x41, false);
    struct apic_message nmi = {.delivery_mode = APIC_DM_NMI};
    lapic_deliver(&apic, &nmi);
    CHECK(!lapic_take_nmi(&apic));

    /* enabled again: back as after RESET */
    CHECK(lapic_set_base(&apic, 0xfee00000 | (1u << 11)));
    CHECK_EQ(lapic_get_base(&apic), 0xfee00000 | (1u << 11) | (1u << 8)); /* BSP is read-only */
    CHECK_EQ(rd(VERSION), 0x00050014);
    CHECK_EQ(rd(SVR), 0xff);
    CHECK_EQ(rd(LVT_LINT0), MASKED);
    CHECK(!bank_bit(IRR, 0x40) && !bank_bit(IRR, 0x41));
    CHECK(!lapic_passes_extint(&apic));

    /* an ExtINT message is recorded for the core */
    wr(SVR, ENABLE | 0xff);
    struct apic_message extint = {.delivery_mode = APIC_DM_EXTINT};
    lapic_deliver(&apic, &extint);
    CHECK(lapic_take_extint(&apic));
    CHECK(!lapic_take_extint(&apic));
}

TEST(lapic_base_msr_moves_the_page_and_refuses_reserved_bits)
{
    setup_enabled();
    wr(TPR, 0x20);
    CHECK(lapic_set_base(&apic, 0xfed00000 | (1u << 11) | (1u << 8)));
    CHECK_EQ(lapic_get_base(&apic), 0xfed00000 | (1u << 11) | (1u << 8));
    CHECK_EQ(rd(VERSION), 0xffffffff); /* nothing at the old page */
    CHECK_EQ(bus_mmio_read(&fake.bus, 0xfed00000 + VERSION, 4), 0x00050014);
    CHECK_EQ(bus_mmio_read(&fake.bus, 0xfed00000 + TPR, 4), 0x20); /* state kept */

    apic.x2apic_offered = false; /* EXTD is reserved without x2APIC (11.12.1) */
    CHECK(!lapic_set_base(&apic, 0xfee00000 | (1u << 11) | (1u << 10)));
    apic.x2apic_offered = true;
    CHECK(!lapic_set_base(&apic, 0xfee00000 | (1u << 11) | 1));        /* reserved */
    CHECK(!lapic_set_base(&apic, 0xfee00000 | (1u << 11) | (1ull << 60)));
    apic.maxphyaddr = 36;
    CHECK(!lapic_set_base(&apic, (1ull << 40) | (1u << 11)));
    CHECK_EQ(lapic_get_base(&apic), 0xfed00000 | (1u << 11) | (1u << 8));

    lapic_reset(&apic); /* RESET puts it back */
    CHECK_EQ(lapic_get_base(&apic), 0xfee00000 | (1u << 11) | (1u << 8));
    CHECK_EQ(rd(VERSION), 0x00050014);
    CHECK_EQ(bus_mmio_read(&fake.bus, 0xfed00000 + VERSION, 4), 0xffffffff);
}

TEST(lapic_nmi_via_lint1)
{
    setup_enabled();
    lapic_set_lint(&apic, 1, true); /* masked: ignored */
    CHECK(!lapic_take_nmi(&apic));
    lapic_set_lint(&apic, 1, false);
    wr(LVT_LINT1, DM_NMI);
    lapic_set_lint(&apic, 1, true);
    CHECK(lapic_take_nmi(&apic));
    CHECK(!lapic_take_nmi(&apic)); /* consumed */
    lapic_set_lint(&apic, 1, true); /* held: no new edge */
    CHECK(!lapic_take_nmi(&apic));
    lapic_set_lint(&apic, 1, false);
    lapic_set_lint(&apic, 1, true);
    CHECK(lapic_take_nmi(&apic));
    CHECK_EQ(lapic_pending(&apic), -1); /* NMIs bypass the IRR */

    /* hardware-disabled, LINT1 is the NMI pin */
    lapic_set_lint(&apic, 1, false);
    CHECK(lapic_set_base(&apic, 0xfee00000));
    lapic_set_lint(&apic, 1, true);
    CHECK(lapic_take_nmi(&apic));
    lapic_set_lint(&apic, 1, true); /* edges only */
    CHECK(!lapic_take_nmi(&apic));
}

TEST(lapic_lint0_level_fixed_waits_for_eoi)
{
    setup_enabled();
    lapic_set_lint(&apic, 0, true);
    wr(LVT_LINT0, LEVEL | 0x66); /* unmasking an asserted level input */
    CHECK_EQ(rd(LVT_LINT0), REMOTE_IRR | LEVEL | 0x66);
    CHECK(bank_bit(TMR, 0x66));
    CHECK_EQ(take(), 0x66);
    wr(EOI, 0); /* still asserted: again */
    CHECK_EQ(broadcasts, 1);
    CHECK_EQ(take(), 0x66);
    lapic_set_lint(&apic, 0, false);
    wr(EOI, 0);
    CHECK_EQ(rd(LVT_LINT0), LEVEL | 0x66);
    CHECK_EQ(lapic_pending(&apic), -1);
}

TEST(lapic_partial_and_unaligned_accesses)
{
    setup_enabled();
    CHECK_EQ(bus_mmio_read(&fake.bus, BASE + VERSION + 2, 1), 0x05);
    CHECK_EQ(bus_mmio_read(&fake.bus, BASE + VERSION, 2), 0x0014);
    CHECK_EQ(bus_mmio_read(&fake.bus, BASE + VERSION, 8), 0x00050014); /* bytes 4-7 read 0 */
    wr(TPR, 0x20);
    bus_mmio_write(&fake.bus, BASE + TPR, 1, 0x30); /* not 32 bits: dropped */
    bus_mmio_write(&fake.bus, BASE + TPR + 4, 4, 0x30);
    bus_mmio_write(&fake.bus, BASE + TPR, 8, 0x30);
    CHECK_EQ(rd(TPR), 0x20);
    wr(VERSION, 0); /* read-only */
    CHECK_EQ(rd(VERSION), 0x00050014);
    wr(ID, 0xffffffff);
    CHECK_EQ(rd(ID), 0xff000000);
    wr(DFR, 0x0);
    CHECK_EQ(rd(DFR), 0x0fffffff); /* cluster model; 27:0 read as ones */
}

TEST(lapic_init_and_startup_messages_are_recorded)
{
    setup(false);
    struct apic_message init = {.delivery_mode = APIC_DM_INIT};
    struct apic_message sipi = {.vector = 0x9a, .delivery_mode = APIC_DM_STARTUP};
    CHECK_EQ(lapic_take_sipi(&apic), -1);
    lapic_deliver(&apic, &init); /* answered while software-disabled */
    lapic_deliver(&apic, &sipi);
    CHECK(lapic_take_init(&apic));
    CHECK(!lapic_take_init(&apic));
    CHECK_EQ(lapic_take_sipi(&apic), 0x9a);
    CHECK_EQ(lapic_take_sipi(&apic), -1);
}

TEST(lapic_matches_destinations)
{
    setup(true);
    CHECK(lapic_matches_dest(&apic, false, APIC_ID));
    CHECK(lapic_matches_dest(&apic, false, 0xff));
    CHECK(!lapic_matches_dest(&apic, false, APIC_ID + 1));
    wr(LDR, 0x21000000);
    CHECK(lapic_matches_dest(&apic, true, 0x01)); /* flat: any common bit */
    CHECK(!lapic_matches_dest(&apic, true, 0x02));
    wr(DFR, 0x0fffffff); /* cluster: cluster 2, member bit 0 */
    CHECK(lapic_matches_dest(&apic, true, 0x23));
    CHECK(!lapic_matches_dest(&apic, true, 0x13));
    CHECK(!lapic_matches_dest(&apic, true, 0x22));
}

TEST(lapic_masked_periodic_timer_arms_nothing)
{
    setup_enabled();
    wr(TIMER_DIVIDE, 0xb); /* 1 ns per count */
    wr(LVT_TIMER, MASKED | PERIODIC | 0x31);
    wr(TIMER_INITIAL, 100);
    CHECK_EQ(clock_next_deadline(&fake.clock), DM_NEVER); /* no timer at its rate */
    fake_advance(1030);
    CHECK_EQ(rd(TIMER_CURRENT), 70);                       /* counting in phase */
    CHECK_EQ(lapic_pending(&apic), -1);
    wr(LVT_TIMER, PERIODIC | 0x31);                        /* unmasked: ticks on in phase */
    CHECK_EQ(clock_next_deadline(&fake.clock), 1100);
    CHECK_EQ(count_timer_interrupts(0x31, 70, 1), 1);
    wr(SVR, 0xff);                                         /* software-disabled masks it again */
    CHECK_EQ(clock_next_deadline(&fake.clock), DM_NEVER);
}

TEST(lapic_tpr_is_cr8_and_the_threshold_says_what_waits)
{
    setup_enabled();
    lapic_set_tpr(&apic, 0x50);
    CHECK_EQ(rd(TPR), 0x50);
    wr(TPR, 0x9c);
    CHECK_EQ(lapic_get_tpr(&apic), 0x9c);
    CHECK_EQ(lapic_tpr_threshold(&apic), 0);  /* nothing requested */
    fixed(0x45, false);                        /* class 4 under TPR class 9: only the TPR holds it */
    CHECK_EQ(lapic_pending(&apic), -1);
    CHECK_EQ(lapic_tpr_threshold(&apic), 4);
    lapic_set_tpr(&apic, 0x30);                /* CR8 = 3 */
    CHECK_EQ(lapic_tpr_threshold(&apic), 0);
    CHECK_EQ(take(), 0x45);
    fixed(0x46, false);                        /* the in-service 45h holds it, not the TPR */
    CHECK_EQ(lapic_pending(&apic), -1);
    CHECK_EQ(lapic_tpr_threshold(&apic), 0);
}

/* ---- on a system bus (SMP: devmodel/pc.c routes) ---- */

static struct {
    unsigned sends, signals;
    struct apic_message last;
    unsigned shorthand;
    struct lapic *from, *signalled;
    u64 claimed, released; /* the last page claimed and given back */
} sys;

static void sys_send(void *ctx, struct lapic *from, const struct apic_message *m, unsigned shorthand)
{
    (void)ctx;
    sys.sends++;
    sys.last = *m;
    sys.shorthand = shorthand;
    sys.from = from;
}

static void sys_signal(void *ctx, struct lapic *to)
{
    (void)ctx;
    sys.signals++;
    sys.signalled = to;
}

static bool sys_claim(void *ctx, u64 base)
{
    (void)ctx;
    sys.claimed = base;
    return true;
}

static void sys_release(void *ctx, u64 base)
{
    (void)ctx;
    sys.released = base;
}

static const struct lapic_system_bus system_bus = {sys_send, sys_signal, sys_claim, sys_release, NULL};

/* The page is the platform's: the APIC claims nothing on the bus, and
 * answers through lapic_page_read/_write. */
static void setup_on_bus(void)
{
    struct dm_env *env = fake_env_reset();
    memset(&apic, 0, sizeof(apic));
    memset(&sys, 0, sizeof(sys));
    lapic_init_on_bus(&apic, env, APIC_ID, false, on_eoi_broadcast, NULL, &system_bus, 5);
}

/* ~0 when the APIC does not answer at the address. */
static u32 page_rd(u32 off)
{
    u64 v = 0;
    return lapic_page_read(&apic, BASE + off, 4, &v) ? (u32)v : ~0u;
}

static void page_wr(u32 off, u32 v) { lapic_page_write(&apic, BASE + off, 4, v); }

TEST(lapic_on_bus_leaves_the_page_to_the_platform)
{
    setup_on_bus();
    CHECK_EQ(rd(ID), 0xffffffffu); /* nothing claimed on the bus */
    CHECK_EQ(page_rd(ID), (u32)APIC_ID << 24);
    CHECK_EQ(apic.index, 5);
}

/* IA32_APIC_BASE moves the page (SDM 3A 11.4.5): the platform is asked
 * for the new one and given back the old, and the APIC answers only at
 * the new one. */
TEST(lapic_on_bus_moves_its_page)
{
    setup_on_bus();
    CHECK_EQ(sys.claimed, (u64)BASE);
    CHECK(lapic_set_base(&apic, 0xfed40000ull | (1u << 11)));
    CHECK_EQ(sys.claimed, 0xfed40000ull);
    CHECK_EQ(sys.released, (u64)BASE);
    CHECK_EQ(page_rd(ID), 0xffffffffu);
    u64 v = 0;
    CHECK(lapic_page_read(&apic, 0xfed40000ull + ID, 4, &v));
    CHECK_EQ(v, (u64)APIC_ID << 24);
}

/* Every ICR send goes to the platform with its shorthand (SDM 3A 11.6.1);
 * SMI and self with a mode other than fixed are refused here (Table
 * 11-3), a level de-assert does nothing. */
TEST(lapic_on_bus_icr_goes_to_the_platform)
{
    setup_on_bus();
    page_wr(SVR, ENABLE | 0xff);
    page_wr(ICR_HI, 2u << 24);
    page_wr(ICR_LO, 0x4000 | 0x41); /* fixed, physical, to APIC ID 2 */
    CHECK_EQ(sys.sends, 1);
    CHECK_EQ(sys.last.vector, 0x41);
    CHECK_EQ(sys.last.delivery_mode, APIC_DM_FIXED);
    CHECK_EQ(sys.last.dest, 2);
    CHECK(!sys.last.logical);
    CHECK_EQ(sys.shorthand, LAPIC_SHORTHAND_NONE);
    CHECK(sys.from == &apic);
    page_wr(ICR_LO, 0x4000 | (1u << 11) | (3u << 18) | 0x42); /* all excluding self, logical */
    CHECK_EQ(sys.sends, 2);
    CHECK_EQ(sys.shorthand, LAPIC_SHORTHAND_ALL_EXCLUDING_SELF);
    CHECK(sys.last.logical);
    page_wr(ICR_LO, 0x4500); /* INIT */
    page_wr(ICR_LO, 0x4608); /* start-up, vector 08h */
    CHECK_EQ(sys.sends, 4);
    CHECK_EQ(sys.last.delivery_mode, APIC_DM_STARTUP);
    CHECK_EQ(sys.last.vector, 8);
    page_wr(ICR_LO, 0x4200);                /* SMI: refused */
    page_wr(ICR_LO, 0x4400 | (1u << 18));   /* NMI to self: refused */
    page_wr(ICR_LO, 0x8500);                /* INIT level de-assert */
    CHECK_EQ(sys.sends, 4);
}

/* What the CPU must look at makes the APIC signal the platform: an IRR
 * bit, NMI, INIT, start-up; a refused vector does not. */
TEST(lapic_on_bus_signals_what_arrives)
{
    setup_on_bus();
    page_wr(SVR, ENABLE | 0xff);
    fixed(0x50, false);
    CHECK_EQ(sys.signals, 1);
    CHECK(sys.signalled == &apic);
    struct apic_message init = {.delivery_mode = APIC_DM_INIT};
    lapic_deliver(&apic, &init);
    CHECK_EQ(sys.signals, 2);
    struct apic_message sipi = {.vector = 9, .delivery_mode = APIC_DM_STARTUP};
    lapic_deliver(&apic, &sipi);
    CHECK_EQ(sys.signals, 3);
    struct apic_message smi = {.delivery_mode = APIC_DM_SMI};
    lapic_deliver(&apic, &smi);
    CHECK_EQ(sys.signals, 3);
    /* INIT resets the registers but keeps a start-up IPI that waits */
    CHECK(lapic_take_init(&apic));
    lapic_init_ipi(&apic);
    CHECK_EQ(page_rd(SVR) & ENABLE, 0);
    CHECK_EQ(lapic_take_sipi(&apic), 9);
}

/* ---- x2APIC mode (SDM 3A 11.12) ---- */

#define EN (1u << 11)
#define EXTD (1u << 10)
#define MSR(off) (0x800u + ((off) >> 4))
#define SELF_IPI 0x83fu

static void to_x2apic(void)
{
    CHECK(lapic_set_base(&apic, BASE | EN | EXTD));
    CHECK(lapic_x2apic_mode(&apic));
}

/* The MSR's value; a read that faults gives a value no register has. */
static u64 msr_rd(u32 msr)
{
    u64 v;
    return lapic_msr_read(&apic, msr, &v) ? v : 0xfa17ull << 40;
}

/* 11.12.5, Figure 11-27: xAPIC to x2APIC, out of x2APIC only through
 * disabled; EN = 0 with EXTD = 1 is invalid; disabled to x2APIC faults. */
TEST(lapic_x2apic_mode_transitions)
{
    setup_enabled();
    u64 v;
    CHECK(!lapic_msr_read(&apic, MSR(VERSION), &v)); /* xAPIC mode: the MSRs fault */
    CHECK(!lapic_msr_write(&apic, MSR(TPR), 0));
    CHECK(!lapic_set_base(&apic, BASE | EXTD));          /* invalid state */
    wr(TPR, 0x30);
    to_x2apic();
    CHECK_EQ(rd(VERSION), 0xffffffffu);                  /* the page no longer answers */
    CHECK_EQ(msr_rd(MSR(TPR)), 0x30);                    /* registers carry over */
    CHECK_EQ(msr_rd(MSR(VERSION)), 0x00050014);
    CHECK(!lapic_set_base(&apic, BASE | EN));            /* x2APIC -> xAPIC: #GP */
    CHECK(!lapic_set_base(&apic, BASE | EXTD));          /* invalid */
    CHECK(lapic_set_base(&apic, BASE | EN | EXTD | 0x1000)); /* the base moves nothing in x2APIC mode */
    CHECK_EQ(rd(VERSION), 0xffffffffu);
    CHECK(lapic_set_base(&apic, BASE));                  /* x2APIC -> disabled */
    CHECK(!lapic_x2apic_mode(&apic));
    CHECK(!lapic_set_base(&apic, BASE | EN | EXTD));     /* disabled -> x2APIC: #GP */
    CHECK(lapic_set_base(&apic, BASE | EN));             /* disabled -> xAPIC */
    CHECK_EQ(rd(VERSION), 0x00050014);                   /* the page is back, registers reset */
    CHECK_EQ(rd(TPR), 0);
    to_x2apic();
    lapic_reset(&apic);                                  /* RESET: xAPIC mode */
    CHECK(!lapic_x2apic_mode(&apic));
    CHECK_EQ(rd(VERSION), 0x00050014);
}

/* 11.12.5.1 and 11.12.10.2: the 32-bit x2APIC ID is the initial APIC ID;
 * the LDR is read-only, cluster ID[19:4] in 31:16, 1 << ID[3:0] below;
 * INIT keeps x2APIC mode and the LDR. */
TEST(lapic_x2apic_id_and_ldr)
{
    setup_enabled();
    wr(ID, 0x7u << 24); /* an xAPIC ID the guest wrote: x2APIC mode ignores it */
    to_x2apic();
    CHECK_EQ(msr_rd(MSR(ID)), APIC_ID);
    CHECK_EQ(msr_rd(MSR(LDR)), 1u << APIC_ID);
    CHECK(!lapic_msr_write(&apic, MSR(LDR), 0x10001)); /* read-only */
    CHECK(!lapic_msr_write(&apic, MSR(ID), 0));
    u64 v;
    CHECK(!lapic_msr_read(&apic, MSR(DFR), &v));       /* no DFR (80EH) */
    CHECK(!lapic_msr_read(&apic, 0x831, &v));          /* no ICR high */
    CHECK(!lapic_msr_read(&apic, MSR(APR), &v));       /* no APR */
    CHECK(!lapic_msr_read(&apic, 0x8ff, &v));
    lapic_init_ipi(&apic);
    CHECK(lapic_x2apic_mode(&apic));
    CHECK_EQ(msr_rd(MSR(LDR)), 1u << APIC_ID);

    struct dm_env *env = fake_env_reset();
    memset(&apic, 0, sizeof(apic));
    lapic_init(&apic, env, 0x25, true, NULL, NULL);
    to_x2apic();
    CHECK_EQ(msr_rd(MSR(ID)), 0x25);
    CHECK_EQ(msr_rd(MSR(LDR)), (2u << 16) | (1u << 5));
}

/* Table 11-6 and 11.12.1.3: write-only, read-only, reserved bits. */
TEST(lapic_x2apic_msr_faults)
{
    setup_enabled();
    to_x2apic();
    u64 v;
    CHECK(!lapic_msr_read(&apic, MSR(EOI), &v));        /* write-only */
    CHECK(!lapic_msr_read(&apic, SELF_IPI, &v));
    CHECK(!lapic_msr_write(&apic, MSR(PPR), 0));        /* read-only */
    CHECK(!lapic_msr_write(&apic, MSR(VERSION), 0));
    CHECK(!lapic_msr_write(&apic, MSR(IRR), 0));
    CHECK(!lapic_msr_write(&apic, MSR(TIMER_CURRENT), 0));
    CHECK(!lapic_msr_write(&apic, MSR(EOI), 1));        /* non-zero EOI */
    CHECK(!lapic_msr_write(&apic, MSR(ESR), 1));        /* non-zero ESR */
    CHECK(!lapic_msr_write(&apic, MSR(TPR), 0x100));    /* reserved bits */
    CHECK(!lapic_msr_write(&apic, MSR(TPR), 1ull << 32));
    CHECK(!lapic_msr_write(&apic, MSR(SVR), 1u << 12)); /* no EOI-broadcast suppression */
    CHECK(!lapic_msr_write(&apic, MSR(TIMER_DIVIDE), 4));
    CHECK(!lapic_msr_write(&apic, MSR(LVT_TIMER), 1u << 20));
    CHECK(!lapic_msr_write(&apic, MSR(ICR_LO), 1u << 13));
    CHECK(!lapic_msr_write(&apic, SELF_IPI, 0x100));
    CHECK(!lapic_msr_write(&apic, MSR(DFR), 0));
    CHECK(lapic_msr_write(&apic, MSR(TPR), 0x40));
    CHECK_EQ(msr_rd(MSR(TPR)), 0x40);
    CHECK(lapic_msr_write(&apic, MSR(ESR), 0));
    CHECK(lapic_msr_write(&apic, MSR(LVT_LINT0), MASKED | 0x700));
    CHECK_EQ(msr_rd(MSR(LVT_LINT0)), MASKED | 0x700);
    CHECK(lapic_msr_write(&apic, MSR(TIMER_INITIAL), 1000));
    CHECK_EQ(msr_rd(MSR(TIMER_INITIAL)), 1000);
    CHECK(msr_rd(MSR(TIMER_CURRENT)) <= 1000);
}

/* SELF IPI (11.12.11) and EOI by MSR. */
TEST(lapic_x2apic_self_ipi_and_eoi)
{
    setup_enabled();
    to_x2apic();
    CHECK(lapic_msr_write(&apic, SELF_IPI, 0x61));
    CHECK_EQ(msr_rd(MSR(IRR) + 3), 1u << 1);
    CHECK_EQ(lapic_pending(&apic), 0x61);
    lapic_ack(&apic, 0x61);
    CHECK_EQ(msr_rd(MSR(ISR) + 3), 1u << 1);
    CHECK_EQ(msr_rd(MSR(PPR)), 0x60);
    CHECK(lapic_msr_write(&apic, MSR(EOI), 0));
    CHECK_EQ(msr_rd(MSR(ISR) + 3), 0);
    CHECK(lapic_msr_write(&apic, SELF_IPI, 5)); /* illegal vector: the ESR says so */
    CHECK_EQ(lapic_pending(&apic), -1);
    CHECK(lapic_msr_write(&apic, MSR(ESR), 0));
    CHECK(msr_rd(MSR(ESR)) & (1u << 5));
}

/* The ICR: one 64-bit MSR, destination in 63:32, the write sends. */
TEST(lapic_x2apic_icr_is_one_64bit_msr)
{
    setup_on_bus();
    page_wr(SVR, ENABLE | 0xff);
    to_x2apic();
    CHECK(lapic_msr_write(&apic, MSR(ICR_LO), (0x12345ull << 32) | 0x4000 | (1u << 11) | 0x51));
    CHECK_EQ(sys.sends, 1);
    CHECK_EQ(sys.last.dest, 0x12345);
    CHECK(sys.last.wide);
    CHECK(sys.last.logical);
    CHECK_EQ(sys.last.vector, 0x51);
    CHECK_EQ(msr_rd(MSR(ICR_LO)), (0x12345ull << 32) | 0x4000 | (1u << 11) | 0x51);
    CHECK(lapic_msr_write(&apic, MSR(ICR_LO), 0x400 | (3u << 18))); /* NMI all-but-self */
    CHECK_EQ(sys.sends, 2);
    CHECK_EQ(sys.shorthand, LAPIC_SHORTHAND_ALL_EXCLUDING_SELF);
    CHECK_EQ(sys.last.delivery_mode, APIC_DM_NMI);
    CHECK_EQ(page_rd(ID), ~0u); /* the page does not answer */
}

/* Destinations seen by an x2APIC (11.12.9, 11.12.10.2): physical by the
 * 32-bit ID, logical by cluster and mask, FFFF_FFFFh broadcast; an 8-bit
 * message (I/O APIC) as the same value zero-extended, FFh broadcast. */
TEST(lapic_x2apic_destinations)
{
    struct dm_env *env = fake_env_reset();
    memset(&apic, 0, sizeof(apic));
    lapic_init(&apic, env, 0x13, true, NULL, NULL); /* cluster 1, bit 3 */
    to_x2apic();
    struct apic_message m = {.wide = true, .dest = 0x13};
    CHECK(lapic_accepts(&apic, &m));
    m.dest = 0x113;
    CHECK(!lapic_accepts(&apic, &m));
    m.dest = 0xffffffff;
    CHECK(lapic_accepts(&apic, &m));
    m.dest = 0xff;
    CHECK(!lapic_accepts(&apic, &m)); /* FFh is an ID for a 32-bit destination */
    m = (struct apic_message){.wide = true, .logical = true, .dest = (1u << 16) | 0x8};
    CHECK(lapic_accepts(&apic, &m));
    m.dest = (1u << 16) | 0x7;
    CHECK(!lapic_accepts(&apic, &m));
    m.dest = (2u << 16) | 0x8;
    CHECK(!lapic_accepts(&apic, &m));
    m.dest = 0xffffffff;
    CHECK(lapic_accepts(&apic, &m));
    CHECK(lapic_matches_dest(&apic, false, 0x13)); /* 8-bit, physical */
    CHECK(lapic_matches_dest(&apic, false, 0xff));
    CHECK(!lapic_matches_dest(&apic, true, 0x08)); /* 8-bit logical: cluster 0 */
}

/* In x2APIC mode the MMIO page is gone: the ISR as the model keeps it. */
static bool in_service(u8 v) { return apic.isr[v / 32] & (1u << (v % 32)); }

/* The fast way's x2APIC EOI (vcpu_fast_exit): it ends an edge-triggered
 * interrupt, or nothing, while no other is requested, exactly as
 * lapic_msr_write's EOI; anything else it declines having changed nothing. */
TEST(lapic_x2apic_quiet_eoi)
{
    setup_enabled();
    CHECK(!lapic_x2apic_quiet_eoi(&apic)); /* xAPIC mode: not an x2APIC EOI */
    to_x2apic();
    CHECK(lapic_x2apic_quiet_eoi(&apic)); /* nothing in service: does nothing */
    fixed(0x61, false);
    fixed(0x52, false);
    CHECK_EQ(take(), 0x61);
    /* 0x52 is requested: the EOI lets it through (PPR drops): the full way */
    CHECK(!lapic_x2apic_quiet_eoi(&apic));
    CHECK(in_service(0x61));
    CHECK_EQ(lapic_pending(&apic), -1);
    CHECK(lapic_msr_write(&apic, MSR(EOI), 0));
    CHECK_EQ(take(), 0x52);
    /* nothing requested: the EOI of 0x52 is quiet, and ends it */
    CHECK(lapic_x2apic_quiet_eoi(&apic));
    CHECK(!in_service(0x52));
    /* a level-triggered one goes to the I/O APICs: the full way */
    fixed(0x70, true);
    CHECK_EQ(take(), 0x70);
    CHECK(!lapic_x2apic_quiet_eoi(&apic));
    CHECK(in_service(0x70));
    CHECK_EQ(broadcasts, 0);
    CHECK(lapic_msr_write(&apic, MSR(EOI), 0));
    CHECK_EQ(broadcasts, 1);
    CHECK(!in_service(0x70));
}

/* The fast way's xAPIC EOI (fast_mmio_write): a doubleword write at the
 * EOI register of this APIC's page, quiet as the x2APIC one; anything
 * else (another offset or size, the page moved, x2APIC mode) declines
 * having changed nothing. */
TEST(lapic_xapic_quiet_eoi)
{
    setup_enabled();
    CHECK(lapic_xapic_quiet_eoi(&apic, BASE + EOI, 4)); /* nothing in service: does nothing */
    fixed(0x61, false);
    CHECK_EQ(take(), 0x61);
    CHECK(!lapic_xapic_quiet_eoi(&apic, BASE + EOI, 2));     /* not a doubleword: the MMIO write drops it */
    CHECK(!lapic_xapic_quiet_eoi(&apic, BASE + EOI + 4, 4)); /* not the register */
    CHECK(!lapic_xapic_quiet_eoi(&apic, BASE + 0x1000 + EOI, 4));
    CHECK(in_service(0x61));
    fixed(0x52, false); /* requested: the EOI lets it through, the full way */
    CHECK(!lapic_xapic_quiet_eoi(&apic, BASE + EOI, 4));
    CHECK(in_service(0x61));
    wr(EOI, 0);
    CHECK_EQ(take(), 0x52);
    CHECK(lapic_xapic_quiet_eoi(&apic, BASE + EOI, 4));
    CHECK(!in_service(0x52));
    fixed(0x70, true); /* level-triggered: the I/O APICs hear of it, the full way */
    CHECK_EQ(take(), 0x70);
    CHECK(!lapic_xapic_quiet_eoi(&apic, BASE + EOI, 4));
    CHECK(in_service(0x70));
    wr(EOI, 0);
    CHECK(!in_service(0x70));
    /* the page moved: the EOI register is at the new base */
    CHECK(lapic_set_base(&apic, (BASE + 0x10000) | EN));
    fixed(0x61, false);
    CHECK_EQ(take(), 0x61);
    CHECK(!lapic_xapic_quiet_eoi(&apic, BASE + EOI, 4));
    CHECK(lapic_xapic_quiet_eoi(&apic, BASE + 0x10000 + EOI, 4));
    CHECK(!in_service(0x61));
    CHECK(lapic_set_base(&apic, BASE | EN));
    to_x2apic(); /* no page in x2APIC mode */
    fixed(0x61, false);
    CHECK_EQ(take(), 0x61);
    CHECK(!lapic_xapic_quiet_eoi(&apic, BASE + EOI, 4));
    CHECK(in_service(0x61));
}

/* The fast way's timer count (fast_mmio_write): a doubleword write at the
 * initial-count register of this APIC's page is recognised by the same
 * rules as the EOI, and lapic_write_timer_count does what the MMIO write
 * does: the count starts again from the new value, 0 stops it. */
TEST(lapic_xapic_timer_count_fast_write)
{
    setup_enabled();
    CHECK(lapic_xapic_timer_count_at(&apic, BASE + TIMER_INITIAL, 4));
    CHECK(!lapic_xapic_timer_count_at(&apic, BASE + TIMER_INITIAL, 2));
    CHECK(!lapic_xapic_timer_count_at(&apic, BASE + TIMER_INITIAL + 4, 4));
    CHECK(!lapic_xapic_timer_count_at(&apic, BASE + EOI, 4));
    wr(LVT_TIMER, 0x30); /* one-shot, unmasked */
    lapic_write_timer_count(&apic, 1000);
    CHECK_EQ(rd(TIMER_INITIAL), 1000);
    CHECK(clock_next_deadline(&fake.clock) != DM_NEVER);
    lapic_write_timer_count(&apic, 0);
    CHECK_EQ(rd(TIMER_INITIAL), 0);
    CHECK_EQ(clock_next_deadline(&fake.clock), DM_NEVER);
    to_x2apic(); /* no page in x2APIC mode */
    CHECK(!lapic_xapic_timer_count_at(&apic, BASE + TIMER_INITIAL, 4));
}
