/* fuzz-sources: vmm/emulate.c vmm/guest_walk.c vmm/x86emu.c vmm/format.c vmm/string.c */
/* The instruction emulator as a vCPU runs it (vmm/emulate.c), through the
 * guest's own page tables (vmm/guest_walk.c): random instruction bytes, a
 * random paging mode (none, 32-bit with or without PSE, PAE, 4-level;
 * CR0.WP, EFER.NXE, CPL 0 or 3) over page tables the input writes into
 * guest RAM entry by entry (present or not, any flags, pointing at RAM,
 * at the ROM, at the PAM shadow or at unbacked addresses), random
 * registers and segment bases. Guest-physical memory is shaped like a
 * domain's (vmm/domain.c map_firmware): RAM at 0, a PAM segment that reads
 * the ROM and writes the RAM, one that reads nothing (the bus) and drops
 * writes, and a read-only ROM; everything else is the bus, whose memory
 * reads return a function of the address and an input seed, and port
 * reads input bytes.
 *
 * Checks, besides ASan and UBSan on every buffer (each region is a
 * separate allocation of its exact size):
 *  - the emulator ends in exactly one of: registers updated, one fault
 *    injected, the domain ended with a reason; a #GP or a #PF, nothing
 *    else; RIP moves by 1-15 bytes within its mode's width, or stays for
 *    an unfinished REP;
 *  - an injected #PF is one the walk gives again: the same linear address
 *    and access fault with the same error code, whose U bit is CPL 3;
 *  - ROM bytes never change; no RAM outside the regions' own bytes;
 *  - the walk, for a random linear address and each access: a page
 *    offset survives translation; without paging it is the identity; the
 *    address fits the paging mode's physical width; a write or fetch that
 *    succeeds reads at the same address; a user access that succeeds
 *    does as a supervisor; #PF error codes name the access (W for writes,
 *    I for fetches with NXE, U for CPL 3) and nothing else;
 *  - the fast way's code page (guest_code_in_ram keeps its translation
 *    between fetches): its answer is a fresh walk's, after an entry the
 *    last walk read changes bits, CR3 moves or the CPL does, and when
 *    nothing changed. */
#include "fuzz.h"
#include "../../vmm/arch.h"
#include "../../vmm/domain.h"
#include "../../vmm/emulate.h"
#include "../../vmm/guest_walk.h"
#include "../../vmm/handlers.h"
#include "../../vmm/x86.h"

#define RAM_SIZE 0x40000u     /* 256 KiB of RAM at guest-physical 0 */
#define PAM_RW_BASE 0x40000u  /* a PAM segment: reads the ROM, writes RAM */
#define PAM_NONE_BASE 0x44000u /* a PAM segment reading nothing, dropping writes */
#define PAM_SIZE 0x4000u
#define ROM_BASE 0xffff0000ull /* the firmware ROM under 4 GiB */
#define ROM_SIZE 0x10000u
#define TABLE_PAGES 32u       /* page tables live in the RAM's first 128 KiB */
#define CODE_SIZE 16
#define MAX_STEPS 3

static struct domain dom;
static struct vcpu vcpu;
static struct vcpu_sregs sregs;
static u8 *ram, *rom, *pam_shadow;
static u8 rom_copy[ROM_SIZE];
static struct prog values; /* what bus reads return */
static u64 mmio_seed;        /* what the bus's memory reads return: a function of the address */
static volatile u8 out_sum;  /* bytes OUTS sent, read so that ASan checks them */

/* What one emulate_instruction did. */
static struct {
    unsigned injected, ended, steps_trapped;
    struct vcpu_event event;
    char end_reason[256];
} out;

/* ---- the rest of Zazen, as emulate.c sees it ---- */

/* The bus's memory reads (page-table entries in MMIO among them) return
 * the same bytes each time, so that a walk can be repeated and checked. */
static u8 mmio_byte(u64 addr)
{
    u64 h = (addr ^ mmio_seed) * 0x9e3779b97f4a7c15ull;
    return (u8)(h >> 56);
}

