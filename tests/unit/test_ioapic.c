/* unit-sources: devmodel/ioapic.c devmodel/bus.c devmodel/clock.c */
/* The I/O APIC through its MMIO window, as a guest programs it, with the
 * messages it sends recorded. */
#include "unit.h"
#include "dm_fake.h"
#include "../../devmodel/ioapic.h"

#define BASE IOAPIC_DEFAULT_BASE
#define MAX_SENT 16

static struct ioapic io;
static struct apic_message sent[MAX_SENT];
static unsigned nsent;

static void record(void *ctx, const struct apic_message *m)
{
    (void)ctx;
    if (nsent < MAX_SENT)
        sent[nsent] = *m;
    nsent++;
}

static void setup(void)
{
    struct dm_env *env = fake_env_reset();
    memset(&io, 0, sizeof(io));
    memset(sent, 0, sizeof(sent));
    nsent = 0;
    ioapic_init(&io, env, BASE, record, NULL);
}

static u32 reg_read(u32 reg)
{
    bus_mmio_write(&fake.bus, BASE + 0x00, 4, reg);
    return (u32)bus_mmio_read(&fake.bus, BASE + 0x10, 4);
}

static void reg_write(u32 reg, u32 value)
{
    bus_mmio_write(&fake.bus, BASE + 0x00, 4, reg);
    bus_mmio_write(&fake.bus, BASE + 0x10, 4, value);
}

static void set_entry(unsigned pin, u32 low, u8 dest)
{
    reg_write(0x11 + 2 * pin, (u32)dest << 24);
    reg_write(0x10 + 2 * pin, low);
}

#define MASKED (1u << 16)
#define LEVEL (1u << 15)
#define REMOTE_IRR (1u << 14)
#define ACTIVE_LOW (1u << 13)
#define LOGICAL (1u << 11)

TEST(ioapic_claims_its_page)
{
    struct dm_env *env = fake_env_reset();
    CHECK(ioapic_init(&io, env, BASE, record, NULL));
    CHECK(!ioapic_init(&io, env, BASE, record, NULL)); /* taken */
}

TEST(ioapic_id_version_arbitration)
{
    setup();
    CHECK_EQ(reg_read(0x01), 0x00170011); /* version 11H, max entry 23 */
    CHECK_EQ(reg_read(0x00), 0);
    reg_write(0x00, 0xffffffff);
    CHECK_EQ(reg_read(0x00), 0x0f000000); /* 4-bit ID in 27:24 */
    CHECK_EQ(reg_read(0x02), 0x0f000000); /* the arbitration ID follows */
    reg_write(0x01, 0);                   /* read-only */
    reg_write(0x02, 0);
    CHECK_EQ(reg_read(0x01), 0x00170011);
    CHECK_EQ(reg_read(0x02), 0x0f000000);
    CHECK_EQ(bus_mmio_read(&fake.bus, BASE, 4), 0x02); /* IOREGSEL reads back */
    bus_mmio_write(&fake.bus, BASE, 4, 0x1234);
    CHECK_EQ(bus_mmio_read(&fake.bus, BASE, 4), 0x34); /* 8 bits */
    CHECK_EQ(reg_read(0x05), 0);                        /* no such register */
}

TEST(ioapic_narrow_accesses_do_nothing)
{
    setup();
    bus_mmio_write(&fake.bus, BASE, 4, 0x01);
    CHECK_EQ(bus_mmio_read(&fake.bus, BASE + 0x10, 1), 0);
    CHECK_EQ(bus_mmio_read(&fake.bus, BASE + 0x10, 4), 0x00170011);
    bus_mmio_write(&fake.bus, BASE, 1, 0x10);
    CHECK_EQ(bus_mmio_read(&fake.bus, BASE, 4), 0x01);
    CHECK_EQ(bus_mmio_read(&fake.bus, BASE + 0x20, 4), 0);
}

