/* fuzz-sources: vmm/x86emu.c vmm/format.c vmm/string.c */
/* The instruction decoder and emulator: instruction bytes (prefixes, REX,
 * ModR/M, SIB, displacements, immediates of every supported opcode and
 * many unsupported ones) run from an initial register state of the
 * input's choosing (general registers near the test buffers or anywhere,
 * segment bases, RIP, CF/DF) in each of the four modes, for a few steps.
 * Guest memory is 64 KiB of RAM at linear 0 and a 4 KiB MMIO window at
 * 0xFEE00000 whose reads return input bytes; everything else takes a #PF.
 * Ports return input bytes.
 *
 * Checks: memory accesses are operands of 1, 2, 4 or 8 bytes, or else
 * stay inside one 4 KiB page (fetches of at most 15 bytes, string I/O in
 * bulk); ports take 1, 2 or 4 bytes; ASan watches the buffers behind
 * them. `why` is never written past why_size and is left terminated. A
 * fault is a #GP or the #PF the memory callback raised; an instruction
 * that fails with the registers untouched has written nothing; RIP moves
 * by an instruction's length (1-15), or stays only while a REP instruction
 * makes progress, and stays inside the IP width of its mode. An input may
 * ask for the bulk REP INS/OUTS callbacks: each instruction that does port
 * I/O then runs twice from the same state, one access at a time and in
 * bulk, and both must end with the same registers, RAM, port and MMIO
 * traffic. Where x86emu_plain_store (the fast way's decoder) calls the
 * bytes at CS:RIP a plain MOV store, the step must be exactly that: one
 * write of the size and value it decoded, RIP past its length, no other
 * register changed (or a fault). */
#include "fuzz.h"
#include "../../vmm/x86emu.h"

#define RAM_SIZE 0x10000u
#define MMIO_BASE 0xfee00000ull
#define MMIO_SIZE 0x1000u
#define CODE_SIZE 32
#define MAX_STEPS 4
#define RCX 1

#define PAGES (RAM_SIZE / 4096)

static u8 ram[RAM_SIZE];
static struct prog values; /* what MMIO and port reads return */
/* Each RAM page as it was before its first write in this step. */
static u8 saved[RAM_SIZE];
static bool page_saved[PAGES];
static bool raised_pf;
static struct x86emu_fault pf_raised;

/* What a step did besides changing registers and RAM. */
static struct {
    unsigned writes;   /* memory and port writes done (calls) */
    unsigned port_ops; /* port callbacks, single or bulk */
    u64 trace;         /* a hash of each byte sent to a port or the MMIO window, and where */
    unsigned last_size; /* the last memory write's size and value (up to 8 bytes) */
    u64 last_value;
} seen;

static void trace_byte(u64 where, u8 byte) { seen.trace = (seen.trace ^ (where << 8 | byte)) * 0x100000001b3ull; }

static bool operand_size(unsigned size) { return size == 1 || size == 2 || size == 4 || size == 8; }
static bool within_page(u64 linear, unsigned size) { return size && (linear & 0xfff) + size <= 0x1000; }
static bool port_size(unsigned size) { return size == 1 || size == 2 || size == 4; }

static bool mem(void *ctx, u64 linear, void *data, unsigned size, enum x86emu_access acc, struct x86emu_fault *f)
{
    if (acc == EMU_WRITE) {
        seen.last_size = size;
        seen.last_value = 0;
        memcpy(&seen.last_value, data, MIN(size, 8u));
    }
    FUZZ_CHECK(ctx == ram, "memory context %p", ctx);
    if (acc == EMU_FETCH)
        FUZZ_CHECK(size <= 15 && within_page(linear, size), "fetch of %u bytes at %#llx", size,
                   (unsigned long long)linear);
    else
        FUZZ_CHECK(operand_size(size) || within_page(linear, size), "access of %u bytes at %#llx", size,
                   (unsigned long long)linear);
    if (linear < RAM_SIZE && size <= RAM_SIZE - linear) {
        if (acc == EMU_WRITE) {
            for (u64 p = linear / 4096; p <= (linear + size - 1) / 4096; p++)
                if (!page_saved[p]) {
                    memcpy(saved + p * 4096, ram + p * 4096, 4096);
                    page_saved[p] = true;
                }
            memcpy(ram + linear, data, size);
            seen.writes++;
        } else {
            memcpy(data, ram + linear, size);
        }
        return true;
    }
    if (acc != EMU_FETCH && linear >= MMIO_BASE && linear - MMIO_BASE <= MMIO_SIZE - size) {
        for (unsigned i = 0; i < size; i++) {
            if (acc == EMU_READ)
                ((u8 *)data)[i] = take8(&values);
            else
                trace_byte(linear + i, ((const u8 *)data)[i]);
        }
        seen.writes += acc == EMU_WRITE;
        return true;
    }
    *f = (struct x86emu_fault){14, true, acc == EMU_WRITE ? 2u : acc == EMU_FETCH ? 0x10u : 0u, linear};
    pf_raised = *f;
    raised_pf = true;
    return false;
}

