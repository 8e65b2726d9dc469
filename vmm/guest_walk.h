/* Guest linear to guest-physical translation by walking the guest's own
 * page tables, as the CPU would (SDM 3A 4.3 32-bit, 4.4 PAE, 4.5 4-level
 * paging). Pure: physical reads go through a callback, so host unit tests
 * build page tables in a byte array. */
#ifndef ZAZEN_GUEST_WALK_H
#define ZAZEN_GUEST_WALK_H

#include "x86emu.h"

struct guest_paging {
    u64 cr0, cr3, cr4, efer;
    u8 cpl;
    /* Reads a page-table entry (4 or 8 bytes) at a guest-physical address. */
    bool (*read_phys)(void *ctx, u64 gpa, void *data, unsigned size);
    void *ctx;
};

/* False with a #PF in *fault (error code per SDM 3A 4.7) if the access is
 * not allowed. */
bool guest_walk(const struct guest_paging *p, u64 linear, enum x86emu_access access, u64 *gpa,
                struct x86emu_fault *fault);

#endif
