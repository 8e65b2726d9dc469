/* See tpr.h. CR8 and the TPR: SDM 3A 11.8.6.1 (TPR[7:4] = CR8[3:0], a
 * MOV to CR8 clears TPR[3:0]); APM 2 16.6.4. */
#include "tpr.h"
#include "arch.h"
#include "domain.h"
#include "handlers.h"

void tpr_sync_after_exit(struct vcpu *v)
{
    u8 cr8 = arch->read_cr8(v);
    if (cr8 == v->cr8_loaded)
        return;
    lapic_set_tpr(&v->domain->pc.lapic, (u8)(cr8 << 4));
    v->cr8_loaded = cr8;
    v->no_interrupt_pending = false; /* a lower priority may let one through now */
}

void tpr_load_before_entry(struct vcpu *v)
{
    const struct lapic *l = &v->domain->pc.lapic;
    u8 cr8 = lapic_get_tpr(l) >> 4;
    arch->write_cr8(v, cr8, lapic_tpr_threshold(l));
    v->cr8_loaded = cr8;
}

void handle_cr8_access(struct vcpu *v, struct vm_exit *e)
{
    struct lapic *l = &v->domain->pc.lapic;
    if (e->cr.access == CR_MOV_FROM) {
        v->gpr[e->cr.gpr] = lapic_get_tpr(l) >> 4;
    } else {
        u64 value = v->gpr[e->cr.gpr];
        if (value >> 4) { /* bits 63:4 are reserved (SDM 2B MOV CR) */
            vcpu_inject_exception(v, VECTOR_GP, true, 0);
            return;
        }
        lapic_set_tpr(l, (u8)(value << 4));
        v->no_interrupt_pending = false;
    }
    vcpu_skip_instruction(v, e);
}
