/* Which VMCS field a failed VM entry objects to: the checks of SDM 3C
 * chapter 27 run in software over a snapshot of the VMCS. Pure, so the
 * host unit tests can feed it broken states. Mirrors svm/svm_check.h. */
#ifndef ZAZEN_VMX_CHECK_H
#define ZAZEN_VMX_CHECK_H

#include "../vmm/types.h"

/* The capability MSRs the checks compare against (SDM 3C Appendix A). */
struct vmx_caps {
    u64 basic;
    u64 pin, proc, proc2, exit, entry; /* allowed-0 in 31:0, allowed-1 in 63:32 */
    u64 cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
};

/* The fields the checks read. Segments are in enum seg_reg order. */
struct vmcs_snapshot {
    u32 pin, proc, proc2, exit, entry, entry_intr_info;
    u16 vpid;
    u64 eptp;
    u64 host_cr0, host_cr4;
    u16 host_selectors[7]; /* ES CS SS DS FS GS TR */
    u64 cr0, cr4, efer, dr7, rflags, rip, link_pointer;
    u32 seg_ar[8], seg_limit[8];
    u32 gdtr_limit, idtr_limit, activity, interruptibility;
};

/* Writes the first rule the snapshot breaks, or that none is found. */
void vmx_check_vmcs(const struct vmcs_snapshot *s, const struct vmx_caps *caps, char *out, size_t size);

#endif
