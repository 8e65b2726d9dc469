/* The PC's small system ports: System Control Port A at 0x92 (fast reset
 * and fast A20; IBM Personal System/2 Hardware Interface Technical
 * Reference, "System Control Port A"; the same port on the PIIX4 and its
 * successors) and the POST code port 0x80 (IBM BIOS convention, read by
 * POST cards). */
#ifndef ZAZEN_DEVMODEL_SYSCTL_H
#define ZAZEN_DEVMODEL_SYSCTL_H

#include "devmodel.h"

#define SYSCTL_PORT_A 0x92
#define SYSCTL_POST_PORT 0x80

#define SYSCTL_A_FAST_RESET 0x01 /* 0 -> 1: reset the processor */
#define SYSCTL_A_A20 0x02        /* 1: A20 gated on */

struct sysctl {
    u8 port_a;
    u8 post_code;
    void (*reset)(void *ctx);
    void (*post)(void *ctx, u8 code);
    void *ctx;
    struct dm_env *env;
};

/* Claims 0x92 and 0x80 (width 1). reset is how the guest resets its
 * domain; post (may be NULL) sees every POST code written. */
bool sysctl_init(struct sysctl *s, struct dm_env *env, void (*reset)(void *ctx), void (*post)(void *ctx, u8 code),
                 void *ctx);
void sysctl_reset(struct sysctl *s);
u8 sysctl_post_code(const struct sysctl *s);
/* Port A's A20 bit (the platform ORs it with the keyboard controller's). */
bool sysctl_a20(const struct sysctl *s);

#endif
