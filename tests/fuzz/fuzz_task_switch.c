/* fuzz-sources: vmm/task_switch.c vmm/emulate.c vmm/guest_walk.c vmm/x86emu.c vmm/format.c vmm/string.c */
/* Hardware task switches as VT-x exits hand them to Zazen
 * (vmm/task_switch.c): a random GDT (descriptors of every kind, mostly
 * TSSs, code and data segments based in RAM), random TSS contents, a
 * random current TR, GDTR, CR0/CR4/EFER (paging through page tables in
 * RAM or none, IA-32e or not) and a random exit record (selector, source,
 * instruction length, error code). Guest RAM is 64 KiB at 0, a separate
 * allocation of its exact size; everything else is the bus, whose reads
 * return a function of the address.
 *
 * Checks, besides ASan and UBSan:
 *  - the switch ends in exactly one way: done (the segments set once,
 *    CR0.TS written, TR the new selector, EIP within 32 bits, EFLAGS
 *    bit 1 set), one exception raised (#GP, #TS, #NP or #SS with an error
 *    code whose low two bits are clear), or the domain ended with a reason;
 *  - an exception before the commit point (no segments set) leaves the
 *    registers and every byte of RAM as they were (SDM 3A 7.3: the checks
 *    of steps 1-6 come before anything is saved). */
#include "fuzz.h"
#include "../../vmm/arch.h"
#include "../../vmm/domain.h"
#include "../../vmm/handlers.h"
#include "../../vmm/x86.h"

void handle_task_switch(struct vcpu *v, struct vm_exit *e);

#define RAM_SIZE 0x10000u

static struct domain dom;
static struct vcpu vcpu;
static struct vcpu_sregs sregs, set_to;
static u8 *ram;
static u8 ram_before[RAM_SIZE];
static u64 mmio_seed;

static struct {
    unsigned injected, ended, segments_set, cr0_writes;
    u8 vector;
    bool has_error;
    u32 error;
    u64 cr0;
    char end_reason[256];
} out;

static u8 mmio_byte(u64 addr) { return (u8)(((addr ^ mmio_seed) * 0x9e3779b97f4a7c15ull) >> 56); }

struct guest_mem_region *domain_find_region(struct domain *d, u64 gpa, u64 len)
{
    FUZZ_CHECK(d == &dom, "domain");
    struct guest_mem_region *r = &d->mem[0];
    if (gpa >= r->gpa && gpa - r->gpa < r->size && len <= r->size - (gpa - r->gpa))
        return r;
    return NULL;
}

u64 bus_mmio_read(struct io_bus *bus, u64 addr, u8 size)
{
    FUZZ_CHECK(bus == &dom.pc.bus && (size == 1 || size == 2 || size == 4 || size == 8), "MMIO read of %u", size);
    u64 v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (u64)mmio_byte(addr + i) << (8 * i);
    return v;
}

void bus_mmio_write(struct io_bus *bus, u64 addr, u8 size, u64 value)
{
    (void)addr, (void)value;
    FUZZ_CHECK(bus == &dom.pc.bus && (size == 1 || size == 2 || size == 4 || size == 8), "MMIO write of %u", size);
}

/* The switch does no port I/O. */
u32 bus_io_read(struct io_bus *bus, u16 port, u8 size)
{
    (void)bus, (void)port, (void)size;
    FUZZ_CHECK(false, "port read");
}
void bus_io_write(struct io_bus *bus, u16 port, u8 size, u32 value)
{
    (void)bus, (void)port, (void)size, (void)value;
    FUZZ_CHECK(false, "port write");
}
void bus_io_read_rep(struct io_bus *bus, u16 port, u8 size, void *buf, u32 count)
{
    (void)bus, (void)port, (void)size, (void)buf, (void)count;
    FUZZ_CHECK(false, "port read");
}
void bus_io_write_rep(struct io_bus *bus, u16 port, u8 size, const void *buf, u32 count)
{
    (void)bus, (void)port, (void)size, (void)buf, (void)count;
    FUZZ_CHECK(false, "port write");
}

