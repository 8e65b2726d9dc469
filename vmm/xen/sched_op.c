/* sched_op (Xen common/sched/core.c, public/sched.h). */
#include "xen.h"
#include "../domain.h"
#include "../string.h"
#include "../x86.h"

#define SCHEDOP_yield 0
#define SCHEDOP_block 1
#define SCHEDOP_shutdown 2
#define SCHEDOP_poll 3
#define SHUTDOWN_poweroff 0
#define SHUTDOWN_reboot 1
#define SHUTDOWN_suspend 2
#define SHUTDOWN_crash 3
#define SHUTDOWN_watchdog 4

static long shutdown(struct vcpu *v, u64 arg)
{
    struct domain *d = v->domain;
    u32 reason;
    int rc = xen_copy_from_guest(v, arg, &reason, 4);
    if (rc)
        return rc;
    switch (reason) {
    case SHUTDOWN_poweroff:
        domain_end_kind(d, END_POWEROFF, "powered off (SCHEDOP_shutdown)");
        return 0;
    case SHUTDOWN_reboot: /* as a PC's reset: on_reboot decides, as for hvm */
        d->reset_requested = true;
        domain_stop_fast(d);
        return 0;
    case SHUTDOWN_crash:
        domain_end(d, "crashed (SCHEDOP_shutdown: crash)");
        return 0;
    case SHUTDOWN_watchdog:
        domain_end(d, "crashed (SCHEDOP_shutdown: watchdog)");
        return 0;
    default:
        return -XEN_EINVAL; /* suspend and soft_reset: no save/restore or kexec */
    }
}

/* public/sched.h struct sched_poll on x86-64. */
struct PACKED sched_poll {
    u64 ports; /* XEN_GUEST_HANDLE(evtchn_port_t) */
    u32 nr_ports, pad;
    u64 timeout; /* system time, ns; 0: none */
};

static void poll_timeout_fired(void *dev, u64 now)
{
    (void)now;
    ((struct xen_vcpu *)dev)->poll_timed_out = true;
}

void xen_poll_init(struct xen_domain *x)
{
    for (unsigned i = 0; i < XEN_MAX_VCPUS; i++)
        timer_init(&x->vcpus[i].poll_timeout, poll_timeout_fired, &x->vcpus[i]);
}

/* What ends a poll (Xen do_poll and vcpu_unblock): one of its ports
 * pending, its timeout, or something the vCPU would take now: an upcall
 * or an interrupt with IF set, an NMI. Xen also wakes a poller for any
 * event marked for it; a wake-up that finds none of these blocks again. */
static bool poll_over(struct vcpu *v)
{
    struct xen_domain *x = v->domain->xen;
    struct xen_vcpu *xv = &x->vcpus[v->id];
    if (xv->poll_timed_out || pc_nmi_pending(&v->domain->pc, v->id))
        return true;
    for (unsigned i = 0; i < xv->poll_count; i++)
        if (xen_evtchn_pending(x, xv->poll_ports[i]))
            return true;
    return (v->rflags & RFLAGS_IF) && (xen_upcall_pending(v) || pc_interrupt_pending(&v->domain->pc, v->id));
}

bool xen_poll_ended(struct vcpu *v)
{
    struct xen_domain *x = v->domain->xen;
    if (!poll_over(v))
        return false;
    timer_cancel(&x->d->pc.clock, &x->vcpus[v->id].poll_timeout);
    x->vcpus[v->id].poll_count = 0;
    return true;
}

/* SCHEDOP_poll: blocks the vCPU until one of the ports is pending or the
 * timeout passes (public/sched.h). Linux's PV spinlocks wait so on their
 * kicker port (arch/x86/xen/spinlock.c); returning at once would make
 * every waiter spin in the hypervisor. */
static long poll(struct vcpu *v, u64 arg)
{
    struct xen_domain *x = v->domain->xen;
    struct xen_vcpu *xv = &x->vcpus[v->id];
    struct sched_poll p;
    int rc = xen_copy_from_guest(v, arg, &p, sizeof(p));
    if (rc)
        return rc;
    if (p.nr_ports > XEN_POLL_MAX_PORTS)
        return -XEN_EINVAL;
    if (p.nr_ports && (rc = xen_copy_from_guest(v, p.ports, xv->poll_ports, p.nr_ports * 4)))
        return rc;
    for (unsigned i = 0; i < p.nr_ports; i++)
        if (xv->poll_ports[i] >= XEN_MAX_PORTS)
            return -XEN_EINVAL;
    xv->poll_count = p.nr_ports;
    xv->poll_timed_out = false;
    if (poll_over(v)) {
        xv->poll_count = 0;
        return 0;
    }
    struct dm_clock *c = &x->d->pc.clock;
    if (p.timeout)
        timer_arm(c, &xv->poll_timeout, MAX(p.timeout, clock_now(c)));
    v->polling = v->halted = true;
    vcpu_stop_fast(v);
    return 0;
}

long xen_sched_op(struct vcpu *v, u64 cmd, u64 arg)
{
    struct xen_domain *x = v->domain->xen;
    switch (cmd) {
    case SCHEDOP_yield:
        /* hvc_xen yields while the console ring is full: drain it. */
        xen_console_kick(x);
        return 0;
    case SCHEDOP_block:
        /* PV's idle, which enables event delivery; an HVM-container vCPU
         * takes upcalls only with IF set, so it blocks only then (as HLT). */
        if (v->rflags & RFLAGS_IF) {
            v->halted = true;
            vcpu_stop_fast(v);
        }
        return 0;
    case SCHEDOP_poll:
        return poll(v, arg);
    case SCHEDOP_shutdown:
        return shutdown(v, arg);
    default:
        return -XEN_ENOSYS;
    }
}
