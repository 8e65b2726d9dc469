/* The host memory manager: the page allocator over the boot memory map,
 * and Zazen's own identity-mapped page tables (SDM 3A 4.5, 4-level paging
 * with 2 MiB pages). */
#include "mm.h"
#include "console.h"
#include "cpu.h"
#include "pagealloc.h"
#include "string.h"
#include "x86.h"

static struct page_allocator allocator;

void mm_init(const struct bootinfo *bi)
{
    pagealloc_init(&allocator);
    for (u32 i = 0; i < bi->mem_count; i++) {
        const struct bootinfo_mem *m = &bi->mem[i];
        /* Below 1 MiB stays free for real-mode trampolines and out of DMA's way. */
        if (m->type != MEM_USABLE || m->base + m->size <= MiB)
            continue;
        u64 base = MAX(m->base, MiB);
        if (!pagealloc_add(&allocator, base, m->base + m->size - base))
            kprintf("zazen: memory map too fragmented; ignoring RAM at %llx\n", (unsigned long long)base);
    }
}

void *page_alloc_aligned(u64 bytes, u64 align)
{
    u64 pa = pagealloc_alloc(&allocator, bytes, align);
    if (!pa)
        return NULL;
    void *p = hva_of(pa);
    memset(p, 0, ALIGN_UP(bytes, PAGE_SIZE));
    return p;
}

void *page_alloc(u64 bytes) { return page_alloc_aligned(bytes, PAGE_SIZE); }

void page_free(void *p, u64 bytes)
{
    if (p && !pagealloc_free(&allocator, hpa_of(p), bytes))
        panic("page_free(%p, %llu): not an allocated block", p, (unsigned long long)bytes);
}

u64 mm_free_bytes(void) { return allocator.free_bytes; }
u64 mm_managed_bytes(void) { return allocator.managed_bytes; }
u64 mm_largest_block(u64 align) { return pagealloc_largest(&allocator, align); }

/* Map everything up to the highest address in the map, and at least the
 * first 4 GiB, where the local APIC, the I/O APIC and the firmware live. */
static u64 identity_map_top(const struct bootinfo *bi)
{
    u64 top = 4 * GiB;
    for (u32 i = 0; i < bi->mem_count; i++)
        top = MAX(top, bi->mem[i].base + bi->mem[i].size);
    return ALIGN_UP(top, GiB);
}

static u64 *alloc_table(void)
{
    u64 *t = page_alloc(PAGE_SIZE);
    if (!t)
        panic("out of memory building page tables");
    return t;
}

void paging_init(const struct bootinfo *bi)
{
    u64 top = identity_map_top(bi);
    if (top > 512 * GiB)
        panic("memory map reaches %llx: beyond one PML4 entry", (unsigned long long)top);
    u64 *pml4 = alloc_table();
    u64 *pdpt = alloc_table();
    pml4[0] = hpa_of(pdpt) | PTE_P | PTE_W;
    for (u64 gib = 0; gib < top / GiB; gib++) {
        u64 *pd = alloc_table();
        pdpt[gib] = hpa_of(pd) | PTE_P | PTE_W;
        for (u64 i = 0; i < 512; i++)
            pd[i] = (gib * GiB + i * LARGE_PAGE_SIZE) | PTE_P | PTE_W | PTE_PS;
    }
    /* Keep the firmware's CR4/EFER choices (PAE, NXE, WP); only the tables change. */
    write_cr3(hpa_of(pml4));

    for (u32 i = 0; i < bi->mem_count; i++) {
        const struct bootinfo_mem *m = &bi->mem[i];
        if (m->type != MEM_USABLE_LATER || m->base + m->size <= MiB)
            continue;
        u64 base = MAX(m->base, MiB);
        pagealloc_add(&allocator, base, m->base + m->size - base);
    }
}
