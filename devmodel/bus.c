/* See bus.h. Port accesses, the most frequent, find their device through
 * a table indexed by port; MMIO ranges are few and scanned. */
#include "bus.h"
#include "../vmm/string.h"

const struct io_range bus_unclaimed = {
    .count = 0, .width = 4, .name = "unclaimed", .quiet_reads = true, .timeless_reads = true, .writes = BUS_WRITES_QUIET};

void bus_init(struct io_bus *bus)
{
    bus->io_count = 0;
    bus->mmio_count = 0;
    memset(bus->port_range, 0, sizeof(bus->port_range));
}

/* Points the ports of io[i] at it (or at nothing, with i < 0). */
static void map_ports(struct io_bus *bus, const struct io_range *r, int i)
{
    memset(bus->port_range + r->base, i < 0 ? 0 : i + 1, r->count);
}

bool bus_claim_io(struct io_bus *bus, u16 base, u16 count, u8 width, io_read_fn read, io_write_fn write, void *dev,
                  const char *name)
{
    u32 end = (u32)base + count;
    if (!count || end > 0x10000 || bus->io_count == BUS_MAX_IO || !(width == 1 || width == 2 || width == 4))
        return false;
    for (unsigned i = 0; i < bus->io_count; i++) {
        const struct io_range *r = &bus->io[i];
        if (base < r->base + r->count && r->base < end)
            return false;
    }
    bus->io[bus->io_count] = (struct io_range){.base = base, .count = count, .width = width, .read = read,
                                               .write = write, .dev = dev, .name = name, .writes = BUS_WRITES_FULL};
    map_ports(bus, &bus->io[bus->io_count], (int)bus->io_count);
    bus->io_count++;
    return true;
}

bool bus_claim_mmio(struct io_bus *bus, u64 base, u64 size, mmio_read_fn read, mmio_write_fn write, void *dev,
                    const char *name)
{
    if (!size || base + size < base || bus->mmio_count == BUS_MAX_MMIO)
        return false;
    for (unsigned i = 0; i < bus->mmio_count; i++) {
        const struct mmio_range *r = &bus->mmio[i];
        if (base < r->base + r->size && r->base < base + size)
            return false;
    }
    bus->mmio[bus->mmio_count++] = (struct mmio_range){base, size, read, write, dev, name};
    return true;
}

static const struct io_range *find_io(const struct io_bus *bus, u16 port)
{
    u8 i = bus->port_range[port];
    return i ? &bus->io[i - 1] : NULL;
}

static const struct mmio_range *find_mmio(const struct io_bus *bus, u64 addr)
{
    for (unsigned i = 0; i < bus->mmio_count; i++)
        if (addr >= bus->mmio[i].base && addr - bus->mmio[i].base < bus->mmio[i].size)
            return &bus->mmio[i];
    return NULL;
}

u32 bus_io_read(struct io_bus *bus, u16 port, u8 size)
{
    const struct io_range *r = find_io(bus, port);
    if (!r || !r->read)
        return (u32)bus_all_ones(size);
    if (size > r->width) {
        u32 v = 0;
        for (u8 i = 0; i < size; i += r->width)
            v |= bus_io_read(bus, (u16)(port + i), r->width) << (8 * i);
        return v;
    }
    return r->read(r->dev, port, size) & (u32)bus_all_ones(size);
}

void bus_io_write(struct io_bus *bus, u16 port, u8 size, u32 value)
{
    const struct io_range *r = find_io(bus, port);
    if (!r || !r->write)
        return;
    if (size > r->width) {
        for (u8 i = 0; i < size; i += r->width)
            bus_io_write(bus, (u16)(port + i), r->width, value >> (8 * i));
        return;
    }
    r->write(r->dev, port, size, value & (u32)bus_all_ones(size));
}

bool bus_set_io_rep(struct io_bus *bus, u16 port, io_read_rep_fn read_rep, io_write_rep_fn write_rep)
{
    struct io_range *r = (struct io_range *)find_io(bus, port);
    if (!r)
        return false;
    r->read_rep = read_rep;
    r->write_rep = write_rep;
    return true;
}

