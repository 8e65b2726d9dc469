/* A vCPU's core state after RESET, and one vCPU's turn on a CPU: load it, then exit by exit until its slice is
 * over, it halts, its domain ends or this CPU is asked to reschedule; put
 * it. Each step: bring device time up to date (due timers raise their
 * interrupts), carry out a reset the guest asked for, deliver the pending
 * interrupt, arm the host timer for whatever comes first, look once more
 * at the hazard word with interrupts off, enter the guest, and dispatch
 * the exit that brings it back (docs/architecture.md, "the life of one
 * exit"; docs/scheduler.md). */
#include "vcpu.h"
#include "arch.h"
#include "console.h"
#include "console_service.h"
#include "cpuid.h"
#include "domain.h"
#include "domain_type.h"
#include "emulate.h"
#include "fast_way.h"
#include "guest_state.h"
#include "handlers.h"
#include "hosttime.h"
#include "kvm.h"
#include "percpu.h"
#include "platform.h"
#include "platform_time.h"
#include "smp.h"
#include "string.h"
#include "tpr.h"
#include "x86.h"

void vcpu_reset(struct vcpu *v)
{
    arch->vcpu_reset(v);
    guest_state_vcpu_reset(v);
    memset(&v->reflect_chain, 0, sizeof(v->reflect_chain));
    cpuid_forget(v);
    v->tpr = v->tpr_loaded = v->tpr_threshold_loaded = 0; /* as the backend's reset loads them */
    v->x2apic_loaded = false;
    v->misc_enable = MISC_ENABLE_AT_RESET;
    kvm_vcpu_reset(v);
    v->polling = false;
}

void vcpu_move_tsc(struct vcpu *v, s64 delta)
{
    if (!delta)
        return;
    v->tsc_adjust += delta;
    arch->set_tsc_offset(v);
    lapic_set_tsc_adjust(v->lapic, v->tsc_adjust);
    kvm_tsc_moved(v);
    if (v->domain->type->tsc_moved)
        v->domain->type->tsc_moved(v);
}

/* The trace sees the exit as the backend reported it, before its handler
 * changes anything (RIP still at the exiting instruction). */
static void trace_exit(struct domain *d, const struct vcpu *v, const struct vm_exit *e)
{
    struct trace_regs regs = {v->rip, v->gpr[GPR_RAX], v->gpr[GPR_RCX], v->gpr[GPR_RDX]};
    trace_record(&d->trace, e, &regs);
}

/* The earliest of what this CPU must wake up for while v runs: the end
 * of v's slice, v's next device deadline, and (CPU 0) the console. */
static u64 next_host_deadline(struct vcpu *v, u64 until)
{
    u64 device = platform_next_device_tsc(v); /* once: MIN evaluates an argument twice */
    u64 t = MIN(until, device);
    if (this_cpu()->index == 0) {
        u64 due = console_service_due(); /* once: MIN evaluates an argument twice */
        t = MIN(t, due);
    }
    return t;
}

/* A halted vCPU: an interrupt it can take ends the halt; otherwise it
 * blocks until its next device deadline (or, with none, until an event
 * such as console input, or forever: then the domain can never wake). */
static bool halt_blocks(struct vcpu *v)
{
    struct domain *d = v->domain;
    if (v->polling) {
        if (d->type->poll_ended(v)) {
            v->halted = v->polling = false;
            return false;
        }
        v->sched.wake_at = platform_next_device_tsc(v);
        return true;
    }
    if (v->halted_masked) {
        /* Only INIT (take_startup_messages) or an NMI ends this halt. */
        v->sched.wake_at = ~0ull;
        if (!pc_nmi_pending(&d->pc, v->id))
            return true;
        v->halted = v->halted_masked = false;
        return false;
    }
    /* Ticks nobody can take wake nobody; one owed and released by an
     * acknowledgement is raised now, and ends the halt below. */
    pc_gate_timers(&d->pc);
    if (pc_interrupt_pending(&d->pc, v->id) || pc_nmi_pending(&d->pc, v->id) || /* an NMI ends HLT whatever IF says */
        (d->type->pending_vector && d->type->pending_vector(v) >= 0)) {
        v->halted = false;
        return false;
    }
    v->sched.wake_at = platform_next_device_tsc(v);
    /* With other vCPUs, one of them may yet send an IPI. */
    if (v->sched.wake_at == ~0ull && !console_present() && d->vcpu_count == 1)
        domain_end(d, "halted waiting for an interrupt, and no device of this domain will raise one");
    return true;
}

