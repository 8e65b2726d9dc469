/* The #DF's delivery path, checked step by step (double_fault.h). */
#include "double_fault.h"
#include "format.h"
#include "x86.h"

#define DF_VECTOR 8

static enum df_verdict say(enum df_verdict verdict, char *why, size_t size, const char *fmt, ...) PRINTF_LIKE(4, 5);
static enum df_verdict say(enum df_verdict verdict, char *why, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, size, fmt, ap);
    va_end(ap);
    return verdict;
}

/* Real mode: the IVT's 4-byte entry (SDM 3A 20.1.4); the stack takes
 * FLAGS, CS and IP wherever SS:SP points. */
static enum df_verdict real_mode(const struct vcpu_sregs *s, df_access access, void *ctx, char *why, size_t size)
{
    if (s->idtr.limit < DF_VECTOR * 4 + 3)
        return say(DF_BLOCKED, why, size, "the IVT's limit 0x%x ends before vector 8's entry", s->idtr.limit);
    u32 entry;
    if (!access(ctx, s->idtr.base + DF_VECTOR * 4, &entry, 4, false))
        return say(DF_BLOCKED, why, size, "vector 8's IVT entry at 0x%llx is not RAM",
                   (unsigned long long)(s->idtr.base + DF_VECTOR * 4));
    return say(DF_DELIVERABLE, why, size, "vector 8's IVT entry leads to %04x:%04x", entry >> 16, entry & 0xffff);
}

/* The gate's code segment, from the GDT (SDM 3A 6.12.1.1: a null, absent
 * or non-code selector faults; 6.14.1: in IA-32e mode it must be a
 * 64-bit code segment). Its DPL in *dpl. */
static enum df_verdict gate_code_segment(const struct vcpu_sregs *s, u16 sel, bool lma, df_access access, void *ctx,
                                         unsigned *dpl, char *why, size_t size)
{
    if (!(sel & ~3u))
        return say(DF_BLOCKED, why, size, "vector 8's gate names the null selector");
    if (sel & 4)
        return say(DF_UNCHECKED, why, size, "vector 8's gate names LDT selector 0x%x", sel);
    u32 at = sel & ~7u;
    if (s->gdtr.limit < at + 7)
        return say(DF_BLOCKED, why, size, "its selector 0x%x lies beyond the GDT's limit 0x%x", sel, s->gdtr.limit);
    u64 desc;
    if (!access(ctx, s->gdtr.base + at, &desc, 8, false))
        return say(DF_BLOCKED, why, size, "the GDT entry of selector 0x%x at 0x%llx is not mapped", sel,
                   (unsigned long long)(s->gdtr.base + at));
    bool present = (desc >> 47) & 1, code = ((desc >> 43) & 1) && ((desc >> 44) & 1), long_mode = (desc >> 53) & 1;
    if (!present || !code)
        return say(DF_BLOCKED, why, size, "selector 0x%x is not a present code segment", sel);
    if (lma && !long_mode)
        return say(DF_BLOCKED, why, size, "selector 0x%x is not a 64-bit code segment", sel);
    *dpl = (desc >> 45) & 3;
    return DF_DELIVERABLE;
}

/* IA-32e mode: the stack is the TSS's IST entry if the gate names one,
 * else the TSS's RSP for a more privileged handler, else RSP; aligned
 * down to 16 bytes, it takes SS, RSP, RFLAGS, CS, RIP and the error code
 * (SDM 3A 6.14.2, 6.14.4, 6.14.5; 64-bit TSS layout 8.7). */
static enum df_verdict long_mode_stack(const struct vcpu_sregs *s, u64 gate_lo, unsigned dpl, u64 rsp,
                                       df_access access, void *ctx, u64 *frame, char *why, size_t size)
{
    unsigned ist = (gate_lo >> 32) & 7;
    u64 tss = s->seg[SEG_TR].base, at = 0;
    if (ist)
        at = tss + 0x24 + (ist - 1) * 8;
    else if (dpl < s->cpl)
        at = tss + 4 + dpl * 8;
    if (at && !access(ctx, at, &rsp, 8, false))
        return say(DF_BLOCKED, why, size, "the TSS's stack pointer at 0x%llx is not mapped", (unsigned long long)at);
    *frame = (rsp & ~0xfull) - 48;
    return DF_DELIVERABLE;
}

