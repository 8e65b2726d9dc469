/* Event channels, 2-level ABI (Xen common/event_channel.c, event_2l.c;
 * public/event_channel.h). The pending and mask bitmaps live in the
 * guest's shared_info page, which the guest changes with locked bit
 * operations from any vCPU: Zazen changes them with atomic operations
 * too. Ports are interdomain-ready in design: a PORT_BACKEND port's
 * other end is a backend inside Zazen (console, xenstore, a disk), named
 * by (backend, index) as a remote domain's port would be. */
#include "xen.h"
#include "../domain.h"
#include "../sched.h"
#include "../string.h"
#include "../vcpu.h"

#define EVTCHNOP_bind_interdomain 0
#define EVTCHNOP_bind_virq 1
#define EVTCHNOP_bind_pirq 2
#define EVTCHNOP_close 3
#define EVTCHNOP_send 4
#define EVTCHNOP_status 5
#define EVTCHNOP_alloc_unbound 6
#define EVTCHNOP_bind_ipi 7
#define EVTCHNOP_bind_vcpu 8
#define EVTCHNOP_unmask 9
#define EVTCHNOP_reset 10
#define EVTCHNOP_init_control 11

#define SHARED_PENDING 2048 /* shared_info.evtchn_pending[64] */
#define SHARED_MASK 2560    /* shared_info.evtchn_mask[64] */
#define VCPU_INFO_UPCALL_PENDING 0
#define VCPU_INFO_PENDING_SEL 8
#define DOMID_SELF 0x7ff0

static u64 *shared_word(struct xen_domain *x, unsigned offset, u32 port)
{
    u8 *si = xen_guest_ram(x->d, x->shared_info_gpa, PAGE_SIZE);
    return si ? (u64 *)(si + offset) + port / 64 : NULL;
}

u8 *xen_vcpu_info(struct xen_domain *x, unsigned vcpu)
{
    if (vcpu >= XEN_MAX_VCPUS || !x->shared_info_gpa)
        return NULL;
    if (x->vcpus[vcpu].vcpu_info_gpa)
        return xen_guest_ram(x->d, x->vcpus[vcpu].vcpu_info_gpa, 64);
    u8 *si = xen_guest_ram(x->d, x->shared_info_gpa, PAGE_SIZE);
    return si ? si + vcpu * 64 : NULL;
}

static bool test_and_set(u64 *word, unsigned bit)
{
    return (__atomic_fetch_or(word, 1ull << bit, __ATOMIC_SEQ_CST) >> bit) & 1;
}

static bool test_and_clear(u64 *word, unsigned bit)
{
    return (__atomic_fetch_and(word, ~(1ull << bit), __ATOMIC_SEQ_CST) >> bit) & 1;
}

static bool test_bit(const u64 *word, unsigned bit) { return (__atomic_load_n(word, __ATOMIC_SEQ_CST) >> bit) & 1; }

/* Xen virq_is_global: the per-vCPU VIRQs (xen.h: TIMER 0, DEBUG 1,
 * XENOPROF 6, XENPMU 13) are bound to one vCPU for good. */
static bool xen_virq_global(unsigned virq) { return virq != 0 && virq != 1 && virq != 6 && virq != 13; }

bool xen_vcpu_valid(struct xen_domain *x, u64 vcpu) { return vcpu < XEN_MAX_VCPUS && vcpu < x->d->vcpu_count; }

/* Xen vcpu_mark_events_pending: the selector bit, then the upcall, and
 * the vCPU told (Xen vcpu_kick): halted, it wakes; running on another
 * CPU, it exits and takes the callback vector at its next entry. */
static void mark_pending_sel(struct xen_domain *x, unsigned vcpu, u32 port)
{
    u8 *vi = xen_vcpu_info(x, vcpu);
    if (!vi)
        return;
    if (test_and_set((u64 *)(vi + VCPU_INFO_PENDING_SEL), port / 64))
        return;
    __atomic_store_n(vi + VCPU_INFO_UPCALL_PENDING, 1, __ATOMIC_SEQ_CST);
    if (vcpu < x->d->vcpu_count && x->d->vcpu_count > 1)
        sched_notify(x->d->vcpus[vcpu]);
}

void xen_evtchn_set_pending(struct xen_domain *x, u32 port)
{
    if (port == 0 || port >= XEN_MAX_PORTS || x->ports[port].type == PORT_FREE)
        return;
    u64 *pending = shared_word(x, SHARED_PENDING, port), *mask = shared_word(x, SHARED_MASK, port);
    if (!pending || test_and_set(pending, port % 64))
        return;
    if (!test_bit(mask, port % 64))
        mark_pending_sel(x, x->ports[port].vcpu, port);
    /* Xen evtchn_check_pollers: a vCPU in SCHEDOP_poll waits for the
     * port whether or not it is masked (Linux polls its masked spinlock
     * kicker); it looks at its ports when it wakes. */
    unsigned vcpu = x->ports[port].vcpu;
    if (vcpu < x->d->vcpu_count && x->d->vcpus[vcpu]->polling)
        sched_notify(x->d->vcpus[vcpu]);
}

