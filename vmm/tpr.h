/* The guest's task priority in its two places, kept one value: the
 * virtual local APIC's TPR (devmodel/lapic.c, which the guest reaches
 * through the APIC's MMIO page or its x2APIC MSRs and Zazen consults to
 * deliver interrupts) and the backend's copy, which the CPU reads and
 * writes without exits: CR8 = TPR[7:4] through the VT-x TPR shadow or
 * AMD-V V_TPR, and on VT-x with "virtualize x2APIC mode" the whole byte
 * through MSR 808H (SDM 3C 29.5); v->tpr after each exit, arch->write_tpr
 * before an entry. The guest never reaches the real TPR: a guest's
 * "mov cr8, 15" blocks its own interrupts, not the host's. */
#ifndef ZAZEN_TPR_H
#define ZAZEN_TPR_H

#include "domain.h"
#include "vcpu.h"

/* Both run on every exit: the common case (nothing changed) is inline. */
void tpr_guest_wrote_tpr(struct vcpu *v);
void tpr_load(struct vcpu *v, u8 tpr, u8 threshold);
void tpr_apic_mode_changed(struct vcpu *v, bool x2apic);

/* After each exit: a TPR the guest changed (MOV CR8, or WRMSR 808H that
 * did not exit) becomes the APIC's TPR. */
static inline void tpr_sync_after_exit(struct vcpu *v)
{
    if (v->tpr != v->tpr_loaded)
        tpr_guest_wrote_tpr(v);
}

/* Before each entry (but the quick way back, which follows no exit that
 * can change the APIC's mode: an MSR write is never quick): the APIC's
 * mode (x2APIC or not) and its TPR go to the backend, with the class of
 * an interrupt only the TPR holds back, so a TPR write that lets it
 * through exits at once. */
static inline void tpr_load_before_entry(struct vcpu *v)
{
    const struct lapic *l = v->lapic;
    bool x2apic = lapic_x2apic_mode(l);
    if (x2apic != v->x2apic_loaded)
        tpr_apic_mode_changed(v, x2apic);
    u8 tpr = lapic_get_tpr(l), threshold = lapic_tpr_threshold(l);
    if (tpr != v->tpr_loaded || threshold != v->tpr_threshold_loaded)
        tpr_load(v, tpr, threshold);
}
/* MOV to or from CR8 that exited (VT-x without a TPR shadow, where CR8
 * accesses exit, SDM 3C 25.6.2). */
void handle_cr8_access(struct vcpu *v, struct vm_exit *e);
/* Fills in the source register (and length) of a MOV to CR exit whose
 * backend could not name them (CR_GPR_UNKNOWN); false if the instruction
 * at CS:RIP is not that. */
bool decode_cr_write(struct vcpu *v, struct vm_exit *e);

#endif
