/* Nested page faults: the guest touched guest-physical memory that is not
 * RAM it may write: a device's MMIO, a ROM, or nothing at all. The
 * instruction is emulated against the bus, where unclaimed addresses read
 * as all ones and ignore writes, as on a PC; an access the CPU made on
 * its own (a page walk, a descriptor's accessed bit) is let through to a
 * scratch page instead (vmm/cpu_access.c). */
#include "cpu_access.h"
#include "domain.h"
#include "emulate.h"
#include "handlers.h"

void handle_nested_fault(struct vcpu *v, struct vm_exit *e)
{
    struct domain *d = v->domain;
    struct guest_mem_region *r = domain_find_region(d, e->npf.gpa, 1);
    if (r && r->host && !(r->read_only && e->npf.write)) {
        /* RAM that is mapped yet faulted: the nested tables are wrong. */
        domain_end(d, "nested page fault on mapped RAM at GPA %llx (%s)", (unsigned long long)e->npf.gpa,
                   e->npf.write ? "write" : e->npf.fetch ? "fetch" : "read");
        return;
    }
    if (e->npf.fetch) {
        /* Code can't run from a device or from nothing. A real PC would
         * fetch all ones; executing FF FF is a #UD-free garbage instruction
         * stream, so end the domain with a clear message instead. */
        domain_end(d, "instruction fetch from unbacked guest-physical address %llx", (unsigned long long)e->npf.gpa);
        return;
    }
    if (cpu_access_is_own(v, e)) {
        /* A descriptor's accessed bit in a ROM GDT, a page walk through
         * nothing: lost as on a PC, and the instruction runs on. */
        cpu_access_open_window(v, e);
        return;
    }
    if (d->cpu_window_count) /* an operand fault: the instruction before is done */
        cpu_access_close_windows(d);
    emulate_instruction(v);
}
