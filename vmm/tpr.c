/* See tpr.h. CR8 and the TPR: SDM 3A 11.8.6.1 (TPR[7:4] = CR8[3:0], a
 * MOV to CR8 clears TPR[3:0]); APM 2 16.6.4. The x2APIC TPR MSR (808H)
 * holds the whole byte (SDM 3A 11.12.1.2). */
#include "tpr.h"
#include "arch.h"
#include "cpu_rules.h"
#include "emulate.h"
#include "domain.h"
#include "handlers.h"
#include "x86.h"

void tpr_guest_wrote_tpr(struct vcpu *v)
{
    lapic_set_tpr(v->lapic, v->tpr);
    v->tpr_loaded = v->tpr;
    vcpu_interrupt_may_be_pending(v); /* a lower priority may let one through now */
}

void tpr_load(struct vcpu *v, u8 tpr, u8 threshold)
{
    arch->write_tpr(v, tpr, threshold);
    v->tpr = v->tpr_loaded = tpr;
    v->tpr_threshold_loaded = threshold;
}

void tpr_apic_mode_changed(struct vcpu *v, bool x2apic)
{
    if (arch->set_x2apic_mode)
        arch->set_x2apic_mode(v, x2apic);
    v->x2apic_loaded = x2apic;
}

/* The source register and length of the MOV to CR at CS:RIP, for an exit
 * that names neither (AMD-V without decode assists or NRIP save): the
 * instruction is read through the guest's page tables, as much of it as
 * the page holds if the next one cannot be read. */
bool decode_cr_write(struct vcpu *v, struct vm_exit *e)
{
    struct vcpu_sregs s;
    u8 code[15];
    u8 cr, gpr, len;
    arch->get_sregs(v, &s);
    u64 linear = s.seg[SEG_CS].base + v->rip;
    unsigned avail = sizeof(code);
    if (!guest_read_linear(v, &s, linear, code, avail)) {
        avail = (unsigned)MIN((u64)avail, PAGE_SIZE - (linear & (PAGE_SIZE - 1)));
        if (!guest_read_linear(v, &s, linear, code, avail))
            return false;
    }
    bool long_mode = (s.efer & EFER_LMA) && (s.seg[SEG_CS].attr & SEG_ATTR_L);
    if (!decode_mov_to_cr(code, avail, long_mode, &cr, &gpr, &len) || cr != e->cr.cr)
        return false;
    e->cr.gpr = gpr;
    if (!e->insn_len)
        e->insn_len = len;
    return true;
}

void handle_cr8_access(struct vcpu *v, struct vm_exit *e)
{
    struct lapic *l = v->lapic;
    if (e->cr.gpr == CR_GPR_UNKNOWN && !decode_cr_write(v, e)) {
        domain_end(v->domain, "cannot decode the MOV to CR8 at RIP %llx", (unsigned long long)v->rip);
        return;
    }
    if (e->cr.access == CR_MOV_FROM) {
        v->gpr[e->cr.gpr] = lapic_get_tpr(l) >> 4;
    } else {
        u64 value = v->gpr[e->cr.gpr];
        if (value >> 4) { /* bits 63:4 are reserved (SDM 2B MOV CR) */
            vcpu_inject_exception(v, VECTOR_GP, true, 0);
            return;
        }
        lapic_set_tpr(l, (u8)(value << 4));
        vcpu_interrupt_may_be_pending(v);
    }
    vcpu_complete_instruction(v, e);
}
