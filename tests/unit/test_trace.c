/* The exit trace: which exits the ring keeps, and the line each becomes. */
/* unit-sources: vmm/trace.c vmm/exit_names.c vmm/format.c vmm/string.c */
#include "unit.h"
#include "../../vmm/trace.h"

static struct trace_entry storage[8]; /* trace_ring_size(4) */
static struct trace_ring ring;
static char line[160];

/* The line of the ring's i-th exit, oldest first (as domain_print_trace). */
static void trace_format_at(const struct trace_ring *t, unsigned i, char *out, size_t size)
{
    struct trace_entry en = trace_get(t, i);
    trace_format(&en, out, size);
}

static struct vm_exit io_exit(u16 port, u8 size, bool in)
{
    struct vm_exit e = {.reason = EXIT_IO};
    e.io.port = port;
    e.io.size = size;
    e.io.in = in;
    return e;
}

static const char *format_one(const struct vm_exit *e, const struct trace_regs *r)
{
    trace_init(&ring, storage, 4);
    trace_record(&ring, e, r);
    trace_format_at(&ring, 0, line, sizeof(line));
    return line;
}

TEST(trace_ring_keeps_the_last_exits_oldest_first)
{
    trace_init(&ring, storage, 4);
    CHECK_EQ(trace_count(&ring), 0);
    struct vm_exit e = {.reason = EXIT_HLT};
    for (u64 rip = 1; rip <= 6; rip++)
        trace_record(&ring, &e, &(struct trace_regs){.rip = rip});
    CHECK_EQ(trace_count(&ring), 4);
    for (unsigned i = 0; i < 4; i++) {
        CHECK_EQ(trace_get(&ring, i).seq, i + 3);
        CHECK_EQ(trace_get(&ring, i).rip, i + 3);
    }
    trace_format_at(&ring, 3, line, sizeof(line));
    CHECK_STR(line, "exit 6 at rip 0000000000000006: hlt");
}

/* A ring asked for 3 exits has room for 4 (a power of two above the
 * capacity: the slot is an AND, and one is left for the exit being
 * handled) and still gives back exactly the last 3. */
TEST(trace_ring_of_three_keeps_the_last_three)
{
    CHECK_EQ(trace_ring_size(3), 4);
    CHECK_EQ(trace_ring_size(4), 8);
    CHECK_EQ(trace_ring_size(5), 8);
    CHECK_EQ(trace_ring_size(1), 2);
    CHECK_EQ(trace_ring_size(64), 128);
    trace_init(&ring, storage, 3);
    struct vm_exit e = {.reason = EXIT_HLT};
    for (u64 rip = 1; rip <= 9; rip++) {
        trace_record(&ring, &e, &(struct trace_regs){.rip = rip});
        unsigned have = rip < 3 ? (unsigned)rip : 3;
        CHECK_EQ(trace_count(&ring), have);
        for (unsigned i = 0; i < have; i++)
            CHECK_EQ(trace_get(&ring, i).rip, rip - have + 1 + i);
    }
}

TEST(trace_port_io_lines)
{
    struct vm_exit e = io_exit(0x80, 1, false);
    CHECK_STR(format_one(&e, &(struct trace_regs){.rip = 0xf0a3, .rax = 0x12345a}),
              "exit 1 at rip 000000000000f0a3: io out port 0080 size 1 value 5a (POST code 5ah)");
    e = io_exit(0x3f8, 2, false);
    CHECK_STR(format_one(&e, &(struct trace_regs){.rip = 1, .rax = 0xabcd1234}),
              "exit 1 at rip 0000000000000001: io out port 03f8 size 2 value 1234");
    e = io_exit(0x40, 1, true);
    CHECK_STR(format_one(&e, &(struct trace_regs){.rip = 2, .rax = 0x99}),
              "exit 1 at rip 0000000000000002: io in port 0040 size 1");
    e = io_exit(0x1f0, 2, true);
    e.io.string = e.io.rep = true;
    CHECK_STR(format_one(&e, &(struct trace_regs){.rip = 3}),
              "exit 1 at rip 0000000000000003: io rep ins port 01f0 size 2");
}

