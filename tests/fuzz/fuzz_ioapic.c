/* fuzz-sources: devmodel/ioapic.c devmodel/bus.c devmodel/clock.c */
/* The I/O APIC through its MMIO window: IOREGSEL/IOWIN pairs for every
 * register index (ID, version, arbitration, the 48 redirection dwords and
 * beyond), accesses of every size and offset in the page, the 24 input
 * pins (and out-of-range ones) driven high and low, and EOIs from the
 * local APIC, mostly for vectors it has sent. Checks: every message sent
 * names a delivery mode the entry can hold; an edge-triggered message
 * comes from a rising input, a level-triggered one never twice without an
 * EOI in between; the remote IRR is never set on an edge entry; and the
 * I/O APIC drives no GSI itself. */
#include "fuzz_dev.h"
#include "../../devmodel/ioapic.h"

#define IOWIN 0x10
#define RTE_REMOTE_IRR BIT(14)
#define RTE_TRIGGER_LEVEL BIT(15)

static struct ioapic io;
static unsigned sent;
static u8 last_vector;

static void on_message(void *ctx, const struct apic_message *m)
{
    FUZZ_CHECK(ctx == &io && m->delivery_mode <= 7, "message with delivery mode %u", m->delivery_mode);
    FUZZ_CHECK(!m->level_triggered || m->delivery_mode == APIC_DM_FIXED || m->delivery_mode == APIC_DM_LOWEST,
               "level-triggered message in delivery mode %u", m->delivery_mode);
    sent++;
    last_vector = m->vector;
}

static void reg_write(u32 reg, u32 value)
{
    fuzz_mmio_write(IOAPIC_DEFAULT_BASE, 4, reg);
    fuzz_mmio_write(IOAPIC_DEFAULT_BASE + IOWIN, 4, value);
}

static void check_state(void)
{
    for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
        u64 e = io.redir[pin];
        FUZZ_CHECK(!(e & RTE_REMOTE_IRR) || (e & RTE_TRIGGER_LEVEL), "pin %u: remote IRR on an edge entry %#llx",
                   pin, (unsigned long long)e);
    }
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
    struct prog g = {data, size};
    struct dm_env *env = fuzz_env_reset(0);
    memset(&io, 0, sizeof(io));
    sent = 0;
    last_vector = 0;
    if (!ioapic_init(&io, env, IOAPIC_DEFAULT_BASE, on_message, &io))
        abort();
    while (prog_more(&g)) {
        unsigned before = sent;
        switch (take8(&g) % 8) {
        case 0: {
            u8 mmio_size = take_mmio_size(&g);
            fuzz_mmio_read(IOAPIC_DEFAULT_BASE + take_page_offset(&g, mmio_size), mmio_size);
            break;
        }
        case 1: {
            u8 mmio_size = take_mmio_size(&g);
            u64 addr = IOAPIC_DEFAULT_BASE + take_page_offset(&g, mmio_size);
            fuzz_mmio_write(addr, mmio_size, take_value(&g, mmio_size));
            break;
        }
        case 2: { /* program half a redirection entry (or another register) */
            u8 reg = take8(&g);
            reg_write(reg & 0x80 ? reg : 0x10 + reg % 48, take32(&g));
            break;
        }
        case 3: {
            fuzz_mmio_write(IOAPIC_DEFAULT_BASE, 4, take8(&g));
            fuzz_mmio_read(IOAPIC_DEFAULT_BASE + IOWIN, 4);
            break;
        }
        case 4: {
            u8 b = take8(&g);
            unsigned pin = b % 26; /* 24, 25: no such pin */
            bool level = b & 0x80;
            bool edge_entry = pin < IOAPIC_PINS && !(io.redir[pin] & RTE_TRIGGER_LEVEL);
            bool was_high = pin < IOAPIC_PINS && io.pin_level[pin];
            bool awaiting_eoi = pin < IOAPIC_PINS && (io.redir[pin] & RTE_REMOTE_IRR);
            ioapic_set_irq(&io, pin, level);
            FUZZ_CHECK(sent - before <= 1, "%u messages for one input change", sent - before);
            if (edge_entry && sent != before)
                FUZZ_CHECK(was_high != level, "pin %u: edge message without an input edge", pin);
            FUZZ_CHECK(!awaiting_eoi || sent == before, "pin %u: level message again before the EOI", pin);
            break;
        }
        case 5: /* the local APIC's EOI of what it last got */
            ioapic_eoi(&io, last_vector);
            break;
        case 6:
            ioapic_eoi(&io, take8(&g));
            break;
        case 7:
            if (take8(&g) == 0xa5)
                ioapic_reset(&io);
            break;
        }
        FUZZ_CHECK(sent - before <= IOAPIC_PINS, "%u messages for one operation", sent - before);
        check_state();
    }
    return 0;
}
