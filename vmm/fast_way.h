/* The fast way's core (docs/exit-paths.md): what the full way would do
 * for a frequent exit (CPUID, the x2APIC EOI, a quiet IN or OUT, a plain
 * MOV to a device), without the exit record or the run loop. Inline, so
 * that each backend's entry loop carries it out with no call into the
 * core: a fast exit's own length is what issue 18 counts, and a call with
 * its frame, spills and argument moves was about 40 of a CPUID's 300. */
#ifndef ZAZEN_FAST_WAY_H
#define ZAZEN_FAST_WAY_H

#include "domain.h"
#include "handlers.h"
#include "hosttime.h"
#include "percpu.h"
#include "platform_time.h"
#include "trace.h"
#include "vcpu.h"
#include "x86.h"
#include "../devmodel/lapic.h"

/* After a quick exit (one whose handler touched no device, with no
 * interrupt waiting): may the guest go straight back in, skipping the
 * top of the run loop? Only when nothing that top looks at has changed:
 * no interrupt may have become deliverable, the vCPU did not halt, its
 * domain did not end, reset or pause, no request or message came (all
 * of which set vcpu.fast_stop, which the top clears), no hazard came, and
 * the host timer did not fire (so the one armed is still the one wanted:
 * no device deadline moved). The slice's end (on CPU 0 also the console's
 * due time) is not read here: the host timer the top armed is never later
 * than it (next_host_deadline, vmm/vcpu.c), and if it comes due while the
 * exit is handled its interrupt waits (interrupts are off) and brings the
 * guest out again right after the entry, an exit that then takes the
 * whole way. One round trip more at a slice's end, against a TSC read and
 * a compare on every exit that goes back in at once. The handler ran as
 * on the slow path: counts, trace, single-step and shadows are the
 * same. */
static inline __attribute__((always_inline)) bool fast_reentry(struct vcpu *v)
{
    struct percpu *c = this_cpu();
    return __builtin_expect(!(atomic_load(&v->fast_stop) || atomic_load(&c->hazard) || c->timer_fired), 1); /* host_timer_fired() */
}

/* The CPUID cache's entry for leaf and sub-leaf, or NULL (vmm/cpuid.c
 * keeps it): an answer depends only on them, the host and the vCPU's id
 * and count (fixed), and what empties the cache when it changes (its
 * XCR0, whether its local APIC is enabled: CPUID.1:EDX.APIC, SDM 3A
 * 11.4.3; IA32_MISC_ENABLE), so one compare of the key says it holds. */
static inline __attribute__((always_inline)) const struct cpuid_cached *cpuid_cache_find(const struct vcpu *v,
                                                                                         u32 leaf, u32 subleaf)
{
    const struct cpuid_cached *c = &v->cpuid_cache[cpuid_cache_slot(leaf, subleaf)];
    return c->key == cpuid_cache_key(leaf, subleaf) ? c : NULL;
}

/* CPUID the fast way: a hit in the cache; a miss goes the full way,
 * which works the answer out and keeps it. The leaf and sub-leaf come
 * from the registers as the exit left them (regs: what the trace entry
 * was made of, still in the CPU's registers). */
static inline __attribute__((always_inline)) enum fast_way fast_cpuid(struct vcpu *v, const struct trace_regs *regs)
{
    const struct cpuid_cached *c = cpuid_cache_find(v, (u32)regs->rax, (u32)regs->rcx);
    if (!c)
        return FAST_NO;
    v->gpr[GPR_RAX] = c->regs[0];
    v->gpr[GPR_RBX] = c->regs[1];
    v->gpr[GPR_RCX] = c->regs[2];
    v->gpr[GPR_RDX] = c->regs[3];
    return FAST_BACK_IN;
}

/* The bytes of an IN or OUT of size 1, 2 or 4 (one load, where
 * bus_all_ones computes its mask; sizes above 4 are all 32 bits). */
static inline u32 port_mask(u8 size)
{
    static const u32 masks[8] = {0, 0xff, 0xffff, 0xffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff};
    return masks[size & 7];
}

/* A write of a 32-bit register zero-extends into the 64-bit one; 8- and
 * 16-bit writes leave the upper bits alone (SDM 1 3.4.1.1): what of RAX
 * an IN of each size keeps, so the answer goes in with one AND and one
 * OR whatever the size. value: masked to size. */
static inline void vcpu_set_accumulator(struct vcpu *v, u8 size, u32 value)
{
    static const u64 kept[8] = {~0ull, ~0xffull, ~0xffffull, ~0xffffffull, 0, 0, 0, 0};
    v->gpr[GPR_RAX] = (v->gpr[GPR_RAX] & kept[size & 7]) | value;
}

