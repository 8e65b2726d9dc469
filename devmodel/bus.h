/* The per-domain bus every emulated device sits on. A device claims port
 * and MMIO ranges with read/write callbacks; the bus knows nothing of the
 * hypervisor. What no device claims reads as all ones and ignores writes,
 * as an ISA bus with nothing driving it does. */
#ifndef ZAZEN_DEVMODEL_BUS_H
#define ZAZEN_DEVMODEL_BUS_H

#include "../vmm/types.h"

#define BUS_MAX_IO 48
#define BUS_MAX_MMIO 16

typedef u32 (*io_read_fn)(void *dev, u16 port, u8 size);
typedef void (*io_write_fn)(void *dev, u16 port, u8 size, u32 value);
typedef u64 (*mmio_read_fn)(void *dev, u64 addr, u8 size);
typedef void (*mmio_write_fn)(void *dev, u64 addr, u8 size, u64 value);
/* count accesses of size bytes to one port, the data packed in buf: what a
 * REP INS or REP OUTS moves. Returns how many were done; the bus does the
 * rest one by one (a device's fast path may stop where its state changes). */
typedef u32 (*io_read_rep_fn)(void *dev, u16 port, u8 size, void *buf, u32 count);
typedef u32 (*io_write_rep_fn)(void *dev, u16 port, u8 size, const void *buf, u32 count);

struct io_range {
    u16 base;
    u16 count;
    u8 width;          /* widest access the device takes; wider ones are split */
    io_read_fn read;   /* NULL: reads as all ones */
    io_write_fn write; /* NULL: writes ignored */
    io_read_rep_fn read_rep;   /* optional fast paths for string I/O */
    io_write_rep_fn write_rep;
    void *dev;
    const char *name;
    /* A read changes no interrupt request and no device timer (a counter
     * read, a status read): the hypervisor need not look for an
     * interrupt to deliver or a deadline to re-arm after one. */
    bool quiet_reads;
    /* ...and its answer does not depend on time either (configuration
     * space, not a counter): the fast way need not move device time to
     * the exit first (bus_set_timeless_reads). */
    bool timeless_reads;
    /* ...or its answer follows device time alone, the clock and the
     * device timers it fires, not the console's input or output (the
     * PIT's counters, the PM timer): the fast way moves the clock alone
     * to the exit first (bus_set_clock_reads, platform_clock_quick). */
    bool clock_reads;
    u8 writes; /* enum bus_writes */
};

struct mmio_range {
    u64 base;
    u64 size;
    mmio_read_fn read;
    mmio_write_fn write;
    void *dev;
    const char *name;
};

struct io_bus {
    struct io_range io[BUS_MAX_IO];
    unsigned io_count;
    /* Each port's range in io[] plus one, 0 where no device answers: one
     * lookup per port access instead of a scan (64 KiB a bus). */
    u8 port_range[0x10000];
    struct mmio_range mmio[BUS_MAX_MMIO];
    unsigned mmio_count;
};

void bus_init(struct io_bus *bus);
/* False if the table is full or the range overlaps one already claimed.
 * width (1, 2 or 4) is the widest access the device's registers take: a
 * wider IN/OUT is split into accesses of that width at consecutive ports,
 * lowest first, as the ISA bus does for 8-bit devices (each piece goes to
 * whichever device owns its port). */
bool bus_claim_io(struct io_bus *bus, u16 base, u16 count, u8 width, io_read_fn read, io_write_fn write, void *dev,
                  const char *name);
bool bus_claim_mmio(struct io_bus *bus, u64 base, u64 size, mmio_read_fn read, mmio_write_fn write, void *dev,
                    const char *name);
