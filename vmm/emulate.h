/* Running the instruction emulator (vmm/x86emu.c) on a vCPU: the bridge
 * between the pure emulator and a domain's memory, bus and registers. */
#ifndef ZAZEN_EMULATE_H
#define ZAZEN_EMULATE_H

#include "domain.h"
#include "vcpu.h"
#include "x86.h"
#include "x86emu.h"

/* Emulates the instruction at the vCPU's CS:RIP. A guest fault is
 * injected; an instruction the emulator does not know ends the domain. */
void emulate_instruction(struct vcpu *v);

/* The mode the guest runs in, for the decoder: it follows from CR0.PE,
 * RFLAGS.VM, EFER.LMA and the code segment's L and D bits (SDM 3A 2.2,
 * 9.8). Inline: every emulated and fast-decoded access asks. */
static inline enum x86emu_mode guest_mode(const struct vcpu *v, const struct vcpu_sregs *s)
{
    u16 cs = s->seg[SEG_CS].attr;
    if (!(s->cr0 & CR0_PE) || (v->rflags & RFLAGS_VM))
        return EMU_MODE_REAL;
    if ((s->efer & EFER_LMA) && (cs & SEG_ATTR_L))
        return EMU_MODE_LONG64;
    return (cs & SEG_ATTR_DB) ? EMU_MODE_PROT32 : EMU_MODE_PROT16;
}

/* Reads guest memory at a linear address through the guest's own page
 * tables; false if the walk faults. */
bool guest_read_linear(struct vcpu *v, const struct vcpu_sregs *s, u64 linear, void *data, unsigned size);

/* Writes guest memory at a linear address (as a supervisor); false if
 * the walk faults. */
bool guest_write_linear(struct vcpu *v, const struct vcpu_sregs *s, u64 linear, const void *data, unsigned size);

/* The guest-physical address the guest's page tables give a linear
 * address (as a supervisor read, without touching A/D bits); false if the
 * walk faults. */
bool guest_linear_to_phys(struct vcpu *v, const struct vcpu_sregs *s, u64 linear, u64 *gpa);

/* An access the CPU makes for itself (an event's delivery: IDT, GDT,
 * TSS, stack), as a supervisor through the guest's tables and RAM alone,
 * touching no A/D bit and no device: a read copies into data; a write
 * (data NULL) only asks whether it would be allowed. */
bool guest_supervisor_ram(struct vcpu *v, const struct vcpu_sregs *s, u64 linear, void *data, unsigned size,
                          bool write);

/* Up to max instruction bytes at a linear address, as a fetch at the
 * guest's CPL, from RAM only: the bytes read before the first page that
 * faults or is not RAM (0 if the first). No device is touched. */
unsigned guest_fetch_ram(struct vcpu *v, const struct vcpu_sregs *s, u64 linear, u8 *buf, unsigned max);
/* The same bytes in place, as far as the page holds them (at most max,
 * their count in *avail): a pointer into the RAM behind them, or NULL.
 * The vCPU keeps its last code page's translation (vcpu.code_page):
 * while it holds, inline; else the walk, out of line. */
const u8 *guest_code_in_ram_walked(struct vcpu *v, const struct vcpu_sregs *s, u64 linear, unsigned max,
                                   unsigned *avail);
/* The code page's translation if it still holds: the same page, paging
 * registers, CPL and regions, and every entry the walk read still what
 * it read (the guest may rewrite its tables without an exit: INVLPG and
 * MOV CR3 do not exit under EPT or NPT). Else NULL. */
static inline const u8 *code_page_kept(const struct vcpu *v, const struct vcpu_sregs *s, u64 page)
{
    const struct code_page *cp = &v->code_page;
    if (cp->page != page + 1 || cp->cr3 != s->cr3 || cp->cr0 != s->cr0 || cp->cr4 != s->cr4 ||
        cp->efer != s->efer || cp->cpl != s->cpl || cp->generation != domain_regions_generation(v->domain))
        return NULL;
    for (unsigned i = 0; i < cp->entries; i++) {
        u64 entry = cp->entry_size == 8 ? __atomic_load_n((const u64 *)cp->entry_at[i], __ATOMIC_RELAXED)
                                        : __atomic_load_n((const u32 *)cp->entry_at[i], __ATOMIC_RELAXED);
        if (entry != cp->entry[i])
            return NULL;
    }
    return cp->host;
}
static inline const u8 *guest_code_in_ram(struct vcpu *v, const struct vcpu_sregs *s, u64 linear, unsigned max,
                                          unsigned *avail)
{
    const u8 *host = code_page_kept(v, s, linear & ~(u64)(PAGE_SIZE - 1));
    if (__builtin_expect(!host, 0))
        return guest_code_in_ram_walked(v, s, linear, max, avail);
    unsigned in_page = (unsigned)(PAGE_SIZE - (linear & (PAGE_SIZE - 1)));
    *avail = MIN(max, in_page);
    return host + (linear & (PAGE_SIZE - 1));
}

/* Guest-physical access for the emulator and for devices: RAM regions
 * are copied (writes to a ROM dropped), anything else goes to the bus. */
void guest_phys_access(struct domain *d, u64 gpa, void *data, unsigned size, bool write);

#endif
