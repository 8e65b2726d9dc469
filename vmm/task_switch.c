/* Hardware task switches, emulated (SDM 3A 7.3, "Task Switching"). VT-x
 * exits on every one (SDM 3C 26.1.2: task switches cause VM exits
 * unconditionally); AMD-V leaves them to the CPU unless intercepted, and
 * Zazen does not intercept them. 32-bit TSSs in protected mode: a CALL or
 * JMP to a TSS or task gate, IRET with EFLAGS.NT, a task gate in the IDT
 * (32-bit Linux and Windows XP take #DF and NMI so). The checks of Table
 * 7-1 raise #GP, #TS, #NP or #SS as the CPU does: those on the new TSS
 * before the switch, in the old task; those on its LDT and segments
 * after it (the "commit point" of 7.3 step 9 and the note after step 12),
 * in the new task, with the selectors loaded and the descriptors of the
 * segments not yet checked left as they were. Error codes carry the
 * selector without EXT (6.13; EXT for a switch through a task gate by an
 * external event is not set). 16-bit TSSs (7.6) are switched to and from
 * as well, and so are virtual-8086 tasks (a 32-bit TSS whose EFLAGS has
 * VM); a TSS or descriptor table in unmapped memory ends the domain with
 * a message. */
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
/* 16-bit TSS fields (SDM 3A Figure 7-11, 7.6): no CR3, FS or GS. */
#define TSS16_IP 0x0e
#define TSS16_FLAGS 0x10
#define TSS16_GPRS 0x12 /* AX CX DX BX SP BP SI DI */
#define TSS16_SEGS 0x22 /* ES CS SS DS */
#define TSS16_LDT 0x2a
#define TSS16_MIN_LIMIT 0x2b

#define DESC_TYPE_TSS32_AVAILABLE 0x9
#define DESC_TYPE_TSS32_BUSY 0xb
#define DESC_TSS_BUSY_BIT BIT(41) /* bit 1 of the type */
#define DESC_ACCESSED_BIT BIT(40)
#define RFLAGS_NT BIT(14)
#define RFLAGS_VM_BIT BIT(17)
/* Descriptor type bits (SDM 3A Table 3-1) and the LDT's system type (Table 3-2) */
#define TYPE_CODE BIT(3)
#define TYPE_CONFORMING BIT(2) /* code */
#define TYPE_READABLE BIT(1)   /* code */
#define TYPE_WRITABLE BIT(1)   /* data */
#define DESC_TYPE_LDT 0x2
#define DESC_TYPE_TSS16_AVAILABLE 0x1
#define DESC_TYPE_TSS16_BUSY 0x3

#define VECTOR_TS 10
#define VECTOR_NP 11
#define VECTOR_SS 12

struct task_switch {
    struct vcpu *v;
    struct vcpu_sregs s;
    const char *failed; /* why it could not be carried out */
    bool fault;         /* ...or the exception the guest gets instead */
    u8 vector;
    u32 error;
    bool committed;     /* the new task's state is loaded (7.3 step 9 on) */
};

/* An exception of Table 7-1 with a selector error code (SDM 3A 6.13). */
static bool raise(struct task_switch *t, u8 vector, u16 sel)
{
    t->fault = true;
    t->vector = vector;
    t->error = sel & 0xfffc;
    return false;
}

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
static bool in_table(const struct task_switch *t, u16 sel, const struct segment *ldt)
{
    if ((sel & 4) && (!ldt || ldt->unusable))
        return false;
    u32 limit = (sel & 4) ? ldt->limit : t->s.gdtr.limit;
    return (u32)(sel & ~7) + 7 <= limit;
}

/* The descriptor a selector names, in the GDT or (TI set) the LDT; its
 * address in *at. A selector beyond its table raises `vector` with it. */
