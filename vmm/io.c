/* Port I/O exits: IN and OUT go to the domain's bus (devmodel/bus.c);
 * INS and OUTS go through the instruction emulator, which moves the data
 * between the bus and guest memory. */
#include "domain.h"
#include "emulate.h"
#include "handlers.h"
#include "hosttime.h"
#include "platform.h"

/* A write of a 32-bit register zero-extends into the 64-bit one; 8- and
 * 16-bit writes leave the upper bits alone (SDM 1 3.4.1.1). */
static void set_accumulator(struct vcpu *v, u8 size, u32 value)
{
    u64 *rax = &v->gpr[GPR_RAX];
    if (size == 4)
        *rax = value;
    else if (size == 2)
        *rax = (*rax & ~0xffffull) | (value & 0xffff);
    else
        *rax = (*rax & ~0xffull) | (value & 0xff);
}

bool io_exit_reads_quietly(const struct vcpu *v, const struct vm_exit *e)
{
    return e->reason == EXIT_IO && e->io.in && !e->io.string &&
           bus_io_read_is_quiet(&v->domain->pc.bus, e->io.port, e->io.size);
}

/* The fast way: an IN of a quiet range, as the run loop's quick way
 * does it (vcpu_run_slice), or an OUT to a range whose writes are quiet
 * or watched (bus.h): only with no interrupt waiting at the last look
 * and the host timer not fired, device time moves to the exit
 * (platform_update_time_quick), as the whole way moves it before its
 * handler, then the access. If that found something due (it then did the
 * whole update), or the write left an unfinished line whose quiet flush
 * needs the host timer, the instruction is done and the loop's top
 * delivers and arms what came. */
enum bus_writes fast_io_write_kind(const struct vcpu *v, u16 port, u8 size)
{
    return bus_io_write_kind(&v->domain->pc.bus, port, size & (u8)~FAST_IO_OUT);
}

enum fast_way fast_io_in(struct vcpu *v, u16 port, u8 size)
{
    struct domain *d = v->domain;
    if (!v->no_interrupt_pending || host_timer_fired() || !bus_io_read_is_quiet(&d->pc.bus, port, size))
        return FAST_NO;
    bool quiet = platform_update_time_quick(v);
    set_accumulator(v, size, bus_io_read(&d->pc.bus, port, size));
    return quiet ? FAST_BACK_IN : FAST_DONE;
}

/* size | FAST_IO_OUT; kind: fast_io_write_kind's answer, quiet or
 * watched. What a watched write (the 8259s, the UART) may change, and
 * how the guest still goes through the loop's top when it must:
 * - an interrupt request: one now pending for this vCPU is found as the
 *   loop's top finds it (pc_interrupt_pending; the 8259's INTR rises on
 *   an unmask or an EOI with no line moving, so no signal says so), and
 *   marked (vcpu_interrupt_may_be_pending: fast_reentry_at then sends
 *   the guest through the top, which delivers it before its next
 *   instruction); one for another vCPU reaches it as from the whole way;
 * - a device timer armed nearer than the earliest deadline before the
 *   write: the host timer armed at the loop's top would be late for it,
 *   so FAST_DONE (one moved further only makes the host timer fire
 *   early, and that exit takes the whole way);
 * - the PIT's gate (pc_gate_timers: its tick held, muted or released by
 *   the 8259s' mask, request and in-service bits) is asked again, as the
 *   loop's top asks it after an exit that touched a device. */
enum fast_way fast_io_out(struct vcpu *v, u16 port, u8 size, enum bus_writes kind)
{
    struct domain *d = v->domain;
    if (!v->no_interrupt_pending || host_timer_fired())
        return FAST_NO;
    u8 bytes = size & (u8)~FAST_IO_OUT;
    bool quiet = platform_update_time_quick(v);
    if (kind == BUS_WRITES_QUIET) {
        bus_io_write(&d->pc.bus, port, bytes, (u32)v->gpr[GPR_RAX]);
    } else {
        u64 due = clock_next_deadline(&d->pc.clock);
        bus_io_write(&d->pc.bus, port, bytes, (u32)v->gpr[GPR_RAX]);
        pc_gate_timers(&d->pc);
        quiet = quiet && clock_next_deadline(&d->pc.clock) >= due;
        if (pc_interrupt_pending(&d->pc, v->id)) {
            vcpu_interrupt_may_be_pending(v);
            quiet = false;
        }
    }
    return platform_note_output_quick(d) && quiet ? FAST_BACK_IN : FAST_DONE;
}

void handle_io(struct vcpu *v, struct vm_exit *e)
{
    struct domain *d = v->domain;
    if (e->io.string) {
        emulate_instruction(v);
        return;
    }
    if (e->io.in)
        set_accumulator(v, e->io.size, bus_io_read(&d->pc.bus, e->io.port, e->io.size));
    else
        bus_io_write(&d->pc.bus, e->io.port, e->io.size, (u32)v->gpr[GPR_RAX]);
    vcpu_complete_instruction(v, e);
}
