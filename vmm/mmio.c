/* Nested page faults: the guest touched guest-physical memory that is not
 * RAM it may write: a device's MMIO, a ROM, or nothing at all. The
 * instruction is emulated against the bus, where unclaimed addresses read
 * as all ones and ignore writes, as on a PC; an access the CPU made on
 * its own (a page walk, a descriptor's accessed bit) is let through to a
 * scratch page instead (vmm/cpu_access.c). */
#include "arch.h"
#include "cpu_access.h"
#include "domain.h"
#include "emulate.h"
#include "handlers.h"
#include "platform.h"
#include "platform_time.h"
#include "x86.h"

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

/* ---- the fast way: a plain MOV to a device ---- */

/* The first n (1-15) of 15 instruction bytes as two words: bytes 0-7 and
 * 7-14, each cut to the bytes below n. */
static void insn_words(const u8 *code, unsigned n, u64 *w0, u64 *w1)
{
    __builtin_memcpy(w0, code, 8);
    __builtin_memcpy(w1, code + 7, 8);
    if (n < 8)
        *w0 &= (1ull << (8 * n)) - 1;
    *w1 = n <= 7 ? 0 : n >= 15 ? *w1 : *w1 & ((1ull << (8 * (n - 7))) - 1);
}

/* x86emu_plain_store, through the vCPU's last decoding: a guest writes
 * the same device register from the same instruction again and again
 * (the EOI of its interrupt handler), and the same bytes in the same
 * mode decode the same (only the value is read again). Kept only for 15
 * bytes in place, so both words can be read. */
static unsigned plain_store_cached(struct vcpu *v, const u8 *code, unsigned avail, enum x86emu_mode mode,
                                   struct x86emu_store *st)
{
    if (avail < 15)
        return x86emu_plain_store(code, avail, mode, v->gpr, st);
    u64 w0, w1;
    for (unsigned i = 0; i < ARRAY_SIZE(v->fast_mmio_insn); i++) {
        const struct fast_mmio_insn *c = &v->fast_mmio_insn[i];
        if (!c->len || c->mode != mode)
            continue;
        insn_words(code, c->len, &w0, &w1);
        if (w0 == c->word0 && w1 == c->word1) {
            *st = c->st;
            st->value = x86emu_store_value(st, v->gpr);
            return c->len;
        }
    }
    unsigned len = x86emu_plain_store(code, avail, mode, v->gpr, st);
    if (len) {
        insn_words(code, len, &w0, &w1);
        v->fast_mmio_insn[v->fast_mmio_insn_next] = (struct fast_mmio_insn){w0, w1, (u8)len, (u8)mode, *st};
        v->fast_mmio_insn_next ^= 1;
    }
    return len;
}

unsigned mmio_fast_decode(struct vcpu *v, u64 gpa, const u8 *code, unsigned avail)
{
    u64 exit_tsc = rdtsc(); /* first: the write's moment (vcpu.fast_mmio) */
    struct vcpu_sregs s;
    if (arch->get_code_sregs)
        arch->get_code_sregs(v, &s);
    else
        arch->get_sregs(v, &s);
    enum x86emu_mode mode = guest_mode(v, &s);
    struct x86emu_store st;
    unsigned len;
    if (code && avail) {
        len = x86emu_plain_store(code, avail, mode, v->gpr, &st);
    } else {
        /* The CPU ran this instruction a moment ago, from RAM: its bytes
         * are there (a fetch that fails now declines), decoded in place
         * unless the instruction runs into the next page. Not past the
         * 4 GiB wrap of a linear address outside 64-bit mode. */
        u64 linear = s.seg[SEG_CS].base + v->rip;
        unsigned max = 15;
        if (mode != EMU_MODE_LONG64) {
            linear &= 0xffffffffull;
            max = (unsigned)MIN((u64)max, 0x100000000ull - linear);
        }
        code = guest_code_in_ram(v, &s, linear, max, &avail);
        if (!code)
            return 0;
        len = plain_store_cached(v, code, avail, mode, &st);
        if (!len && avail < max) {
            u8 fetched[15];
            avail = guest_fetch_ram(v, &s, linear, fetched, max);
            len = x86emu_plain_store(fetched, avail, mode, v->gpr, &st);
        }
    }
    /* The exit located the write's first byte; one that runs into the
     * next page is the emulator's (two addresses, maybe two devices). */
    if (!len || (gpa & (PAGE_SIZE - 1)) + st.size > PAGE_SIZE)
        return 0;
    v->fast_mmio = (struct fast_mmio){.gpa = gpa, .value = st.value, .size = st.size, .exit_tsc = exit_tsc};
    return len;
}

/* The fast way's handler (vcpu_fast_exit, under the device lock): what
 * handle_nested_fault and the emulator do for that write, when it goes
 * to a device: no RAM or ROM there (a region is the full way's: it may
 * end the domain or take the write to shadow RAM) and a device claims
 * the address (else the write may be the CPU's own, cpu_access_is_own).
 * An xAPIC EOI that changes only the ISR (lapic_xapic_quiet_eoi) lets
 * the guest back in at once; any other write moves device time to the
 * exit first, as the full way does before its handler (a timer's count
 * starts now), and the run loop's top then delivers and re-arms. */
enum fast_way fast_mmio_write(struct vcpu *v, u16 port, u8 size)
{
    (void)port;
    (void)size;
    struct domain *d = v->domain;
    const struct fast_mmio *m = &v->fast_mmio;
    if (!domain_region_known_absent(d, m->gpa, m->size) && domain_find_region(d, m->gpa, m->size))
        return FAST_NO;
    /* Where this vCPU's APIC answers, the bus has it (lapic_map). */
    if (lapic_xapic_quiet_eoi(v->lapic, m->gpa, m->size))
        return FAST_BACK_IN;
    bool quiet;
    if (lapic_xapic_timer_count_at(v->lapic, m->gpa, m->size) && platform_timer_write_begin(v, &quiet, m->exit_tsc)) {
        lapic_write_timer_count(v->lapic, (u32)m->value);
        return platform_timer_written(v, quiet);
    }
    if (!bus_mmio_claimed(&d->pc.bus, m->gpa))
        return FAST_NO;
    platform_update_time(v);
    bus_mmio_write(&d->pc.bus, m->gpa, m->size, m->value);
    return FAST_DONE;
}
