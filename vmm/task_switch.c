/* Hardware task switches, emulated (SDM 3A 7.3, "Task Switching"). VT-x
 * exits on every one (SDM 3C 26.1.2: task switches cause VM exits
 * unconditionally); AMD-V leaves them to the CPU unless intercepted, and
 * Zazen does not intercept them. 32-bit TSSs in protected mode: a CALL or
 * JMP to a TSS or task gate, IRET with EFLAGS.NT, a task gate in the IDT
 * (32-bit Linux and Windows XP take #DF and NMI so). The checks of Table
 * 7-1 that a well-formed guest never trips end the domain with a message
 * instead of raising #TS/#NP/#GP; 16-bit TSSs and virtual-8086 tasks are
 * not emulated. */
#include "arch.h"
#include "domain.h"
#include "emulate.h"
#include "handlers.h"
#include "string.h"
#include "x86.h"

/* 32-bit TSS fields (SDM 3A Figure 7-2). */
#define TSS_LINK 0x00
#define TSS_CR3 0x1c
#define TSS_EIP 0x20
#define TSS_EFLAGS 0x24
#define TSS_GPRS 0x28 /* EAX ECX EDX EBX ESP EBP ESI EDI, as enum gpr */
#define TSS_SEGS 0x48 /* ES CS SS DS FS GS, as enum seg_reg */
#define TSS_LDT 0x60
#define TSS32_MIN_LIMIT 0x67

#define DESC_TYPE_TSS32_AVAILABLE 0x9
#define DESC_TYPE_TSS32_BUSY 0xb
#define DESC_TSS_BUSY_BIT BIT(41) /* bit 1 of the type */
#define DESC_ACCESSED_BIT BIT(40)
#define RFLAGS_NT BIT(14)
#define RFLAGS_VM_BIT BIT(17)

struct task_switch {
    struct vcpu *v;
    struct vcpu_sregs s;
    const char *failed; /* why it could not be carried out */
};

static bool read_mem(struct task_switch *t, u64 linear, void *data, unsigned size)
{
    if (!guest_read_linear(t->v, &t->s, linear, data, size)) {
        t->failed = "a TSS or descriptor is not mapped";
        return false;
    }
    return true;
}

static bool write_mem(struct task_switch *t, u64 linear, const void *data, unsigned size)
{
    if (!guest_write_linear(t->v, &t->s, linear, data, size)) {
        t->failed = "a TSS or descriptor is not mapped";
        return false;
    }
    return true;
}

/* The descriptor a selector names, in the GDT or (TI set) the LDT
 * whose base and limit are given; its address in *at. */
static bool read_descriptor(struct task_switch *t, u16 sel, const struct segment *ldt, u64 *desc, u64 *at)
{
    u64 base = (sel & 4) ? ldt->base : t->s.gdtr.base;
    u32 limit = (sel & 4) ? ldt->limit : t->s.gdtr.limit;
    if ((u32)(sel & ~7) + 7 > limit) {
        t->failed = "a selector lies beyond its descriptor table";
        return false;
    }
    *at = base + (sel & ~7);
    return read_mem(t, *at, desc, 8);
}

/* SDM 3A 3.4.5, Figure 3-8: base, limit (scaled by G), access byte and
 * flags nibble in our attr layout (vcpu.h). */
static struct segment segment_of(u16 sel, u64 d)
{
    u32 limit = (u32)((d & 0xffff) | ((d >> 32) & 0xf0000));
    if (d & BIT(55))
        limit = (limit << 12) | 0xfff;
    u64 base = ((d >> 16) & 0xffffff) | (((d >> 56) & 0xff) << 24);
    u16 attr = (u16)(((d >> 40) & 0xff) | (((d >> 52) & 0xf) << 8));
    return (struct segment){sel, attr, limit, base, false};
}

/* A segment register loaded from the new task's TSS (SDM 3A 7.3 step
 * 12): a null selector leaves ES/DS/FS/GS unusable; descriptors get
 * their accessed bit. */
