/* The I/O APIC: 24 interrupt input pins turned into APIC messages.
 * Intel 82093AA I/O Advanced Programmable Interrupt Controller (IOAPIC)
 * datasheet, order number 290566. */
#ifndef ZAZEN_DEVMODEL_IOAPIC_H
#define ZAZEN_DEVMODEL_IOAPIC_H

#include "devmodel.h"
#include "apic.h"

#define IOAPIC_DEFAULT_BASE 0xfec00000ull
#define IOAPIC_MMIO_SIZE 0x1000ull
#define IOAPIC_PINS 24

struct ioapic {
    u32 regsel;             /* IOREGSEL: the register IOWIN shows */
    u32 id;                 /* IOAPICID as read: the ID in bits 27:24 */
    u32 arb;                /* IOAPICARB as read */
    u64 redir[IOAPIC_PINS]; /* IOREDTBL entries, as read */
    bool pin_level[IOAPIC_PINS]; /* each input as driven (electrical level, before polarity) */
    u64 base;
    void (*deliver)(void *ctx, const struct apic_message *m);
    void *ctx;
    struct dm_env *env;
};

/* Claims 4 KiB of MMIO at base; false if it cannot. deliver receives each
 * message sent (it routes it to the local APICs). */
bool ioapic_init(struct ioapic *io, struct dm_env *env, u64 base,
                 void (*deliver)(void *ctx, const struct apic_message *m), void *ctx);
/* Power-on state: ID 0, every entry masked. The inputs keep their levels
 * (they are the devices' wires, not the chip's state). */
void ioapic_reset(struct ioapic *io);
/* Drives input pin 0-23 to an electrical level. Entries programmed active
 * low (polarity bit) see the inverse, as the chip does. */
void ioapic_set_irq(struct ioapic *io, unsigned pin, bool level);
/* Is the pin's redirection entry masked (3.2.4, bit 16)? */
static inline bool ioapic_pin_masked(const struct ioapic *io, unsigned pin)
{
    return pin >= IOAPIC_PINS || (io->redir[pin] & (1ull << 16));
}
/* An EOI broadcast from a local APIC: clears the remote IRR of the
 * level-triggered entries with that vector, and delivers again those whose
 * input is still asserted. */
void ioapic_eoi(struct ioapic *io, u8 vector);

#endif