/* May device time move the quick way (platform_update_time_quick)? Only
 * with no interrupt waiting at the last look and the host timer not
 * fired: what the quick update skips (delivery, re-arming) is then not
 * wanted. */
static inline __attribute__((always_inline)) bool fast_time_may_move(const struct vcpu *v)
{
    return v->no_interrupt_pending && !host_timer_fired();
}

/* The fast way: an IN of a quiet range, as the run loop's quick way
 * does it (vcpu_run_slice), or an OUT to a range whose writes are quiet
 * or watched (bus.h), the access whole in one range (bus_fast_range) so
 * the device's own read or write takes it. A read, and a watched write,
 * first move device time to the exit (platform_update_time_quick, when
 * fast_time_may_move), as the whole way moves it before its handler:
 * the counter read, the UART's transmit timer, depend on it. If that
 * found something due (it then did the whole update), the instruction
 * is done and the loop's top delivers and arms what came. A read whose
 * answer follows device time alone (io_range.clock_reads) moves the
 * clock alone (platform_clock_quick), whatever is waiting. A read whose
 * answer does not follow time (PCI configuration space:
 * io_range.timeless_reads) does not look at device time, as a CPUID does
 * not: a deadline that came meanwhile has its host timer, and an
 * interrupt waiting sends the guest through the loop's top after it
 * (fast_reentry). */
static inline __attribute__((always_inline)) enum fast_way fast_io_in(struct vcpu *v, const struct io_range *range, u16 port, u8 size)
{
    bool quiet = true;
    if (range->clock_reads) {
        quiet = platform_clock_quick(v);
    } else if (!range->timeless_reads) {
        if (!fast_time_may_move(v))
            return FAST_NO;
        quiet = platform_update_time_quick(v);
    }
    u32 value = range->read ? range->read(range->dev, port, size) & port_mask(size) : port_mask(size);
    vcpu_set_accumulator(v, size, value);
    return quiet ? FAST_BACK_IN : FAST_DONE;
}

/* fast_io_out's write to a range whose writes move interrupt requests
 * and make output, and not by device time (BUS_WRITES_REQUESTS: the
 * 8259s, the UART but in loopback with FIFOs). Device time stays where it
 * was: the write reads no clock and arms no timer, so only the PIT's
 * gate, which reads the 8259s (pc_irq0_gate_inputs), may want it, and
 * then it moves to the exit after the write rather than before
 * (fast_io_gate_after_write, vmm/io.c). A device timer that came due
 * since the last move (its host timer, armed for it, would bring the
 * guest out right after the entry) then fires after the write rather
 * than before it: as if it had come the few hundred instructions of this
 * exit later, within the lateness every device timer has between two
 * looks at the clock. The gate can move the PIT's deadline (a mute, a
 * tick held or released): the loop's top arms the host timer again if it
 * came nearer, as after a watched write. Output (a UART byte) is noted at
 * the exit's own time, as a quiet write's. */
static inline __attribute__((always_inline)) enum fast_way fast_io_out_requests(struct domain *d, struct vcpu *v,
                                                                               const struct io_range *range,
                                                                               u16 port, u8 size, u32 value)
{
    struct pc *pc = &d->pc;
    u32 gate = pc_irq0_gate_inputs(pc);
    range->write(range->dev, port, size, value);
    bool quiet = !pc_gate_inputs_moved(pc, gate) || fast_io_gate_after_write(v);
    if (pc_interrupt_pending_at(pc, v->lapic, v->id)) {
        vcpu_interrupt_may_be_pending(v);
        return FAST_DONE;
    }
    return platform_note_output_now(d, v) && quiet ? FAST_BACK_IN : FAST_DONE;
}

/* size | FAST_IO_OUT. What a watched write (the UART in loopback with FIFOs) may
 * change, and how the guest still goes through the loop's top when it
 * must:
 * - an interrupt request: one now pending for this vCPU is found as the
 *   loop's top finds it (pc_interrupt_pending; the 8259's INTR rises on
 *   an unmask or an EOI with no line moving, so no signal says so), and
 *   marked (vcpu_interrupt_may_be_pending: fast_reentry then sends
 *   the guest through the top, which delivers it before its next
 *   instruction); one for another vCPU reaches it as from the whole way;
 * - a device timer armed nearer than the earliest deadline before the
 *   write: the host timer armed at the loop's top would be late for it,
 *   so FAST_DONE (one moved further only makes the host timer fire
 *   early, and that exit takes the whole way);
 * - the PIT's gate (pc_gate_timers: its tick held, muted or released by
 *   the 8259s' mask, request and in-service bits) is asked again, as the
 *   loop's top asks it after an exit that touched a device.
 * A quiet write (the debug console, a port nobody claims) changes none
 * of that and does not look at device time, as a CPUID does not: a
 * deadline that came meanwhile has the host timer, armed for it, bring
 * the guest out at once, and an interrupt waiting sends it through the
 * loop's top (fast_reentry). Its output's moment is the exit's own time,
 * noted while a line waits (platform_note_output_now). */
