/* sched_op (Xen common/sched/core.c, public/sched.h). */
#include "xen.h"
#include "../domain.h"
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
        if (v->rflags & RFLAGS_IF)
            v->halted = true;
        return 0;
    case SCHEDOP_poll:
        /* Spurious wake-ups are allowed (public/sched.h): returning at
         * once is correct; Linux polls again. */
        return 0;
    case SCHEDOP_shutdown:
        return shutdown(v, arg);
    default:
        return -XEN_ENOSYS;
    }
}
