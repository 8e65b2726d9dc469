/* Host physical memory. Zazen identity-maps all of it, so a host physical
 * address and the pointer to it are the same number; hpa_of()/hva_of()
 * say where that assumption is used. */
#ifndef ZAZEN_MM_H
#define ZAZEN_MM_H

#include "bootinfo.h"
#include "types.h"

static inline u64 hpa_of(const void *p) { return (u64)(uintptr_t)p; }
static inline void *hva_of(u64 pa) { return (void *)(uintptr_t)pa; }

/* Builds the allocator from the memory map: free RAM only; firmware runtime
 * regions, ACPI tables and everything Zazen was loaded with stay out. */
void mm_init(const struct bootinfo *bi);
/* Builds Zazen's 4-level identity page tables and switches to them, then
 * gives the firmware's boot-time memory (its old page tables included) to
 * the allocator. */
void paging_init(const struct bootinfo *bi);
/* Before paging_init: device registers at [base, base + size) are mapped
 * too, uncached, wherever they are (false: too many such places). */
bool mm_map_mmio(u64 base, u64 size);

void *page_alloc(u64 bytes);                   /* zeroed; NULL if no memory */
void *page_alloc_aligned(u64 bytes, u64 align); /* zeroed; NULL if no memory */
void page_free(void *p, u64 bytes);
u64 mm_free_bytes(void);
/* Whether [hpa, hpa + size) touches Zazen's own page tables: no guest
 * mapping may ever reach them. */
bool mm_overlaps_host_tables(u64 hpa, u64 size);
u64 mm_allocated_bytes(void); /* by page_alloc, not yet freed */
u64 mm_managed_bytes(void);
u64 mm_largest_block(u64 align);

#endif
