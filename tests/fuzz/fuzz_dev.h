/* The fake device environment of the unit tests (tests/unit/dm_fake.h: a
 * real bus and clock, recorded interrupt lines, 1 MiB of fake RAM) for the
 * device targets, with port and MMIO accesses that check what the bus
 * returns, virtual time, and a guard on the interrupt lines a device may
 * drive. Include once per target, instead of fuzz.h. */
#ifndef ZAZEN_FUZZ_DEV_H
#define ZAZEN_FUZZ_DEV_H

#include "fuzz.h"
/* fuzz_env_reset() below replaces its fake_env_reset(). */
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wunused-function"
#include "../unit/dm_fake.h"
#pragma clang diagnostic pop

/* ---- port and MMIO windows ---- */

/* The ports a device decodes, as base/count pairs. */
struct window {
    u16 base, count;
};

/* A port inside one of the windows (the access may run past its end, as a
 * guest's may: the bus splits it or hands the rest to whoever is there). */
static inline u16 take_port(struct prog *g, const struct window *w, unsigned n)
{
    const struct window *win = &w[take8(g) % n];
    return (u16)(win->base + take8(g) % win->count);
}

/* IN and OUT through the bus, as the core does them. A read must come back
 * masked to its size. */
static inline u32 fuzz_in(u16 port, u8 size)
{
    u32 v = bus_io_read(&fake.bus, port, size);
    FUZZ_CHECK(v <= bus_all_ones(size), "IN %#x size %u returned %#x", port, size, v);
    return v;
}

static inline void fuzz_out(u16 port, u8 size, u32 value) { bus_io_write(&fake.bus, port, size, value); }

/* An IN, or an OUT of a value from the input, at a port and size the
 * input picks within the device's windows. */
static inline void fuzz_any_in(struct prog *g, const struct window *w, unsigned n)
{
    u16 port = take_port(g, w, n);
    fuzz_in(port, take_io_size(g));
}

static inline void fuzz_any_out(struct prog *g, const struct window *w, unsigned n)
{
    u16 port = take_port(g, w, n);
    u8 io_size = take_io_size(g);
    fuzz_out(port, io_size, (u32)take_value(g, io_size));
}

/* An MMIO access as the emulator makes it: 1, 2, 4 or 8 bytes, never
 * across a page (emulate.c splits there). */
static inline u64 fuzz_mmio_read(u64 addr, u8 size)
{
    u64 v = bus_mmio_read(&fake.bus, addr, size);
    FUZZ_CHECK(v <= bus_all_ones(size), "MMIO read %#llx size %u returned %#llx", (unsigned long long)addr, size,
               (unsigned long long)v);
    return v;
}

static inline void fuzz_mmio_write(u64 addr, u8 size, u64 value) { bus_mmio_write(&fake.bus, addr, size, value); }

/* An MMIO address in the 4 KiB page at base for an access of size bytes. */
static inline u64 take_page_offset(struct prog *g, u8 size)
{
    u64 off = take16(g) & 0xfff;
    return off + size > 0x1000 ? 0x1000 - size : off;
}

/* ---- time ---- */

/* Virtual time stays below 2^62 ns (146 years): far beyond a domain's life,
 * and far from overflowing the sums devices make with it. A target may
 * lower the limit (fuzz_env_reset restores it). */
#define FUZZ_TIME_LIMIT (1ull << 62)
static u64 fuzz_time_limit = FUZZ_TIME_LIMIT;

/* A step of virtual time from 1 ns to years: a 16-bit mantissa and a
 * shift, so both the phase of a fast counter and long idle stretches are
 * in reach. */
static inline u64 take_delay(struct prog *g)
{
    u8 shift = take8(g) % 48;
    return (u64)take16(g) << shift;
}

/* Moves the virtual clock forward, firing the timers that fall due. */
static inline void fuzz_advance(u64 ns)
{
    if (ns > fuzz_time_limit - fake.clock.now)
        ns = fuzz_time_limit - fake.clock.now;
    fake_advance(ns);
}

/* ---- interrupt lines ---- */

/* The lines the device under test may drive (bit n: GSI n); anything else
 * it touches is a wiring bug. */
static u64 fuzz_gsi_allowed;

static void fuzz_irq_set(void *ctx, unsigned gsi, bool level)
{
    FUZZ_CHECK(gsi < 64 && (fuzz_gsi_allowed >> gsi) & 1, "the device drove GSI %u to %d", gsi, level);
    fake_irq_set(ctx, gsi, level);
}

/* A fresh environment whose device may drive the lines in gsi_mask: that
 * of fake_env_reset() (dm_fake.h), except that the fake RAM is left as it
 * is (clearing a megabyte per input would cost most of the time; the IDE
 * target, the one that does DMA, sets it up itself). */
static inline struct dm_env *fuzz_env_reset(u64 gsi_mask)
{
    memset(&fake, 0, offsetof(struct fake_env, ram));
    bus_init(&fake.bus);
    clock_init(&fake.clock);
    fake.irq = (struct dm_irq){fuzz_irq_set, &fake};
    fake.mem = (struct dm_memory){fake_mem_read, fake_mem_write, &fake};
    fake.env = (struct dm_env){&fake.bus, &fake.clock, &fake.irq, &fake.mem};
    fuzz_gsi_allowed = gsi_mask;
    fuzz_time_limit = FUZZ_TIME_LIMIT;
    return &fake.env;
}

#endif
