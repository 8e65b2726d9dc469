/* The host memory manager: the page allocator over the boot memory map,
 * and Zazen's own identity-mapped page tables (SDM 3A 4.5, 4-level paging
 * with 2 MiB pages). */
#include "mm.h"
#include "console.h"
#include "cpu.h"
#include "lock.h"
#include "pagealloc.h"
#include "string.h"
#include "x86.h"

static struct page_allocator allocator;
static u64 tables_first, tables_end; /* Zazen's own page tables (paging_init) */
static u64 allocated_bytes; /* handed out by page_alloc and not freed */
/* "allocator" in the lock order: a leaf. Domains are built and freed on
 * any CPU (a domain's memory is freed where its last vCPU ended). */
static struct spinlock allocator_lock = SPINLOCK_INIT("allocator");

/* Adds the ranges of one type, then takes out everything that is not free
 * RAM: a boot entry may list Zazen's image or modules inside a free range
 * (multiboot2 does), and reserved ranges always win. Below 1 MiB stays
 * free for real-mode trampolines. */
static void add_free_ranges(const struct bootinfo *bi, u32 type)
{
    for (u32 i = 0; i < bi->mem_count; i++) {
        const struct bootinfo_mem *m = &bi->mem[i];
        if (m->type != type || m->base + m->size <= MiB)
            continue;
        u64 base = MAX(m->base, MiB);
        if (!pagealloc_add(&allocator, base, m->base + m->size - base))
            kprintf("zazen: memory map too fragmented; ignoring RAM at %llx\n", (unsigned long long)base);
    }
    for (u32 i = 0; i < bi->mem_count; i++) {
        const struct bootinfo_mem *m = &bi->mem[i];
        if (m->type != MEM_USABLE && m->type != MEM_USABLE_LATER)
            pagealloc_reserve(&allocator, m->base, m->size);
    }
}

void mm_init(const struct bootinfo *bi)
{
    pagealloc_init(&allocator);
    add_free_ranges(bi, MEM_USABLE);
}

void *page_alloc_aligned(u64 bytes, u64 align)
{
    spin_lock(&allocator_lock);
    u64 pa = pagealloc_alloc(&allocator, bytes, align);
    if (pa)
        allocated_bytes += ALIGN_UP(bytes, PAGE_SIZE);
    spin_unlock(&allocator_lock);
    if (!pa)
        return NULL;
    void *p = hva_of(pa);
    memset(p, 0, ALIGN_UP(bytes, PAGE_SIZE));
    return p;
}

void *page_alloc(u64 bytes) { return page_alloc_aligned(bytes, PAGE_SIZE); }

void page_free(void *p, u64 bytes)
{
    if (!p)
        return;
    spin_lock(&allocator_lock);
    bool ok = pagealloc_free(&allocator, hpa_of(p), bytes);
    if (ok)
        allocated_bytes -= ALIGN_UP(bytes, PAGE_SIZE);
    spin_unlock(&allocator_lock);
    if (!ok)
        panic("page_free(%p, %llu): not an allocated block", p, (unsigned long long)bytes);
}

bool mm_overlaps_host_tables(u64 hpa, u64 size) { return hpa < tables_end && tables_first < hpa + size; }

u64 mm_allocated_bytes(void) { return atomic_load(&allocated_bytes); }

u64 mm_free_bytes(void) { return atomic_load(&allocator.free_bytes); }
u64 mm_managed_bytes(void) { return allocator.managed_bytes; }

u64 mm_largest_block(u64 align)
{
    spin_lock(&allocator_lock);
    u64 largest = pagealloc_largest(&allocator, align);
    spin_unlock(&allocator_lock);
    return largest;
}

/* Map all memory Zazen may touch (RAM, its own, ACPI tables) and at least
 * the first 4 GiB, where the local APIC, the I/O APIC and the firmware
 * live. Reserved holes far above RAM (QEMU reports one at 1 TiB) are left
 * out. */
static u64 identity_map_top(const struct bootinfo *bi)
{
    u64 top = 4 * GiB;
    for (u32 i = 0; i < bi->mem_count; i++) {
        u32 t = bi->mem[i].type;
        if (t == MEM_USABLE || t == MEM_USABLE_LATER || t == MEM_ZAZEN || t == MEM_ACPI_RECLAIM || t == MEM_ACPI_NVS)
            top = MAX(top, bi->mem[i].base + bi->mem[i].size);
    }
    return ALIGN_UP(top, GiB);
}

/* Extra 4 KiB tables for the 2 MiB pages that hold the tables themselves
 * (the block is at most 516 pages: it spans at most three). */
#define SPLIT_TABLES 3

/* Makes the pages [first, end) of the block read-only to Zazen: each
 * 2 MiB page around them becomes 512 small ones, the table pages lose
 * their W bit (SDM 3A 4.5, table 4-19; with CR0.WP a supervisor write
 * faults, 4.6.1). The tables never change after boot, so a write to them
 * is a stray one: it faults in the writer, with a backtrace, instead of
 * unmapping memory under a CPU that then triple-faults in silence. */
