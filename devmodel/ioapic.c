/* ioapic.c: the I/O APIC. Intel 82093AA I/O Advanced Programmable
 * Interrupt Controller (IOAPIC) datasheet: section 3.1 (IOREGSEL/IOWIN),
 * 3.2 (the registers behind them).
 *
 * Accesses: the datasheet's registers are 32 bits wide and taken with
 * 32-bit loads and stores (the 64-bit redirection entries as two
 * independent dwords). Here only aligned 32-bit accesses to IOREGSEL
 * (+0x00) and IOWIN (+0x10) do anything; any other access in the page
 * reads 0 and is ignored on write. An IOWIN read of a register index that
 * does not exist reads 0.
 *
 * Messages go out at once, so the delivery status bit always reads idle;
 * and every message is taken as accepted, so a level-triggered entry sets
 * its remote IRR when it sends. */
#include "ioapic.h"

#define IOREGSEL 0x00
#define IOWIN 0x10

/* Register indexes behind IOWIN (3.2). */
#define REG_ID 0x00
#define REG_VERSION 0x01
#define REG_ARB 0x02
#define REG_REDIR_FIRST 0x10
#define REG_REDIR_LAST (REG_REDIR_FIRST + 2 * IOAPIC_PINS - 1) /* 0x3f */

#define REGSEL_MASK 0xffu        /* 3.1.1: bits 7:0; 31:8 reserved */
#define ID_MASK 0x0f000000u      /* 3.2.1: a 4-bit ID in bits 27:24 */
/* 3.2.2: version 11H, maximum redirection entry 17H (24 entries). */
#define IOAPIC_VERSION (0x11u | ((u32)(IOAPIC_PINS - 1) << 16))

/* Redirection table entry fields (3.2.4). */
#define RTE_VECTOR 0xffull
#define RTE_DELIVERY_MODE_SHIFT 8
#define RTE_LOGICAL BIT(11)
#define RTE_DELIVERY_STATUS BIT(12) /* read-only */
#define RTE_POLARITY_LOW BIT(13)
#define RTE_REMOTE_IRR BIT(14)      /* read-only */
#define RTE_TRIGGER_LEVEL BIT(15)
#define RTE_MASKED BIT(16)
#define RTE_DEST_SHIFT 56
/* What software writes: vector, delivery and destination modes, polarity,
 * trigger mode, mask, destination. Bits 55:17 are reserved. The 82093AA
 * compares 4 bits of a physical destination (59:56); the whole 8-bit
 * field is kept, as later I/O APICs do, for 8-bit APIC IDs. */
#define RTE_LOW_WRITABLE (RTE_VECTOR | (7ull << RTE_DELIVERY_MODE_SHIFT) | RTE_LOGICAL | RTE_POLARITY_LOW | \
                          RTE_TRIGGER_LEVEL | RTE_MASKED)
#define RTE_HIGH_WRITABLE (0xffull << RTE_DEST_SHIFT)

static u32 rte_delivery_mode(u64 e) { return (u32)(e >> RTE_DELIVERY_MODE_SHIFT) & 7; }

/* 3.2.4: SMI, NMI, INIT and ExtINT require edge trigger mode; only fixed
 * and lowest-priority entries may be level triggered. An entry of another
 * mode with the trigger bit set behaves as edge triggered here. */
static bool rte_is_level(u64 e)
{
    u32 mode = rte_delivery_mode(e);
    return (e & RTE_TRIGGER_LEVEL) && (mode == APIC_DM_FIXED || mode == APIC_DM_LOWEST);
}

/* 3.2.4, polarity: an active-low input is asserted when driven low. */
static bool pin_asserted(const struct ioapic *io, unsigned pin, bool level)
{
    return level != ((io->redir[pin] & RTE_POLARITY_LOW) != 0);
}

static void ioapic_send(struct ioapic *io, unsigned pin)
{
    u64 e = io->redir[pin];
    struct apic_message m = {
        .vector = (u8)(e & RTE_VECTOR),
        .delivery_mode = (u8)rte_delivery_mode(e),
        .logical = e & RTE_LOGICAL,
        .dest = (u8)(e >> RTE_DEST_SHIFT),
        .level_triggered = rte_is_level(e),
    };
    /* 3.2.4, remote IRR: set when the local APIC accepts the level
     * interrupt, cleared by its EOI. */
    if (m.level_triggered)
        io->redir[pin] |= RTE_REMOTE_IRR;
    io->deliver(io->ctx, &m);
}

/* A level-triggered entry sends while its input is asserted, the entry
 * unmasked, and no earlier message of it awaits its EOI (remote IRR). */
static void ioapic_check_level(struct ioapic *io, unsigned pin)
{
    u64 e = io->redir[pin];
    if (!rte_is_level(e) || (e & (RTE_MASKED | RTE_REMOTE_IRR)))
        return;
    if (pin_asserted(io, pin, io->pin_level[pin]))
        ioapic_send(io, pin);
}

