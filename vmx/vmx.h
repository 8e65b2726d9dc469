/* State the VT-x backend's files share. */
#ifndef ZAZEN_VMX_VMX_H
#define ZAZEN_VMX_VMX_H

#include "../vmm/types.h"

/* What the CPUs' VMX can do (every CPU is taken to be alike), the control
 * values Zazen runs with, and what every vCPU shares. */
struct vmx_cpu {
    u64 basic, ept_vpid_cap;
    u64 cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
    u32 pin, proc, proc2, exit, entry;
    bool large_pages;
    bool virtual_nmis; /* "virtual NMIs" (and with them NMI-window exiting) */
    bool tpr_shadow; /* "use TPR shadow"; else CR8 accesses exit */
    bool virtualize_x2apic; /* "virtualize x2APIC mode" may be set (with the TPR shadow) */
    bool pause_loop_exiting; /* "PAUSE-loop exiting" may be set (for domains of several vCPUs) */
    bool preemption_timer; /* "activate VMX-preemption timer" may be set */
    u8 preemption_timer_shift; /* it counts once every 2^shift TSC ticks (IA32_VMX_MISC[4:0]) */
    bool save_preemption_timer; /* its count is kept across exits (the VM-exit control of 25.7.1 is set) */
    u8 *io_bitmaps; /* A and B, 4 KiB each */
    u8 *msr_bitmap;
    /* The same with the x2APIC TPR MSR (808H) passed through, for a vCPU
     * in x2APIC mode with "virtualize x2APIC mode" set (vmx.c). */
    u8 *msr_bitmap_x2apic;
};

extern struct vmx_cpu vmx_cpu;



#endif