enum df_verdict double_fault_check(const struct vcpu_sregs *s, u64 rsp, df_access access, void *ctx, char *why,
                                   size_t size)
{
    if (!(s->cr0 & CR0_PE))
        return real_mode(s, access, ctx, why, size);
    bool lma = s->efer & EFER_LMA;
    unsigned gate_size = lma ? 16 : 8;
    if (s->idtr.limit < DF_VECTOR * gate_size + gate_size - 1) /* SDM 3A 6.10 */
        return say(DF_BLOCKED, why, size, "the IDT's limit 0x%x ends before vector 8's gate", s->idtr.limit);
    u64 gate[2] = {0, 0}, gate_at = s->idtr.base + DF_VECTOR * gate_size;
    if (!access(ctx, gate_at, gate, gate_size, false))
        return say(DF_BLOCKED, why, size, "vector 8's gate at 0x%llx is not mapped", (unsigned long long)gate_at);
    unsigned type = (gate[0] >> 40) & 0xf;
    if (!((gate[0] >> 47) & 1))
        return say(DF_BLOCKED, why, size, "vector 8's gate is not present");
    if (!lma && type == 0x5)
        return say(DF_UNCHECKED, why, size, "vector 8 is a task gate");
    /* SDM 3A 6.11 / 6.14.1: interrupt and trap gates (16- or 32-bit
     * outside IA-32e mode, 64-bit in it); anything else is a #GP. */
    bool gate_ok = lma ? (type == 0xe || type == 0xf) : (type == 0x6 || type == 0x7 || type == 0xe || type == 0xf);
    if (!gate_ok)
        return say(DF_BLOCKED, why, size, "vector 8's gate has type 0x%x, not an interrupt or trap gate", type);
    u16 sel = (u16)(gate[0] >> 16);
    unsigned dpl = 0;
    enum df_verdict code = gate_code_segment(s, sel, lma, access, ctx, &dpl, why, size);
    if (code != DF_DELIVERABLE)
        return code;
    u64 handler = (gate[0] & 0xffff) | ((gate[0] >> 48) << 16) | (lma ? (gate[1] & 0xffffffffull) << 32 : 0);
    u64 frame = 0;
    if (lma) {
        enum df_verdict stack = long_mode_stack(s, gate[0], dpl, rsp, access, ctx, &frame, why, size);
        if (stack != DF_DELIVERABLE)
            return stack;
    } else {
        /* Legacy protected mode: a ring change takes SS0:ESP0 from the
         * TSS through another descriptor: not followed here. Else EFLAGS,
         * CS, EIP and the error code go on SS:ESP, words for a 16-bit
         * gate (SDM 3A 6.12.1). */
        if (dpl < s->cpl)
            return say(DF_UNCHECKED, why, size, "vector 8's handler at %04x:%llx runs in ring %u (the TSS's stack)",
                       sel, (unsigned long long)handler, dpl);
        unsigned pushed = (type & 0x8) ? 16 : 8;
        frame = s->seg[SEG_SS].base + (u32)((u32)rsp - pushed);
    }
    unsigned frame_size = lma ? 48 : ((type & 0x8) ? 16 : 8);
    if (!access(ctx, frame, NULL, frame_size, true))
        return say(DF_BLOCKED, why, size, "the stack it pushes to, 0x%llx, is not mapped writable",
                   (unsigned long long)frame);
    return say(DF_DELIVERABLE, why, size, "vector 8's gate leads to %04x:%llx with its frame at 0x%llx", sel,
               (unsigned long long)handler, (unsigned long long)frame);
}

const char *df_verdict_name(enum df_verdict v)
{
    switch (v) {
    case DF_BLOCKED: return "blocked";
    case DF_DELIVERABLE: return "deliverable";
    default: return "not checked";
    }
}