void ioapic_set_irq(struct ioapic *io, unsigned pin, bool level)
{
    if (pin >= IOAPIC_PINS)
        return;
    bool was_asserted = pin_asserted(io, pin, io->pin_level[pin]);
    io->pin_level[pin] = level;
    /* 3.2.4, mask: edges on a masked pin are lost, not held pending;
     * level changes on a masked pin have no side effect. */
    if (io->redir[pin] & RTE_MASKED)
        return;
    if (rte_is_level(io->redir[pin]))
        ioapic_check_level(io, pin);
    else if (pin_asserted(io, pin, level) && !was_asserted)
        ioapic_send(io, pin);
}

void ioapic_eoi(struct ioapic *io, u8 vector)
{
    for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
        u64 *e = &io->redir[pin];
        if (!(*e & RTE_REMOTE_IRR) || (*e & RTE_VECTOR) != vector)
            continue;
        *e &= ~RTE_REMOTE_IRR;
        ioapic_check_level(io, pin); /* still asserted: interrupt again */
    }
}

/* The low dword holds the control bits. Remote IRR means nothing for an
 * edge entry (3.2.4); it is cleared when an entry is made edge triggered,
 * which lets software unstick an entry by switching it to edge and back.
 * Unmasking (or making level) an entry whose input is asserted sends. */
static void ioapic_write_redir_low(struct ioapic *io, unsigned pin, u32 value)
{
    u64 *e = &io->redir[pin];
    *e = (*e & ~RTE_LOW_WRITABLE) | (value & RTE_LOW_WRITABLE);
    if (!rte_is_level(*e))
        *e &= ~RTE_REMOTE_IRR;
    ioapic_check_level(io, pin);
}

static void ioapic_write_redir_high(struct ioapic *io, unsigned pin, u32 value)
{
    u64 *e = &io->redir[pin];
    *e = (*e & ~RTE_HIGH_WRITABLE) | (((u64)value << 32) & RTE_HIGH_WRITABLE);
}

static bool is_redir(u32 reg) { return reg >= REG_REDIR_FIRST && reg <= REG_REDIR_LAST; }
static unsigned redir_pin(u32 reg) { return (reg - REG_REDIR_FIRST) / 2; }
static bool redir_is_high(u32 reg) { return (reg - REG_REDIR_FIRST) & 1; }

static u32 ioapic_read_reg(const struct ioapic *io, u32 reg)
{
    if (is_redir(reg)) {
        u64 e = io->redir[redir_pin(reg)];
        return (u32)(redir_is_high(reg) ? e >> 32 : e);
    }
    switch (reg) {
    case REG_ID: return io->id;
    case REG_VERSION: return IOAPIC_VERSION;
    case REG_ARB: return io->arb;
    default: return 0;
    }
}

static void ioapic_write_reg(struct ioapic *io, u32 reg, u32 value)
{
    if (is_redir(reg)) {
        if (redir_is_high(reg))
            ioapic_write_redir_high(io, redir_pin(reg), value);
        else
            ioapic_write_redir_low(io, redir_pin(reg), value);
        return;
    }
    /* 3.2.1: writing the ID also loads the arbitration ID (3.2.3, which
     * is read-only); the version is read-only too. */
    if (reg == REG_ID)
        io->id = io->arb = value & ID_MASK;
}

static u64 ioapic_mmio_read(void *dev, u64 addr, u8 size)
{
    struct ioapic *io = dev;
    u64 off = addr - io->base;
    if (size != 4)
        return 0;
    if (off == IOREGSEL)
        return io->regsel;
    if (off == IOWIN)
        return ioapic_read_reg(io, io->regsel);
    return 0;
}

static void ioapic_mmio_write(void *dev, u64 addr, u8 size, u64 value)
{
    struct ioapic *io = dev;
    u64 off = addr - io->base;
    if (size != 4)
        return;
    if (off == IOREGSEL)
        io->regsel = (u32)value & REGSEL_MASK;
    else if (off == IOWIN)
        ioapic_write_reg(io, io->regsel, (u32)value);
}

void ioapic_reset(struct ioapic *io)
{
    io->regsel = 0;
    io->id = io->arb = 0; /* 3.2.1, 3.2.3: default 0 */
    for (unsigned pin = 0; pin < IOAPIC_PINS; pin++)
        io->redir[pin] = RTE_MASKED; /* 3.2.4: mask set, the rest undefined (0 here) */
}

bool ioapic_init(struct ioapic *io, struct dm_env *env, u64 base,
                 void (*deliver)(void *ctx, const struct apic_message *m), void *ctx)
{
    io->env = env;
    io->base = base;
    io->deliver = deliver;
    io->ctx = ctx;
    for (unsigned pin = 0; pin < IOAPIC_PINS; pin++)
        io->pin_level[pin] = false;
    ioapic_reset(io);
    return bus_claim_mmio(env->bus, base, IOAPIC_MMIO_SIZE, ioapic_mmio_read, ioapic_mmio_write, io, "ioapic");
}
