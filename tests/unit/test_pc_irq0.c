/* unit-sources: devmodel/pc.c devmodel/pic.c devmodel/pit.c devmodel/ioapic.c devmodel/lapic.c devmodel/uart.c devmodel/rtc.c devmodel/kbc.c devmodel/acpi_pm.c devmodel/sysctl.c devmodel/ide.c devmodel/fw_cfg.c devmodel/pci.c devmodel/piix.c devmodel/debugcon.c devmodel/bus.c devmodel/clock.c vmm/format.c vmm/string.c */
/* The whole PC's side of the PIT's reinject policy (pc_gate_timers):
 * where IRQ0's last tick waits for the guest (the 8259's IRR and ISR, or
 * the local APIC's for the I/O APIC pin's vector), that the guest's EOI
 * releases the next owed tick at once, and that a masked IRQ0 mutes the
 * ticks and owes nothing. The core's side (INTA, EOI) is called by hand,
 * as the run loop does. */
#include "unit.h"
#include "../../devmodel/pc.h"

#define PIT_100HZ 11932
#define IRQ0_PIC_VECTOR 0x20
#define IRQ0_APIC_VECTOR 0x30
#define LAPIC 0xfee00000ull

static struct pc pc;
static unsigned char ram[1 << 16];

static bool ram_read(void *ctx, u64 gpa, void *buf, size_t len)
{
    (void)ctx;
    if (gpa >= sizeof(ram) || len > sizeof(ram) - gpa)
        return false;
    memcpy(buf, ram + gpa, len);
    return true;
}

static bool ram_write(void *ctx, u64 gpa, const void *buf, size_t len)
{
    (void)ctx;
    if (gpa >= sizeof(ram) || len > sizeof(ram) - gpa)
        return false;
    memcpy(ram + gpa, buf, len);
    return true;
}

static const struct dm_memory mem = {ram_read, ram_write, NULL};

static bool setup(enum pc_kind kind)
{
    static struct pc_config cfg;
    char why[128];
    memset(&cfg, 0, sizeof(cfg));
    cfg.kind = kind;
    cfg.ram_size = sizeof(ram);
    cfg.cpus = 1;
    memset(&pc, 0, sizeof(pc));
    return pc_init(&pc, &mem, &cfg, why, sizeof(why));
}

static void outb(u16 port, u8 v) { bus_io_write(&pc.bus, port, 1, v); }
static void mmio_write32(u64 addr, u32 v) { bus_mmio_write(&pc.bus, addr, 4, v); }

/* The PC/AT's 8259 setup (ICW1-ICW4) with IRQ0 at vector 20h, only IRQ0
 * unmasked; PIT counter 0 in mode 2 at 100 Hz. */
static void program_pic_and_pit(u8 master_mask)
{
    static const u8 icw[2][4] = {{0x11, IRQ0_PIC_VECTOR, 0x04, 0x01}, {0x11, IRQ0_PIC_VECTOR + 8, 0x02, 0x01}};
    for (unsigned c = 0; c < 2; c++) {
        u16 base = c ? 0xa0 : 0x20;
        outb(base, icw[c][0]);
        for (unsigned i = 1; i < 4; i++)
            outb((u16)(base + 1), icw[c][i]);
    }
    outb(0x21, master_mask);
    outb(0xa1, 0xff);
    outb(0x43, 0x34);
    outb(0x40, PIT_100HZ & 0xff);
    outb(0x40, PIT_100HZ >> 8);
}

static u64 period_edge_ns(u64 k) { return ((1 + PIT_100HZ * k) * 1000000000ull + PIT_HZ - 1) / PIT_HZ; }
static u64 raised(void) { return pc.pit.ch[0].tick.ticks; }

/* A guest that handles IRQ0 and EOIs it: INTA, the gate the run loop
 * looks through after the delivery (the tick in service: the next one
 * waits), the EOI (through the APIC one the run loop must see, never a
 * quiet one), the gate again. TOOK_RELEASED if the EOI released the next
 * tick at once, TOOK if not, WRONG if a step went otherwise. */
enum take { WRONG, TOOK, TOOK_RELEASED };

static enum take take_irq0(int vector, bool through_apic)
{
    /* The delivery's look: where it comes from (the APIC's vector, or the
     * 8259s through LINT0), then INTA for what it found. */
    int source = pc_interrupt_source(&pc, 0);
    if (!pc_interrupt_pending(&pc, 0) || source != (through_apic ? vector : PC_INTERRUPT_FROM_PIC) ||
        pc_interrupt_take(&pc, 0, source) != vector || pc_gate_timers(&pc))
        return WRONG;
    if (through_apic) {
        if (lapic_xapic_quiet_eoi(&pc.lapic[0], LAPIC + 0xb0, 4))
            return WRONG;
        mmio_write32(LAPIC + 0xb0, 0);
    } else {
        outb(0x20, 0x20); /* non-specific EOI */
    }
    return pc_gate_timers(&pc) ? TOOK_RELEASED : TOOK;
}

/* 20.5 periods with interrupts off, then 20 ticks back to back, one per
 * EOI, at the same moment; then the regular rate. */