/* After a wait in place (sched_halt_in_place) and the device time that
 * followed it: did the wait end for an interrupt this vCPU now takes,
 * with nothing else for the loop's top? Then the halt is over and the
 * top's delivery comes next, as the top would come to it: nothing came
 * that fast_stop stands for (a request, an event, a reset, a pause, an
 * end: vcpu_stop_fast), no hazard, the slice goes on, and on CPU 0 the
 * console is not due. A wake-up of a halted vCPU, which a timer
 * interrupt every few milliseconds makes for an idle Linux, is one
 * round trip through the loop's top the fewer. */
static bool woken_by_its_interrupt(struct vcpu *v)
{
    struct percpu *c = this_cpu();
    if (v->polling || v->halted_masked || atomic_load(&v->fast_stop) || atomic_load(&v->sched.event) ||
        atomic_load(&c->hazard))
        return false;
    /* The earlier of the slice's end and (CPU 0) the console's due time,
     * as the loop's top last took them (vcpu.fast_until): console work
     * that came due sooner since (output queued by the exit) waits for
     * the host timer the delivery arms for it (next_host_deadline), which
     * brings the guest out at once into the loop's top. */
    if (rdtsc() >= v->fast_until)
        return false;
    if (!pc_interrupt_pending(&v->domain->pc, v->id))
        return false;
    v->halted = false;
    return true;
}

/* INIT and start-up messages from another vCPU's ICR (SDM 3A 9.4.4 /
 * 8.4.4.1, the MP initialization protocol): INIT resets the vCPU and its
 * local APIC (but for the APIC ID and base) and leaves it waiting for a
 * start-up IPI; a start-up IPI to a waiting vCPU starts it in real mode
 * at vector * 4096 (CS = vector << 8, IP = 0); to a vCPU that is not
 * waiting it does nothing. Other vCPUs' business only: a domain of one
 * vCPU never gets here with either. */
static void take_startup_messages(struct vcpu *v)
{
    struct lapic *l = v->lapic;
    if (lapic_take_init(l)) {
        vcpu_reset(v);
        lapic_init_ipi(l);
        v->halted = v->halted_masked = false;
        v->wait_for_sipi = true;
        v->irq_window_requested = false;
        arch->request_interrupt_window(v, false);
    }
    int vector = lapic_take_sipi(l);
    if (vector >= 0 && v->wait_for_sipi) {
        arch->vcpu_startup(v, (u8)vector);
        v->wait_for_sipi = false;
        v->halted = false;
    }
}

/* An application processor waiting for SIPI blocks until a message
 * comes (sched_notify wakes it). */
static bool waits_for_sipi(struct vcpu *v)
{
    if (!v->wait_for_sipi)
        return false;
    v->sched.wake_at = ~0ull;
    return true;
}

/* CPUs' TSCs may differ a little (they start at different moments): a
 * vCPU that moves to a CPU whose TSC is behind must not see its own go
 * back (SDM 3B 17.17: software expects the TSC to increase). */
static void keep_tsc_monotonic(struct vcpu *v)
{
    u64 guest = rdtsc() + (u64)v->tsc_offset;
    if ((s64)(guest - v->guest_tsc_seen) < 0)
        v->tsc_offset += (s64)(v->guest_tsc_seen - guest);
}

/* The length of the exiting instruction, from its bytes: without NRIP
 * save AMD-V does not say, and a prefix (CS: CPUID, REP NOP) lengthens
 * the fixed encodings (x86emu_exit_insn_length). 0: cannot tell. */
static unsigned decode_exit_length(struct vcpu *v, const struct vcpu_sregs *s, enum x86emu_mode mode)
{
    u8 code[15];
    u64 linear = s->seg[SEG_CS].base + v->rip;
    unsigned avail = sizeof(code);
    if (!guest_read_linear(v, s, linear, code, avail)) { /* the page after may be absent */
        avail = (unsigned)MIN((u64)avail, PAGE_SIZE - (linear & (PAGE_SIZE - 1)));
        if (!guest_read_linear(v, s, linear, code, avail))
            return 0;
    }
    return x86emu_exit_insn_length(code, avail, mode);
}

