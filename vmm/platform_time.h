/* Device time on the run loop's quick way and the fast way
 * (docs/exit-paths.md): the question whether anything besides the clock
 * must move, inline, since a quiet IN asks it on every exit; the rest is
 * platform_update_time's (vmm/platform.c). */
#ifndef ZAZEN_PLATFORM_TIME_H
#define ZAZEN_PLATFORM_TIME_H

#include "domain.h"
#include "hosttime.h"
#include "platform.h"
#include "x86.h"

/* A guest that has written nothing for OUTPUT_QUIET_NS of its time has
 * stopped writing for now (a prompt, a progress dot): what waits in its
 * line buffers is shown. Guest time, so a slow host or emulator does not
 * split lines that the guest writes in one go. */
#define OUTPUT_QUIET_NS (5ull * 1000 * 1000)

/* An unfinished line waits in COM1's or the debug console's buffer. */
static inline bool platform_output_waits(const struct domain *d)
{
    return d->com1_len != d->com1_shown || d->debugcon.len != d->debugcon.shown;
}

/* The guest's TSC, which its devices' clock follows (vcpu.h tsc_offset). */
static inline u64 platform_guest_tsc(const struct vcpu *v) { return rdtsc() + (u64)v->tsc_offset; }

/* platform_update_time's part after the clock: moves it to now (device
 * nanoseconds), firing what is due, feeds typed input, shows quiet
 * output (vmm/platform.c). */
void platform_time_due(struct domain *d, u64 now);

/* platform_update_time for a quick exit, to the moment host_tsc: true if
 * only the clock moved (no device timer was due, no console input waits,
 * no output is to be noted or flushed), so no interrupt can have come of
 * it and no deadline moved; false after the whole update. */
static inline __attribute__((always_inline)) bool platform_update_time_quick_at(struct vcpu *v, u64 host_tsc)
{
    struct domain *d = v->domain;
    struct dm_clock *c = &d->pc.clock;
    const struct console_input *in = &d->console_input;
    u64 now = clock_tsc_to_ns(c, host_tsc + (u64)v->tsc_offset);
    bool input = atomic_load(&in->head) != in->tail[0] || atomic_load(&in->head) != in->tail[1];
    bool output = d->com1_bytes + d->debugcon.bytes != d->output_seen ||
                  (platform_output_waits(d) && now - d->output_at >= OUTPUT_QUIET_NS);
    if (__builtin_expect(clock_next_deadline(c) > now && !input && !output, 1)) {
        clock_advance_quiet(c, now); /* nothing is due: only the clock moves */
        return true;
    }
    platform_time_due(d, now);
    return false;
}

/* ...to now. */
static inline __attribute__((always_inline)) bool platform_update_time_quick(struct vcpu *v)
{
    return platform_update_time_quick_at(v, rdtsc());
}

/* The same for a read whose answer follows device time alone
 * (io_range.clock_reads: the PIT's counters, the PM timer): true if the
 * clock alone moved to now, no device timer being due by then; false
 * after the whole update. Console input and output are no part of the
 * answer and are left to the next whole update: the loop's top, at the
 * latest when the host timer it armed for the slice's end or (CPU 0) the
 * console's due time fires. No interrupt can come of the clock alone,
 * so none need be looked for first: one already waiting sends the guest
 * through the loop's top after the read (fast_reentry). */
static inline __attribute__((always_inline)) bool platform_clock_quick(struct vcpu *v)
{
    struct domain *d = v->domain;
    struct dm_clock *c = &d->pc.clock;
    u64 now = clock_tsc_to_ns(c, platform_guest_tsc(v));
    if (__builtin_expect(clock_next_deadline(c) > now, 1)) {
        clock_advance_quiet(c, now);
        return true;
    }
    platform_time_due(d, now);
    return false;
}

/* After a quiet write at the device time platform_update_time_quick set:
 * the output it made is noted as the next update would (its moment),
 * and true if no unfinished line waits (then no deadline moved). */
static inline bool platform_note_output_quick(struct domain *d)
{
    u64 seen = d->com1_bytes + d->debugcon.bytes;
    if (seen != d->output_seen) {
        d->output_seen = seen;
        d->output_at = d->pc.clock.now;
    }
    return !platform_output_waits(d);
}

/* The same after a quiet write that did not move device time (the debug
 * console's, fast_io_out): the output's moment is the guest's TSC now,
 * noted only while a line waits (the quiet flush counts from it). */
/* ...the same while a line waits (vmm/platform.c). */
bool platform_note_output_waiting(struct domain *d, const struct vcpu *v);

/* (Its first question inline in every fast way that writes: nearly always
 * no line waits.) */
static inline __attribute__((always_inline)) bool platform_note_output_now(struct domain *d, const struct vcpu *v)
{
    if (!platform_output_waits(d))
        return true; /* no line waits: its moment matters to none (the next update notes the bytes) */
    return platform_note_output_waiting(d, v);
}

/* The fast way's write to this vCPU's local APIC timer (its initial
 * count, IA32_TSC_DEADLINE: vmm/mmio.c, vmm/msr.c): asked before it, and
 * if true device time has moved to the write's moment, host_tsc (quiet:
 * only the clock moved), as the whole way moves it before its handler,
 * for the count starts then (an MMIO write's moment is the exit's,
 * vcpu.fast_mmio: its decoding would otherwise start the count hundreds
 * of instructions late, and the timer fire as much after its time).
 * Only with no interrupt waiting at the last look and the host timer not
 * fired, as a quiet IN. */
static inline bool platform_timer_write_begin(struct vcpu *v, bool *quiet, u64 host_tsc)
{
    if (!v->no_interrupt_pending || host_timer_fired())
        return false;
    *quiet = platform_update_time_quick_at(v, host_tsc);
    return true;
}

/* ...and after it: the timer's deadline moved, which the host timer the
 * loop's top armed must follow. It is armed again here, for what the top
 * would arm it for (next_host_deadline, vmm/vcpu.c): the earliest of the
 * slice's end (on CPU 0 the console's due time, both in fast_until) and
 * the domain's next device deadline; the guest goes back in. The loop's
 * top instead if device time found something due, or an interrupt is
 * pending for the vCPU: a deadline already passed fires in the write
 * (SDM 3A 11.5.4.1), and the top delivers its interrupt. */
static inline enum fast_way platform_timer_written(struct vcpu *v, bool quiet)
{
    if (pc_interrupt_pending(&v->domain->pc, v->id)) {
        vcpu_interrupt_may_be_pending(v);
        return FAST_DONE;
    }
    if (!quiet)
        return FAST_DONE;
    host_timer_arm_tsc(MIN(v->fast_until, platform_next_device_tsc(v)));
    return FAST_BACK_IN;
}

#endif