static inline __attribute__((always_inline)) enum fast_way fast_io_out(struct domain *d, struct vcpu *v,
                                                                      const struct io_range *range, u16 port, u8 size)
{
    u8 bytes = size & (u8)~FAST_IO_OUT;
    u32 value = (u32)v->gpr[GPR_RAX] & port_mask(bytes);
    if (range->writes == BUS_WRITES_QUIET) {
        if (range->write)
            range->write(range->dev, port, bytes, value);
        return platform_note_output_now(d, v) ? FAST_BACK_IN : FAST_DONE;
    }
    if (range->writes == BUS_WRITES_REQUESTS)
        return fast_io_out_requests(d, v, range, port, bytes, value);
    if (!fast_time_may_move(v))
        return FAST_NO;
    return fast_io_out_watched(v, range, port, bytes, value);
}

/* The range an IN or OUT (size | FAST_IO_OUT) of the fast way goes to,
 * from one lookup, or NULL if the full way must take it: an access the
 * bus would split (bus_fast_range), a read that is not quiet, a write
 * that may change more than an interrupt request or a timer
 * (BUS_WRITES_FULL: most OUTs). Asked by the backend as soon as it has
 * the port, before it reads anything more. */
static inline __attribute__((always_inline)) const struct io_range *vcpu_fast_port(const struct vcpu *v, u16 port,
                                                                                  u8 size)
{
    const struct io_range *r = bus_fast_range(&v->domain->pc.bus, port, size & (u8)~FAST_IO_OUT);
    if (!r)
        return NULL;
    if (size & FAST_IO_OUT)
        return r->writes != BUS_WRITES_FULL ? r : NULL;
    return r->quiet_reads ? r : NULL;
}

/* The fast handler for reason r (handlers.h). */
static inline __attribute__((always_inline)) enum fast_way fast_handler(struct domain *d, struct vcpu *v, enum exit_reason r, u16 port,
                                                                       u8 size, const struct io_range *range,
                                                                       const struct trace_regs *regs)
{
    switch (r) {
    case EXIT_CPUID:
        return fast_cpuid(v, regs);
    case EXIT_MSR_WRITE:
        return fast_msr_write(v, port, size);
    case EXIT_IO:
        return (size & FAST_IO_OUT) ? fast_io_out(d, v, range, port, size) : fast_io_in(v, range, port, size);
    case EXIT_NESTED_FAULT:
        return fast_mmio_write(v, port, size);
    default:
        return FAST_NO;
    }
}

/* Whether fast_exit_locked times its exit: known where it is called
 * (two copies of the way, one without a question of timing), or asked of
 * the countdown before and after the handler (one copy). */
enum fast_timing { FAST_UNTIMED, FAST_TIMED, FAST_TIMED_IF_DUE };

/* The devices lock's release, where `shared` (domain_devices_shared) was
 * asked once when it was taken. */
static inline __attribute__((always_inline)) void fast_devices_unlock(struct domain *d, bool shared)
{
    if (shared)
        domain_devices_unlock_shared(d);
}

static inline __attribute__((always_inline)) bool fast_exit_timed(const struct domain *d, enum exit_reason r,
                                                                  enum fast_timing timing)
{
    return timing == FAST_TIMED || (timing == FAST_TIMED_IF_DUE && d->fast_untimed[r] == 0);
}

/* vcpu_fast_exit's body, once the device lock is held and the reason's
 * countdown moved. */
static inline __attribute__((always_inline)) enum fast_way fast_exit_locked(struct domain *d, struct vcpu *v,
                                                                           enum exit_reason r, u64 insn_len,
                                                                           u16 port, u8 size,
                                                                           const struct io_range *range,
                                                                           enum fast_timing timing, bool shared)
{
    /* The timed exit's start is kept in the vCPU, and whether it is timed
     * in the countdown: nothing of it stays in a register across the
     * handler; neither moves meanwhile, the device lock being held. */
    if (fast_exit_timed(d, r, timing))
        v->fast_timed_at = rdtsc();
    /* The trace sees the registers as the exit left them (trace_exit):
     * the entry is written now and counted once the handler did the exit
     * (trace_commit). */
    const struct trace_regs regs = {v->rip, v->gpr[GPR_RAX], v->gpr[GPR_RCX], v->gpr[GPR_RDX]};
    if (r == EXIT_IO)
        trace_stage_port(&d->trace, &regs, port, size);
    else if (r == EXIT_NESTED_FAULT)
        trace_stage_mmio_write(&d->trace, &regs, v->fast_mmio.gpa);
    else
        trace_stage_registers(&d->trace, r, &regs);
    enum fast_way way = fast_handler(d, v, r, port, size, range, &regs);
    if (way == FAST_NO) {
        d->fast_untimed[r]++; /* the full way times it: not this sample */
        fast_devices_unlock(d, shared);
        return FAST_NO;
    }
    trace_commit(&d->trace);
    v->rip += insn_len;
    v->reflect_chain.count = 0; /* an instruction ran (exit_dispatch) */
    d->exit_counts[r]++;
    if (way == FAST_BACK_IN && !fast_reentry(v))
        way = FAST_DONE;
    if (fast_exit_timed(d, r, timing)) {
        d->fast_untimed[r] = FAST_TIMING_SAMPLE;
        u64 spent = (rdtsc() - v->fast_timed_at) * FAST_TIMING_SAMPLE;
        d->exit_ticks[r] += spent;
        d->phase_ticks[PHASE_HANDLER] += spent;
    }
    fast_devices_unlock(d, shared);
    return way;
}