static u32 emu_in(void *ctx, u16 port, u8 size)
{
    (void)port;
    FUZZ_CHECK(ctx == ram && port_size(size), "IN of %u bytes", size);
    seen.port_ops++;
    return (u32)take_value(&values, size);
}

static void emu_out(void *ctx, u16 port, u8 size, u32 value)
{
    FUZZ_CHECK(ctx == ram && port_size(size), "OUT of %u bytes", size);
    seen.port_ops++;
    seen.writes++;
    for (unsigned i = 0; i < size; i++)
        trace_byte((u64)port << 4 | size, (u8)(value >> (8 * i)));
}

/* REP INS/OUTS in bulk: the same bytes as count single accesses. */
static void emu_in_rep(void *ctx, u16 port, u8 size, void *buf, u32 count)
{
    (void)port;
    FUZZ_CHECK(ctx == ram && port_size(size) && count && (u64)count * size <= 0x1000, "INS of %u x %u bytes",
               count, size);
    seen.port_ops++;
    for (u32 i = 0; i < count * size; i++)
        ((u8 *)buf)[i] = take8(&values);
}

static void emu_out_rep(void *ctx, u16 port, u8 size, const void *buf, u32 count)
{
    FUZZ_CHECK(ctx == ram && port_size(size) && count && (u64)count * size <= 0x1000, "OUTS of %u x %u bytes",
               count, size);
    seen.port_ops++;
    seen.writes++;
    for (u32 i = 0; i < count * size; i++)
        trace_byte((u64)port << 4 | size, ((const u8 *)buf)[i]);
}

static const struct x86emu_ops single_ops = {.mem = mem, .io_in = emu_in, .io_out = emu_out};
static const struct x86emu_ops bulk_ops = {
    .mem = mem, .io_in = emu_in, .io_out = emu_out, .io_in_rep = emu_in_rep, .io_out_rep = emu_out_rep};

/* A register value from nine bytes (a fixed width keeps the fields of
 * the input in place as it mutates): mostly near the RAM or the MMIO
 * window, where accesses succeed; or next to a power of two (sign bits,
 * carries, the ends of the address sizes); sometimes anything at all. */
static u64 take_reg(struct prog *g)
{
    u8 how = take8(g);
    u64 v = take64(g);
    switch (how % 6) {
    case 0: return v;
    case 1: return v & 0xffff;
    case 2: return MMIO_BASE + v % MMIO_SIZE;
    case 3: return (u64)-(s64)(v & 0xff);
    case 4: return (1ull << (v % 64)) + (u64)(s64)(s8)(v >> 8);
    default: return v & 0xff;
    }
}

static u64 ip_mask(enum x86emu_mode mode)
{
    return mode == EMU_MODE_LONG64 ? ~0ull : mode == EMU_MODE_PROT32 ? 0xffffffffull : 0xffffull;
}

static enum x86emu_status run(struct x86emu_cpu *cpu, const struct x86emu_ops *ops, struct x86emu_fault *fault,
                              size_t why_size)
{
    char *why = malloc(why_size); /* exactly why_size: ASan sees any byte beyond */
    memset(why, 'x', why_size);
    memset(fault, 0xee, sizeof(*fault));
    memset(&seen, 0, sizeof(seen));
    raised_pf = false;
    enum x86emu_status s = x86emu_step(cpu, ops, ram, fault, why, why_size);
    FUZZ_CHECK(memchr(why, 0, why_size) != NULL, "why is not terminated (status %d)", s);
    FUZZ_CHECK(s != EMU_UNSUPPORTED || why_size < 2 || why[0], "no reason given");
    free(why);
    return s;
}