static bool read_descriptor(struct task_switch *t, u16 sel, const struct segment *ldt, u8 vector, u64 *desc, u64 *at)
{
    if (!in_table(t, sel, ldt))
        return raise(t, vector, sel);
    *at = ((sel & 4) ? ldt->base : t->s.gdtr.base) + (sel & ~7);
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

/* Table 7-1's checks of a segment register the new task loads, in the
 * order QEMU and Bochs make them: the selector (#TS), the descriptor's
 * kind and privilege for its register (#TS), then presence (#SS for SS,
 * #NP for the others). `cpl` is the new CS's RPL. */
static bool segment_acceptable(struct task_switch *t, enum seg_reg r, u16 sel, u64 d, u8 cpl)
{
    unsigned type = (unsigned)(d >> 40) & 0xf, dpl = (unsigned)(d >> 45) & 3, rpl = sel & 3;
    bool code = type & TYPE_CODE;
    if (!(d & BIT(44))) /* S clear: a system descriptor */
        return raise(t, VECTOR_TS, sel);
    if (r == SEG_CS) {
        if (!code || ((type & TYPE_CONFORMING) ? dpl > rpl : dpl != rpl))
            return raise(t, VECTOR_TS, sel);
    } else if (r == SEG_SS) {
        if (code || !(type & TYPE_WRITABLE) || dpl != cpl || rpl != cpl)
            return raise(t, VECTOR_TS, sel);
    } else {
        if (code && !(type & TYPE_READABLE))
            return raise(t, VECTOR_TS, sel);
        if ((!code || !(type & TYPE_CONFORMING)) && (dpl < cpl || dpl < rpl))
            return raise(t, VECTOR_TS, sel);
    }
    if (!(d & BIT(47)))
        return raise(t, r == SEG_SS ? VECTOR_SS : VECTOR_NP, sel);
    return true;
}

/* A segment register loaded from the new task's TSS (SDM 3A 7.3 step
 * 12): a null selector leaves ES/DS/FS/GS unusable and is #TS for CS
 * and SS; descriptors get their accessed bit. */
static bool load_segment(struct task_switch *t, enum seg_reg r, u16 sel, const struct segment *ldt, u8 cpl)
{
    if (!(sel & ~3)) {
        if (r == SEG_CS || r == SEG_SS)
            return raise(t, VECTOR_TS, sel);
        t->s.seg[r] = (struct segment){sel, 0, 0, 0, true};
        return true;
    }
    u64 d, at;
    if (!read_descriptor(t, sel, ldt, VECTOR_TS, &d, &at) || !segment_acceptable(t, r, sel, d, cpl))
        return false;
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
    if (!read_descriptor(t, sel, NULL, VECTOR_GP, &d, &at))
        return false;
    d = busy ? d | DESC_TSS_BUSY_BIT : d & ~DESC_TSS_BUSY_BIT;
    return write_mem(t, at, &d, 8);
}

/* A 16-bit TSS's descriptor types are 1 and 3, a 32-bit one's 9 and 0Bh. */
static bool tss_is_16bit(u16 attr) { return !(SEG_ATTR_TYPE(attr) & 8); }

/* The outgoing task's state into a 16-bit TSS: the low halves. */
static bool save_old_task16(struct task_switch *t, u32 eip, u32 eflags)
{
    u64 base = t->s.seg[SEG_TR].base;
    u16 ip = (u16)eip, flags = (u16)eflags, gprs[8], segs[4];
    for (unsigned i = 0; i < 8; i++)
        gprs[i] = (u16)t->v->gpr[i];
    for (unsigned i = 0; i < 4; i++)
        segs[i] = t->s.seg[i].selector; /* ES CS SS DS */
    return write_mem(t, base + TSS16_IP, &ip, 2) && write_mem(t, base + TSS16_FLAGS, &flags, 2) &&
           write_mem(t, base + TSS16_GPRS, gprs, sizeof(gprs)) && write_mem(t, base + TSS16_SEGS, segs, sizeof(segs));
}

/* The outgoing task's state into its TSS (SDM 3A 7.3 step 8), in the
 * format of the TSS TR holds. */
static bool save_old_task(struct task_switch *t, u32 eip, u32 eflags)
{
    struct vcpu *v = t->v;
    u64 base = t->s.seg[SEG_TR].base;
    if (tss_is_16bit(t->s.seg[SEG_TR].attr))
        return save_old_task16(t, eip, eflags);
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

/* What a TSS of either size gives the new task. */
struct tss_image {
    u32 cr3, eip, eflags, gprs[8], segs[6], ldt_sel;
    bool is16; /* no CR3, FS or GS: those stay as they are */
};

static bool read_tss(struct task_switch *t, const struct segment *tss, struct tss_image *m)
{
    u8 image[TSS32_MIN_LIMIT + 1];
    m->is16 = tss_is_16bit(tss->attr);
    if (!read_mem(t, tss->base, image, m->is16 ? TSS16_MIN_LIMIT + 1 : sizeof(image)))
        return false;
    if (m->is16) {
        /* 16-bit values zero-extended, as KVM loads them; SDM 3A 7.6
         * leaves the upper halves to the software. */
        u16 w[TSS16_MIN_LIMIT / 2 + 1];
        memcpy(w, image, TSS16_MIN_LIMIT + 1);
        m->cr3 = (u32)t->s.cr3;
        m->eip = w[TSS16_IP / 2];
        m->eflags = w[TSS16_FLAGS / 2];
        for (unsigned i = 0; i < 8; i++)
            m->gprs[i] = w[TSS16_GPRS / 2 + i];
        for (unsigned i = 0; i < 4; i++)
            m->segs[i] = w[TSS16_SEGS / 2 + i];
        m->segs[SEG_FS] = t->s.seg[SEG_FS].selector;
        m->segs[SEG_GS] = t->s.seg[SEG_GS].selector;
        m->ldt_sel = w[TSS16_LDT / 2];
        return true;
    }
    memcpy(&m->cr3, image + TSS_CR3, 4);
    memcpy(&m->eip, image + TSS_EIP, 4);
    memcpy(&m->eflags, image + TSS_EFLAGS, 4);
    memcpy(m->gprs, image + TSS_GPRS, sizeof(m->gprs));
    memcpy(m->segs, image + TSS_SEGS, sizeof(m->segs));
    memcpy(&m->ldt_sel, image + TSS_LDT, 4);
    return true;
}

/* A segment register as a virtual-8086 task loads it (SDM 3B 20.2.5,
 * "Entering Virtual-8086 Mode": the selectors from the TSS, no
 * descriptor read): base the selector times 16, limit FFFFh, a present,
 * accessed, writable data segment at DPL 3 (so CPL 3), which is also
 * what VT-x requires of every segment in virtual-8086 mode (SDM 3C
 * 26.3.1.2: access rights F3h). */
#define V86_SEGMENT_ATTR 0xf3

static struct segment v86_segment(u16 sel)
{
    return (struct segment){sel, V86_SEGMENT_ATTR, 0xffff, (u64)sel << 4, false};
}

/* The incoming task's state from its TSS (SDM 3A 7.3 steps 10-12). */
static bool load_new_task(struct task_switch *t, u16 sel, const struct segment *tss, bool nested)
{
    struct vcpu *v = t->v;
    struct tss_image m;
    if (!read_tss(t, tss, &m))
        return false;
    u32 cr3 = m.cr3, eip = m.eip, eflags = m.eflags, *gprs = m.gprs, *segs = m.segs, ldt_sel = m.ldt_sel;
    /* The commit point: TR, CR3, LDTR's and the segments' selectors,
     * EFLAGS, EIP and the GPRs are the new task's (7.3 steps 9-12) before
     * any descriptor is checked; a fault from here on is the new task's. */
    t->committed = true;
    t->s.seg[SEG_TR] = *tss;
    t->s.seg[SEG_TR].selector = sel;
    t->s.seg[SEG_TR].attr = (u16)((tss->attr & ~0xf) | (m.is16 ? DESC_TYPE_TSS16_BUSY : DESC_TYPE_TSS32_BUSY));
    if (t->s.cr0 & CR0_PG)
        t->s.cr3 = cr3;
    for (unsigned i = 0; i <= SEG_GS; i++)
        t->s.seg[i].selector = (u16)segs[i];
    for (unsigned i = 0; i < 8; i++)
        v->gpr[i] = gprs[i];
    v->rip = eip;
    v->rflags = (eflags | RFLAGS_FIXED) | (nested ? RFLAGS_NT : 0);
    /* LDTR first: the segments may come from the new LDT. Table 7-1: an
     * LDT selector that is not a present LDT in the GDT is #TS. */
    u16 lsel = (u16)ldt_sel;
    t->s.seg[SEG_LDTR] = (struct segment){lsel, 0, 0, 0, true};
    if (lsel & ~3) {
        u64 d, at;
        if (lsel & 4)
            return raise(t, VECTOR_TS, lsel);
        if (!read_descriptor(t, lsel, NULL, VECTOR_TS, &d, &at))
            return false;
        if ((d & BIT(44)) || ((d >> 40) & 0xf) != DESC_TYPE_LDT || !(d & BIT(47)))
            return raise(t, VECTOR_TS, lsel);
        t->s.seg[SEG_LDTR] = segment_of(lsel, d);
    }
    if (eflags & RFLAGS_VM_BIT) { /* only a 32-bit TSS's EFLAGS has it */
        for (unsigned i = 0; i <= SEG_GS; i++)
            t->s.seg[i] = v86_segment((u16)segs[i]);
        return true;
    }
    /* CS first: its RPL is the new CPL the others are checked against. */
    static const enum seg_reg order[] = {SEG_CS, SEG_SS, SEG_ES, SEG_DS, SEG_FS, SEG_GS};
    u8 cpl = segs[SEG_CS] & 3;
    for (unsigned i = 0; i < (m.is16 ? 4u : 6u); i++)
        if (!load_segment(t, order[i], (u16)segs[order[i]], &t->s.seg[SEG_LDTR], cpl))
            return false;
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
    /* Table 7-1, before the switch: the new TSS's selector must be in
     * the GDT (#GP, #TS for IRET), name a TSS (the same), present (#NP)
     * with a limit of at least 67h (#TS), available for CALL, JMP and
     * gates (#GP) and busy for IRET (#TS). */
    u8 bad_tss = src == TS_IRET ? VECTOR_TS : VECTOR_GP;
    if (new_sel & 4)
        return raise(t, bad_tss, new_sel);
    if (!read_descriptor(t, new_sel, NULL, bad_tss, &d, &at))
        return false;
    struct segment tss = segment_of(new_sel, d);
    unsigned type = SEG_ATTR_TYPE(tss.attr);
    bool tss32 = type == DESC_TYPE_TSS32_AVAILABLE || type == DESC_TYPE_TSS32_BUSY;
    bool tss16 = type == DESC_TYPE_TSS16_AVAILABLE || type == DESC_TYPE_TSS16_BUSY;
    if ((tss.attr & SEG_ATTR_S) || !(tss32 || tss16))
        return raise(t, bad_tss, new_sel);
    if (!(tss.attr & SEG_ATTR_P))
        return raise(t, VECTOR_NP, new_sel);
    if (tss.limit < (tss16 ? TSS16_MIN_LIMIT : TSS32_MIN_LIMIT))
        return raise(t, VECTOR_TS, new_sel);
    if (((type & 2) != 0) != (src == TS_IRET)) /* bit 1 of the type: busy */
        return raise(t, bad_tss, new_sel);
    /* CALL, JMP, IRET and INT n are done by the switch: the old task
     * resumes after them (the backend gives their length). An exception's
     * or an external event's resumes at the instruction (length 0). */
    u32 eip = (u32)(v->rip + e->insn_len);
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
    /* An exception's error code goes on the new task's stack (6.13): a
     * word for a 16-bit TSS, a doubleword for a 32-bit one. */
    if (src == TS_GATE && e->task.has_error) {
        unsigned size = tss16 ? 2 : 4;
        u32 esp = (u32)v->gpr[GPR_RSP] - size;
        if (!write_mem(t, t->s.seg[SEG_SS].base + esp, &e->task.error, size))
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
    if (switch_task(&t, e))
        return;
    if (!t.fault) {
        domain_end(v->domain, "cannot switch to the task of selector %04x at %04x:%llx: %s", e->task.selector, cs,
                   (unsigned long long)rip, t.failed ? t.failed : "unknown");
        return;
    }
    /* A fault after the commit point is taken in the new task, with what
     * of it was loaded (7.3, the note after step 12). */
    if (t.committed) {
        arch->set_segments(v, &t.s);
        if (!arch->write_cr(v, 0, t.s.cr0 | CR0_TS)) {
            domain_end(v->domain, "cannot set CR0.TS switching to the task of selector %04x", e->task.selector);
            return;
        }
    }
    vcpu_inject_exception(v, t.vector, true, t.error);
}