static void protect_tables(u64 *pdpt, u64 first, u64 end, u64 *spare)
{
    unsigned used = 0;
    for (u64 region = ALIGN_DOWN(first, LARGE_PAGE_SIZE); region < end; region += LARGE_PAGE_SIZE) {
        u64 *pd = hva_of(pdpt[region / GiB] & ~0xfffull);
        u64 *pt = spare + used++ * 512;
        for (u64 i = 0; i < 512; i++) {
            u64 pa = region + i * PAGE_SIZE;
            bool table = pa >= first && pa < end;
            pt[i] = pa | PTE_P | (table ? 0 : PTE_W);
        }
        pd[(region % GiB) / LARGE_PAGE_SIZE] = hpa_of(pt) | PTE_P | PTE_W;
    }
}

/* Device registers above the identity map (a 64-bit BAR the firmware
 * put high, as OVMF does with NVMe's), each GiB of them mapped too,
 * uncached: mm_map_mmio, before paging_init. */
#define MAX_MMIO_GIB 4
static u64 mmio_gib[MAX_MMIO_GIB];
static unsigned mmio_gib_count;

bool mm_map_mmio(u64 base, u64 size)
{
    for (u64 g = base / GiB; g <= (base + size - 1) / GiB; g++) {
        if (g >= 256 * 1024) /* beyond 4-level paging's 256 TiB */
            return false;
        bool have = false;
        for (unsigned i = 0; i < mmio_gib_count; i++)
            have |= mmio_gib[i] == g;
        if (have)
            continue;
        if (mmio_gib_count == MAX_MMIO_GIB)
            return false;
        mmio_gib[mmio_gib_count++] = g;
    }
    return true;
}

/* Maps the recorded MMIO GiBs that the identity map does not cover,
 * with tables taken from spare (at most 2 * MAX_MMIO_GIB pages: a PDPT
 * per new PML4 slot, a PD per GiB). */
static void map_mmio_gibs(u64 *pml4, u64 top, u64 *spare)
{
    unsigned used = 0;
    for (unsigned i = 0; i < mmio_gib_count; i++) {
        u64 g = mmio_gib[i];
        if (g < top / GiB)
            continue;
        u64 slot = g / 512;
        if (!(pml4[slot] & PTE_P))
            pml4[slot] = hpa_of(spare + used++ * 512) | PTE_P | PTE_W;
        u64 *pdpt = hva_of(pml4[slot] & ~0xfffull);
        u64 *pd = spare + used++ * 512;
        pdpt[g % 512] = hpa_of(pd) | PTE_P | PTE_W;
        for (u64 k = 0; k < 512; k++)
            pd[k] = (g * GiB + k * LARGE_PAGE_SIZE) | PTE_P | PTE_W | PTE_PS | PTE_PCD | PTE_PWT;
    }
}

void paging_init(const struct bootinfo *bi)
{
    u64 top = identity_map_top(bi);
    if (top > 512 * GiB) {
        kprintf("zazen: using only the first 512 GiB of memory\n");
        top = 512 * GiB;
    }
    /* One block: PML4, PDPT, one PD per GiB, MMIO tables, the small tables. */
    u64 mmio_pages = 0;
    for (unsigned i = 0; i < mmio_gib_count; i++)
        mmio_pages += mmio_gib[i] >= top / GiB ? 2 : 0;
    u64 pages = 2 + top / GiB + mmio_pages + SPLIT_TABLES;
    u64 *block = page_alloc(pages * PAGE_SIZE);
    if (!block)
        panic("out of memory building page tables");
    u64 *pml4 = block, *pdpt = block + 512;
    pml4[0] = hpa_of(pdpt) | PTE_P | PTE_W;
    for (u64 gib = 0; gib < top / GiB; gib++) {
        u64 *pd = block + (2 + gib) * 512;
        pdpt[gib] = hpa_of(pd) | PTE_P | PTE_W;
        for (u64 i = 0; i < 512; i++)
            pd[i] = (gib * GiB + i * LARGE_PAGE_SIZE) | PTE_P | PTE_W | PTE_PS;
    }
    map_mmio_gibs(pml4, top, block + (2 + top / GiB) * 512);
    tables_first = hpa_of(block);
    tables_end = tables_first + pages * PAGE_SIZE;
    protect_tables(pdpt, tables_first, tables_end,
                   block + (pages - SPLIT_TABLES) * 512);
    /* Keep the firmware's CR4/EFER choices (PAE, NXE); only the tables
     * change. WP: Zazen's writes honour read-only pages (its tables). */
    write_cr3(hpa_of(pml4));
    write_cr0(read_cr0() | CR0_WP);

    add_free_ranges(bi, MEM_USABLE_LATER);
}
