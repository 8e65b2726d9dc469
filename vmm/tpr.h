/* The guest's task priority in its two places, kept one value: the
 * virtual local APIC's TPR (devmodel/lapic.c, which the guest reaches
 * through the APIC's MMIO page and Zazen consults to deliver interrupts)
 * and CR8, which the CPU reads and writes without exits from the
 * backend's copy (VT-x TPR shadow, AMD-V V_TPR; v->cr8 after each exit, arch->write_cr8).
 * The guest never reaches the real TPR: a guest's "mov cr8, 15" blocks
 * its own interrupts, not the host's. */
#ifndef ZAZEN_TPR_H
#define ZAZEN_TPR_H

#include "domain.h"
#include "vcpu.h"

/* Both run on every exit: the common case (nothing changed) is inline. */
void tpr_guest_wrote_cr8(struct vcpu *v);
void tpr_load(struct vcpu *v, u8 cr8, u8 threshold);

/* After each exit: a CR8 the guest changed becomes the APIC's TPR. */
static inline void tpr_sync_after_exit(struct vcpu *v)
{
    if (v->cr8 != v->cr8_loaded)
        tpr_guest_wrote_cr8(v);
}

/* Before each entry (but the quick way back): the APIC's TPR goes to the
 * backend, with the class of an interrupt only the TPR holds back, so a
 * CR8 write that lets it through exits at once. */
static inline void tpr_load_before_entry(struct vcpu *v)
{
    const struct lapic *l = &v->domain->pc.lapic[v->id];
    u8 cr8 = lapic_get_tpr(l) >> 4, threshold = lapic_tpr_threshold(l);
    if (cr8 != v->cr8_loaded || threshold != v->tpr_threshold_loaded)
        tpr_load(v, cr8, threshold);
}
/* MOV to or from CR8 that exited (VT-x without a TPR shadow, where CR8
 * accesses exit, SDM 3C 25.6.2). */
void handle_cr8_access(struct vcpu *v, struct vm_exit *e);
/* Fills in the source register (and length) of a MOV to CR exit whose
 * backend could not name them (CR_GPR_UNKNOWN); false if the instruction
 * at CS:RIP is not that. */
bool decode_cr_write(struct vcpu *v, struct vm_exit *e);

#endif
