/* Guest registers the CPU holds while a vCPU runs and that neither VM
 * entry/exit nor the VMCB/VMCS switches, on either vendor: the x87, SSE
 * and AVX registers with XCR0, DR0-DR3, and IA32_TSC_AUX. (Vendor-specific
 * ones are the backend's: on VT-x CR2, DR6 and the syscall MSRs,
 * vmx/vmx.c make_current.)
 *
 * Each vCPU keeps its values in struct vcpu; the CPU holds one vCPU's at a
 * time, its "owner". guest_state_load, called before every entry, loads a
 * vCPU's registers only when it is not the owner already; guest_state_put
 * saves them when the vCPU leaves the CPU (it may go on elsewhere). Zazen
 * is built without vector registers (-mgeneral-regs-only) and never uses
 * DR0-DR3 or XCR0-enabled state, so the guest's values may stay in the
 * CPU across exits, and the scheduler pays a save per turn and a load
 * only when the vCPU on a CPU changes. */
#ifndef ZAZEN_GUEST_STATE_H
#define ZAZEN_GUEST_STATE_H

#include "percpu.h"
#include "vcpu.h"

/* Once, on the boot CPU after the backend is enabled: XSAVE (or FXSAVE)
 * and the state components guests may use; then this CPU's CR4.OSFXSR/
 * OSXSAVE and XCR0 (guest_state_init_this_cpu, which every other CPU
 * calls for itself). */
void guest_state_init(void);
void guest_state_init_this_cpu(void);
/* The XCR0 bits a guest may set: x87, SSE and AVX where the CPU has
 * them; 0 without XSAVE (CPUID then offers none). */
u64 guest_xcr0_supported(void);

/* The vCPU's save area (false: no memory), its RESET values (SDM 3A
 * Table 9-1: x87 control word 0040H and tags 5555H, MXCSR 1F80H, XMM/YMM
 * and DR0-DR3 zero, XCR0 1), and giving it back. */
bool guest_state_vcpu_init(struct vcpu *v);
void guest_state_vcpu_reset(struct vcpu *v);
void guest_state_vcpu_release(struct vcpu *v);

/* Per-CPU (struct percpu.guest_state): whose registers this CPU holds. */
static inline struct guest_state_cpu *guest_state_this_cpu(void) { return &this_cpu()->guest_state; }

/* The work of guest_state_load when something must move. */
void guest_state_switch(struct vcpu *v);

/* Before each entry: loads v's registers unless this CPU holds them
 * already (it is their owner and v has run nowhere else since), and its
 * IA32_TSC_AUX if that changed (RDTSCP and RDPID read it without exits).
 * Mostly nothing to do, so the test is inline. */
static inline void guest_state_load(struct vcpu *v)
{
    const struct guest_state_cpu *c = guest_state_this_cpu();
    if (c->owner != v || v->state_cpu != (int)this_cpu()->index || c->tsc_aux != v->tsc_aux)
        guest_state_switch(v);
}

/* When v leaves this CPU (vcpu_run_slice's end): its registers are saved
 * to memory, where another CPU can load them if v moves; they stay in
 * this CPU's too, so a v that comes back to it next loads nothing. */
void guest_state_put(struct vcpu *v);

/* XSETBV from the guest: false if the value faults (#GP); else it is the
 * vCPU's XCR0 from now on, in the CPU too (v must be running). */
bool guest_state_set_xcr0(struct vcpu *v, u64 value);

#endif