TEST(ioapic_redirection_entries_reset_masked_with_read_only_bits)
{
    setup();
    for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
        CHECK_EQ(reg_read(0x10 + 2 * pin), MASKED);
        CHECK_EQ(reg_read(0x11 + 2 * pin), 0);
    }
    reg_write(0x11 + 2 * 23, 0xffffffff);
    CHECK_EQ(reg_read(0x11 + 2 * 23), 0xff000000); /* 55:32 reserved */
    /* masked, so the writable bits all stick without a message */
    reg_write(0x10 + 2 * 23, 0xffffffff);
    CHECK_EQ(reg_read(0x10 + 2 * 23), 0x1afff); /* not delivery status (12), remote IRR (14), 31:17 */
    CHECK_EQ(nsent, 0);
    reg_write(0x10 + 2 * 5, 0x00000a31);
    CHECK_EQ(reg_read(0x10 + 2 * 5), 0x00000a31);
    CHECK_EQ(reg_read(0x10 + 2 * 4), MASKED); /* its neighbours untouched */
    CHECK_EQ(reg_read(0x10 + 2 * 6), MASKED);
    ioapic_reset(&io);
    CHECK_EQ(reg_read(0x10 + 2 * 5), MASKED);
    CHECK_EQ(reg_read(0x11 + 2 * 23), 0);
}

TEST(ioapic_masked_pins_do_not_deliver)
{
    setup();
    set_entry(3, MASKED | 0x33, 0);
    ioapic_set_irq(&io, 3, true);
    ioapic_set_irq(&io, 3, false);
    ioapic_set_irq(&io, 3, true);
    CHECK_EQ(nsent, 0);
    set_entry(3, 0x33, 0); /* an edge seen while masked is lost */
    CHECK_EQ(nsent, 0);
    ioapic_set_irq(&io, 99, true); /* no such pin */
    CHECK_EQ(nsent, 0);
}

TEST(ioapic_edge_delivers_on_the_rising_edge_only)
{
    setup();
    set_entry(1, 0x31, 0);
    ioapic_set_irq(&io, 1, true);
    CHECK_EQ(nsent, 1);
    CHECK_EQ(sent[0].vector, 0x31);
    CHECK(!sent[0].level_triggered);
    ioapic_set_irq(&io, 1, true); /* held high: no new edge */
    CHECK_EQ(nsent, 1);
    ioapic_set_irq(&io, 1, false);
    CHECK_EQ(nsent, 1);
    ioapic_set_irq(&io, 1, true);
    CHECK_EQ(nsent, 2);
    CHECK_EQ(reg_read(0x10 + 2 * 1) & REMOTE_IRR, 0);
    ioapic_eoi(&io, 0x31); /* nothing for an edge entry */
    CHECK_EQ(nsent, 2);
}

TEST(ioapic_level_waits_for_eoi_and_redelivers_while_asserted)
{
    setup();
    set_entry(10, LEVEL | 0x4a, 0);
    CHECK_EQ(nsent, 0);
    ioapic_set_irq(&io, 10, true);
    CHECK_EQ(nsent, 1);
    CHECK(sent[0].level_triggered);
    CHECK_EQ(sent[0].vector, 0x4a);
    CHECK_EQ(reg_read(0x10 + 2 * 10), REMOTE_IRR | LEVEL | 0x4a);
    ioapic_set_irq(&io, 10, true); /* still asserted, remote IRR set */
    CHECK_EQ(nsent, 1);
    ioapic_eoi(&io, 0x4b); /* another vector */
    CHECK_EQ(nsent, 1);
    CHECK(reg_read(0x10 + 2 * 10) & REMOTE_IRR);
    ioapic_eoi(&io, 0x4a); /* still asserted: again */
    CHECK_EQ(nsent, 2);
    CHECK(reg_read(0x10 + 2 * 10) & REMOTE_IRR);
    ioapic_set_irq(&io, 10, false);
    ioapic_eoi(&io, 0x4a);
    CHECK_EQ(nsent, 2);
    CHECK_EQ(reg_read(0x10 + 2 * 10) & REMOTE_IRR, 0);
    ioapic_set_irq(&io, 10, true);
    CHECK_EQ(nsent, 3);
}