TEST(pc_irq0_through_8259_reinjects_on_eoi)
{
    CHECK(setup(PC_ISA));
    mmio_write32(LAPIC + 0xf0, 0x1ff);   /* SVR: enabled */
    mmio_write32(LAPIC + 0x350, 0x700);  /* LINT0: ExtINT, the 8259's virtual wire */
    program_pic_and_pit(0xfe);
    clock_advance(&pc.clock, period_edge_ns(1));
    CHECK_EQ(raised(), 1);
    CHECK(!pc_gate_timers(&pc));         /* waiting in IRR: held */
    CHECK(pc.pit.ch[0].tick.held);
    clock_advance(&pc.clock, period_edge_ns(21) + 5000000);
    CHECK_EQ(raised(), 1);               /* no timer ran while held */
    for (int i = 0; i < 20; i++)
        CHECK_EQ(take_irq0(IRQ0_PIC_VECTOR, false), TOOK_RELEASED);
    CHECK_EQ(raised(), 21);
    CHECK_EQ(take_irq0(IRQ0_PIC_VECTOR, false), TOOK); /* caught up */
    CHECK_EQ(raised(), 21);
    clock_advance(&pc.clock, period_edge_ns(22));
    CHECK_EQ(raised(), 22);
    CHECK_EQ(take_irq0(IRQ0_PIC_VECTOR, false), TOOK);
    clock_advance(&pc.clock, period_edge_ns(23));
    CHECK_EQ(raised(), 23);
}

/* Masked at the 8259 (and no I/O APIC): the tick latched in IRR mutes
 * the rest (no host timer, issue 12); unmasked, nothing is owed for the
 * time masked. */
TEST(pc_irq0_masked_owes_nothing)
{
    CHECK(setup(PC_ISA));
    mmio_write32(LAPIC + 0xf0, 0x1ff);
    mmio_write32(LAPIC + 0x350, 0x700);
    program_pic_and_pit(0xff);
    clock_advance(&pc.clock, period_edge_ns(1));
    CHECK_EQ(raised(), 1);
    CHECK(!pc_gate_timers(&pc));
    CHECK(pc.pit.ch[0].tick.muted);
    CHECK(!pc.pit.ch[0].tick.held);
    clock_advance(&pc.clock, period_edge_ns(50) + 5000000);
    CHECK_EQ(raised(), 1);
    outb(0x21, 0xfe);                    /* unmasked: the latched request goes */
    CHECK_EQ(take_irq0(IRQ0_PIC_VECTOR, false), TOOK);
    CHECK_EQ(raised(), 1);
    clock_advance(&pc.clock, period_edge_ns(51));
    CHECK_EQ(raised(), 2);
}

/* Linux's route: the 8259 masked, IRQ0 on I/O APIC pin 2 as a fixed
 * edge-triggered interrupt; the tick waits in the local APIC's IRR, then
 * ISR, and the EOI of its vector releases the next. */
TEST(pc_irq0_through_ioapic_reinjects_on_lapic_eoi)
{
    CHECK(setup(PC_PCI));
    mmio_write32(LAPIC + 0xf0, 0x1ff);
    program_pic_and_pit(0xff);
    mmio_write32(PC_IOAPIC_BASE, 0x10 + 2 * PC_IOAPIC_PIN_IRQ0 + 1);
    mmio_write32(PC_IOAPIC_BASE + 0x10, 0);          /* destination APIC 0 */
    mmio_write32(PC_IOAPIC_BASE, 0x10 + 2 * PC_IOAPIC_PIN_IRQ0);
    mmio_write32(PC_IOAPIC_BASE + 0x10, IRQ0_APIC_VECTOR); /* fixed, physical, edge, unmasked */
    CHECK(!pc_gate_timers(&pc));
    CHECK_EQ(pc.lapic[0].eoi_watch, IRQ0_APIC_VECTOR);
    clock_advance(&pc.clock, period_edge_ns(1));
    CHECK_EQ(raised(), 1);
    CHECK(!pc_gate_timers(&pc));
    CHECK(pc.pit.ch[0].tick.held);
    clock_advance(&pc.clock, period_edge_ns(11) + 5000000);
    for (int i = 0; i < 10; i++)
        CHECK_EQ(take_irq0(IRQ0_APIC_VECTOR, true), TOOK_RELEASED);
    CHECK_EQ(raised(), 11);
    CHECK_EQ(take_irq0(IRQ0_APIC_VECTOR, true), TOOK);
    CHECK_EQ(raised(), 11);
    /* masked at the pin too: muted, and no EOI is watched */
    mmio_write32(PC_IOAPIC_BASE, 0x10 + 2 * PC_IOAPIC_PIN_IRQ0);
    mmio_write32(PC_IOAPIC_BASE + 0x10, IRQ0_APIC_VECTOR | (1u << 16));
    clock_advance(&pc.clock, period_edge_ns(12));
    CHECK(!pc_gate_timers(&pc));
    CHECK(pc.pit.ch[0].tick.muted);     /* the 8259's IRR holds a pulse */
    CHECK_EQ(pc.lapic[0].eoi_watch, 0);
}