/* Marks the reads of the range claimed at port quiet, and what their
 * answers follow (io_range). */
static bool mark_quiet_reads(struct io_bus *bus, u16 port, bool timeless, bool clock)
{
    struct io_range *r = (struct io_range *)find_io(bus, port);
    if (!r)
        return false;
    r->quiet_reads = true;
    r->timeless_reads = timeless;
    r->clock_reads = clock;
    return true;
}

bool bus_set_quiet_reads(struct io_bus *bus, u16 port) { return mark_quiet_reads(bus, port, false, false); }
bool bus_set_timeless_reads(struct io_bus *bus, u16 port) { return mark_quiet_reads(bus, port, true, false); }
bool bus_set_clock_reads(struct io_bus *bus, u16 port) { return mark_quiet_reads(bus, port, false, true); }

bool bus_set_writes(struct io_bus *bus, u16 port, enum bus_writes kind)
{
    struct io_range *r = (struct io_range *)find_io(bus, port);
    if (!r)
        return false;
    r->writes = (u8)kind;
    return true;
}

bool bus_io_read_is_quiet(const struct io_bus *bus, u16 port, u8 size)
{
    const struct io_range *first = find_io(bus, port);
    if (first && port + size <= first->base + first->count) /* one range, as nearly always */
        return first->quiet_reads;
    for (u8 i = 0; i < size; i++) {
        const struct io_range *r = find_io(bus, (u16)(port + i));
        if (r && !r->quiet_reads) /* a port nobody claims reads as all ones, changing nothing */
            return false;
    }
    return true;
}

void bus_io_read_rep(struct io_bus *bus, u16 port, u8 size, void *buf, u32 count)
{
    const struct io_range *r = find_io(bus, port);
    u8 *p = buf;
    u32 done = 0;
    if (r && r->read_rep && size <= r->width)
        done = r->read_rep(r->dev, port, size, p, count);
    for (u32 i = done; i < count; i++) {
        u32 v = bus_io_read(bus, port, size);
        memcpy(p + i * size, &v, size); /* little-endian, as the CPU stores it */
    }
}

void bus_io_write_rep(struct io_bus *bus, u16 port, u8 size, const void *buf, u32 count)
{
    const struct io_range *r = find_io(bus, port);
    const u8 *p = buf;
    u32 done = 0;
    if (r && r->write_rep && size <= r->width)
        done = r->write_rep(r->dev, port, size, p, count);
    for (u32 i = done; i < count; i++) {
        u32 v = 0;
        memcpy(&v, p + i * size, size);
        bus_io_write(bus, port, size, v);
    }
}

u64 bus_mmio_read(struct io_bus *bus, u64 addr, u8 size)
{
    const struct mmio_range *r = find_mmio(bus, addr);
    if (!r || !r->read)
        return bus_all_ones(size);
    return r->read(r->dev, addr, size) & bus_all_ones(size);
}

bool bus_mmio_claimed(const struct io_bus *bus, u64 addr)
{
    return find_mmio(bus, addr) != NULL;
}

void bus_mmio_write(struct io_bus *bus, u64 addr, u8 size, u64 value)
{
    const struct mmio_range *r = find_mmio(bus, addr);
    if (r && r->write)
        r->write(r->dev, addr, size, value & bus_all_ones(size));
}

void bus_release_io(struct io_bus *bus, u16 base, void *dev)
{
    for (unsigned i = 0; i < bus->io_count; i++)
        if (bus->io[i].base == base && bus->io[i].dev == dev) {
            map_ports(bus, &bus->io[i], -1);
            bus->io[i] = bus->io[--bus->io_count];
            if (i < bus->io_count) /* the last range moved into the hole */
                map_ports(bus, &bus->io[i], (int)i);
            return;
        }
}

void bus_release_mmio(struct io_bus *bus, u64 base, void *dev)
{
    for (unsigned i = 0; i < bus->mmio_count; i++)
        if (bus->mmio[i].base == base && bus->mmio[i].dev == dev) {
            bus->mmio[i] = bus->mmio[--bus->mmio_count];
            return;
        }
}
