/* What every fuzz target shares: a reader that takes the fuzz input apart
 * as a little program of operations, and checks that abort, so libFuzzer
 * reports the input. Device targets include fuzz_dev.h, which adds the
 * fake device environment.
 *
 * Each target is built on its own with clang's libFuzzer, ASan and UBSan
 * (see the Makefile, `make fuzz`), from the sources its "fuzz-sources:"
 * line names. Include once per target. */
#ifndef ZAZEN_FUZZ_H
#define ZAZEN_FUZZ_H

#include "../../vmm/types.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- checks ---- */

static void NORETURN UNUSED PRINTF_LIKE(4, 5)
fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
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

static inline bool prog_more(const struct prog *g) { return g->left > 0; }

static inline u8 take8(struct prog *g)
{
    if (!g->left)
        return 0;
    g->left--;
    return *g->p++;
}

static inline bool take_bool(struct prog *g) { return take8(g) & 1; }

/* A little-endian value of the given size, taking only the bytes it needs. */
static inline u64 take_value(struct prog *g, unsigned size)
{
    u64 v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (u64)take8(g) << (8 * i);
    return v;
}

static inline u16 take16(struct prog *g) { return (u16)take_value(g, 2); }
static inline u32 take32(struct prog *g) { return (u32)take_value(g, 4); }
static inline u64 take64(struct prog *g) { return take_value(g, 8); }

/* An access size: 1, 2 or 4 (IN/OUT); 1, 2, 4 or 8 with mmio (MOV). */
static inline u8 take_io_size(struct prog *g) { return (u8)(1u << (take8(g) % 3)); }
static inline u8 take_mmio_size(struct prog *g) { return (u8)(1u << (take8(g) % 4)); }

#endif
