/* The exit trace: with `trace = N` in its config, a domain keeps its last
 * N exits in a ring (what each was, at which RIP, with the operands that
 * say what the guest did) and Zazen prints them when the domain ends, so
 * a triple fault or a refused entry shows what led to it. Pure: the ring
 * and the line format are unit-tested on the host. */
#ifndef ZAZEN_TRACE_H
#define ZAZEN_TRACE_H

#include "exit.h"
#include "types.h"

/* One exit as the trace keeps it: the reason, where, and its operands
 * (for port output and WRMSR the value; for CPUID the leaf). */
struct trace_entry {
    u64 seq;  /* the domain's exit number, from 1: trace_get's copy has it (a slot's place says it) */
    u64 rip;
    u64 a, b; /* operands, by reason: see trace_format */
    union {
        struct {
            u8 reason;
            u8 size;  /* port access size */
            u8 flags;
        };
        u64 kind; /* the three and the bytes after them at once (trace_kind) */
    };
};

/* trace_entry.kind of reason, size and flags (x86 is little-endian: the
 * reason is the lowest byte). */
#define trace_kind(reason, size, flags) ((u64)(u8)(reason) | (u64)(u8)(size) << 8 | (u64)(u8)(flags) << 16)

struct trace_ring {
    struct trace_entry *entries;
    unsigned capacity; /* the exits asked for (trace = N) */
    unsigned mask;     /* the ring's size less one: a power of two, so an exit's slot is one AND, not a
                        * division (tens of cycles on hardware), above capacity (trace_ring_size) */
    u64 recorded;      /* exits seen (with a ring); the ring holds the last min(recorded, capacity) asked for */
};

/* The entries the ring has room for: the smallest power of two above
 * capacity. The one more than the last capacity exits is where the
 * fast way writes an exit's entry while it handles it (trace_stage_*):
 * never one of those shown, even to a reader copying them meanwhile
 * (the management's trace verb). */
unsigned trace_ring_size(unsigned capacity);

/* trace_entry.flags, by reason. */
enum {
    TRACE_IO_IN = 1 << 0,
    TRACE_IO_STRING = 1 << 1,
    TRACE_IO_REP = 1 << 2,
    TRACE_NPF_READ = 1 << 0,
    TRACE_NPF_WRITE = 1 << 1,
    TRACE_NPF_FETCH = 1 << 2,
    TRACE_HAS_ERROR = 1 << 0,
};

/* Where the next exit goes: every recorder takes its slot here (the
 * ring's size, not the capacity asked for, wraps the index). */
static inline struct trace_entry *trace_next_slot(struct trace_ring *t) { return &t->entries[t->recorded & t->mask]; }

static inline u64 trace_low_bytes(u64 v, unsigned size) { return size >= 8 ? v : v & ((1ull << (8 * size)) - 1); }

/* The guest registers an exit's operands come from. */
struct trace_regs {
    u64 rip, rax, rcx, rdx;
};

/* The fast way (vcpu_fast_exit) writes an exit's entry before its
 * handler runs, from the registers as the exit left them (the handler
 * may change RAX), and counts it (trace_commit) only once the handler
 * has done the exit: one it declines goes the full way, whose
 * trace_record then writes the same slot again. So no copy of the
 * registers is kept across the handler. Each stage_ function writes the
 * entry trace_record would make, without an exit record, and needs a
 * ring (capacity > 0: every domain keeps one, vmm/domain.c setup_trace),
 * so the fast way does not ask. */

/* The exits whose operands are registers alone (CPUID: the leaf and
 * sub-leaf; RDMSR: ECX; WRMSR: ECX and EDX:EAX). */
static inline void trace_stage_registers(struct trace_ring *t, enum exit_reason r, const struct trace_regs *regs)
{
    u64 a = (u32)regs->rcx, b = 0;
    if (r == EXIT_CPUID) {
        a = (u32)regs->rax;
        b = (u32)regs->rcx;
    } else if (r == EXIT_MSR_WRITE) {
        b = (regs->rdx << 32) | (u32)regs->rax; /* EDX:EAX (SDM 2B WRMSR) */
    }
    /* Field by field: a compound literal would zero the slot's seq too,
     * which only trace_get fills in. */
    struct trace_entry *en = trace_next_slot(t);
    en->rip = regs->rip;
    en->a = a;
    en->b = b;
    en->kind = trace_kind(r, 0, 0);
}

/* An IN or OUT (not INS or OUTS) of size bytes at port (size |
 * FAST_IO_OUT for an OUT). RAX goes in whole, for an IN too:
 * trace_format shows an OUT's low size bytes and no value for an IN,
 * so the exit's own path does no masking. */
static inline void trace_stage_port(struct trace_ring *t, const struct trace_regs *regs, u16 port, u8 size)
{
    bool in = !(size & FAST_IO_OUT);
    size &= (u8)~FAST_IO_OUT;
    *trace_next_slot(t) = (struct trace_entry){.rip = regs->rip, .a = port,
                                               .b = regs->rax, .size = size, .flags = in ? TRACE_IO_IN : 0,
                                               .reason = EXIT_IO};
}

/* A write to guest-physical gpa (an npf entry, as trace_record makes for
 * a write's nested fault). */
static inline void trace_stage_mmio_write(struct trace_ring *t, const struct trace_regs *regs, u64 gpa)
{
    struct trace_entry *en = trace_next_slot(t);
    en->rip = regs->rip;
    en->a = gpa;
    en->b = 0;
    en->kind = trace_kind(EXIT_NESTED_FAULT, 0, TRACE_NPF_WRITE);
}

/* The staged entry is the exit's: the next exit takes the next slot.
 * Without a ring the count goes on alone (trace_count is then 0): one
 * add, no test. */
static inline void trace_commit(struct trace_ring *t) { t->recorded++; }

/* Stage and commit at once (what the unit tests compare with
 * trace_record). */
static inline void trace_record_registers(struct trace_ring *t, enum exit_reason r, const struct trace_regs *regs)
{
    trace_stage_registers(t, r, regs);
    trace_commit(t);
}

static inline void trace_record_port(struct trace_ring *t, const struct trace_regs *regs, u16 port, u8 size)
{
    trace_stage_port(t, regs, port, size);
    trace_commit(t);
}

static inline void trace_record_mmio_write(struct trace_ring *t, const struct trace_regs *regs, u64 gpa)
{
    trace_stage_mmio_write(t, regs, gpa);
    trace_commit(t);
}

/* storage: trace_ring_size(capacity) entries. */
void trace_init(struct trace_ring *t, struct trace_entry *storage, unsigned capacity);
void trace_record(struct trace_ring *t, const struct vm_exit *e, const struct trace_regs *regs);
/* How many exits the ring holds, and a copy of the i-th of them, oldest
 * first, with its exit number (seq, which the slots leave out: one add
 * and one store fewer on every exit). */
unsigned trace_count(const struct trace_ring *t);
struct trace_entry trace_get(const struct trace_ring *t, unsigned i);
/* One line for an entry, without a newline:
 * "exit 17 at rip 000000000000f0a3: io out port 0080 size 1 value 0000005a (POST code 5ah)". */
void trace_format(const struct trace_entry *en, char *out, size_t size);

#endif
