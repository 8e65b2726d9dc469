/* What an emulated device sees of the world: nothing of Zazen, only
 *   - a bus, where it claims port and MMIO ranges (bus.h);
 *   - interrupt lines it raises and lowers, by global system interrupt
 *     number (ISA IRQ n is GSI n; PCI INTx lines come after 16);
 *   - a virtual clock in nanoseconds, with timers it arms;
 *   - accessors for its domain's RAM, for DMA, which refuse any range
 *     that is not entirely the domain's RAM.
 * The same device files compile for the host, where the unit tests give
 * them a fake environment (tests/unit/dm_fake.h). */
#ifndef ZAZEN_DEVMODEL_H
#define ZAZEN_DEVMODEL_H

#include "bus.h"
#include "clock.h"

/* Interrupt lines. A device holds its line at a level; edge-triggered
 * inputs see the rising edge. */
struct dm_irq {
    void (*set)(void *ctx, unsigned gsi, bool level);
    void *ctx;
};

static inline void dm_irq_set(const struct dm_irq *irq, unsigned gsi, bool level) { irq->set(irq->ctx, gsi, level); }
/* An edge: raise then lower (for devices that pulse, like the PIT's OUT0). */
static inline void dm_irq_pulse(const struct dm_irq *irq, unsigned gsi)
{
    irq->set(irq->ctx, gsi, true);
    irq->set(irq->ctx, gsi, false);
}

/* Guest RAM for DMA: false if any byte of [gpa, gpa+len) is not RAM of
 * this domain (a device then fails the transfer as its datasheet says). */
struct dm_memory {
    bool (*read)(void *ctx, u64 gpa, void *buf, size_t len);
    bool (*write)(void *ctx, u64 gpa, const void *buf, size_t len);
    void *ctx;
};

struct dm_env {
    struct io_bus *bus;
    struct dm_clock *clock;
    const struct dm_irq *irq;
    const struct dm_memory *mem;
};

#endif
