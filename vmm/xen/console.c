/* The PV console (public/io/console.h struct xencons_interface): the
 * guest's hvc0. Output is drained when the guest notifies the port or
 * yields (hvc_xen spins on SCHEDOP_yield while out[] is full) and becomes
 * the domain's console lines, as COM1's do for an hvm domain; typed input
 * goes into in[] and the port is raised. */
#include "xen.h"
#include "../domain.h"
#include "../lock.h"
#include "../platform.h"

#define CONS_IN 0
#define CONS_IN_SIZE 1024
#define CONS_OUT 1024
#define CONS_OUT_SIZE 2048
#define CONS_IN_CONS 3072
#define CONS_IN_PROD 3076
#define CONS_OUT_CONS 3080
#define CONS_OUT_PROD 3084

static u8 *ring(struct xen_domain *x) { return xen_guest_ram(x->d, x->special_gpa + XEN_CONSOLE_PAGE * PAGE_SIZE, PAGE_SIZE); }
static u32 *idx(u8 *r, unsigned off) { return (u32 *)(r + off); }

void xen_console_kick(struct xen_domain *x)
{
    u8 *r = ring(x);
    if (!r)
        return;
    u32 cons = __atomic_load_n(idx(r, CONS_OUT_CONS), __ATOMIC_ACQUIRE);
    u32 prod = __atomic_load_n(idx(r, CONS_OUT_PROD), __ATOMIC_ACQUIRE);
    if (prod - cons > CONS_OUT_SIZE) /* a guest's wild index: take what the ring can hold */
        cons = prod - CONS_OUT_SIZE;
    if (prod == cons)
        return;
    for (; cons != prod; cons++)
        platform_console_byte(x->d, r[CONS_OUT + (cons & (CONS_OUT_SIZE - 1))]);
    x->console_bytes += 1;
    __atomic_store_n(idx(r, CONS_OUT_CONS), cons, __ATOMIC_RELEASE);
    xen_evtchn_set_pending(x, x->console_port); /* room again: as xenconsoled notifies */
}

void xen_console_input(struct xen_domain *x)
{
    struct console_input *in = &x->d->console_input;
    u8 *r = ring(x);
    if (!r || !x->shared_info_gpa)
        return;
    bool any = false;
    spin_lock(&in->lock);
    u32 cons = __atomic_load_n(idx(r, CONS_IN_CONS), __ATOMIC_ACQUIRE);
    u32 prod = __atomic_load_n(idx(r, CONS_IN_PROD), __ATOMIC_ACQUIRE);
    while (in->tail[0] != in->head && prod - cons < CONS_IN_SIZE) {
        r[CONS_IN + (prod & (CONS_IN_SIZE - 1))] = in->ring[in->tail[0]++ % CONSOLE_INPUT_RING];
        prod++;
        any = true;
    }
    in->tail[1] = in->tail[0];
    spin_unlock(&in->lock);
    if (!any)
        return;
    __atomic_store_n(idx(r, CONS_IN_PROD), prod, __ATOMIC_RELEASE);
    xen_evtchn_set_pending(x, x->console_port);
}