/* The fast way (vcpu.h): what the full way would do for this exit,
 * without the exit record or the run loop. Each condition that keeps an
 * exit from it is one the full way needs: an unknown length (AMD-V
 * without NRIP save: decode_exit_length), RFLAGS.TF (the single-step
 * #DB, vcpu_complete_instruction_slow), an instruction pointer that may
 * wrap at 64 KiB or 4 GiB, an open CPU-access window (exit_dispatch
 * closes it), and a handler that declines (it changed nothing). Then
 * the exit count and the trace entry are the full way's, its ticks are
 * sampled (FAST_TIMING_SAMPLE), and fast_reentry decides, as after a
 * quick exit, whether the guest goes straight back in. */
static inline __attribute__((always_inline)) enum fast_way vcpu_fast_exit(struct vcpu *v, enum exit_reason r,
                                                                         u64 insn_len, u16 port, u8 size,
                                                                         const struct io_range *range)
{
    struct domain *d = v->domain;
    /* (u16)(RIP + length) < length: the instruction's end passes a 64 KiB
     * boundary ((RIP & 0xffff) + length > 0xffff), in one compare. */
    if (!insn_len || (v->rflags & RFLAGS_TF) || (u16)(v->rip + insn_len) < insn_len)
        return FAST_NO;
    /* The two MSRs fast_msr_write takes (the x2APIC EOI,
     * IA32_TSC_DEADLINE), asked before anything costs: a WRMSR of any
     * other (the x2APIC ICR...) goes the full way at once. */
    if (r == EXIT_MSR_WRITE && (u32)v->gpr[GPR_RCX] != MSR_X2APIC_EOI && (u32)v->gpr[GPR_RCX] != MSR_IA32_TSC_DEADLINE)
        return FAST_NO;
    /* Whether the lock is taken, asked once (the count is fixed). */
    bool shared = domain_devices_shared(d);
    if (shared)
        domain_devices_lock_shared(d);
    if (__builtin_expect(d->cpu_window_count != 0, 0)) {
        fast_devices_unlock(d, shared);
        return FAST_NO;
    }
    /* The exit whose countdown reaches 0 is timed. CPUID, the shortest,
     * has a copy of the way without a question of timing (4 fewer
     * instructions on VT-x); the others keep one copy, whose code the
     * compiler lays out better for AMD-V's ports. */
    if (__builtin_constant_p(r) && r == EXIT_CPUID) {
        if (__builtin_expect(--d->fast_untimed[r] != 0, 1))
            return fast_exit_locked(d, v, r, insn_len, port, size, range, FAST_UNTIMED, shared);
        return fast_exit_locked(d, v, r, insn_len, port, size, range, FAST_TIMED, shared);
    }
    --d->fast_untimed[r];
    return fast_exit_locked(d, v, r, insn_len, port, size, range, FAST_TIMED_IF_DUE, shared);
}

/* What a backend calls after its own way for CPUID (fast_cpuid_exit):
 * port I/O, the most frequent of the rest, gets a copy of the fast way of
 * its own: with the reason known there, none of its tests of the reason
 * is left, and no register holds it (or its count's address) across the
 * device's call. */
static inline __attribute__((always_inline)) enum fast_way vcpu_fast_exit_split(struct vcpu *v, enum exit_reason r,
                                                                               u64 insn_len, u16 port, u8 size,
                                                                               const struct io_range *range)
{
    /* One expression: as two returns, GCC laid VT-x's I/O way out 2-5
     * instructions longer. */
    return r == EXIT_IO ? vcpu_fast_exit(v, EXIT_IO, insn_len, port, size, range)
                        : vcpu_fast_exit(v, r, insn_len, port, size, range);
}

#endif
