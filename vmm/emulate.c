/* See emulate.h. */
#include "emulate.h"
#include "arch.h"
#include "domain.h"
#include "guest_walk.h"
#include "handlers.h"
#include "string.h"
#include "x86.h"
#include "x86emu.h"

struct emu_context {
    struct vcpu *v;
    struct domain *d;
    struct guest_paging paging;
};

static void mmio_access(struct domain *d, u64 gpa, void *data, unsigned size, bool write)
{
    if (size != 1 && size != 2 && size != 4 && size != 8) {
        for (unsigned i = 0; i < size; i++) /* an odd-sized piece: byte by byte */
            mmio_access(d, gpa + i, (u8 *)data + i, 1, write);
        return;
    }
    u64 value = 0;
    if (write) {
        memcpy(&value, data, size);
        bus_mmio_write(&d->pc.bus, gpa, (u8)size, value);
    } else {
        value = bus_mmio_read(&d->pc.bus, gpa, (u8)size);
        memcpy(data, &value, size);
    }
}

void guest_phys_access(struct domain *d, u64 gpa, void *data, unsigned size, bool write)
{
    while (size) {
        /* Regions are page granular: never let one piece span two of them. */
        unsigned chunk = MIN(size, (unsigned)(PAGE_SIZE - (gpa & (PAGE_SIZE - 1))));
        struct guest_mem_region *r = domain_find_region(d, gpa, chunk);
        if (!r || (!write && !r->host))
            mmio_access(d, gpa, data, chunk, write);
        else if (!write)
            memcpy(data, r->host + (gpa - r->gpa), chunk);
        else if (!r->read_only)
            memcpy(r->host + (gpa - r->gpa), data, chunk);
        else if (r->write_to) /* PAM write-only: the shadow RAM takes it */
            memcpy(r->write_to + (gpa - r->gpa), data, chunk);
        gpa += chunk;
        data = (u8 *)data + chunk;
        size -= chunk;
    }
}

static bool read_phys(void *ctx, u64 gpa, void *data, unsigned size)
{
    guest_phys_access(ctx, gpa, data, size, false);
    return true;
}

static bool emu_mem(void *ctx, u64 linear, void *data, unsigned size, enum x86emu_access access,
                    struct x86emu_fault *fault)
{
    struct emu_context *c = ctx;
    while (size) {
        unsigned chunk = MIN(size, (unsigned)(PAGE_SIZE - (linear & (PAGE_SIZE - 1))));
        u64 gpa;
        if (!guest_walk(&c->paging, linear, access, &gpa, fault))
            return false;
        guest_phys_access(c->d, gpa, data, chunk, access == EMU_WRITE);
        linear += chunk;
        data = (u8 *)data + chunk;
        size -= chunk;
    }
    return true;
}

static u32 emu_io_in(void *ctx, u16 port, u8 size)
{
    struct emu_context *c = ctx;
    return bus_io_read(&c->d->pc.bus, port, size);
}

static void emu_io_out(void *ctx, u16 port, u8 size, u32 value)
{
    struct emu_context *c = ctx;
    bus_io_write(&c->d->pc.bus, port, size, value);
}

static void emu_io_in_rep(void *ctx, u16 port, u8 size, void *buf, u32 count)
{
    struct emu_context *c = ctx;
    bus_io_read_rep(&c->d->pc.bus, port, size, buf, count);
}

static void emu_io_out_rep(void *ctx, u16 port, u8 size, const void *buf, u32 count)
{
    struct emu_context *c = ctx;
    bus_io_write_rep(&c->d->pc.bus, port, size, buf, count);
}

static const struct x86emu_ops emu_ops = {emu_mem, emu_io_in, emu_io_out, emu_io_in_rep, emu_io_out_rep};

bool guest_read_linear(struct vcpu *v, const struct vcpu_sregs *s, u64 linear, void *data, unsigned size)
{
    struct emu_context c = {v, v->domain, {s->cr0, s->cr3, s->cr4, s->efer, 0, read_phys, v->domain}};
    struct x86emu_fault fault;
    return emu_mem(&c, linear, data, size, EMU_READ, &fault);
}