TEST(trace_cpuid_msr_and_fault_lines)
{
    struct vm_exit e = {.reason = EXIT_CPUID};
    CHECK_STR(format_one(&e, &(struct trace_regs){.rip = 4, .rax = 0xffffffff80000001ull, .rcx = 7}),
              "exit 1 at rip 0000000000000004: cpuid eax 80000001 ecx 00000007");
    e = (struct vm_exit){.reason = EXIT_MSR_READ};
    CHECK_STR(format_one(&e, &(struct trace_regs){.rip = 0x8c5661, .rcx = 0xc0010131}),
              "exit 1 at rip 00000000008c5661: rdmsr ecx c0010131");
    e = (struct vm_exit){.reason = EXIT_MSR_WRITE};
    CHECK_STR(format_one(&e, &(struct trace_regs){.rip = 5, .rax = 0xffffffff00000010ull, .rcx = 0x6e0, .rdx = 0x2}),
              "exit 1 at rip 0000000000000005: wrmsr ecx 000006e0 value 0000000200000010");
    e = (struct vm_exit){.reason = EXIT_NESTED_FAULT};
    e.npf.gpa = 0xfee000b0;
    e.npf.write = true;
    CHECK_STR(format_one(&e, &(struct trace_regs){.rip = 6}),
              "exit 1 at rip 0000000000000006: npf gpa 00000000fee000b0 write");
    e = (struct vm_exit){.reason = EXIT_EXCEPTION};
    e.exception.vector = 8;
    e.exception.has_error = true;
    CHECK_STR(format_one(&e, &(struct trace_regs){.rip = 0x1000}),
              "exit 1 at rip 0000000000001000: exception vector 8 error 00000000");
    e = (struct vm_exit){.reason = EXIT_TRIPLE_FAULT};
    CHECK_STR(format_one(&e, &(struct trace_regs){.rip = 0x1000}), "exit 1 at rip 0000000000001000: triple-fault");
}

static bool same_entry(const struct trace_entry *a, const struct trace_entry *b)
{
    return a->seq == b->seq && a->rip == b->rip && a->a == b->a && a->b == b->b && a->reason == b->reason &&
           a->size == b->size && a->flags == b->flags;
}

/* The fast way records its exits without an exit record: the same
 * entries (and so the same lines) as trace_record makes from one. */
TEST(trace_fast_way_records_as_the_full_way)
{
    struct trace_regs r = {.rip = 0x7fa6, .rax = 0xffffffff00000004ull, .rcx = 0x80b, .rdx = 0x12345678};
    struct trace_entry full, fast;
    const enum exit_reason reasons[] = {EXIT_CPUID, EXIT_MSR_WRITE, EXIT_MSR_READ};
    for (unsigned i = 0; i < 3; i++) {
        struct vm_exit e = {.reason = reasons[i]};
        trace_init(&ring, storage, 4);
        trace_record(&ring, &e, &r);
        full = trace_get(&ring, 0);
        trace_init(&ring, storage, 4);
        trace_record_registers(&ring, reasons[i], &r);
        fast = trace_get(&ring, 0);
        CHECK(same_entry(&full, &fast));
    }
    struct vm_exit in = io_exit(0x40, 1, true);
    trace_init(&ring, storage, 4);
    trace_record(&ring, &in, &r);
    full = trace_get(&ring, 0);
    trace_init(&ring, storage, 4);
    trace_record_port(&ring, &r, 0x40, 1);
    fast = trace_get(&ring, 0);
    CHECK(same_entry(&full, &fast));
    trace_format(&fast, line, sizeof(line));
    CHECK_STR(line, "exit 1 at rip 0000000000007fa6: io in port 0040 size 1");
    for (u8 size = 1; size <= 4; size *= 2) {
        struct vm_exit out = io_exit(0xe9, size, false);
        trace_init(&ring, storage, 4);
        trace_record(&ring, &out, &r);
        full = trace_get(&ring, 0);
        trace_init(&ring, storage, 4);
        trace_record_port(&ring, &r, 0xe9, size | FAST_IO_OUT);
        fast = trace_get(&ring, 0);
        CHECK(same_entry(&full, &fast));
        /* RAX is kept whole; the line shows the bytes the OUT wrote. */
        static const char *const lines[] = {
            [1] = "exit 1 at rip 0000000000007fa6: io out port 00e9 size 1 value 04",
            [2] = "exit 1 at rip 0000000000007fa6: io out port 00e9 size 2 value 0004",
            [4] = "exit 1 at rip 0000000000007fa6: io out port 00e9 size 4 value 00000004",
        };
        trace_format(&fast, line, sizeof(line));
        CHECK_STR(line, lines[size]);
    }
}