static void check_step(const struct x86emu_cpu *before, const struct x86emu_cpu *cpu, enum x86emu_status s,
                       const struct x86emu_fault *fault)
{
    bool untouched = memcmp(before, cpu, sizeof(*cpu)) == 0;
    u64 mask = ip_mask(cpu->mode);
    switch (s) {
    case EMU_OK: {
        u64 moved = (cpu->rip - before->rip) & mask;
        FUZZ_CHECK(cpu->rip <= mask && moved <= 15, "RIP %#llx -> %#llx", (unsigned long long)before->rip,
                   (unsigned long long)cpu->rip);
        FUZZ_CHECK(moved || cpu->gpr[RCX] != before->gpr[RCX], "RIP stays at %#llx with no REP progress",
                   (unsigned long long)cpu->rip);
        break;
    }
    case EMU_FAULT:
        FUZZ_CHECK(fault->vector == 13 || (fault->vector == 14 && raised_pf), "fault vector %u", fault->vector);
        if (fault->vector == 14)
            FUZZ_CHECK(fault->cr2 == pf_raised.cr2 && fault->error == pf_raised.error && fault->has_error,
                       "#PF cr2 %#llx error %#x differs from the one raised", (unsigned long long)fault->cr2,
                       fault->error);
        FUZZ_CHECK(!untouched || !seen.writes, "faulted with registers unchanged after %u writes", seen.writes);
        break;
    case EMU_UNSUPPORTED:
        FUZZ_CHECK(untouched && !seen.writes, "an unsupported instruction changed registers or wrote %u times",
                   seen.writes);
        break;
    default:
        FUZZ_CHECK(false, "status %d", s);
    }
}

/* A plain MOV store as x86emu_plain_store decoded it is what the
 * emulator does: one write of that size and value, RIP past that many
 * bytes, nothing else changed (or the write faulted). */
static void check_plain_store(const struct x86emu_cpu *before, const struct x86emu_cpu *cpu, enum x86emu_status s,
                              unsigned plain, const struct x86emu_store *st)
{
    if (!plain)
        return;
    FUZZ_CHECK(s != EMU_UNSUPPORTED, "a plain store (%u bytes) the emulator does not know", plain);
    if (s != EMU_OK)
        return;
    FUZZ_CHECK(((cpu->rip - before->rip) & ip_mask(cpu->mode)) == plain, "plain store of %u bytes moved RIP %#llx -> %#llx",
               plain, (unsigned long long)before->rip, (unsigned long long)cpu->rip);
    FUZZ_CHECK(memcmp(cpu->gpr, before->gpr, sizeof(cpu->gpr)) == 0 && cpu->rflags == before->rflags,
               "a plain store changed registers");
    FUZZ_CHECK(seen.writes == 1 && seen.last_size == st->size && seen.last_value == st->value,
               "plain store: %u writes, the last of %u bytes %#llx; decoded %u bytes %#llx", seen.writes,
               seen.last_size, (unsigned long long)seen.last_value, st->size, (unsigned long long)st->value);
}

/* One instruction, checked. With `bulk`, an instruction that did port I/O
 * runs a second time from the same state with the bulk string I/O
 * callbacks, and must end exactly as it did one access at a time. */