bool guest_write_linear(struct vcpu *v, const struct vcpu_sregs *s, u64 linear, const void *data, unsigned size)
{
    struct emu_context c = {v, v->domain, {s->cr0, s->cr3, s->cr4, s->efer, 0, read_phys, v->domain}};
    struct x86emu_fault fault;
    return emu_mem(&c, linear, (void *)data, size, EMU_WRITE, &fault);
}

/* A page-table entry read for guest_fetch_ram: RAM only, never a device
 * (the fast way holds no device lock while it fetches). */
static const u8 *ram_phys_at(struct domain *d, u64 gpa, u64 size)
{
    struct guest_mem_region *r = domain_find_region(d, gpa, size);
    return r && r->host ? r->host + (gpa - r->gpa) : NULL;
}

static bool read_ram_phys(void *ctx, u64 gpa, void *data, unsigned size)
{
    const u8 *at = ram_phys_at(ctx, gpa, size);
    if (!at)
        return false;
    memcpy(data, at, size);
    return true;
}

/* The host address of n bytes at linear (within one page) if they are
 * guest RAM, walking the guest's tables through RAM alone; else NULL. */
static u8 *ram_at_linear(struct vcpu *v, const struct vcpu_sregs *s, u64 linear, unsigned n)
{
    struct guest_paging paging = {s->cr0, s->cr3, s->cr4, s->efer, s->cpl, read_ram_phys, v->domain};
    u64 gpa;
    struct x86emu_fault fault;
    struct guest_mem_region *r;
    if (!guest_walk(&paging, linear, EMU_FETCH, &gpa, &fault) || !(r = domain_find_region(v->domain, gpa, n)) ||
        !r->host)
        return NULL;
    return r->host + (gpa - r->gpa);
}

static unsigned left_in_page(u64 linear) { return (unsigned)(PAGE_SIZE - (linear & (PAGE_SIZE - 1))); }

bool guest_supervisor_ram(struct vcpu *v, const struct vcpu_sregs *s, u64 linear, void *data, unsigned size,
                          bool write)
{
    struct guest_paging paging = {s->cr0, s->cr3, s->cr4, s->efer, 0, read_ram_phys, v->domain};
    while (size) {
        unsigned chunk = MIN(size, left_in_page(linear));
        u64 gpa;
        struct x86emu_fault fault;
        struct guest_mem_region *r;
        if (!guest_walk(&paging, linear, write ? EMU_WRITE : EMU_READ, &gpa, &fault) ||
            !(r = domain_find_region(v->domain, gpa, chunk)) || !r->host)
            return false;
        if (data) {
            memcpy(data, r->host + (gpa - r->gpa), chunk);
            data = (u8 *)data + chunk;
        }
        linear += chunk;
        size -= chunk;
    }
    return true;
}

/* A page-table entry read for code_page_walk: as read_ram_phys, noting
 * where and what (the code page's record). */
struct noting_read {
    struct domain *d;
    struct code_page *cp;
};

static bool read_ram_phys_noting(void *ctx, u64 gpa, void *data, unsigned size)
{
    struct noting_read *n = ctx;
    struct code_page *cp = n->cp;
    const u8 *at = ram_phys_at(n->d, gpa, size);
    if (!at || cp->entries == ARRAY_SIZE(cp->entry) || (size != 4 && size != 8))
        return false;
    memcpy(data, at, size);
    cp->entry_at[cp->entries] = at;
    cp->entry[cp->entries] = 0;
    memcpy(&cp->entry[cp->entries], at, size);
    cp->entry_size = (u8)size;
    cp->entries++;
    return true;
}

/* The code page's translation made again: the walk through RAM alone,
 * as ram_at_linear's, noting what it read; the page must be RAM whole
 * (regions are page granular). NULL, and nothing kept, if it fails. */