/* A ring of three (four slots): the fast way's recorders put each exit
 * where the full way's would go, so the last three read back in order
 * whichever recorded them (trace_record_mmio_write took the slot
 * modulo the capacity, not the ring's size: its entries landed on
 * others' slots). */
TEST(trace_fast_recorders_share_the_ring_of_any_capacity)
{
    trace_init(&ring, storage, 3);
    struct vm_exit hlt = {.reason = EXIT_HLT};
    for (u64 rip = 1; rip <= 12; rip++) {
        struct trace_regs r = {.rip = rip};
        switch (rip % 4) {
        case 0: trace_record(&ring, &hlt, &r); break;
        case 1: trace_record_mmio_write(&ring, &r, 0xfee000b0); break;
        case 2: trace_record_port(&ring, &r, 0xe9, 1 | FAST_IO_OUT); break;
        default: trace_record_registers(&ring, EXIT_CPUID, &r); break;
        }
        unsigned have = rip < 3 ? (unsigned)rip : 3;
        CHECK_EQ(trace_count(&ring), have);
        for (unsigned i = 0; i < have; i++) {
            CHECK_EQ(trace_get(&ring, i).rip, rip - have + 1 + i);
            CHECK_EQ(trace_get(&ring, i).seq, rip - have + 1 + i);
        }
    }
}

/* The fast way writes an exit's entry before its handler runs and counts
 * it after (trace_stage_*, trace_commit): until then a reader copying the
 * ring (the management's trace verb) sees the last N as they were, even
 * with the ring full and N a power of two; a declined exit's entry is
 * then written again by trace_record, in the same slot. */
TEST(trace_staged_entry_is_not_shown_until_committed)
{
    trace_init(&ring, storage, 4);
    struct vm_exit hlt = {.reason = EXIT_HLT};
    for (u64 rip = 1; rip <= 9; rip++)
        trace_record(&ring, &hlt, &(struct trace_regs){.rip = rip});
    trace_stage_port(&ring, &(struct trace_regs){.rip = 0x99}, 0xe9, 1 | FAST_IO_OUT);
    CHECK_EQ(trace_count(&ring), 4);
    for (unsigned i = 0; i < 4; i++) {
        CHECK_EQ(trace_get(&ring, i).rip, 6 + i);
        CHECK_EQ(trace_get(&ring, i).reason, EXIT_HLT);
    }
    struct vm_exit out = io_exit(0xe9, 1, false);
    trace_record(&ring, &out, &(struct trace_regs){.rip = 0x99, .rax = 0x41});
    CHECK_EQ(trace_count(&ring), 4);
    CHECK_EQ(trace_get(&ring, 0).rip, 7);
    trace_format_at(&ring, 3, line, sizeof(line));
    CHECK_STR(line, "exit 10 at rip 0000000000000099: io out port 00e9 size 1 value 41");
    trace_stage_registers(&ring, EXIT_CPUID, &(struct trace_regs){.rip = 0x100, .rax = 7});
    trace_commit(&ring);
    trace_format_at(&ring, 3, line, sizeof(line));
    CHECK_STR(line, "exit 11 at rip 0000000000000100: cpuid eax 00000007 ecx 00000000");
}
