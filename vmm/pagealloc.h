/* A physical range allocator: a sorted array of free [base, end) ranges.
 * Pure (no hypervisor dependency) so it is unit-tested on the host.
 * Allocations are page granular; any alignment that is a power of two
 * multiple of a page is honoured (2 MiB for guest RAM, 4 KiB for tables). */
#ifndef ZAZEN_PAGEALLOC_H
#define ZAZEN_PAGEALLOC_H

#include "types.h"

#define PAGEALLOC_MAX_RANGES 512

struct page_range {
    u64 base, end;
};

struct page_allocator {
    struct page_range free[PAGEALLOC_MAX_RANGES];
    unsigned count;
    u64 free_bytes;
    u64 managed_bytes; /* everything ever added */
};

void pagealloc_init(struct page_allocator *pa);
/* Adds [base, base+size) as free, shrunk inwards to page boundaries.
 * Returns false if the range table is full (the memory is then lost). */
bool pagealloc_add(struct page_allocator *pa, u64 base, u64 size);
/* Removes [base, base+size) from the free set wherever it is free. */
void pagealloc_reserve(struct page_allocator *pa, u64 base, u64 size);
/* Returns the base of size bytes aligned to align, or 0 if none fits.
 * Prefers the lowest address. Address 0 is never handed out. */
u64 pagealloc_alloc(struct page_allocator *pa, u64 size, u64 align);
/* Returns memory to the free set, merging with its neighbours. */
bool pagealloc_free(struct page_allocator *pa, u64 base, u64 size);
/* The largest block that pagealloc_alloc(.., align) could return now. */
u64 pagealloc_largest(const struct page_allocator *pa, u64 align);

#endif
