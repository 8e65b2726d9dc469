/* The vCPU interface every virtualization backend implements (vmx/ for
 * Intel VT-x, svm/ for AMD-V). The core picks one at boot and calls it only
 * through these operations; each returns after exactly one VM exit, so a
 * scheduler can stop a vCPU after any exit and resume it later. */
#ifndef ZAZEN_ARCH_H
#define ZAZEN_ARCH_H

#include "vcpu.h"

struct domain;

struct arch_ops {
    const char *name; /* "AMD-V" or "VT-x" */
    /* Checks, without changing anything, that the CPU has every feature
     * the backend needs (nested paging, ...); false and a sentence naming
     * the missing one. Boot entries call it before taking the machine. */
    bool (*check_features)(char *why, size_t why_size);
    /* Turns virtualization on for this CPU (called on every CPU, the boot
     * CPU first); false and a sentence if it can't. */
    bool (*cpu_enable)(char *why, size_t why_size);
    /* Tag (ASID/VPID) and nested page tables built from domain->mem. */
    bool (*domain_create)(struct domain *d, char *why, size_t why_size);
    void (*domain_destroy)(struct domain *d);
    /* domain->mem changed in [gpa, gpa+size) while the domain runs (the
     * PAM registers moved a segment between ROM and shadow RAM): the
     * nested tables follow, and no vCPU keeps a stale translation (NPT:
     * a TLB flush at the next VMRUN; EPT: INVEPT). False: out of memory
     * for a page table (the domain cannot go on). */
    bool (*remap)(struct domain *d, u64 gpa, u64 size);
    bool (*vcpu_create)(struct vcpu *v, char *why, size_t why_size);
    void (*vcpu_destroy)(struct vcpu *v);
    /* The state after RESET: real mode, CS:IP = F000:FFF0 (SDM 3A 9.1.1). */
    void (*vcpu_reset)(struct vcpu *v);
    /* After vcpu_reset: 32-bit flat protected mode, paging off, at eip:
     * CS execute/read and DS/ES/SS/FS/GS read/write, base 0, limit 4 GiB;
     * TR a 32-bit busy TSS of limit 67h; CR0 = PE|ET; EFLAGS = 2. The
     * entry state of a Xen PVH kernel (Xen docs/misc/pvh.pandoc). */
    void (*vcpu_enter_flat32)(struct vcpu *v, u32 eip);
    /* A start-up IPI to a vCPU waiting for one: real mode at vector's
     * page, CS = vector << 8 with base vector << 12, IP = 0 (SDM 3A
     * 9.4.4 / 8.4.4.1), the rest as after INIT. */
    void (*vcpu_startup)(struct vcpu *v, u8 vector);
    /* Makes this CPU v's: VT-x: its VMCS active and current here (VMCLEARed
     * first on the CPU it was active on, SDM 3C 25.11.1) with this CPU's
     * host-state fields; AMD-V: an ASID of this CPU's current generation.
     * After a move, the guest's TLB entries here are flushed. Both: the
     * TSC offset (vcpu_tsc_offset). */
    void (*vcpu_load)(struct vcpu *v);
    /* The TSC offset changed while v is loaded (vcpu_move_tsc): the next
     * entry adds the new one. */
    void (*set_tsc_offset)(struct vcpu *v);
    /* v leaves this CPU for now; its hardware state may stay cached here. */
    void (*vcpu_put)(struct vcpu *v);
    /* Enters the guest and returns with the next exit decoded into *exit.
     * Between vcpu_load and vcpu_put only. */
    void (*vcpu_run)(struct vcpu *v, struct vm_exit *exit);
    void (*get_sregs)(struct vcpu *v, struct vcpu_sregs *s);
    /* Optional, the part of get_sregs the instruction emulator uses: the
     * bases of ES..GS, CS's selector and attributes, SS's attributes, CR0,
     * CR3, CR4, EFER and the CPL; the rest of *s is left as it was. For a
     * backend whose every field read costs (VT-x's VMREADs). */
    void (*get_emu_sregs)(struct vcpu *v, struct vcpu_sregs *s);
    /* Optional, less again: what fetching and sizing an instruction uses
     * (CS's base and attributes, SS's attributes, CR0, CR3, CR4, EFER and
     * the CPL), for the fast way's MMIO write (mmio_fast_decode). */
    void (*get_code_sregs)(struct vcpu *v, struct vcpu_sregs *s);
    /* Queues an event for the next entry. */
    void (*inject_event)(struct vcpu *v, const struct vcpu_event *e);
    /* Could an external interrupt be injected at the next entry? RFLAGS.IF
     * set, no STI or MOV SS shadow, no other event already queued. */
    bool (*interrupt_window_open)(struct vcpu *v);
    /* Asks for an exit (EXIT_IRQ_WINDOW) as soon as the guest can take an
     * interrupt, or stops asking. */
    void (*request_interrupt_window)(struct vcpu *v, bool on);
    /* Could an NMI be injected now: no NMI handler runs (blocking by NMI
     * lasts from an NMI's delivery to the next IRET, SDM 3A 6.7.1), no
     * STI/MOV SS shadow, no other event waits for the entry? */
    bool (*nmi_window_open)(struct vcpu *v);
    /* Is an NMI handler running (blocking by NMI, 6.7.1)? */
    bool (*nmi_blocked)(struct vcpu *v);
    /* Loads the segment registers (with their hidden parts, LDTR and TR
     * included) and CR3 from s: an emulated task switch. */
    void (*set_segments)(struct vcpu *v, const struct vcpu_sregs *s);
    /* A single-step trap after an instruction Zazen completed: #DB with
     * DR6.BS set (SDM 3A 17.2.3, 17.3.1.4), at the next entry. */
    void (*single_step_trap)(struct vcpu *v);
    /* Exit (EXIT_NMI_WINDOW) as soon as one could be. */
    void (*request_nmi_window)(struct vcpu *v, bool on);
    /* A guest MOV to CR0/CR4 that the backend intercepts (VT-x keeps some
     * bits for itself). False: the write faults (#GP). */
    bool (*write_cr)(struct vcpu *v, unsigned cr, u64 value);
    /* MSRs whose guest values live in the VMCB/VMCS (EFER, PAT, SYSENTER,
     * syscall and segment-base MSRs). False: not one of them. */
    bool (*msr_read)(struct vcpu *v, u32 msr, u64 *value);
    bool (*msr_write)(struct vcpu *v, u32 msr, u64 value);
    /* The guest's task priority where the CPU reads and writes it
     * without an exit, so the guest never touches the real TPR: CR8
     * (TPR[7:4]) through the VT-x TPR shadow or AMD-V V_TPR, and on VT-x
     * with "virtualize x2APIC mode" the whole byte through MSR 808H.
     * write_tpr before an entry: the TPR byte to load (the backend keeps
     * what its copy can hold: VT-x the byte in the virtual-APIC page,
     * AMD-V TPR[7:4] in V_TPR, giving back the byte it was given while
     * the guest leaves V_TPR alone) and the priority class below which
     * a lower TPR must exit (0: none) because an interrupt of that class
     * waits on it. vcpu_run reads it back into v->tpr after each exit. */
    void (*write_tpr)(struct vcpu *v, u8 tpr, u8 threshold);
    /* The guest's APIC entered (true) or left x2APIC mode (SDM 3A
     * 11.12.5), told before the next entry (but the quick way back): a
     * backend that virtualizes the x2APIC TPR MSR (VT-x "virtualize
     * x2APIC mode") does so only in that mode, so that 808H faults as
     * the device model says in the others. NULL: nothing to do. */
    void (*set_x2apic_mode)(struct vcpu *v, bool x2apic);
};

/* A #DB the host took at rip that belongs to a guest's single step and
 * is to be ignored (svm/svm.c: Bochs 2.7's AMD-V model delivers it to the
 * host after an intercepted instruction the guest ran with TF set). */
bool arch_host_debug_trap_is_guests(u64 rip);

extern const struct arch_ops svm_ops;
extern const struct arch_ops vmx_ops;

/* The backend in use, chosen by core_main. */
extern const struct arch_ops *arch;

#endif
