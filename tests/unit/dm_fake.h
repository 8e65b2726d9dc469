/* A fake environment for device unit tests: a real bus and clock, an
 * interrupt controller that records line levels and rising edges, and 1
 * MiB of "guest RAM" at address 0 for DMA. Include once per test file. */
#ifndef ZAZEN_DM_FAKE_H
#define ZAZEN_DM_FAKE_H

#include "../../devmodel/devmodel.h"
#include <string.h>

#define FAKE_RAM_SIZE (1u << 20)
#define FAKE_GSIS 48

struct fake_env {
    struct io_bus bus;
    struct dm_clock clock;
    struct dm_irq irq;
    struct dm_memory mem;
    struct dm_env env;
    bool level[FAKE_GSIS];
    unsigned edges[FAKE_GSIS]; /* rising edges seen per line */
    unsigned char ram[FAKE_RAM_SIZE];
};

static void fake_irq_set(void *ctx, unsigned gsi, bool level)
{
    struct fake_env *f = ctx;
    if (gsi >= FAKE_GSIS)
        return;
    if (level && !f->level[gsi])
        f->edges[gsi]++;
    f->level[gsi] = level;
}

static bool fake_mem_read(void *ctx, u64 gpa, void *buf, size_t len)
{
    struct fake_env *f = ctx;
    if (gpa >= FAKE_RAM_SIZE || len > FAKE_RAM_SIZE - gpa)
        return false;
    memcpy(buf, f->ram + gpa, len);
    return true;
}

static bool fake_mem_write(void *ctx, u64 gpa, const void *buf, size_t len)
{
    struct fake_env *f = ctx;
    if (gpa >= FAKE_RAM_SIZE || len > FAKE_RAM_SIZE - gpa)
        return false;
    memcpy(f->ram + gpa, buf, len);
    return true;
}

/* The environment lives in a static (it is large); each test starts by
 * calling fake_env_reset(). */
static struct fake_env fake;

static struct dm_env *fake_env_reset(void)
{
    memset(&fake, 0, sizeof(fake));
    bus_init(&fake.bus);
    clock_init(&fake.clock);
    fake.irq = (struct dm_irq){fake_irq_set, &fake};
    fake.mem = (struct dm_memory){fake_mem_read, fake_mem_write, &fake};
    fake.env = (struct dm_env){&fake.bus, &fake.clock, &fake.irq, &fake.mem};
    return &fake.env;
}

/* Moves the clock forward by ns, firing due timers. */
static inline void fake_advance(u64 ns) { clock_advance(&fake.clock, fake.clock.now + ns); }

static inline u32 io_in(u16 port, u8 size) { return bus_io_read(&fake.bus, port, size); }
static inline void io_out(u16 port, u8 size, u32 v) { bus_io_write(&fake.bus, port, size, v); }
static inline u8 inb_(u16 port) { return (u8)io_in(port, 1); }
static inline void outb_(u16 port, u8 v) { io_out(port, 1, v); }

#endif
