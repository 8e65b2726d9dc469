/* What the fuzz targets share: the fake device environment of the unit
 * tests (a real bus and clock, recorded interrupt lines, 1 MiB of fake
 * RAM), a reader that takes the fuzz input apart as a little program of
 * operations, and checks that abort, so libFuzzer reports the input.
 *
 * Each target is built on its own with clang's libFuzzer, ASan and UBSan
 * (see the Makefile, `make fuzz`), from the sources its "fuzz-sources:"
 * line names. Include once per target. */
#ifndef ZAZEN_FUZZ_H
#define ZAZEN_FUZZ_H

#include "../unit/dm_fake.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- checks ---- */

static void NORETURN PRINTF_LIKE(4, 5) fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "\n==FUZZ CHECK FAILED== %s:%d: %s: ", file, line, cond);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    abort();
}

/* An invariant of the device or emulator; the message says what was seen. */
#define FUZZ_CHECK(cond, ...)                                          \
    do {                                                               \
        if (!(cond))                                                   \
            fuzz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);         \
    } while (0)

/* ---- the input as a program ---- */

/* Operations are taken one after the other from the input; an input that
 * runs out reads as zeros, and the program ends when it has run out. */
struct prog {
    const u8 *p;
    size_t left;
};

static bool prog_more(const struct prog *g) { return g->left > 0; }

static u8 take8(struct prog *g)
{
    if (!g->left)
        return 0;
    g->left--;
    return *g->p++;
}

static u16 take16(struct prog *g) { return (u16)(take8(g) | take8(g) << 8); }
static u32 take32(struct prog *g) { return take16(g) | (u32)take16(g) << 16; }
static u64 take64(struct prog *g) { return take32(g) | (u64)take32(g) << 32; }
static bool take_bool(struct prog *g) { return take8(g) & 1; }

/* An access size: 1, 2 or 4 (IN/OUT); 1, 2, 4 or 8 with mmio (MOV). */
static u8 take_io_size(struct prog *g) { return (u8)(1u << (take8(g) % 3)); }
static u8 take_mmio_size(struct prog *g) { return (u8)(1u << (take8(g) % 4)); }

/* A value of the given size, taking only the bytes it needs. */
static u64 take_value(struct prog *g, unsigned size)
{
    u64 v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (u64)take8(g) << (8 * i);
    return v;
}

/* ---- port and MMIO windows ---- */

/* The ports a device decodes, as base/count pairs. */
struct window {
    u16 base, count;
};

/* A port inside one of the windows (the access may run past its end, as a
 * guest's may: the bus splits it or hands the rest to whoever is there). */
static u16 take_port(struct prog *g, const struct window *w, unsigned n)
{
    const struct window *win = &w[take8(g) % n];
    return (u16)(win->base + take8(g) % win->count);
}

/* IN and OUT through the bus, as the core does them. A read must come back
 * masked to its size. */
static u32 fuzz_in(u16 port, u8 size)
{
    u32 v = bus_io_read(&fake.bus, port, size);
    FUZZ_CHECK(v <= bus_all_ones(size), "IN %#x size %u returned %#x", port, size, v);
    return v;
}

static void fuzz_out(u16 port, u8 size, u32 value) { bus_io_write(&fake.bus, port, size, value); }

/* An MMIO access as the emulator makes it: 1, 2, 4 or 8 bytes, never
 * across a page (emulate.c splits there). */
static u64 fuzz_mmio_read(u64 addr, u8 size)
{
    u64 v = bus_mmio_read(&fake.bus, addr, size);
    FUZZ_CHECK(v <= bus_all_ones(size), "MMIO read %#llx size %u returned %#llx", (unsigned long long)addr, size,
               (unsigned long long)v);
    return v;
}

static void fuzz_mmio_write(u64 addr, u8 size, u64 value) { bus_mmio_write(&fake.bus, addr, size, value); }

/* An MMIO address in the 4 KiB page at base for an access of size bytes. */
static u64 take_page_offset(struct prog *g, u8 size)
{
    u64 off = take16(g) & 0xfff;
    return off + size > 0x1000 ? 0x1000 - size : off;
}

/* ---- time ---- */

/* Virtual time stays below 2^62 ns (146 years): far beyond a domain's life,
 * and far from overflowing the sums devices make with it. */
#define FUZZ_TIME_LIMIT (1ull << 62)

/* A step of virtual time from 1 ns to years: a 16-bit mantissa and a
 * shift, so both the phase of a fast counter and long idle stretches are
 * in reach. */
static u64 take_delay(struct prog *g)
{
    u8 shift = take8(g) % 48;
    return (u64)take16(g) << shift;
}

/* Moves the virtual clock forward, firing the timers that fall due. */
static void fuzz_advance(u64 ns)
{
    if (ns > FUZZ_TIME_LIMIT - fake.clock.now)
        ns = FUZZ_TIME_LIMIT - fake.clock.now;
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

/* A fresh environment whose device may drive the lines in gsi_mask. */
static struct dm_env *fuzz_env_reset(u64 gsi_mask)
{
    struct dm_env *env = fake_env_reset();
    fuzz_gsi_allowed = gsi_mask;
    fake.irq = (struct dm_irq){fuzz_irq_set, &fake};
    return env;
}

#endif