void vcpu_complete_instruction_slow(struct vcpu *v, const struct vm_exit *e)
{
    struct vcpu_sregs s;
    arch->get_sregs(v, &s);
    enum x86emu_mode mode = guest_mode(v, &s);
    unsigned len = e->insn_len ? e->insn_len : decode_exit_length(v, &s, mode);
    if (!len) {
        domain_end(v->domain, "cannot tell the length of the instruction at %04x:%llx (%s exit)",
                   s.seg[SEG_CS].selector, (unsigned long long)v->rip, exit_reason_name(e->reason));
        return;
    }
    u64 next = v->rip + len;
    v->rip = mode == EMU_MODE_LONG64 ? next : mode == EMU_MODE_PROT32 ? (u32)next : (u16)next;
    if (v->rflags & RFLAGS_TF)
        arch->single_step_trap(v);
}

enum slice_end vcpu_run_slice(struct vcpu *v, u64 until)
{
    struct domain *d = v->domain;
    struct percpu *c = this_cpu();
    struct vm_exit e;
    /* Each exit's core time runs from the backend's return (t_exit) to
     * the next entry. */
    u64 t_exit = 0;
    bool exited = false, quick = false, entered = false;
    enum slice_end end;
    keep_tsc_monotonic(v);
    arch->vcpu_load(v);
    domain_devices_lock(d);
    platform_update_time(v);
    domain_devices_unlock(d);
    u64 t_deliver = 0, t_timer = 0;
    bool fast = false;
    /* A halted vCPU woken in place goes to delivery (woken_by_its_interrupt)
     * with the PIT gate's inputs as they were before device time moved. */
    bool woken = false;
    u32 woken_gate = 0;
    for (;;) {
        /* After a quick exit that changed nothing the top of the loop
         * looks at (fast_reentry): straight back into the guest. */
        if (fast) {
            fast = false;
            t_deliver = t_timer = rdtsc();
            goto enter;
        }
        /* From here the top looks at all fast_stop stands for; a change
         * from now on sets it again (the exchange is a full barrier: no
         * look below comes before it; if it is clear already, a writer
         * who sets it later leaves it set). */
        if (atomic_load(&v->fast_stop))
            atomic_exchange(&v->fast_stop, 0);
        smp_service();
        /* CPU 0 serves the console (and the shell, which may act on any
         * domain) before taking this domain's device lock. */
        v->fast_until = until;
        if (c->index == 0) {
            u64 t = rdtsc(), due = console_service_due();
            if (t >= due) {
                console_service(t);
                due = console_service_due();
            }
            v->fast_until = MIN(until, due);
        }
        /* The device model is the domain's, shared by its vCPUs: held
         * from here to the entry, and from the exit through its handler. */
        domain_devices_lock(d);
        if (atomic_load(&v->sched.event)) {
            /* Something came for this vCPU from elsewhere: deliver it
             * (INIT and start-up messages; an interrupt is looked at
             * below; typed input goes to the console device here, as
             * its time update may have come before the input did). */
            atomic_store(&v->sched.event, 0);
            quick = false;
            take_startup_messages(v);
            platform_take_console_input(d);
        }
        if (atomic_load(&d->requests))
            domain_take_requests(d);
        if (d->reset_requested) {
            /* A reboot from inside: on_reboot = restart resets the PC in
             * place (RAM kept, as a PC's reset does); otherwise it ends.
             * With several vCPUs the others may be running: it ends, and
             * on_reboot = restart starts it again once all are out. */
            if (d->cfg->on_reboot == ACTION_RESTART && d->vcpu_count == 1) {
                platform_handle_reset(d);
                arch->set_tsc_offset(v); /* RESET cleared IA32_TSC_ADJUST */
            } else
                domain_end_kind(d, END_REBOOT, "rebooted");
            d->reset_requested = false;
        }
        if (d->ended) {
            end = SLICE_ENDED;
            break;
        }
        if (atomic_load(&d->paused)) {
            end = SLICE_PAUSED;
            break;
        }
        if (waits_for_sipi(v)) {
            end = SLICE_BLOCKED;
            break;
        }
        if (v->halted && halt_blocks(v)) {
            platform_flush_output(d); /* it waits: maybe for an answer to what it just wrote */
            if (d->ended) {
                end = SLICE_ENDED;
                break;
            }
            /* Alone on its CPU: it waits here, without leaving its turn
             * (sched_halt_in_place); then device time moves (its timer
             * may have come due) and the top looks again. The wait is no
             * part of the HLT exit's core time. */
            u64 waited;
            domain_devices_unlock(d);
            bool in_place = sched_halt_in_place(v, until, &waited);
            domain_devices_lock(d);
            if (!in_place) {
                end = SLICE_BLOCKED;
                break;
            }
            t_exit += waited;
            u32 gate = pc_irq0_gate_inputs(&d->pc);
            platform_update_time(v);
            quick = false;
            if (woken_by_its_interrupt(v)) {
                woken_gate = gate;
                woken = true;
                goto deliver;
            }
            domain_devices_unlock(d);
            continue;
        }
        u64 now = rdtsc();
        if (now >= until || (atomic_load(&c->hazard) & HAZARD_RESCHEDULE)) {
            end = SLICE_PREEMPTED;
            break;
        }
    deliver:
        t_deliver = t_timer = rdtsc();
        if (!quick) {
            /* The PIT's next owed tick is raised (pc_gate_timers) when
             * the exit acknowledged the held one, so before the delivery;
             * the second look sees the delivery's INTA: no host timer for
             * ticks nobody can take, owed ticks held while one waits. */
            if (pc_irq0_held(&d->pc))
                pc_gate_timers(&d->pc);
            platform_deliver_interrupts(v);
            /* After a wake only device time and this delivery moved
             * anything: the gate's inputs say whether it must look again. */
            if (!woken || pc_gate_inputs_moved(&d->pc, woken_gate))
                pc_gate_timers(&d->pc);
            woken = false;
            t_timer = rdtsc();
        }
        /* Always: a timer interrupt taken in the world switch's window
         * (after an exit of another reason) spent the one-shot, and only
         * this puts it back (hosttime.c forgets a deadline once it fired). */
        host_timer_arm_tsc(next_host_deadline(v, until));
        /* What the top leaves standing keeps the guest coming back through
         * it. Of fast_stop's conditions only an interrupt can: the top
         * ended the slice for the others, or took them (a request, an
         * event, a reset), and one that arose since set fast_stop again.
         * A quick exit's top skipped delivery, so a handler's "may be
         * pending" (its fast_stop cleared above) still stands. */
        if (!v->no_interrupt_pending)
            vcpu_stop_fast(v);
        domain_devices_unlock(d);
    enter:
        guest_state_load(v);
        u64 t_entry = rdtsc();
        if (exited) {
            d->phase_ticks[PHASE_DELIVERY] += t_timer - t_deliver;
            d->phase_ticks[PHASE_TIMER] += t_entry - t_timer;
            d->exit_ticks[e.reason] += t_entry - t_exit;
        }
        /* With interrupts off, a hazard raised from now on comes with an
         * IPI that stays pending and makes the guest exit at once. */
        if (atomic_load(&c->hazard) & (HAZARD_RESCHEDULE | HAZARD_CALL | HAZARD_STOP))
            continue;
        if (!entered) {
            sched_note_first_entry(v, rdtsc());
            entered = true;
        }
        arch->vcpu_run(v, &e);
        t_exit = rdtsc();
        domain_devices_lock(d);
        tpr_sync_after_exit(v);
        exited = true;
        if (e.reason == EXIT_NONE) {
            /* The fast way did the exit (counted, traced and timed it)
             * but the top of the loop has work: device time moves, and
             * round. */
            exited = false;
            platform_update_time(v);
            quick = false;
            domain_devices_unlock(d);
            continue;
        }
        if (d->trace.capacity)
            trace_exit(d, v, &e);
        /* The quick way back: after an exit whose handler touches no
         * device, with no interrupt waiting at the last look, device time
         * and interrupt delivery stay as they were. */
        bool alone = exit_leaves_devices_alone(e.reason);
        quick = v->no_interrupt_pending && !host_timer_fired() && (alone || io_exit_reads_quietly(v, &e));
        /* Otherwise the devices see the moment of the exit: a counter the
         * guest reads (PIT, PM timer, LAPIC current count) must have
         * moved by the time the guest spent running. A quiet read needs
         * that too, and stays quick if only the clock moved. */
        if (!quick)
            platform_update_time(v);
        else if (!alone)
            quick = platform_update_time_quick(v);
        u64 t_handler = rdtsc();
        exit_dispatch(v, &e);
        d->phase_ticks[PHASE_TIME] += t_handler - t_exit;
        d->phase_ticks[PHASE_HANDLER] += rdtsc() - t_handler;
        domain_periodic_stats(d);
        fast = quick && fast_reentry(v);
        domain_devices_unlock(d);
    }
    domain_devices_unlock(d);
    v->fast_until = 0;
    v->guest_tsc_seen = rdtsc() + (u64)v->tsc_offset;
    guest_state_put(v);
    arch->vcpu_put(v);
    if (entered)
        sched_note_last_exit(v, t_exit, end == SLICE_ENDED);
    return end;
}