bool xen_evtchn_pending(struct xen_domain *x, u32 port)
{
    const u64 *pending = port < XEN_MAX_PORTS ? shared_word(x, SHARED_PENDING, port) : NULL;
    return pending && test_bit(pending, port % 64);
}

bool xen_upcall_pending(struct vcpu *v)
{
    u8 *vi = xen_vcpu_info(v->domain->xen, v->id);
    return vi && __atomic_load_n(vi + VCPU_INFO_UPCALL_PENDING, __ATOMIC_SEQ_CST);
}

u32 xen_evtchn_alloc(struct xen_domain *x, enum xen_port_type type, unsigned vcpu)
{
    for (u32 p = 1; p < XEN_MAX_PORTS; p++)
        if (x->ports[p].type == PORT_FREE) {
            x->ports[p] = (struct xen_port){.type = (u8)type, .vcpu = (u8)vcpu};
            return p;
        }
    return 0;
}

static bool port_valid(struct xen_domain *x, u32 port)
{
    return port > 0 && port < XEN_MAX_PORTS && x->ports[port].type != PORT_FREE;
}

static long bind_virq(struct vcpu *v, u64 arg)
{
    struct xen_domain *x = v->domain->xen;
    u32 b[3]; /* virq, vcpu, port (out) */
    int rc = xen_copy_from_guest(v, arg, b, sizeof(b));
    if (rc)
        return rc;
    if (b[0] >= XEN_NR_VIRQS || !xen_vcpu_valid(x, b[1]))
        return -XEN_EINVAL;
    struct xen_vcpu *xv = &x->vcpus[b[1]];
    if (xv->virq_port[b[0]])
        return -XEN_EEXIST;
    u32 port = xen_evtchn_alloc(x, PORT_VIRQ, b[1]);
    if (!port)
        return -XEN_ENOSPC;
    x->ports[port].virq = (u8)b[0];
    xv->virq_port[b[0]] = port;
    b[2] = port;
    return xen_copy_to_guest(v, arg + 8, &b[2], 4);
}

static long bind_ipi(struct vcpu *v, u64 arg)
{
    struct xen_domain *x = v->domain->xen;
    u32 b[2]; /* vcpu, port (out) */
    int rc = xen_copy_from_guest(v, arg, b, sizeof(b));
    if (rc)
        return rc;
    if (!xen_vcpu_valid(x, b[0]))
        return -XEN_EINVAL;
    u32 port = xen_evtchn_alloc(x, PORT_IPI, b[0]);
    if (!port)
        return -XEN_ENOSPC;
    b[1] = port;
    return xen_copy_to_guest(v, arg + 4, &b[1], 4);
}

/* alloc_unbound {u16 dom, u16 remote_dom, u32 port}: a port for a
 * frontend, connected to the backend in Zazen when the frontend names it
 * in the store (blkback.c). Remote domain 0 (Zazen) only. */
static long alloc_unbound(struct vcpu *v, u64 arg)
{
    struct xen_domain *x = v->domain->xen;
    u16 dom[2];
    int rc = xen_copy_from_guest(v, arg, dom, sizeof(dom));
    if (rc)
        return rc;
    if ((dom[0] != DOMID_SELF && dom[0] != v->domain->id) || dom[1] != 0)
        return -XEN_ESRCH;
    u32 port = xen_evtchn_alloc(x, PORT_UNBOUND, 0);
    if (!port)
        return -XEN_ENOSPC;
    return xen_copy_to_guest(v, arg + 4, &port, 4);
}

static long close_port(struct xen_domain *x, u32 port)
{
    if (!port_valid(x, port))
        return -XEN_EINVAL;
    struct xen_port *p = &x->ports[port];
    if (p->type == PORT_BACKEND && (p->backend == BACKEND_CONSOLE || p->backend == BACKEND_STORE))
        return 0; /* the rings' ports stay, as Xen's xenstored/xenconsoled keep theirs */
    if (p->type == PORT_VIRQ)
        x->vcpus[p->vcpu].virq_port[p->virq] = 0;
    *p = (struct xen_port){0};
    /* Xen evtchn_free: the pending bit goes with the port, or the next
     * binding of that number starts with an event nobody sent (Linux's
     * spinlock kicker, re-bound when a CPU comes back, BUG()s on one). */
    u64 *pending = shared_word(x, SHARED_PENDING, port);
    if (pending)
        test_and_clear(pending, port % 64);
    return 0;
}

/* send: to a backend, it runs now (the ring's work is done before the
 * guest goes on); to an IPI or unbound port, it is set pending again. */