/* Adds string I/O fast paths to the range claimed at port. */
bool bus_set_io_rep(struct io_bus *bus, u16 port, io_read_rep_fn read_rep, io_write_rep_fn write_rep);
/* What a write to a range may change, for the hypervisor's fast way
 * (vmm/fast_way.h), weakest first:
 * BUS_WRITES_FULL, anything (the default: the run loop looks at all);
 * BUS_WRITES_WATCHED, interrupt requests and device timers only: the
 * fast way moves device time to the exit, asks after the write whether
 * an interrupt is now pending for the writing CPU, and compares the
 * clock's earliest deadline before and after (the UART in loopback with
 * its FIFOs on);
 * BUS_WRITES_REQUESTS, interrupt requests and output only, by a write
 * whose effect does not follow device time: the fast way asks after the
 * write whether an interrupt is now pending, and moves device time only
 * if the PC's timer gate must look again (the 8259s and their ELCR, the
 * UART otherwise: vmm/fast_way.h);
 * BUS_WRITES_QUIET, output only (the debug console).
 * A device may change its range's kind as its mode changes (the UART). */
enum bus_writes { BUS_WRITES_FULL, BUS_WRITES_WATCHED, BUS_WRITES_REQUESTS, BUS_WRITES_QUIET };
/* Marks the writes of the range claimed at port. */
bool bus_set_writes(struct io_bus *bus, u16 port, enum bus_writes kind);
/* What answers ports nobody claims: reads are all ones, writes vanish,
 * neither changes anything (bus_fast_range). */
extern const struct io_range bus_unclaimed;
/* The one range that takes an IN or OUT of size bytes at port whole, as
 * bus_io_read and bus_io_write hand it: the range of its first port, if
 * the access is no wider than that range's width (one call of its read or
 * write does it, whatever follows the range: PCI's CONFIG_ADDRESS is the
 * one port 0xCF8 taking dwords); bus_unclaimed when no byte of it is
 * claimed; NULL when the bus would split it. What the hypervisor's fast
 * way hands to the device itself (vmm/fast_way.h), from one lookup of the
 * port table. Inline: it is asked on every port exit. */
static inline const struct io_range *bus_fast_range(const struct io_bus *bus, u16 port, u8 size)
{
    u8 i = bus->port_range[port];
    if (i) {
        const struct io_range *r = &bus->io[i - 1];
        return size <= r->width ? r : NULL;
    }
    for (u8 k = 1; k < size; k++)
        if ((u32)port + k > 0xffff || bus->port_range[(u16)(port + k)])
            return NULL;
    return &bus_unclaimed;
}
/* Marks the reads of the range claimed at port quiet (io_range). */
bool bus_set_quiet_reads(struct io_bus *bus, u16 port);
/* ...quiet, and with answers that do not follow time (io_range). */
bool bus_set_timeless_reads(struct io_bus *bus, u16 port);
/* ...quiet, and with answers that follow device time alone (io_range). */
bool bus_set_clock_reads(struct io_bus *bus, u16 port);
/* Whether reading size bytes at port reads only quiet ranges (or ports
 * nobody claims). */
bool bus_io_read_is_quiet(const struct io_bus *bus, u16 port, u8 size);
/* Gives back the ranges a device claimed at base (a PCI BAR that moves). */
void bus_release_io(struct io_bus *bus, u16 base, void *dev);
void bus_release_mmio(struct io_bus *bus, u64 base, void *dev);

u32 bus_io_read(struct io_bus *bus, u16 port, u8 size);
void bus_io_write(struct io_bus *bus, u16 port, u8 size, u32 value);
/* count accesses to one port, as by bus_io_read/bus_io_write in a loop,
 * through the device's fast path when it has one. */
void bus_io_read_rep(struct io_bus *bus, u16 port, u8 size, void *buf, u32 count);
void bus_io_write_rep(struct io_bus *bus, u16 port, u8 size, const void *buf, u32 count);
u64 bus_mmio_read(struct io_bus *bus, u64 addr, u8 size);
/* A device decodes the address (else it reads all ones, writes vanish). */
bool bus_mmio_claimed(const struct io_bus *bus, u64 addr);
void bus_mmio_write(struct io_bus *bus, u64 addr, u8 size, u64 value);

static inline u64 bus_all_ones(u8 size) { return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1; }

#endif
