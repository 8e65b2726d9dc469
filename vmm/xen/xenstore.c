/* The xenstore ring (public/io/xs_wire.h struct
 * xenstore_domain_interface) between a pvh guest and the store server
 * (xs_store.c), and the tree a domain starts with (Xen libxl's and the
 * notes' list: domid, name, control/shutdown, the vbd devices that
 * blkback.c adds). Request bytes are taken as they arrive, whole message
 * or not: Linux notifies only when the server had caught up
 * (xenbus_comms.c xb_write). */
#include "xen.h"
#include "xs_store.h"
#include "../domain.h"
#include "../format.h"
#include "../mm.h"
#include "../string.h"

#define XS_RING 1024
#define XS_REQ 0
#define XS_RSP 1024
#define XS_REQ_CONS 2048
#define XS_REQ_PROD 2052
#define XS_RSP_CONS 2056
#define XS_RSP_PROD 2060
#define XS_CONNECTION 2068

struct xenstore {
    struct xs_store s;
    /* In a kick: the backends' own writes during it (a frontend's state
     * change makes blkback write the store) leave the ring to the kick
     * under way, which flushes their watch events when it is done. */
    bool busy;
    u8 buf[XS_RING];
};

static u8 *ring(struct xen_domain *x) { return xen_guest_ram(x->d, x->special_gpa + XEN_STORE_PAGE * PAGE_SIZE, PAGE_SIZE); }
static u32 *idx(u8 *r, unsigned off) { return (u32 *)(r + off); }

static void guest_changed(void *ctx, const char *path) { blkback_frontend_changed(ctx, path); }

bool xenstore_create(struct xen_domain *x, char *why, size_t why_size)
{
    x->store = page_alloc(sizeof(struct xenstore));
    if (!x->store) {
        snprintf(why, why_size, "out of memory for the xenstore");
        return false;
    }
    x->store->s.guest_changed = guest_changed;
    x->store->s.ctx = x;
    return true;
}

void xenstore_destroy(struct xen_domain *x)
{
    if (x->store)
        page_free(x->store, sizeof(struct xenstore));
    x->store = NULL;
}

void xenstore_reset(struct xen_domain *x)
{
    struct xs_store *s = &x->store->s;
    struct domain *d = x->d;
    xs_init(s, d->id);
    char p[XS_PATH_MAX], v[40];
    snprintf(v, sizeof(v), "%u", d->id);
    snprintf(p, sizeof(p), "%s/domid", s->home);
    xs_write(s, p, v);
    snprintf(p, sizeof(p), "%s/name", s->home);
    xs_write(s, p, d->name);
    snprintf(p, sizeof(p), "%s/control/shutdown", s->home);
    xs_write(s, p, "");
    snprintf(p, sizeof(p), "%s/cpu/0/availability", s->home);
    xs_write(s, p, "online");
    snprintf(p, sizeof(p), "%s/device", s->home);
    xs_write(s, p, "");
    snprintf(p, sizeof(p), "%s/memory/static-max", s->home);
    snprintf(v, sizeof(v), "%llu", (unsigned long long)(d->ram_size >> 10));
    xs_write(s, p, v);
    snprintf(p, sizeof(p), "%s/memory/target", s->home); /* = RAM: the balloon never shrinks it */
    xs_write(s, p, v);
    blkback_reset(x);
}

static void flush_responses(struct xen_domain *x, u8 *r, bool *notify)
{
    u32 cons = __atomic_load_n(idx(r, XS_RSP_CONS), __ATOMIC_ACQUIRE);
    u32 prod = *idx(r, XS_RSP_PROD);
    if (prod - cons > XS_RING)
        return; /* the guest broke its ring: Linux resets it itself */
    u8 *buf = x->store->buf;
    u32 n = xs_output(&x->store->s, buf, XS_RING - (prod - cons));
    for (u32 i = 0; i < n; i++)
        r[XS_RSP + ((prod + i) & (XS_RING - 1))] = buf[i];
    if (n) {
        __atomic_store_n(idx(r, XS_RSP_PROD), prod + n, __ATOMIC_RELEASE);
        *notify = true;
    }
}

void xenstore_kick(struct xen_domain *x)
{
    u8 *r = ring(x);
    if (!r || x->store->busy)
        return;
    x->store->busy = true;
    bool notify = false;
    for (unsigned round = 0; round < 64; round++) {
        u32 cons = *idx(r, XS_REQ_CONS);
        u32 prod = __atomic_load_n(idx(r, XS_REQ_PROD), __ATOMIC_ACQUIRE);
        if (prod - cons > XS_RING) { /* wild indices: take nothing, as Xen's xenstored errors the ring */
            break;
        }
        if (prod == cons) {
            flush_responses(x, r, &notify);
            break;
        }
        u8 *buf = x->store->buf;
        u32 n = prod - cons;
        for (u32 i = 0; i < n; i++)
            buf[i] = r[XS_REQ + ((cons + i) & (XS_RING - 1))];
        u32 taken = xs_input(&x->store->s, buf, n);
        __atomic_store_n(idx(r, XS_REQ_CONS), cons + taken, __ATOMIC_RELEASE);
        if (taken)
            notify = true;
        flush_responses(x, r, &notify);
        if (taken < n)
            break;
    }
    x->store->busy = false;
    if (notify)
        xen_evtchn_set_pending(x, x->store_port);
}

bool xenstore_write(struct xen_domain *x, const char *path, const char *value)
{
    bool ok = xs_write(&x->store->s, path, value);
    xenstore_kick(x); /* watch events for the guest */
    return ok;
}

bool xenstore_read(struct xen_domain *x, const char *path, char *buf, size_t size)
{
    return xs_read(&x->store->s, path, buf, size);
}
