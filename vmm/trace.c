/* See trace.h. The ring overwrites its oldest entry; recording costs a
 * few stores per exit, and only domains that asked for a trace pay it. */
#include "trace.h"
#include "format.h"

/* What the guest was told about a port: the POST code port is where
 * firmware reports its progress (IBM PC convention, read by POST cards). */
#define POST_CODE_PORT 0x80

unsigned trace_ring_size(unsigned capacity)
{
    unsigned size = 1;
    while (size <= capacity)
        size <<= 1;
    return size;
}

void trace_init(struct trace_ring *t, struct trace_entry *storage, unsigned capacity)
{
    t->entries = storage;
    t->capacity = capacity;
    t->mask = capacity ? trace_ring_size(capacity) - 1 : 0;
    t->recorded = 0;
}

/* The operands that say what the guest did, by reason. */
static void fill_operands(struct trace_entry *en, const struct vm_exit *e, const struct trace_regs *r)
{
    switch (e->reason) {
    case EXIT_IO:
        en->a = e->io.port;
        en->size = e->io.size;
        en->flags = (u8)((e->io.in ? TRACE_IO_IN : 0) | (e->io.string ? TRACE_IO_STRING : 0) |
                         (e->io.rep ? TRACE_IO_REP : 0));
        if (!e->io.string)
            en->b = r->rax; /* whole, as the fast way keeps it: format_io shows an OUT's bytes */
        break;
    case EXIT_CPUID:
        en->a = (u32)r->rax;
        en->b = (u32)r->rcx;
        break;
    case EXIT_MSR_READ:
        en->a = (u32)r->rcx;
        break;
    case EXIT_MSR_WRITE:
        en->a = (u32)r->rcx;
        en->b = (r->rdx << 32) | (u32)r->rax; /* EDX:EAX (SDM 2B WRMSR) */
        break;
    case EXIT_NESTED_FAULT:
        en->a = e->npf.gpa;
        en->flags = (u8)((e->npf.read ? TRACE_NPF_READ : 0) | (e->npf.write ? TRACE_NPF_WRITE : 0) |
                         (e->npf.fetch ? TRACE_NPF_FETCH : 0));
        break;
    case EXIT_EXCEPTION:
        en->a = e->exception.vector;
        en->b = e->exception.error;
        en->flags = e->exception.has_error ? TRACE_HAS_ERROR : 0;
        break;
    case EXIT_CR_ACCESS:
        en->a = e->cr.cr;
        en->b = e->cr.access;
        break;
    case EXIT_HYPERCALL:
        en->a = r->rax;
        break;
    case EXIT_ENTRY_FAILED:
        en->a = e->entry.error;
        en->b = e->entry.qualification;
        break;
    case EXIT_UNHANDLED:
        en->a = e->unhandled.raw_reason;
        en->b = e->unhandled.info1;
        break;
    default:
        break;
    }
}

void trace_record(struct trace_ring *t, const struct vm_exit *e, const struct trace_regs *regs)
{
    if (!t->capacity)
        return;
    struct trace_entry *en = trace_next_slot(t);
    *en = (struct trace_entry){.rip = regs->rip, .reason = (u8)e->reason};
    fill_operands(en, e, regs);
    t->recorded++;
}

unsigned trace_count(const struct trace_ring *t)
{
    return t->recorded < t->capacity ? (unsigned)t->recorded : t->capacity;
}

struct trace_entry trace_get(const struct trace_ring *t, unsigned i)
{
    u64 first = t->recorded - trace_count(t);
    struct trace_entry en = t->entries[(first + i) & t->mask];
    en.seq = first + i + 1;
    return en;
}

static const char *const cr_access_names[] = {
    [CR_MOV_TO] = "mov to", [CR_MOV_FROM] = "mov from", [CR_CLTS] = "clts", [CR_LMSW] = "lmsw"};

static void format_io(const struct trace_entry *en, char *out, size_t size)
{
    const char *dir = en->flags & TRACE_IO_IN ? "in" : "out";
    if (en->flags & TRACE_IO_STRING) {
        snprintf(out, size, "%s%s port %04llx size %u", en->flags & TRACE_IO_REP ? "rep " : "",
                 en->flags & TRACE_IO_IN ? "ins" : "outs", (unsigned long long)en->a, en->size);
    } else if (en->flags & TRACE_IO_IN) {
        snprintf(out, size, "%s port %04llx size %u", dir, (unsigned long long)en->a, en->size);
    } else {
        u64 value = trace_low_bytes(en->b, en->size);
        int n = snprintf(out, size, "%s port %04llx size %u value %0*llx", dir, (unsigned long long)en->a,
                         en->size, 2 * en->size, (unsigned long long)value);
        if (en->a == POST_CODE_PORT && en->size == 1 && n > 0 && (size_t)n < size)
            snprintf(out + n, size - (size_t)n, " (POST code %02llxh)", (unsigned long long)value);
    }
}

static void format_operands(const struct trace_entry *en, char *out, size_t size)
{
    out[0] = 0;
    switch (en->reason) {
    case EXIT_IO:
        format_io(en, out, size);
        break;
    case EXIT_CPUID:
        snprintf(out, size, "eax %08llx ecx %08llx", (unsigned long long)en->a, (unsigned long long)en->b);
        break;
    case EXIT_MSR_READ:
        snprintf(out, size, "ecx %08llx", (unsigned long long)en->a);
        break;
    case EXIT_MSR_WRITE:
        snprintf(out, size, "ecx %08llx value %016llx", (unsigned long long)en->a, (unsigned long long)en->b);
        break;
    case EXIT_NESTED_FAULT:
        snprintf(out, size, "gpa %016llx %s", (unsigned long long)en->a,
                 en->flags & TRACE_NPF_FETCH   ? "fetch"
                 : en->flags & TRACE_NPF_WRITE ? "write"
                                               : "read");
        break;
    case EXIT_EXCEPTION:
        if (en->flags & TRACE_HAS_ERROR)
            snprintf(out, size, "vector %llu error %08llx", (unsigned long long)en->a, (unsigned long long)en->b);
        else
            snprintf(out, size, "vector %llu", (unsigned long long)en->a);
        break;
    case EXIT_CR_ACCESS:
        snprintf(out, size, "%s cr%llu", en->b < 4 ? cr_access_names[en->b] : "?", (unsigned long long)en->a);
        break;
    case EXIT_HYPERCALL:
        snprintf(out, size, "rax %016llx", (unsigned long long)en->a);
        break;
    case EXIT_ENTRY_FAILED:
    case EXIT_UNHANDLED:
        snprintf(out, size, "code %llu info %llx", (unsigned long long)en->a, (unsigned long long)en->b);
        break;
    default:
        break;
    }
}

void trace_format(const struct trace_entry *en, char *out, size_t size)
{
    char ops[96];
    format_operands(en, ops, sizeof(ops));
    snprintf(out, size, "exit %llu at rip %016llx: %s%s%s", (unsigned long long)en->seq, (unsigned long long)en->rip,
             exit_reason_name((enum exit_reason)en->reason), ops[0] ? " " : "", ops);
}
