/* A builder for the 4-level tables that translate guest-physical to host-
 * physical addresses: AMD NPT (APM 2 15.25) and Intel EPT (SDM 3C 29.3)
 * share the shape (512 entries per level, 2 MiB leaves at level 2) and
 * differ only in the bits of an entry, which the backend supplies. */
#ifndef ZAZEN_NESTED_PT_H
#define ZAZEN_NESTED_PT_H

#include "types.h"

enum nested_perm { NESTED_READ = 1, NESTED_WRITE = 2, NESTED_EXEC = 4 };

struct nested_pt_format {
    u64 (*table_entry)(u64 table_hpa);                        /* points to the next level */
    u64 (*leaf_entry)(u64 hpa, unsigned perms, bool large);   /* maps 4 KiB or 2 MiB */
    bool (*present)(u64 entry);
    u64 (*address)(u64 entry);
    bool (*is_large)(u64 entry);
};

struct nested_pt {
    const struct nested_pt_format *fmt;
    u64 *root;
    unsigned table_pages; /* for the footprint figures */
    bool large_pages;     /* 2 MiB leaves allowed (every AMD NPT; EPT if it says so) */
};

bool nested_pt_init(struct nested_pt *pt, const struct nested_pt_format *fmt);
/* Maps [gpa, gpa+size) to [hpa, ...). Uses 2 MiB leaves wherever both
 * addresses are 2 MiB aligned and a whole 2 MiB remains. The range must
 * not already be mapped. False: out of memory. */
bool nested_pt_map(struct nested_pt *pt, u64 gpa, u64 hpa, u64 size, unsigned perms);
void nested_pt_destroy(struct nested_pt *pt);

struct domain;
/* Every region of domain->mem with host memory, mapped: read and execute,
 * and write unless read-only. False: out of memory. */
bool nested_pt_map_domain(struct nested_pt *pt, struct domain *d);
/* [gpa, gpa+size) (4 KiB aligned) made to follow domain->mem again, while
 * the domain runs: each page maps what its region says now, or nothing.
 * A 2 MiB leaf that covers part of the range is split into 4 KiB leaves
 * first. The caller flushes the TLBs. False: out of memory. */
bool nested_pt_follow_domain(struct nested_pt *pt, struct domain *d, u64 gpa, u64 size);

#endif