TEST(ioapic_unmasking_an_asserted_level_pin_delivers)
{
    setup();
    ioapic_set_irq(&io, 7, true);
    ioapic_set_irq(&io, 8, true);
    CHECK_EQ(nsent, 0);
    set_entry(7, MASKED | LEVEL | 0x57, 0);
    set_entry(8, MASKED | 0x58, 0);
    CHECK_EQ(nsent, 0);
    reg_write(0x10 + 2 * 7, LEVEL | 0x57);
    CHECK_EQ(nsent, 1);
    CHECK_EQ(sent[0].vector, 0x57);
    reg_write(0x10 + 2 * 8, 0x58); /* an edge pin needs an edge */
    CHECK_EQ(nsent, 1);
    /* re-masking and unmasking while the EOI is outstanding: nothing */
    reg_write(0x10 + 2 * 7, MASKED | LEVEL | 0x57);
    reg_write(0x10 + 2 * 7, LEVEL | 0x57);
    CHECK_EQ(nsent, 1);
    /* switching to edge clears remote IRR; back to level, it is sent again */
    reg_write(0x10 + 2 * 7, 0x57);
    CHECK_EQ(reg_read(0x10 + 2 * 7) & REMOTE_IRR, 0);
    reg_write(0x10 + 2 * 7, LEVEL | 0x57);
    CHECK_EQ(nsent, 2);
}

TEST(ioapic_active_low_inverts_the_input)
{
    setup();
    ioapic_set_irq(&io, 2, true); /* an idle active-low line sits high */
    set_entry(2, ACTIVE_LOW | 0x22, 0);
    CHECK_EQ(nsent, 0);
    ioapic_set_irq(&io, 2, false); /* falling: asserted */
    CHECK_EQ(nsent, 1);
    ioapic_set_irq(&io, 2, true);
    CHECK_EQ(nsent, 1);

    /* level, active low: a low line is asserted as soon as it is unmasked */
    set_entry(16, ACTIVE_LOW | LEVEL | 0x60, 0);
    CHECK_EQ(nsent, 2);
    CHECK_EQ(sent[1].vector, 0x60);
    ioapic_set_irq(&io, 16, true); /* released */
    ioapic_eoi(&io, 0x60);
    CHECK_EQ(nsent, 2);
    ioapic_set_irq(&io, 16, false);
    CHECK_EQ(nsent, 3);
}

TEST(ioapic_message_carries_destination_vector_and_mode)
{
    setup();
    set_entry(20, LEVEL | LOGICAL | (1u << 8) | 0x9c, 0x05); /* lowest priority, logical 05 */
    ioapic_set_irq(&io, 20, true);
    CHECK_EQ(nsent, 1);
    CHECK_EQ(sent[0].vector, 0x9c);
    CHECK_EQ(sent[0].delivery_mode, APIC_DM_LOWEST);
    CHECK(sent[0].logical);
    CHECK_EQ(sent[0].dest, 0x05);
    CHECK(sent[0].level_triggered);

    set_entry(0, (7u << 8), 0xff); /* ExtINT, physical broadcast */
    ioapic_set_irq(&io, 0, true);
    CHECK_EQ(nsent, 2);
    CHECK_EQ(sent[1].delivery_mode, APIC_DM_EXTINT);
    CHECK(!sent[1].logical);
    CHECK_EQ(sent[1].dest, 0xff);
    CHECK(!sent[1].level_triggered);

    /* NMI must be edge triggered: a trigger bit set is taken as edge */
    set_entry(21, LEVEL | (4u << 8), 0x00);
    ioapic_set_irq(&io, 21, true);
    CHECK_EQ(nsent, 3);
    CHECK_EQ(sent[2].delivery_mode, APIC_DM_NMI);
    CHECK(!sent[2].level_triggered);
    CHECK_EQ(reg_read(0x10 + 2 * 21) & REMOTE_IRR, 0);
    ioapic_set_irq(&io, 21, true);
    CHECK_EQ(nsent, 3);
}