struct guest_mem_region *domain_find_region(struct domain *d, u64 gpa, u64 len)
{
    FUZZ_CHECK(d == &dom, "domain %p", (void *)d);
    for (unsigned i = 0; i < d->mem_count; i++) {
        struct guest_mem_region *r = &d->mem[i];
        if (gpa >= r->gpa && gpa - r->gpa < r->size && len <= r->size - (gpa - r->gpa))
            return r;
    }
    return NULL;
}

u64 bus_mmio_read(struct io_bus *bus, u64 addr, u8 size)
{
    FUZZ_CHECK(bus == &dom.pc.bus && (size == 1 || size == 2 || size == 4 || size == 8), "MMIO read of %u at %#llx",
               size, (unsigned long long)addr);
    FUZZ_CHECK(!domain_find_region(&dom, addr, size) || !domain_find_region(&dom, addr, size)->host,
               "MMIO read of RAM at %#llx", (unsigned long long)addr);
    u64 v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (u64)mmio_byte(addr + i) << (8 * i);
    return v;
}

void bus_mmio_write(struct io_bus *bus, u64 addr, u8 size, u64 value)
{
    (void)value;
    FUZZ_CHECK(bus == &dom.pc.bus && (size == 1 || size == 2 || size == 4 || size == 8), "MMIO write of %u at %#llx",
               size, (unsigned long long)addr);
}

u32 bus_io_read(struct io_bus *bus, u16 port, u8 size)
{
    (void)port;
    FUZZ_CHECK(bus == &dom.pc.bus && (size == 1 || size == 2 || size == 4), "IN of %u", size);
    return (u32)take_value(&values, size);
}

void bus_io_write(struct io_bus *bus, u16 port, u8 size, u32 value)
{
    (void)port, (void)value;
    FUZZ_CHECK(bus == &dom.pc.bus && (size == 1 || size == 2 || size == 4), "OUT of %u", size);
}

void bus_io_read_rep(struct io_bus *bus, u16 port, u8 size, void *buf, u32 count)
{
    (void)port;
    FUZZ_CHECK(bus == &dom.pc.bus && (size == 1 || size == 2 || size == 4) && count && (u64)count * size <= 0x1000,
               "INS of %u x %u", count, size);
    for (u32 i = 0; i < count * size; i++)
        ((u8 *)buf)[i] = take8(&values);
}

void bus_io_write_rep(struct io_bus *bus, u16 port, u8 size, const void *buf, u32 count)
{
    (void)port;
    FUZZ_CHECK(bus == &dom.pc.bus && (size == 1 || size == 2 || size == 4) && count && (u64)count * size <= 0x1000,
               "OUTS of %u x %u", count, size);
    for (u32 i = 0; i < count * size; i++) /* ASan checks the whole buffer */
        out_sum ^= ((const u8 *)buf)[i];
}

void vcpu_inject_exception(struct vcpu *v, u8 vector, bool has_error, u32 error)
{
    FUZZ_CHECK(v == &vcpu, "vcpu");
    out.injected++;
    out.event = (struct vcpu_event){EVENT_EXCEPTION, vector, has_error, error, 0};
}

