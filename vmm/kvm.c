/* See kvm.h. What a write does (msr.rst, and KVM's own handling where
 * msr.rst says nothing):
 *  - MSR_KVM_WALL_CLOCK_NEW (4b564d00h), global though written on one
 *    vCPU: the time of day at system time 0 is written to the
 *    pvclock_wall_clock at that address, once, at the write.
 *  - MSR_KVM_SYSTEM_TIME_NEW (4b564d01h), per vCPU: bit 0 enables; the
 *    rest is the address of the vCPU's pvclock_vcpu_time_info, which is
 *    filled at the write. Zazen's pvclock never changes (pvclock.h: the
 *    device clock, one TSC rate), so no later update is owed; the
 *    TSC_STABLE flag is set where CPUID offers CLOCKSOURCE_STABLE_BIT.
 * Either MSR reads back what was written. An area that is not 4-byte
 * aligned, crosses a page or is not all writable RAM of the domain is not
 * written, and the write is not refused: KVM, too, takes the value and
 * writes nothing where it cannot map the area (its guest-page cache
 * refuses the address and the MSR write goes on). The guest then reads
 * no time from it; Zazen is not touched. */
#include "kvm.h"
#include "cpuid.h"
#include "domain.h"
#include "hosttime.h"
#include "pvclock.h"
#include "vcpu.h"
#include "walltime.h"
#include "x86.h"

#define KVM_MSR_ENABLED BIT(0)

static bool kvm_offered(const struct vcpu *v) { return v->domain->cfg->paravirt == PARAVIRT_KVM; }

/* A host pointer to [gpa, gpa + size) if the guest may have it written:
 * placed as KVM takes it, and all of it writable RAM in one region. */
static u8 *guest_area(struct domain *d, u64 gpa, u64 size)
{
    if (!pvclock_area_placed_ok(gpa, size))
        return NULL;
    struct guest_mem_region *r = domain_find_region(d, gpa, size);
    if (!r || !r->host || r->read_only)
        return NULL;
    return r->host + (gpa - r->gpa);
}

/* The vCPU's guest TSC now (vcpu.h tsc_offset) on the device clock. */
static u64 system_time_now(const struct vcpu *v)
{
    return clock_tsc_to_ns(&v->domain->pc.clock, rdtsc() + (u64)v->tsc_offset);
}

/* The time of day when the pvclock read 0: now less the system time. */
static void publish_wall_clock(struct vcpu *v, u64 gpa)
{
    u8 *w = guest_area(v->domain, gpa, PVCLOCK_WALL_CLOCK_SIZE);
    if (!w)
        return;
    struct calendar_time now = walltime_now();
    u64 now_ns = calendar_to_unix(&now) * NS_PER_SEC, since_zero = system_time_now(v);
    u64 at_zero = now_ns > since_zero ? now_ns - since_zero : 0;
    pvclock_publish_wall(w, at_zero / NS_PER_SEC, (u32)(at_zero % NS_PER_SEC), false);
}

static void publish_system_time(struct vcpu *v, u64 gpa)
{
    u8 *t = guest_area(v->domain, gpa, PVCLOCK_TIME_INFO_SIZE);
    if (!t)
        return;
    struct cpuid_view view = {.tsc_khz = host_tsc_khz(), .kvm = true};
    bool stable = cpuid_kvm_features(&view) & KVM_FEATURE_CLOCKSOURCE_STABLE_BIT;
    struct pvclock_scale s = pvclock_scale_of(&v->domain->pc.clock);
    s.tsc_timestamp += (u64)v->tsc_adjust; /* the guest's own TSC (vcpu.h tsc_adjust) at system time 0 */
    pvclock_publish_time(t, &s, stable ? PVCLOCK_TSC_STABLE_BIT : 0);
}

bool kvm_msr_read(struct vcpu *v, u32 msr, u64 *value)
{
    if (!kvm_offered(v))
        return false;
    *value = msr == MSR_KVM_WALL_CLOCK_NEW ? v->domain->kvm_wall_clock : v->kvm_system_time;
    return true;
}

bool kvm_msr_write(struct vcpu *v, u32 msr, u64 value)
{
    if (!kvm_offered(v))
        return false;
    if (msr == MSR_KVM_WALL_CLOCK_NEW) {
        v->domain->kvm_wall_clock = value;
        publish_wall_clock(v, value);
    } else {
        v->kvm_system_time = value;
        if (value & KVM_MSR_ENABLED)
            publish_system_time(v, value & ~KVM_MSR_ENABLED);
    }
    return true;
}

void kvm_vcpu_reset(struct vcpu *v) { v->kvm_system_time = 0; }

/* The guest moved its TSC: its time info names the new TSC at system time
 * 0, as KVM updates it when the TSC offset changes. */
void kvm_tsc_moved(struct vcpu *v)
{
    if (kvm_offered(v) && (v->kvm_system_time & KVM_MSR_ENABLED))
        publish_system_time(v, v->kvm_system_time & ~KVM_MSR_ENABLED);
}