static const u8 *code_page_walk(struct vcpu *v, const struct vcpu_sregs *s, u64 page)
{
    struct code_page *cp = &v->code_page;
    cp->page = 0;
    cp->entries = 0;
    cp->generation = domain_regions_generation(v->domain); /* before the walk: a change during it shows */
    struct noting_read n = {v->domain, cp};
    struct guest_paging paging = {s->cr0, s->cr3, s->cr4, s->efer, s->cpl, read_ram_phys_noting, &n};
    u64 gpa;
    struct x86emu_fault fault;
    const u8 *host;
    if (!guest_walk(&paging, page, EMU_FETCH, &gpa, &fault) || !(host = ram_phys_at(v->domain, gpa, PAGE_SIZE)))
        return NULL;
    cp->host = host;
    cp->cr0 = s->cr0;
    cp->cr3 = s->cr3;
    cp->cr4 = s->cr4;
    cp->efer = s->efer;
    cp->cpl = s->cpl;
    cp->page = page + 1;
    return cp->host;
}



const u8 *guest_code_in_ram_walked(struct vcpu *v, const struct vcpu_sregs *s, u64 linear, unsigned max,
                                   unsigned *avail)
{
    const u8 *host = code_page_walk(v, s, linear & ~(u64)(PAGE_SIZE - 1));
    if (!host)
        return NULL;
    *avail = MIN(max, left_in_page(linear));
    return host + (linear & (PAGE_SIZE - 1));
}

unsigned guest_fetch_ram(struct vcpu *v, const struct vcpu_sregs *s, u64 linear, u8 *buf, unsigned max)
{
    unsigned got = 0;
    while (got < max) {
        unsigned chunk = MIN(max - got, left_in_page(linear));
        const u8 *src = ram_at_linear(v, s, linear, chunk);
        if (!src)
            break;
        memcpy(buf + got, src, chunk);
        got += chunk;
        linear += chunk;
    }
    return got;
}

bool guest_linear_to_phys(struct vcpu *v, const struct vcpu_sregs *s, u64 linear, u64 *gpa)
{
    struct guest_paging paging = {s->cr0, s->cr3, s->cr4, s->efer, 0, read_phys, v->domain};
    struct x86emu_fault fault;
    return guest_walk(&paging, linear, EMU_READ, gpa, &fault);
}


void emulate_instruction(struct vcpu *v)
{
    struct domain *d = v->domain;
    struct vcpu_sregs s;
    if (arch->get_emu_sregs)
        arch->get_emu_sregs(v, &s); /* the fields used below, no more */
    else
        arch->get_sregs(v, &s);
    struct emu_context c = {v, d, {s.cr0, s.cr3, s.cr4, s.efer, s.cpl, read_phys, d}};
    struct x86emu_cpu cpu;
    memcpy(cpu.gpr, v->gpr, sizeof(cpu.gpr));
    cpu.rip = v->rip;
    cpu.rflags = v->rflags;
    for (unsigned i = 0; i < 6; i++)
        cpu.seg_base[i] = s.seg[i].base; /* enum seg_reg and the emulator agree on ES..GS */
    cpu.mode = guest_mode(v, &s);

    struct x86emu_fault fault;
    char why[96];
    switch (x86emu_step(&cpu, &emu_ops, &c, &fault, why, sizeof(why))) {
    case EMU_OK:
        memcpy(v->gpr, cpu.gpr, sizeof(v->gpr));
        /* A single-step trap follows the instruction once it is done (a
         * REP string left unfinished stays on itself, SDM 2B REP). */
        if ((v->rflags & RFLAGS_TF) && cpu.rip != v->rip)
            arch->single_step_trap(v);
        v->rip = cpu.rip;
        v->rflags = cpu.rflags;
        break;
    case EMU_FAULT:
        memcpy(v->gpr, cpu.gpr, sizeof(v->gpr)); /* completed REP iterations stand */
        if (fault.vector == VECTOR_PF)
            vcpu_inject_page_fault(v, fault.error, fault.cr2);
        else
            vcpu_inject_exception(v, fault.vector, fault.has_error, fault.error);
        break;
    case EMU_UNSUPPORTED:
        domain_end(d, "cannot emulate the instruction at %04x:%llx: %s", s.seg[SEG_CS].selector,
                   (unsigned long long)v->rip, why);
        break;
    }
}
