/* Port I/O exits: IN and OUT go to the domain's bus (devmodel/bus.c);
 * INS and OUTS go through the instruction emulator, which moves the data
 * between the bus and guest memory. */
#include "domain.h"
#include "emulate.h"
#include "fast_way.h"
#include "handlers.h"
#include "hosttime.h"
#include "platform.h"
#include "platform_time.h"

bool io_exit_reads_quietly(const struct vcpu *v, const struct vm_exit *e)
{
    return e->reason == EXIT_IO && e->io.in && !e->io.string &&
           bus_io_read_is_quiet(&v->domain->pc.bus, e->io.port, e->io.size);
}

/* fast_io_out's watched write (vmm/fast_way.h): a call, not inline,
 * which costs the rows less than the registers its inline body took
 * from the quiet ones' way. size: bytes, value: masked. */
enum fast_way fast_io_out_watched(struct vcpu *v, const struct io_range *range, u16 port, u8 size, u32 value)
{
    struct domain *d = v->domain;
    bool quiet = platform_update_time_quick(v);
    u64 due = clock_next_deadline(&d->pc.clock);
    u32 gate = pc_irq0_gate_inputs(&d->pc);
    if (range->write)
        range->write(range->dev, port, size, value);
    if (!quiet || pc_gate_inputs_moved(&d->pc, gate))
        pc_gate_timers(&d->pc);
    quiet = quiet && clock_next_deadline(&d->pc.clock) >= due;
    if (pc_interrupt_pending(&d->pc, v->id)) {
        vcpu_interrupt_may_be_pending(v);
        quiet = false;
    }
    return platform_note_output_quick(d) && quiet ? FAST_BACK_IN : FAST_DONE;
}

/* fast_io_out_requests' part for a write that moved the PIT's gate's
 * inputs (vmm/fast_way.h): device time moves to the exit, after the
 * write, and the gate looks again; true if the guest may go straight
 * back in: nothing came due, no deadline came nearer, and the quick
 * update was the one wanted (fast_time_may_move; if not, it still moved
 * the clock rightly, nothing being due, and the loop's top does what it
 * skips). */
bool fast_io_gate_after_write(struct vcpu *v)
{
    struct domain *d = v->domain;
    bool wanted = fast_time_may_move(v);
    bool quiet = platform_update_time_quick(v);
    u64 due = clock_next_deadline(&d->pc.clock);
    pc_gate_timers(&d->pc);
    return wanted && quiet && clock_next_deadline(&d->pc.clock) >= due;
}

void handle_io(struct vcpu *v, struct vm_exit *e)
{
    struct domain *d = v->domain;
    if (e->io.string) {
        emulate_instruction(v);
        return;
    }
    if (e->io.in)
        vcpu_set_accumulator(v, e->io.size, bus_io_read(&d->pc.bus, e->io.port, e->io.size));
    else
        bus_io_write(&d->pc.bus, e->io.port, e->io.size, (u32)v->gpr[GPR_RAX]);
    vcpu_complete_instruction(v, e);
}