static bool step(struct x86emu_cpu *cpu, size_t why_size, bool bulk)
{
    static u8 single_ram[RAM_SIZE];
    struct x86emu_cpu before = *cpu;
    struct prog values_before = values;
    struct x86emu_fault fault;
    memset(page_saved, 0, sizeof(page_saved));
    /* What the fast way's decoder says of the same bytes (a plain MOV
     * store, mmio_fast_decode), checked against what the step does. */
    struct x86emu_store st = {0, 0};
    unsigned plain = 0;
    u64 at = cpu->mode == EMU_MODE_LONG64 ? cpu->rip : (cpu->seg_base[EMU_CS] + cpu->rip) & 0xffffffffull;
    if (at <= RAM_SIZE - 15)
        plain = x86emu_plain_store(ram + at, 15, cpu->mode, cpu->gpr, &st);
    enum x86emu_status s = run(cpu, &single_ops, &fault, why_size);
    check_step(&before, cpu, s, &fault);
    check_plain_store(&before, cpu, s, plain, &st);
    if (!bulk || !seen.port_ops)
        return s == EMU_OK;

    /* Keep what the single run left, and go back to the state before it. */
    struct x86emu_cpu single = *cpu;
    struct x86emu_fault single_fault = fault;
    size_t single_left = values.left;
    u64 single_trace = seen.trace;
    bool single_wrote[PAGES];
    for (unsigned p = 0; p < PAGES; p++) {
        single_wrote[p] = page_saved[p];
        if (page_saved[p]) {
            memcpy(single_ram + p * 4096, ram + p * 4096, 4096);
            memcpy(ram + p * 4096, saved + p * 4096, 4096);
        }
    }
    *cpu = before;
    values = values_before;
    enum x86emu_status bs = run(cpu, &bulk_ops, &fault, why_size);
    FUZZ_CHECK(bs == s && memcmp(cpu, &single, sizeof(single)) == 0,
               "bulk: status %d, RCX %#llx RIP %#llx; single: status %d, RCX %#llx RIP %#llx", bs,
               (unsigned long long)cpu->gpr[RCX], (unsigned long long)cpu->rip, s,
               (unsigned long long)single.gpr[RCX], (unsigned long long)single.rip);
    for (unsigned p = 0; p < PAGES; p++)
        if (page_saved[p])
            FUZZ_CHECK(memcmp(ram + p * 4096, (single_wrote[p] ? single_ram : saved) + p * 4096, 4096) == 0,
                       "bulk string I/O left page %#x otherwise", p * 4096);
    FUZZ_CHECK(seen.trace == single_trace && values.left == single_left, "bulk string I/O moved other bytes");
    FUZZ_CHECK(s != EMU_FAULT || memcmp(&fault, &single_fault, sizeof(fault)) == 0, "bulk: fault %u at %#llx",
               fault.vector, (unsigned long long)fault.cr2);
    return s == EMU_OK;
}

/* The input: 32 bytes of code, then the mode, CF/DF and the size of the
 * why buffer, the registers, the segment bases and RIP, all at fixed
 * places; what is left is what reads return. */
int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
    struct prog g = {data, size};
    struct x86emu_cpu cpu;
    u8 code[CODE_SIZE];
    memset(&cpu, 0, sizeof(cpu));
    memset(ram, 0, sizeof(ram));
    for (unsigned i = 0; i < CODE_SIZE; i++)
        code[i] = take8(&g);
    cpu.mode = (enum x86emu_mode)(take8(&g) % 4);
    u8 flags = take8(&g);
    cpu.rflags = 2 | (flags & 1) | (flags & 2 ? 1u << 10 : 0); /* CF, DF */
    bool bulk = flags & 4;
    size_t why_size = 1 + take8(&g) % 128;
    for (unsigned i = 0; i < 16; i++)
        cpu.gpr[i] = take_reg(&g);
    for (unsigned i = 0; i < 6; i++) {
        u8 how = take8(&g);
        u32 v = take32(&g);
        cpu.seg_base[i] = how < 0x80 ? 0 : how < 0xf0 ? (u64)(how & 0x07) << 12 : v;
    }
    cpu.rip = take16(&g) & 0x7fff;
    /* The code goes where CS:RIP points (in RAM unless CS has a far base). */
    u64 at = cpu.mode == EMU_MODE_LONG64 ? cpu.rip : (cpu.seg_base[EMU_CS] + cpu.rip) & 0xffffffffull;
    if (at < RAM_SIZE - CODE_SIZE)
        memcpy(ram + at, code, CODE_SIZE);
    values = g;
    for (unsigned n = 0; n < MAX_STEPS; n++)
        if (!step(&cpu, why_size, bulk))
            break;
    return 0;
}
