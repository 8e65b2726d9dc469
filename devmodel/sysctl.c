/* sysctl.c: System Control Port A (0x92) and the POST code port (0x80).
 * See sysctl.h for the specifications. */
#include "sysctl.h"

/* ---- 0x92 ---- */

static u32 port_a_read(void *dev, u16 port, u8 size)
{
    const struct sysctl *s = dev;
    (void)port;
    (void)size;
    return s->port_a; /* reads back as written (PS/2 "System Control Port A") */
}

/* Bit 1 gates A20 (ORed with the 8042's gate: either one turns it on).
 * Bit 0 resets the processor on its 0 -> 1 transition only; it must be
 * written 0 again before it can reset again. The callback comes last: it
 * may reset this chip. */
static void port_a_write(void *dev, u16 port, u8 size, u32 value)
{
    struct sysctl *s = dev;
    (void)port;
    (void)size;
    bool rising_reset = (value & SYSCTL_A_FAST_RESET) && !(s->port_a & SYSCTL_A_FAST_RESET);
    s->port_a = (u8)value;
    if (rising_reset && s->reset)
        s->reset(s->ctx);
}

/* ---- 0x80 ---- */

/* Reads return the last code, as the latch on a POST card shows it. */
static u32 post_read(void *dev, u16 port, u8 size)
{
    const struct sysctl *s = dev;
    (void)port;
    (void)size;
    return s->post_code;
}

static void post_write(void *dev, u16 port, u8 size, u32 value)
{
    struct sysctl *s = dev;
    (void)port;
    (void)size;
    s->post_code = (u8)value;
    if (s->post)
        s->post(s->ctx, s->post_code);
}

/* ---- the platform ---- */

u8 sysctl_post_code(const struct sysctl *s) { return s->post_code; }

bool sysctl_a20(const struct sysctl *s) { return s->port_a & SYSCTL_A_A20; }

/* A20 off and the reset bit clear after reset (PS/2 "System Control Port
 * A": "set to 0 by a system reset"). */
void sysctl_reset(struct sysctl *s)
{
    s->port_a = 0;
    s->post_code = 0;
}

bool sysctl_init(struct sysctl *s, struct dm_env *env, void (*reset)(void *ctx), void (*post)(void *ctx, u8 code),
                 void *ctx)
{
    s->env = env;
    s->reset = reset;
    s->post = post;
    s->ctx = ctx;
    sysctl_reset(s);
    return bus_claim_io(env->bus, SYSCTL_PORT_A, 1, 1, port_a_read, port_a_write, s, "port a") &&
           bus_claim_io(env->bus, SYSCTL_POST_PORT, 1, 1, post_read, post_write, s, "post");
}
