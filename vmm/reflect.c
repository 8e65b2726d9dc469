/* See reflect.h.
 *
 * Why intercept at all: #DB and #AC are benign exceptions (SDM 3A 6.15,
 * Table 6-4), so one raised while delivering another of its kind is
 * delivered in turn, not escalated to #DF. A data breakpoint on the stack
 * the #DB handler's frame is pushed to (an IST stack is the same every
 * time), an instruction breakpoint on the handler's first instruction, or
 * an #AC handler running at CPL 3 on a misaligned stack (CVE-2015-8104,
 * CVE-2015-5307) raise the next one before any instruction boundary, so
 * no interrupt is ever taken and, without an intercept, the host never
 * runs again. Intercepted, each one is an exit; Zazen gives it back to the
 * guest, and ends the domain when the chain is provably endless: each
 * exception arrives before the guest ran a single instruction since
 * Zazen delivered the previous one. */
#include "reflect.h"
#include "arch.h"
#include "domain.h"
#include "emulate.h"
#include "handlers.h"
#include "x86.h"

/* Where delivering `vector` would start the handler: CS selector and
 * offset from the IVT (real mode) or the IDT gate (SDM 3A 6.10-6.14,
 * 20.1.4). False for a task gate or an entry the guest cannot read. */
static bool handler_entry(struct vcpu *v, const struct vcpu_sregs *s, u8 vector, u16 *cs, u64 *rip)
{
    if (!(s->cr0 & CR0_PE)) {
        u32 ivt;
        if (!guest_read_linear(v, s, s->idtr.base + vector * 4u, &ivt, sizeof(ivt)))
            return false;
        *rip = ivt & 0xffff;
        *cs = (u16)(ivt >> 16);
        return true;
    }
    bool long_mode = (s->efer & EFER_LMA) != 0;
    u64 gate[2] = {0, 0};
    if (!guest_read_linear(v, s, s->idtr.base + vector * (long_mode ? 16u : 8u), gate, long_mode ? 16 : 8))
        return false;
    if (((gate[0] >> 40) & 0xf) == 0x5)
        return false; /* a task gate: no CS:IP of its own */
    *cs = (u16)(gate[0] >> 16);
    *rip = (gate[0] & 0xffff) | ((gate[0] >> 32) & 0xffff0000ull) | (long_mode ? gate[1] << 32 : 0);
    return true;
}

/* Is this exception a link of an endless chain? The guest has run no
 * instruction since Zazen delivered the previous one of the same vector
 * when either that delivery itself faulted (the exit says it interrupted a
 * delivery of this vector, and the guest is still where it was delivered
 * from), or the guest stands at the first instruction of the handler the
 * delivery entered. Exits that show no progress either (host interrupts,
 * interrupt windows) leave the chain alone; any other breaks it
 * (exit_dispatch). */
static bool continues_chain(const struct reflect_chain *c, const struct vm_exit *e, u16 cs, u64 rip)
{
    if (!c->count || c->vector != e->exception.vector)
        return false;
    bool delivery_faulted = e->exception.in_delivery && e->exception.delivery_vector == c->vector &&
                            cs == c->from_cs && rip == c->from_rip;
    return delivery_faulted || (cs == c->entry_cs && rip == c->entry_rip);
}

void reflect_exception(struct vcpu *v, struct vm_exit *e)
{
    u8 vector = e->exception.vector;
    struct reflect_chain *c = &v->reflect_chain;
    struct vcpu_sregs s;
    /* INT1 (ICEBP) raises #DB as a trap after itself: the backend gives
     * its length (0 otherwise). */
    v->rip += e->insn_len;
    arch->get_sregs(v, &s);
    u16 cs = s.seg[SEG_CS].selector;
    c->count = continues_chain(c, e, cs, v->rip) ? c->count + 1 : 1;
    if (c->count >= REFLECT_CHAIN_LIMIT) {
        domain_end(v->domain,
                   "endless chain of %s exceptions at %04x:%08llx: %u deliveries in a row each raised the next "
                   "before the guest ran an instruction",
                   vector == VECTOR_DB ? "#DB" : "#AC", cs, (unsigned long long)v->rip, c->count);
        return;
    }
    c->vector = vector;
    c->from_cs = cs;
    c->from_rip = v->rip;
    if (!handler_entry(v, &s, vector, &c->entry_cs, &c->entry_rip)) {
        c->entry_cs = 0;
        c->entry_rip = ~0ull; /* no address an instruction can have */
    }
    /* #AC is a fault: the CPU pushes RF = 1 with it, so the return does
     * not hit an instruction breakpoint again (SDM 3B 17.3.1.1). A #DB
     * keeps RF as it is (a breakpoint fault's handler sets it). */
    if (vector == VECTOR_AC)
        v->rflags |= RFLAGS_RF;
    vcpu_inject_exception(v, vector, vector == VECTOR_AC, 0); /* #AC's error code is 0 (SDM 3A 6.15) */
}