static long send(struct xen_domain *x, u32 port)
{
    if (!port_valid(x, port))
        return -XEN_EINVAL;
    struct xen_port *p = &x->ports[port];
    if (p->type == PORT_BACKEND) {
        switch (p->backend) {
        case BACKEND_CONSOLE: xen_console_kick(x); break;
        case BACKEND_STORE: xenstore_kick(x); break;
        case BACKEND_BLK: blkback_kick(x, p->backend_index); break;
        default: break;
        }
        return 0;
    }
    if (p->type == PORT_IPI)
        xen_evtchn_set_pending(x, port);
    return 0;
}

/* bind_vcpu {port, vcpu} (event_channel.h): the port's events go to
 * another vCPU (Linux's IRQ affinity). As Xen evtchn_bind_vcpu: VIRQs
 * bound per vCPU (VIRQ_TIMER, VIRQ_DEBUG) and IPIs stay where they were bound
 * (-EINVAL); a port already pending is raised on the new vCPU. */
static long bind_vcpu(struct vcpu *v, u64 arg)
{
    struct xen_domain *x = v->domain->xen;
    u32 b[2];
    int rc = xen_copy_from_guest(v, arg, b, sizeof(b));
    if (rc)
        return rc;
    if (!port_valid(x, b[0]) || !xen_vcpu_valid(x, b[1]))
        return -XEN_EINVAL;
    struct xen_port *p = &x->ports[b[0]];
    if (p->type == PORT_IPI || (p->type == PORT_VIRQ && !xen_virq_global(p->virq)))
        return p->vcpu == b[1] ? 0 : -XEN_EINVAL;
    p->vcpu = (u8)b[1];
    u64 *pending = shared_word(x, SHARED_PENDING, b[0]), *mask = shared_word(x, SHARED_MASK, b[0]);
    if (pending && test_bit(pending, b[0] % 64) && !test_bit(mask, b[0] % 64))
        mark_pending_sel(x, p->vcpu, b[0]);
    return 0;
}

/* Xen evtchn_2l_unmask. */
static long unmask(struct xen_domain *x, u32 port)
{
    if (!port_valid(x, port))
        return -XEN_EINVAL;
    u64 *pending = shared_word(x, SHARED_PENDING, port), *mask = shared_word(x, SHARED_MASK, port);
    if (!pending)
        return -XEN_EINVAL;
    if (test_and_clear(mask, port % 64) && test_bit(pending, port % 64))
        mark_pending_sel(x, x->ports[port].vcpu, port);
    return 0;
}

static long status(struct vcpu *v, u64 arg)
{
    struct xen_domain *x = v->domain->xen;
    u32 b[6] = {0}; /* dom (u16) + pad, port, status, vcpu, union */
    int rc = xen_copy_from_guest(v, arg, b, 8);
    if (rc)
        return rc;
    u32 port = b[1];
    if (port >= XEN_MAX_PORTS)
        return -XEN_EINVAL;
    struct xen_port *p = &x->ports[port];
    static const u32 state[] = {[PORT_FREE] = 0, [PORT_UNBOUND] = 1, [PORT_BACKEND] = 2, [PORT_VIRQ] = 4, [PORT_IPI] = 5};
    b[2] = state[p->type];
    b[3] = p->vcpu;
    b[4] = p->type == PORT_VIRQ ? p->virq : 0;
    return xen_copy_to_guest(v, arg + 8, &b[2], 16);
}

long xen_event_channel_op(struct vcpu *v, u64 cmd, u64 arg)
{
    struct xen_domain *x = v->domain->xen;
    if (!x->shared_info_gpa && cmd != EVTCHNOP_init_control)
        return -XEN_EINVAL; /* no bitmaps to deliver into yet */
    u32 port;
    switch (cmd) {
    case EVTCHNOP_bind_virq: return bind_virq(v, arg);
    case EVTCHNOP_bind_ipi: return bind_ipi(v, arg);
    case EVTCHNOP_alloc_unbound: return alloc_unbound(v, arg);
    case EVTCHNOP_status: return status(v, arg);
    case EVTCHNOP_close:
    case EVTCHNOP_send:
    case EVTCHNOP_unmask: {
        int rc = xen_copy_from_guest(v, arg, &port, 4);
        if (rc)
            return rc;
        return cmd == EVTCHNOP_close ? close_port(x, port) : cmd == EVTCHNOP_send ? send(x, port) : unmask(x, port);
    }
    case EVTCHNOP_bind_vcpu: return bind_vcpu(v, arg);
    /* init_control must fail: Linux then keeps the 2-level ABI
     * (events_base.c xen_init_IRQ). No PIRQs, no FIFO, no interdomain
     * binding between guests yet. */
    default: return -XEN_ENOSYS;
    }
}
