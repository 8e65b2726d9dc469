/* State the VT-x backend's files share. */
#ifndef ZAZEN_VMX_VMX_H
#define ZAZEN_VMX_VMX_H

#include "../vmm/types.h"

/* What this CPU's VMX can do, and the control values Zazen runs with. */
struct vmx_cpu {
    u64 basic, ept_vpid_cap;
    u64 cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
    u32 pin, proc, proc2, exit, entry;
    bool large_pages;
    bool tpr_shadow; /* "use TPR shadow"; else CR8 accesses exit */
    void *vmxon_region;
    u8 *io_bitmaps; /* A and B, 4 KiB each */
    u8 *msr_bitmap;
    bool vpid_used[256];
};

extern struct vmx_cpu vmx_cpu;



#endif