static bool load_segment(struct task_switch *t, enum seg_reg r, u16 sel, const struct segment *ldt)
{
    if (!(sel & ~3)) {
        if (r == SEG_CS || r == SEG_SS) {
            t->failed = "the new task's CS or SS is null";
            return false;
        }
        t->s.seg[r] = (struct segment){sel, 0, 0, 0, true};
        return true;
    }
    u64 d, at;
    if (!read_descriptor(t, sel, ldt, &d, &at))
        return false;
    if (!(d & BIT(47))) {
        t->failed = "a segment of the new task is not present";
        return false;
    }
    if (!(d & DESC_ACCESSED_BIT)) {
        d |= DESC_ACCESSED_BIT;
        if (!write_mem(t, at, &d, 8))
            return false;
    }
    t->s.seg[r] = segment_of(sel, d);
    return true;
}

static bool set_busy(struct task_switch *t, u16 sel, bool busy)
{
    u64 d, at;
    if (!read_descriptor(t, sel, NULL, &d, &at))
        return false;
    d = busy ? d | DESC_TSS_BUSY_BIT : d & ~DESC_TSS_BUSY_BIT;
    return write_mem(t, at, &d, 8);
}

/* The outgoing task's state into its TSS (SDM 3A 7.3 step 8). */
static bool save_old_task(struct task_switch *t, u32 eip, u32 eflags)
{
    struct vcpu *v = t->v;
    u64 base = t->s.seg[SEG_TR].base;
    u32 gprs[8];
    for (unsigned i = 0; i < 8; i++)
        gprs[i] = (u32)v->gpr[i];
    if (!write_mem(t, base + TSS_EIP, &eip, 4) || !write_mem(t, base + TSS_EFLAGS, &eflags, 4) ||
        !write_mem(t, base + TSS_GPRS, gprs, sizeof(gprs)))
        return false;
    for (unsigned i = 0; i <= SEG_GS; i++) {
        u32 sel = t->s.seg[i].selector;
        if (!write_mem(t, base + TSS_SEGS + 4 * i, &sel, 4))
            return false;
    }
    return true;
}

/* The incoming task's state from its TSS (SDM 3A 7.3 steps 10-12). */
static bool load_new_task(struct task_switch *t, u16 sel, const struct segment *tss, bool nested)
{
    struct vcpu *v = t->v;
    u8 image[TSS32_MIN_LIMIT + 1];
    if (!read_mem(t, tss->base, image, sizeof(image)))
        return false;
    u32 cr3, eip, eflags, gprs[8], segs[6], ldt_sel;
    memcpy(&cr3, image + TSS_CR3, 4);
    memcpy(&eip, image + TSS_EIP, 4);
    memcpy(&eflags, image + TSS_EFLAGS, 4);
    memcpy(gprs, image + TSS_GPRS, sizeof(gprs));
    memcpy(segs, image + TSS_SEGS, sizeof(segs));
    memcpy(&ldt_sel, image + TSS_LDT, 4);
    if (eflags & RFLAGS_VM_BIT) {
        t->failed = "a virtual-8086 task is not emulated";
        return false;
    }
    /* TR: the new TSS, busy (7.3 step 9). */
    t->s.seg[SEG_TR] = *tss;
    t->s.seg[SEG_TR].selector = sel;
    t->s.seg[SEG_TR].attr = (u16)((tss->attr & ~0xf) | DESC_TYPE_TSS32_BUSY);
    if (t->s.cr0 & CR0_PG)
        t->s.cr3 = cr3;
    /* LDTR first: the segments may come from the new LDT. */
    u16 lsel = (u16)ldt_sel;
    if (!(lsel & ~3)) {
        t->s.seg[SEG_LDTR] = (struct segment){lsel, 0, 0, 0, true};
    } else {
        u64 d, at;
        if ((lsel & 4) || !read_descriptor(t, lsel, NULL, &d, &at)) {
            t->failed = t->failed ? t->failed : "the new task's LDT selector is not in the GDT";
            return false;
        }
        t->s.seg[SEG_LDTR] = segment_of(lsel, d);
    }
    for (unsigned i = 0; i <= SEG_GS; i++)
        if (!load_segment(t, (enum seg_reg)i, (u16)segs[i], &t->s.seg[SEG_LDTR]))
            return false;
    for (unsigned i = 0; i < 8; i++)
        v->gpr[i] = gprs[i];
    v->rip = eip;
    v->rflags = (eflags | RFLAGS_FIXED) | (nested ? RFLAGS_NT : 0);
    return true;
}

