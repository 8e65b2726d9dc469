/* vcpu_op (Xen common/domain.c, public/vcpu.h) and time: the pvclock in
 * every vcpu_info, the wall clock in shared_info (public/xen.h
 * vcpu_time_info, shared_info.wc_*), and the singleshot timer that
 * raises VIRQ_TIMER.
 *
 * Xen system time is the domain's device clock (devmodel/clock.h): ns
 * since the domain's time 0, driven by the guest's TSC, published with
 * the pvclock code KVM's kvmclock shares (vmm/pvclock.h). */
#include "xen.h"
#include "../domain.h"
#include "../string.h"
#include "../pvclock.h"
#include "../walltime.h"

#define VCPUOP_is_up 3
#define VCPUOP_register_runstate_memory_area 5
#define VCPUOP_stop_periodic_timer 7
#define VCPUOP_set_singleshot_timer 8
#define VCPUOP_stop_singleshot_timer 9
#define VCPUOP_register_vcpu_info 10
#define VCPU_SSHOTTMR_future 1
#define XEN_ETIME 62

#define VCPU_INFO_TIME 32     /* vcpu_info.time, a pvclock_time_info */
#define SHARED_WC_VERSION 3072 /* shared_info.wc_version, wc_sec, wc_nsec, wc_sec_hi */

static void fire_singleshot(void *dev, u64 now)
{
    (void)now;
    struct xen_vcpu *xv = dev;
    if (xv->virq_port[VIRQ_TIMER])
        xen_evtchn_set_pending(xv->x, xv->virq_port[VIRQ_TIMER]);
}

void xen_time_init(struct xen_domain *x)
{
    x->pvclock = pvclock_scale_of(&x->d->pc.clock);
    struct calendar_time now = walltime_now();
    x->wall_sec_at_zero = calendar_to_unix(&now);
    x->wall_nsec_at_zero = 0;
    for (unsigned i = 0; i < XEN_MAX_VCPUS; i++)
        timer_init(&x->vcpus[i].singleshot, fire_singleshot, &x->vcpus[i]);
}

u64 xen_system_time(struct xen_domain *x) { return clock_now(&x->d->pc.clock); }

/* version odd while the fields change, even after (Xen time.c
 * __update_vcpu_system_time, pvclock_publish_time); the guest retries a
 * torn read. */
void xen_time_publish(struct xen_domain *x, unsigned vcpu)
{
    u8 *vi = xen_vcpu_info(x, vcpu);
    if (!vi)
        return;
    /* one guest TSC, kept monotonic across host CPUs (vcpu.h tsc_offset),
     * plus what this vCPU moved its own by (tsc_adjust) */
    struct pvclock_scale s = x->pvclock;
    if (vcpu < x->d->vcpu_count)
        s.tsc_timestamp += (u64)x->d->vcpus[vcpu]->tsc_adjust;
    pvclock_publish_time(vi + VCPU_INFO_TIME, &s, PVCLOCK_TSC_STABLE_BIT);
    u8 *si = xen_guest_ram(x->d, x->shared_info_gpa, PAGE_SIZE);
    if (!si)
        return;
    pvclock_publish_wall(si + SHARED_WC_VERSION, x->wall_sec_at_zero, x->wall_nsec_at_zero, true);
}

/* register_vcpu_info {u64 mfn; u32 offset}: the vcpu_info moves to that
 * guest frame (a GFN for an HVM guest), its contents with it; then, as
 * Xen does, every selector bit and the upcall are raised so nothing
 * pending is lost. */
