/* See cpu_access.h. */
#include "cpu_access.h"
#include "arch.h"
#include "domain.h"
#include "emulate.h"
#include "mm.h"
#include "string.h"
#include "x86.h"

u8 *domain_cpu_window_page(const struct domain *d, u64 gpa)
{
    if (!d->cpu_window_count) /* the common case: asked for every remapped page */
        return NULL;
    u64 page = gpa & ~(u64)(PAGE_SIZE - 1);
    for (unsigned i = 0; i < CPU_ACCESS_WINDOWS; i++)
        if (d->cpu_windows[i].page && d->cpu_windows[i].gpa == page)
            return d->cpu_windows[i].page;
    return NULL;
}

/* Does the linear range [base, base+limit] of a descriptor table (or a
 * TSS) lie, at the faulting byte, in the guest-physical page of gpa? */
static bool table_holds(struct vcpu *v, const struct vcpu_sregs *s, u64 base, u64 limit, u64 gpa)
{
    /* A 32-bit TSS limit can be large (an I/O bitmap); the CPU's own
     * writes (busy bit, back link) fall in the first page, descriptors
     * in the first 64 KiB. */
    limit = MIN(limit, 0xffffull);
    u64 end = base + limit;
    for (u64 page = base & ~(u64)(PAGE_SIZE - 1); page <= end; page += PAGE_SIZE) {
        u64 phys;
        if (!guest_linear_to_phys(v, s, page, &phys) || (phys >> PAGE_SHIFT) != (gpa >> PAGE_SHIFT))
            continue;
        u64 linear = page + (gpa & (PAGE_SIZE - 1));
        if (linear >= base && linear <= end)
            return true;
    }
    return false;
}

/* A write to the GDT, the LDT, the IDT or the current TSS. Only
 * instructions that load segments or switch tasks write there on the
 * CPU's behalf (accessed bit, SDM 3A 3.4.5.1; TSS busy bit, 7.2.2;
 * previous task link, 7.3). The exit information does not tell these
 * from an operand on either vendor (a linear access like any other), so
 * the fault's address does: a guest that writes its own descriptor
 * table in ROM with MOV loses the write either way. */
static bool write_to_descriptor_table(struct vcpu *v, u64 gpa)
{
    struct vcpu_sregs s;
    arch->get_sregs(v, &s);
    if (!(s.cr0 & CR0_PE)) /* real mode: the CPU writes no descriptor */
        return false;
    const struct segment *ldt = &s.seg[SEG_LDTR], *tr = &s.seg[SEG_TR];
    return table_holds(v, &s, s.gdtr.base, s.gdtr.limit, gpa) || table_holds(v, &s, s.idtr.base, s.idtr.limit, gpa) ||
           (!ldt->unusable && (ldt->selector & ~7) && table_holds(v, &s, ldt->base, ldt->limit, gpa)) ||
           (!tr->unusable && table_holds(v, &s, tr->base, tr->limit, gpa));
}

bool cpu_access_is_own(struct vcpu *v, const struct vm_exit *e)
{
    if (e->npf.cpu_access)
        return true;
    /* Device registers (the LAPIC's EOI, ...) are written often and never
     * hold descriptors: only ROM and nothing are looked at further. */
    return e->npf.write && !bus_mmio_claimed(&v->domain->pc.bus, e->npf.gpa) &&
           write_to_descriptor_table(v, e->npf.gpa);
}

/* What the page reads as outside a window: its ROM, or all ones. */
static u8 baseline_byte(const struct guest_mem_region *r, u64 gpa)
{
    return r && r->host ? r->host[gpa - r->gpa] : 0xff;
}

/* A PAM segment that reads the ROM and writes shadow RAM (82441FX
 * datasheet, PAM registers: WE=1, RE=0) receives the CPU's writes, as
 * it would have from a CPU without nested paging in the way. */
static void forward_to_shadow_ram(struct domain *d, const struct cpu_access_window *w)
{
    struct guest_mem_region *r = domain_find_region(d, w->gpa, PAGE_SIZE);
    if (!r || !r->write_to)
        return;
    for (u64 i = 0; i < PAGE_SIZE; i++)
        if (w->page[i] != baseline_byte(r, w->gpa + i))
            r->write_to[w->gpa + i - r->gpa] = w->page[i];
}

static void close_windows_locked(struct domain *d)
{
    for (unsigned i = 0; i < CPU_ACCESS_WINDOWS && d->cpu_window_count; i++) {
        struct cpu_access_window *w = &d->cpu_windows[i];
        if (!w->page)
            continue;
        forward_to_shadow_ram(d, w);
        w->page = NULL;
        d->cpu_window_count--;
        if (!arch->remap(d, w->gpa, PAGE_SIZE))
            domain_end(d, "out of memory for nested page tables while remapping %llx", (unsigned long long)w->gpa);
    }
}

void cpu_access_close_windows(struct domain *d)
{
    spin_lock(&d->cpu_window_lock);
    close_windows_locked(d);
    spin_unlock(&d->cpu_window_lock);
}

static void open_window_locked(struct domain *d, u64 gpa)
{
    u64 page = gpa & ~(u64)(PAGE_SIZE - 1);
    if (domain_cpu_window_page(d, page)) {
        /* Another vCPU opened it meanwhile; with one vCPU, mapped read/
         * write/execute yet faulted: the nested tables are wrong. */
        if (d->vcpu_count == 1)
            domain_end(d, "nested page fault at GPA %llx inside its own CPU-access window", (unsigned long long)gpa);
        return;
    }
    if (!d->cpu_window_pages && !(d->cpu_window_pages = page_alloc(CPU_ACCESS_WINDOWS * PAGE_SIZE))) {
        domain_end(d, "out of memory for a CPU-access window at GPA %llx", (unsigned long long)gpa);
        return;
    }
    if (d->cpu_window_count == CPU_ACCESS_WINDOWS) /* more than one instruction's worth: start over */
        close_windows_locked(d);
    unsigned slot = 0;
    while (d->cpu_windows[slot].page)
        slot++;
    struct cpu_access_window *w = &d->cpu_windows[slot];
    u8 *scratch = d->cpu_window_pages + slot * PAGE_SIZE;
    struct guest_mem_region *r = domain_find_region(d, page, PAGE_SIZE);
    for (u64 i = 0; i < PAGE_SIZE; i++)
        scratch[i] = baseline_byte(r, page + i);
    w->gpa = page;
    w->page = scratch;
    d->cpu_window_count++;
    if (!arch->remap(d, page, PAGE_SIZE))
        domain_end(d, "out of memory for nested page tables while remapping %llx", (unsigned long long)page);
}

void cpu_access_open_window(struct vcpu *v, const struct vm_exit *e)
{
    struct domain *d = v->domain;
    spin_lock(&d->cpu_window_lock);
    open_window_locked(d, e->npf.gpa);
    spin_unlock(&d->cpu_window_lock);
}