void vcpu_inject_page_fault(struct vcpu *v, u32 error, u64 address)
{
    FUZZ_CHECK(v == &vcpu, "vcpu");
    out.injected++;
    out.event = (struct vcpu_event){EVENT_EXCEPTION, VECTOR_PF, true, error, address};
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

static void fake_single_step_trap(struct vcpu *v)
{
    FUZZ_CHECK(v == &vcpu, "vcpu");
    out.steps_trapped++;
}

static const struct arch_ops fake_arch = {.get_sregs = fake_get_sregs, .single_step_trap = fake_single_step_trap};
const struct arch_ops *arch = &fake_arch;

/* ---- guest memory ---- */

static void add_region(u64 gpa, u64 size, u8 *host, bool read_only, u8 *write_to)
{
    dom.mem[dom.mem_count++] = (struct guest_mem_region){gpa, size, host, read_only, false, write_to};
}

static void setup_memory(void)
{
    if (!ram) { /* exact sizes: ASan sees a byte past any of them */
        ram = malloc(RAM_SIZE);
        rom = malloc(ROM_SIZE);
        pam_shadow = malloc(PAM_SIZE);
    }
    memset(ram, 0, RAM_SIZE);
    memset(pam_shadow, 0, PAM_SIZE);
    for (unsigned i = 0; i < ROM_SIZE; i++)
        rom[i] = (u8)(i * 7 + 1);
    memcpy(rom_copy, rom, ROM_SIZE);
    dom.mem_count = 0;
    add_region(0, RAM_SIZE, ram, false, NULL);
    add_region(PAM_RW_BASE, PAM_SIZE, rom + ROM_SIZE - PAM_SIZE, true, pam_shadow);
    add_region(PAM_NONE_BASE, PAM_SIZE, NULL, true, NULL);
    add_region(ROM_BASE, ROM_SIZE, rom, true, NULL);
}

static bool read_phys(void *ctx, u64 gpa, void *data, unsigned size)
{
    guest_phys_access(ctx, gpa, data, size, false);
    return true;
}

/* A guest-physical page for a page-table entry to point at: mostly a
 * table page or other RAM, sometimes the PAM segments, the ROM, the bus
 * or anything at all. */
static u64 take_frame(struct prog *g)
{
    u8 how = take8(g);
    u32 v = take32(g);
    switch (how % 8) {
    case 0: case 1: case 2: return (u64)(v % TABLE_PAGES) << 12;
    case 3: return (u64)(v % (RAM_SIZE >> 12)) << 12;
    case 4: return PAM_RW_BASE + ((u64)(v % 8) << 12); /* both PAM segments */
    case 5: return ROM_BASE + ((u64)(v % (ROM_SIZE >> 12)) << 12);
    case 6: return 0xfee00000ull;
    default: return ((u64)v << 12) & 0xffffffffff000ull;
    }
}

/* Page-table entries written into the table pages: a table page, an
 * index, a frame and the flags (and for 32-bit paging the low half). */
static void write_tables(struct prog *g, bool wide)
{
    unsigned n = take8(g) % 48;
    for (unsigned i = 0; i < n; i++) {
        u64 page = take8(g) % TABLE_PAGES;
        unsigned index = take16(g) & 0x1ff;
        u64 flags = take16(g);
        u8 high = take8(g);
        u64 entry = take_frame(g) | (flags & 0xfff) | (high & 0x80 ? PTE_NX : 0);
        if (wide)
            memcpy(ram + (page << 12) + index * 8, &entry, 8);
        else
            memcpy(ram + (page << 12) + (index & 0x3ff) * 4, &(u32){(u32)entry}, 4);
    }
}

/* ---- the walk ---- */

static struct guest_paging paging_of(u8 cpl)
{
    return (struct guest_paging){sregs.cr0, sregs.cr3, sregs.cr4, sregs.efer, cpl, read_phys, &dom};
}

static u64 max_physical(void)
{
    if (!(sregs.cr0 & CR0_PG))
        return ~0ull; /* the linear address itself */
    return (sregs.cr4 & CR4_PAE) ? (1ull << 52) - 1 : (1ull << 40) - 1;
}

static void check_pf_error(u64 linear, enum x86emu_access acc, u8 cpl, const struct x86emu_fault *f)
{
    u32 expect = (acc == EMU_WRITE ? 2u : 0) | (cpl == 3 ? 4u : 0) |
                 (acc == EMU_FETCH && (sregs.efer & EFER_NXE) ? 0x10u : 0);
    FUZZ_CHECK(f->vector == VECTOR_PF && f->has_error && f->cr2 == linear && (f->error & ~1u) == expect,
               "walk of %#llx (access %d, CPL %u): fault %u error %#x cr2 %#llx", (unsigned long long)linear, acc,
               cpl, f->vector, f->error, (unsigned long long)f->cr2);
}

/* The walk's invariants at one linear address. */
static void check_walk(u64 linear)
{
    u64 gpa[2][3];
    bool ok[2][3];
    for (u8 user = 0; user < 2; user++)
        for (int acc = EMU_READ; acc <= EMU_FETCH; acc++) {
            struct guest_paging p = paging_of(user ? 3 : 0);
            struct x86emu_fault f;
            ok[user][acc] = guest_walk(&p, linear, acc, &gpa[user][acc], &f);
            if (!ok[user][acc]) {
                check_pf_error(linear, acc, user ? 3 : 0, &f);
                continue;
            }
            u64 a = gpa[user][acc];
            FUZZ_CHECK((a & 0xfff) == (linear & 0xfff) && a <= max_physical(),
                       "%#llx translates to %#llx", (unsigned long long)linear, (unsigned long long)a);
            if (!(sregs.cr0 & CR0_PG))
                FUZZ_CHECK(a == linear, "no paging, yet %#llx -> %#llx", (unsigned long long)linear,
                           (unsigned long long)a);
        }
    for (u8 user = 0; user < 2; user++)
        for (int acc = EMU_WRITE; acc <= EMU_FETCH; acc++)
            if (ok[user][acc])
                FUZZ_CHECK(ok[user][EMU_READ] && gpa[user][EMU_READ] == gpa[user][acc],
                           "%#llx: access %d allowed but not a read, or elsewhere", (unsigned long long)linear, acc);
    for (int acc = EMU_READ; acc <= EMU_FETCH; acc++)
        if (ok[1][acc])
            FUZZ_CHECK(ok[0][acc] && gpa[0][acc] == gpa[1][acc],
                       "%#llx: user access %d allowed, supervisor's not, or elsewhere", (unsigned long long)linear, acc);
}

/* ---- the input ---- */

static u64 take_reg(struct prog *g)
{
    u8 how = take8(g);
    u64 v = take64(g);
    switch (how % 6) {
    case 0: return v;
    case 1: return v & 0xffff;
    case 2: return v & 0x3ffff; /* inside the RAM */
    case 3: return (u64)-(s64)(v & 0xff);
    case 4: return (1ull << (v % 64)) + (u64)(s8)(v >> 8);
    default: return (v & 0xffff) << 12; /* a page the tables may map */
    }
}

/* The paging mode, CPL and the control registers. */
static void take_paging(struct prog *g, struct vcpu_sregs *s)
{
    u8 how = take8(g);
    s->cpl = how & 0x80 ? 3 : 0;
    s->cr0 = CR0_PE | CR0_ET | (how & 0x40 ? CR0_WP : 0);
    s->cr3 = take_frame(g) | (take16(g) & 0xfe0);
    s->efer = how & 0x20 ? EFER_NXE : 0;
    switch (how % 5) {
    case 0: s->cr0 &= ~(u64)CR0_PE; break; /* real mode */
    case 1: break;                           /* protected mode without paging */
    case 2: s->cr0 |= CR0_PG; s->cr4 = how & 0x10 ? CR4_PSE : 0; break;
    case 3: s->cr0 |= CR0_PG; s->cr4 = CR4_PAE; break;
    default: s->cr0 |= CR0_PG; s->cr4 = CR4_PAE; s->efer |= EFER_LME | EFER_LMA; break;
    }
}

static void setup_cpu(struct prog *g)
{
    memset(&sregs, 0, sizeof(sregs));
    take_paging(g, &sregs);
    u8 mode = take8(g);
    u16 cs_attr = 0;
    if (sregs.cr0 & CR0_PE) {
        if ((sregs.efer & EFER_LMA) && (mode & 1))
            cs_attr |= SEG_ATTR_L;
        else if (mode & 2)
            cs_attr |= SEG_ATTR_DB;
    }
    sregs.seg[SEG_CS].attr = cs_attr;
    for (unsigned i = 0; i < SEG_COUNT && i < 6; i++) {
        u8 how = take8(g);
        u32 v = take32(g);
        sregs.seg[i].base = how < 0x80 ? 0 : how < 0xf0 ? (u64)(how & 0x0f) << 12 : v;
    }
    memset(&vcpu, 0, sizeof(vcpu));
    vcpu.domain = &dom;
    for (unsigned i = 0; i < 16; i++)
        vcpu.gpr[i] = take_reg(g);
    u8 flags = take8(g);
    vcpu.rflags = 2 | (flags & 1) | (flags & 2 ? RFLAGS_DF : 0) | (flags & 4 ? RFLAGS_TF : 0) |
                  (flags & 8 && sregs.cr0 & CR0_PE && !(sregs.efer & EFER_LMA) ? RFLAGS_VM : 0);
    vcpu.rip = take_reg(g);
    enum x86emu_mode m = guest_mode(&vcpu, &sregs);
    vcpu.rip &= m == EMU_MODE_LONG64 ? ~0ull : m == EMU_MODE_PROT32 ? 0xffffffffull : 0xffffull;
}

/* The code goes where CS:RIP translates, if that is RAM. */
static void place_code(const u8 *code)
{
    enum x86emu_mode m = guest_mode(&vcpu, &sregs);
    u64 linear = m == EMU_MODE_LONG64 ? vcpu.rip : (sregs.seg[SEG_CS].base + vcpu.rip) & 0xffffffffull;
    for (unsigned i = 0; i < CODE_SIZE; i++) {
        struct guest_paging p = paging_of(sregs.cpl);
        struct x86emu_fault f;
        u64 gpa;
        if (guest_walk(&p, linear + i, EMU_FETCH, &gpa, &f) && gpa < RAM_SIZE)
            ram[gpa] = code[i];
    }
}

static bool step(void)
{
    u64 rip = vcpu.rip;
    u64 gpr[16];
    memcpy(gpr, vcpu.gpr, sizeof(gpr));
    enum x86emu_mode m = guest_mode(&vcpu, &sregs);
    u64 mask = m == EMU_MODE_LONG64 ? ~0ull : m == EMU_MODE_PROT32 ? 0xffffffffull : 0xffffull;
    memset(&out, 0, sizeof(out));
    emulate_instruction(&vcpu);
    FUZZ_CHECK(out.injected + out.ended <= 1, "%u faults injected and %u ends", out.injected, out.ended);
    FUZZ_CHECK(memcmp(rom, rom_copy, ROM_SIZE) == 0, "the ROM changed");
    if (out.ended) {
        FUZZ_CHECK(out.end_reason[0] && vcpu.rip == rip && !memcmp(gpr, vcpu.gpr, sizeof(gpr)),
                   "ended (%s) with registers changed", out.end_reason);
        return false;
    }
    if (out.injected) {
        FUZZ_CHECK(out.event.vector == VECTOR_GP || out.event.vector == VECTOR_PF, "vector %u injected",
                   out.event.vector);
        FUZZ_CHECK(vcpu.rip == rip, "RIP moved on a fault");
        if (out.event.vector == VECTOR_PF) {
            u32 err = out.event.error;
            enum x86emu_access acc = err & 0x10 ? EMU_FETCH : err & 2 ? EMU_WRITE : EMU_READ;
            struct guest_paging p = paging_of(sregs.cpl);
            struct x86emu_fault f;
            u64 gpa;
            FUZZ_CHECK(!guest_walk(&p, out.event.cr2, acc, &gpa, &f), "#PF at %#llx error %#x, yet the walk passes",
                       (unsigned long long)out.event.cr2, err);
            FUZZ_CHECK(f.error == err, "#PF at %#llx error %#x, the walk says %#x", (unsigned long long)out.event.cr2,
                       err, f.error);
            check_pf_error(out.event.cr2, acc, sregs.cpl, &f);
        }
        return false;
    }
    u64 moved = (vcpu.rip - rip) & mask;
    FUZZ_CHECK(vcpu.rip <= mask && moved <= 15 && (moved || vcpu.gpr[1] != gpr[1]),
               "RIP %#llx -> %#llx", (unsigned long long)rip, (unsigned long long)vcpu.rip);
    FUZZ_CHECK(out.steps_trapped == ((vcpu.rflags & RFLAGS_TF) && moved ? 1u : 0u), "%u single-step traps",
               out.steps_trapped);
    return true;
}

/* The input: 16 bytes of code, the paging mode, page-table entries, the
 * CPU, a linear address to check the walk at; the rest is what the bus
 * returns. */
/* ---- the code page (guest_code_in_ram keeps its translation) ---- */

/* What guest_code_in_ram must answer: the fetch's walk made afresh. */
static const u8 *code_in_ram_fresh(u64 linear, unsigned *avail)
{
    struct guest_paging p = paging_of(sregs.cpl);
    struct x86emu_fault f;
    u64 gpa;
    unsigned n = 15;
    if (n > 0x1000 - (linear & 0xfff))
        n = (unsigned)(0x1000 - (linear & 0xfff));
    struct guest_mem_region *r;
    if (!guest_walk(&p, linear, EMU_FETCH, &gpa, &f) || !(r = domain_find_region(&dom, gpa, n)) || !r->host)
        return NULL;
    *avail = n;
    return r->host + (gpa - r->gpa);
}

/* Whatever the guest did to its tables or registers since the last
 * fetch (no exit tells Zazen), guest_code_in_ram answers as a fresh walk
 * does: rounds of a fetch, then a change the input picks (an entry the
 * last walk read gets other bits, CR3 or the CPL moves, or nothing). */
static void check_code_page(struct prog *g)
{
    u64 linear = take_reg(g);
    if (guest_mode(&vcpu, &sregs) != EMU_MODE_LONG64)
        linear &= 0xffffffffull;
    for (unsigned round = 0; round < 4; round++) {
        unsigned got_avail = 0, want_avail = 0;
        const u8 *got = guest_code_in_ram(&vcpu, &sregs, linear, 15, &got_avail);
        const u8 *want = code_in_ram_fresh(linear, &want_avail);
        FUZZ_CHECK(got == want && (!got || got_avail == want_avail),
                   "code at %#llx (round %u): kept %p (%u bytes), a fresh walk %p (%u)", (unsigned long long)linear,
                   round, (const void *)got, got_avail, (const void *)want, want_avail);
        u8 how = take8(g);
        const struct code_page *cp = &vcpu.code_page;
        switch (how % 4) {
        case 0:
            if (cp->entries) { /* an entry the walk read, some bits flipped (if in RAM: the guest writes no ROM) */
                u8 *at = (u8 *)cp->entry_at[take8(g) % cp->entries];
                if (at >= ram && at < ram + RAM_SIZE)
                    at[take8(g) % cp->entry_size] ^= (u8)(1u << (how >> 5));
            }
            break;
        case 1:
            sregs.cr3 = take_frame(g) | (take16(g) & 0xfe0);
            break;
        case 2:
            sregs.cpl = sregs.cpl ? 0 : 3;
            break;
        default:
            break; /* nothing: the kept translation answers */
        }
    }
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
    struct prog g = {data, size};
    u8 code[CODE_SIZE];
    setup_memory();
    mmio_seed = take64(&g);
    for (unsigned i = 0; i < CODE_SIZE; i++)
        code[i] = take8(&g);
    setup_cpu(&g);
    write_tables(&g, (sregs.cr4 & CR4_PAE) != 0);
    place_code(code);
    check_walk(take_reg(&g));
    check_walk(vcpu.gpr[take8(&g) % 16]);
    struct vcpu_sregs kept = sregs;
    check_code_page(&g);
    sregs = kept; /* the code page's changes of CR3 and CPL are its own */
    values = g;
    for (unsigned n = 0; n < MAX_STEPS; n++)
        if (!step())
            break;
    return 0;
}