static long register_vcpu_info(struct xen_domain *x, struct vcpu *v, unsigned id, u64 arg)
{
    u64 b[2];
    int rc = xen_copy_from_guest(v, arg, b, sizeof(b));
    if (rc)
        return rc;
    u32 offset = (u32)b[1];
    if (offset & 7 || offset > PAGE_SIZE - 64 || b[0] >> 40)
        return -XEN_EINVAL;
    u64 gpa = (b[0] << PAGE_SHIFT) + offset;
    u8 *dst = xen_guest_ram(x->d, gpa, 64);
    if (!dst || gpa + 64 > x->special_gpa)
        return -XEN_EINVAL;
    if (x->vcpus[id].vcpu_info_gpa)
        return -XEN_EINVAL; /* once only (Xen: -EINVAL when already registered) */
    u8 *src = xen_vcpu_info(x, id);
    if (!src)
        return -XEN_EINVAL;
    memmove(dst, src, 64);
    x->vcpus[id].vcpu_info_gpa = gpa;
    xen_time_publish(x, id);
    __atomic_store_n((u64 *)(dst + 8), ~0ull, __ATOMIC_SEQ_CST);
    __atomic_store_n(dst, 1, __ATOMIC_SEQ_CST);
    return 0;
}

static long set_singleshot(struct xen_domain *x, unsigned id, u64 arg, struct vcpu *v)
{
    u64 b[2]; /* timeout_abs_ns, flags */
    int rc = xen_copy_from_guest(v, arg, b, sizeof(b));
    if (rc)
        return rc;
    struct dm_clock *c = &x->d->pc.clock;
    struct xen_vcpu *xv = &x->vcpus[id];
    if ((b[1] & VCPU_SSHOTTMR_future) && b[0] < clock_now(c))
        return -XEN_ETIME;
    /* A deadline already past fires at once (Linux BUG()s on an error). */
    timer_arm(c, &xv->singleshot, MAX(b[0], clock_now(c)));
    return 0;
}

long xen_set_timer_op(struct vcpu *v, u64 deadline)
{
    struct xen_domain *x = v->domain->xen;
    struct dm_clock *c = &x->d->pc.clock;
    struct xen_vcpu *xv = &x->vcpus[v->id];
    if (deadline == 0)
        timer_cancel(c, &xv->singleshot);
    else
        timer_arm(c, &xv->singleshot, MAX(deadline, clock_now(c)));
    return 0;
}

long xen_vcpu_op(struct vcpu *v, u64 cmd, u64 vcpuid, u64 arg)
{
    struct xen_domain *x = v->domain->xen;
    if (!xen_vcpu_valid(x, vcpuid))
        return -XEN_ENOENT;
    unsigned id = (unsigned)vcpuid;
    switch (cmd) {
    case VCPUOP_is_up: /* an AP is up once its start-up IPI has started it */
        return !v->domain->vcpus[id]->wait_for_sipi;
    case VCPUOP_register_runstate_memory_area: {
        u64 la;
        int rc = xen_copy_from_guest(v, arg, &la, 8);
        if (rc)
            return rc;
        x->vcpus[id].runstate_la = la; /* not written: zeros mean no steal time */
        return 0;
    }
    case VCPUOP_stop_periodic_timer:
        return 0; /* there is none */
    case VCPUOP_set_singleshot_timer:
        if (id != v->id)
            return -XEN_EINVAL; /* only for the calling vCPU, as Xen */
        return set_singleshot(x, id, arg, v);
    case VCPUOP_stop_singleshot_timer:
        if (id != v->id)
            return -XEN_EINVAL;
        timer_cancel(&x->d->pc.clock, &x->vcpus[id].singleshot);
        return 0;
    case VCPUOP_register_vcpu_info:
        if (!x->shared_info_gpa)
            return -XEN_EINVAL;
        return register_vcpu_info(x, v, id, arg);
    default:
        /* initialise/up/down: a PVH Linux brings its APs up as on a PC,
         * with INIT and start-up IPIs through its local APIC (6.1
         * arch/x86/xen/smp_hvm.c keeps native_cpu_up; only prepare,
         * IPIs and cpu_die are Xen's), and registers each AP's
         * vcpu_info, VIRQ_TIMER and IPI ports from the BSP beforehand
         * (xen_cpu_up_prepare_hvm). Runstate info, time area, NMI: not
         * used either. */
        return -XEN_ENOSYS;
    }
}