void vcpu_inject_exception(struct vcpu *v, u8 vector, bool has_error, u32 error)
{
    FUZZ_CHECK(v == &vcpu, "vcpu");
    out.injected++;
    out.vector = vector;
    out.has_error = has_error;
    out.error = error;
}

void vcpu_inject_page_fault(struct vcpu *v, u32 error, u64 address)
{
    (void)v, (void)error, (void)address;
    FUZZ_CHECK(false, "a #PF injected by a task switch");
}

void domain_end(struct domain *d, const char *fmt, ...)
{
    FUZZ_CHECK(d == &dom, "domain");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out.end_reason, sizeof(out.end_reason), fmt, ap);
    va_end(ap);
    out.ended++;
}

static void fake_get_sregs(struct vcpu *v, struct vcpu_sregs *s)
{
    FUZZ_CHECK(v == &vcpu, "vcpu");
    *s = sregs;
}

static void fake_set_segments(struct vcpu *v, const struct vcpu_sregs *s)
{
    FUZZ_CHECK(v == &vcpu, "vcpu");
    out.segments_set++;
    set_to = *s;
}

static bool fake_write_cr(struct vcpu *v, unsigned cr, u64 value)
{
    FUZZ_CHECK(v == &vcpu && cr == 0, "write of CR%u", cr);
    out.cr0_writes++;
    out.cr0 = value;
    return true;
}

static void fake_single_step_trap(struct vcpu *v) { (void)v; }

static const struct arch_ops fake_arch = {.get_sregs = fake_get_sregs,
                                          .set_segments = fake_set_segments,
                                          .write_cr = fake_write_cr,
                                          .single_step_trap = fake_single_step_trap};
const struct arch_ops *arch = &fake_arch;

/* A descriptor: mostly a TSS (32- or 16-bit, available or busy), code or
 * data, an LDT, present or not, based in RAM; or any 8 bytes. */
static u64 take_descriptor(struct prog *g)
{
    u8 how = take8(g);
    u64 raw = take64(g);
    if (how >= 0xe0)
        return raw;
    static const u8 access[] = {0x89, 0x8b, 0x81, 0x83, 0x9b, 0x93, 0x91, 0x99, 0x9f, 0x82,
                                0x09, 0x1b, 0x13, 0xfb, 0xf3, 0x8b};
    u64 base = raw & 0xff00; /* in RAM */
    u64 limit = how & 0x10 ? 0xfffff : (raw >> 16) & 0xff;
    u64 flags = how & 0x10 ? 0xc : (how & 0x20 ? 0x4 : 0);
    return (limit & 0xffff) | ((base & 0xffffff) << 16) | ((u64)access[how % 16] << 40) | (((limit >> 16) & 0xf) << 48) |
           (flags << 52);
}