static bool switch_task(struct task_switch *t, const struct vm_exit *e)
{
    struct vcpu *v = t->v;
    enum task_switch_source src = e->task.source;
    u16 old_sel = t->s.seg[SEG_TR].selector, new_sel = e->task.selector;
    u64 d, at;
    if (t->s.efer & EFER_LMA) {
        t->failed = "task switches do not exist in IA-32e mode";
        return false;
    }
    if ((new_sel & 4) || !read_descriptor(t, new_sel, NULL, &d, &at)) {
        t->failed = t->failed ? t->failed : "the new TSS is not in the GDT";
        return false;
    }
    struct segment tss = segment_of(new_sel, d);
    unsigned type = SEG_ATTR_TYPE(tss.attr);
    bool wants_busy = src == TS_IRET;
    if (type != (wants_busy ? DESC_TYPE_TSS32_BUSY : DESC_TYPE_TSS32_AVAILABLE) || !(tss.attr & SEG_ATTR_P) ||
        tss.limit < TSS32_MIN_LIMIT) {
        t->failed = "the new TSS is not a present 32-bit TSS of the right busy state (16-bit TSSs are not emulated)";
        return false;
    }
    /* CALL, JMP and IRET are done by the switch: the old task resumes
     * after them. A task gate's exception resumes at the instruction. */
    u32 eip = (u32)(v->rip + (src == TS_GATE ? 0 : e->insn_len));
    u32 eflags = (u32)v->rflags;
    if (src == TS_JMP || src == TS_IRET)
        if (!set_busy(t, old_sel, false))
            return false;
    if (src == TS_IRET)
        eflags &= ~RFLAGS_NT;
    if (!save_old_task(t, eip, eflags))
        return false;
    bool nested = src == TS_CALL || src == TS_GATE;
    if (nested) {
        u16 link = old_sel;
        if (!write_mem(t, tss.base + TSS_LINK, &link, 2))
            return false;
    }
    if (src != TS_IRET && !set_busy(t, new_sel, true))
        return false;
    if (!load_new_task(t, new_sel, &tss, nested))
        return false;
    arch->set_segments(v, &t->s);
    /* CR0.TS: the x87/SSE state belongs to the old task (7.3 step 11). */
    if (!arch->write_cr(v, 0, t->s.cr0 | CR0_TS)) {
        t->failed = "CR0.TS could not be set";
        return false;
    }
    /* An exception's error code goes on the new task's stack (6.13). */
    if (src == TS_GATE && e->task.has_error) {
        u32 esp = (u32)v->gpr[GPR_RSP] - 4;
        if (!write_mem(t, t->s.seg[SEG_SS].base + esp, &e->task.error, 4))
            return false;
        v->gpr[GPR_RSP] = esp;
    }
    return true;
}

void handle_task_switch(struct vcpu *v, struct vm_exit *e)
{
    struct task_switch t = {.v = v};
    arch->get_sregs(v, &t.s);
    u64 rip = v->rip;
    u16 cs = t.s.seg[SEG_CS].selector;
    if (!switch_task(&t, e))
        domain_end(v->domain, "cannot switch to the task of selector %04x at %04x:%llx: %s", e->task.selector, cs,
                   (unsigned long long)rip, t.failed ? t.failed : "unknown");
}
