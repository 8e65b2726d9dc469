/* See guest_walk.h. Accessed and dirty bits are not written: the CPU set
 * them on the walk that led to the exit being emulated. */
#include "guest_walk.h"
#include "x86.h"

#define PF_P BIT(0)
#define PF_W BIT(1)
#define PF_U BIT(2)
#define PF_RSVD BIT(3)
#define PF_I BIT(4)
#define VECTOR_PF 14

struct walk {
    const struct guest_paging *p;
    enum x86emu_access access;
    bool user, write, fetch;
    bool writable, user_ok, executable; /* accumulated over the levels */
};

static bool page_fault(const struct walk *w, u64 linear, bool present, struct x86emu_fault *f)
{
    u32 err = (present ? PF_P : 0) | (w->write ? PF_W : 0) | (w->user ? PF_U : 0);
    if (w->fetch && (w->p->efer & EFER_NXE))
        err |= PF_I;
    *f = (struct x86emu_fault){VECTOR_PF, true, err, linear};
    return false;
}

static void accumulate(struct walk *w, u64 entry, bool nx_capable)
{
    w->writable &= (entry & PTE_W) != 0;
    w->user_ok &= (entry & PTE_U) != 0;
    if (nx_capable && (entry & PTE_NX))
        w->executable = false;
}

/* SDM 3A 4.6: user accesses need U at every level; writes need W at
 * every level unless a supervisor write with CR0.WP clear; fetches need
 * no XD at any level when EFER.NXE is set. */
static bool allowed(const struct walk *w)
{
    if (w->user && !w->user_ok)
        return false;
    if (w->write && !w->writable && (w->user || (w->p->cr0 & CR0_WP)))
        return false;
    if (w->fetch && !w->executable)
        return false;
    return true;
}

static bool read_entry(const struct walk *w, u64 gpa, unsigned size, u64 *entry)
{
    *entry = 0;
    return w->p->read_phys(w->p->ctx, gpa, entry, size);
}

static bool walk_32bit(struct walk *w, u64 linear, u64 *gpa, struct x86emu_fault *f)
{
    u64 pde, pte;
    u64 pde_addr = (w->p->cr3 & 0xfffff000ull) + ((linear >> 22) & 0x3ff) * 4;
    if (!read_entry(w, pde_addr, 4, &pde) || !(pde & PTE_P))
        return page_fault(w, linear, false, f);
    accumulate(w, pde, false);
    if ((pde & PTE_PS) && (w->p->cr4 & CR4_PSE)) {
        /* 4 MiB page; PSE-36 supplies address bits 39:32 from bits 20:13 */
        u64 base = (pde & 0xffc00000ull) | (((pde >> 13) & 0xff) << 32);
        if (!allowed(w))
            return page_fault(w, linear, true, f);
        *gpa = base | (linear & 0x3fffff);
        return true;
    }
    u64 pte_addr = (pde & 0xfffff000ull) + ((linear >> 12) & 0x3ff) * 4;
    if (!read_entry(w, pte_addr, 4, &pte) || !(pte & PTE_P))
        return page_fault(w, linear, false, f);
    accumulate(w, pte, false);
    if (!allowed(w))
        return page_fault(w, linear, true, f);
    *gpa = (pte & 0xfffff000ull) | (linear & 0xfff);
    return true;
}

/* PAE (3 levels from a 4-entry PDPT) and 4-level paging share the lower
 * levels: the walk starts at `levels` and goes down to the page. */
static bool walk_long(struct walk *w, u64 linear, unsigned levels, u64 *gpa, struct x86emu_fault *f)
{
    bool nx = (w->p->efer & EFER_NXE) != 0;
    u64 table = levels == 3 ? (w->p->cr3 & 0xffffffe0ull) : (w->p->cr3 & PTE_ADDR_MASK);
    for (unsigned level = levels; level >= 1; level--) {
        unsigned shift = 12 + 9 * (level - 1);
        unsigned index = levels == 3 && level == 3 ? (linear >> 30) & 3 : (linear >> shift) & 511;
        u64 entry;
        if (!read_entry(w, table + index * 8, 8, &entry) || !(entry & PTE_P))
            return page_fault(w, linear, false, f);
        /* PAE PDPTEs carry no R/W, U/S or XD bits (SDM 3A 4.4.1). */
        if (!(levels == 3 && level == 3))
            accumulate(w, entry, nx);
        bool leaf = level == 1 || ((level == 2 || level == 3) && (entry & PTE_PS) && !(levels == 3 && level == 3));
        if (leaf) {
            if (!allowed(w))
                return page_fault(w, linear, true, f);
            u64 page_mask = (1ull << shift) - 1;
            *gpa = ((entry & PTE_ADDR_MASK) & ~page_mask) | (linear & page_mask);
            return true;
        }
        table = entry & PTE_ADDR_MASK;
    }
    return page_fault(w, linear, false, f);
}

bool guest_walk(const struct guest_paging *p, u64 linear, enum x86emu_access access, u64 *gpa,
                struct x86emu_fault *fault)
{
    if (!(p->cr0 & CR0_PG)) {
        *gpa = linear;
        return true;
    }
    struct walk w = {p, access, p->cpl == 3, access == EMU_WRITE, access == EMU_FETCH, true, true, true};
    if (!(p->cr4 & CR4_PAE))
        return walk_32bit(&w, linear, gpa, fault);
    return walk_long(&w, linear, (p->efer & EFER_LMA) ? 4 : 3, gpa, fault);
}