static u64 take_cr0(struct prog *g, struct vcpu_sregs *s)
{
    u8 how = take8(g);
    s->efer = 0;
    s->cr4 = 0;
    u64 cr0 = CR0_PE | CR0_ET;
    if (how & 1) {
        cr0 |= CR0_PG;
        s->cr3 = (u64)(take8(g) & 0xf) << 12;
        s->cr4 = how & 2 ? CR4_PAE : 0;
        if ((how & 6) == 6)
            s->efer = EFER_LME | EFER_LMA;
    }
    return cr0;
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
    struct prog g = {data, size};
    if (!ram)
        ram = malloc(RAM_SIZE);
    memset(ram, 0, RAM_SIZE);
    dom.mem[0] = (struct guest_mem_region){0, RAM_SIZE, ram, false, false, NULL};
    dom.mem_count = 1;
    mmio_seed = take64(&g);

    memset(&sregs, 0, sizeof(sregs));
    sregs.cr0 = take_cr0(&g, &sregs);
    u8 gdt_how = take8(&g);
    sregs.gdtr.base = gdt_how < 0xf0 ? 0x1000 : take32(&g);
    sregs.gdtr.limit = gdt_how & 1 ? 0xffff : (u16)(8 * (gdt_how % 32) + 7);
    unsigned n = take8(&g) % 32;
    for (unsigned i = 0; i < n; i++) {
        unsigned slot = take8(&g) % 32;
        u64 d = take_descriptor(&g);
        memcpy(ram + 0x1000 + slot * 8, &d, 8);
    }
    /* TSS contents and page tables: input bytes at chosen places. */
    unsigned pokes = take8(&g) % 64;
    for (unsigned i = 0; i < pokes; i++) {
        u16 at = take16(&g);
        u32 v = take32(&g);
        if (at <= RAM_SIZE - 4)
            memcpy(ram + at, &v, 4);
    }
    u16 tr = take16(&g);
    sregs.seg[SEG_TR] = (struct segment){tr, 0x8b, 0x67, (u64)take8(&g) << 8, false};
    sregs.seg[SEG_CS] = (struct segment){0x08, 0xc9b, 0xffffffff, 0, false};
    sregs.seg[SEG_SS] = (struct segment){0x10, 0xc93, 0xffffffff, 0, false};

    memset(&vcpu, 0, sizeof(vcpu));
    vcpu.domain = &dom;
    for (unsigned i = 0; i < 16; i++)
        vcpu.gpr[i] = take32(&g);
    vcpu.rip = take32(&g);
    vcpu.rflags = 2 | ((u64)take16(&g) & 0x4cd5);

    struct vm_exit e;
    vm_exit_clear(&e);
    e.reason = EXIT_TASK_SWITCH;
    u8 how = take8(&g);
    e.task.selector = how & 0x80 ? take16(&g) : (u16)(8 * (take8(&g) % 32));
    e.task.source = how & 3;
    e.insn_len = (u8)(take8(&g) % 16);
    e.task.has_error = how & 4;
    e.task.error = take32(&g);

    memcpy(ram_before, ram, RAM_SIZE);
    struct vcpu before = vcpu;
    memset(&out, 0, sizeof(out));
    handle_task_switch(&vcpu, &e);

    FUZZ_CHECK(out.injected + out.ended <= 1, "%u exceptions and %u ends", out.injected, out.ended);
    if (out.ended) {
        FUZZ_CHECK(out.end_reason[0], "ended without a reason");
        return 0;
    }
    if (out.injected) {
        FUZZ_CHECK(out.vector >= 10 && out.vector <= 13 && out.has_error && !(out.error & 3),
                   "vector %u error %#x", out.vector, out.error);
        FUZZ_CHECK(out.segments_set <= 1, "segments set %u times", out.segments_set);
        if (!out.segments_set)
            FUZZ_CHECK(!memcmp(ram, ram_before, RAM_SIZE) && !memcmp(vcpu.gpr, before.gpr, sizeof(vcpu.gpr)) &&
                           vcpu.rip == before.rip && vcpu.rflags == before.rflags,
                       "a fault before the commit point (vector %u error %#x) changed state", out.vector,
                       out.error);
        return 0;
    }
    FUZZ_CHECK(out.segments_set == 1 && out.cr0_writes == 1 && (out.cr0 & CR0_TS), "done: segments set %u, CR0 %u",
               out.segments_set, out.cr0_writes);
    FUZZ_CHECK(set_to.seg[SEG_TR].selector == e.task.selector && vcpu.rip <= 0xffffffffull && (vcpu.rflags & 2),
               "done: TR %#x RIP %#llx RFLAGS %#llx", set_to.seg[SEG_TR].selector, (unsigned long long)vcpu.rip,
               (unsigned long long)vcpu.rflags);
    return 0;
}
