/* See nested_pt.h. Levels are numbered as in the SDM: 4 (PML4) down to 1
 * (PT); a leaf at level 2 maps 2 MiB. */
#include "nested_pt.h"
#include "cpu.h"
#include "domain.h"
#include "mm.h"

#define ENTRIES 512

static unsigned index_at(u64 gpa, unsigned level) { return (gpa >> (12 + 9 * (level - 1))) & (ENTRIES - 1); }

bool nested_pt_init(struct nested_pt *pt, const struct nested_pt_format *fmt)
{
    pt->fmt = fmt;
    pt->root = page_alloc(PAGE_SIZE);
    pt->table_pages = pt->root ? 1 : 0;
    pt->large_pages = true;
    return pt->root != NULL;
}

/* The table at `level` that covers gpa, creating tables on the way. */
static u64 *table_for(struct nested_pt *pt, u64 gpa, unsigned level)
{
    u64 *table = pt->root;
    for (unsigned l = 4; l > level; l--) {
        u64 *entry = &table[index_at(gpa, l)];
        if (!pt->fmt->present(*entry)) {
            u64 *next = page_alloc(PAGE_SIZE);
            if (!next)
                return NULL;
            pt->table_pages++;
            *entry = pt->fmt->table_entry(hpa_of(next));
        }
        table = hva_of(pt->fmt->address(*entry));
    }
    return table;
}

/* A guest mapping of Zazen's page tables would hand the guest the host:
 * a bug in a caller, caught where it is made. */
static void refuse_host_tables(u64 gpa, u64 hpa, u64 size)
{
    if (mm_overlaps_host_tables(hpa, size))
        panic("nested mapping of guest %llx to host %llx (+%llx) would expose Zazen's page tables",
              (unsigned long long)gpa, (unsigned long long)hpa, (unsigned long long)size);
}

bool nested_pt_map(struct nested_pt *pt, u64 gpa, u64 hpa, u64 size, unsigned perms)
{
    refuse_host_tables(gpa, hpa, size);
    while (size) {
        bool large = pt->large_pages && IS_ALIGNED(gpa, LARGE_PAGE_SIZE) && IS_ALIGNED(hpa, LARGE_PAGE_SIZE) && size >= LARGE_PAGE_SIZE;
        unsigned level = large ? 2 : 1;
        u64 *table = table_for(pt, gpa, level);
        if (!table)
            return false;
        table[index_at(gpa, level)] = pt->fmt->leaf_entry(hpa, perms, large);
        u64 step = large ? LARGE_PAGE_SIZE : PAGE_SIZE;
        gpa += step;
        hpa += step;
        size = size > step ? size - step : 0;
    }
    return true;
}

/* The level-1 table for gpa, splitting a 2 MiB leaf in its way into 512
 * 4 KiB leaves with the same translation and permissions. */
static u64 *small_table_for(struct nested_pt *pt, u64 gpa, unsigned perms_of_large)
{
    u64 *pd = table_for(pt, gpa, 2);
    if (!pd)
        return NULL;
    u64 *entry = &pd[index_at(gpa, 2)];
    if (pt->fmt->present(*entry) && pt->fmt->is_large(*entry)) {
        u64 *pt1 = page_alloc(PAGE_SIZE);
        if (!pt1)
            return NULL;
        pt->table_pages++;
        u64 base = pt->fmt->address(*entry) & ~(LARGE_PAGE_SIZE - 1);
        for (unsigned i = 0; i < ENTRIES; i++)
            pt1[i] = pt->fmt->leaf_entry(base + (u64)i * PAGE_SIZE, perms_of_large, false);
        *entry = pt->fmt->table_entry(hpa_of(pt1));
    }
    return table_for(pt, gpa, 1);
}

static unsigned region_perms(const struct guest_mem_region *r)
{
    return NESTED_READ | NESTED_EXEC | (r->read_only ? 0 : NESTED_WRITE);
}

bool nested_pt_map_domain(struct nested_pt *pt, struct domain *d)
{
    for (unsigned i = 0; i < d->mem_count; i++) {
        const struct guest_mem_region *m = &d->mem[i];
        if (m->host && !nested_pt_map(pt, m->gpa, hpa_of(m->host), m->size, region_perms(m)))
            return false;
    }
    return true;
}

bool nested_pt_follow_domain(struct nested_pt *pt, struct domain *d, u64 gpa, u64 size)
{
    for (u64 end = gpa + size; gpa < end; gpa += PAGE_SIZE) {
        /* A 2 MiB leaf only ever maps RAM (regions that change are small). */
        struct guest_mem_region *ram = domain_find_region(d, gpa & ~(LARGE_PAGE_SIZE - 1), 1);
        u64 *table = small_table_for(pt, gpa, ram ? region_perms(ram) : NESTED_READ | NESTED_EXEC);
        if (!table)
            return false;
        struct guest_mem_region *r = domain_find_region(d, gpa, PAGE_SIZE);
        u8 *scratch = domain_cpu_window_page(d, gpa);
        if (scratch) { /* the CPU's own write there goes to a scratch copy (vmm/cpu_access.c) */
            refuse_host_tables(gpa, hpa_of(scratch), PAGE_SIZE);
            table[index_at(gpa, 1)] =
                pt->fmt->leaf_entry(hpa_of(scratch), NESTED_READ | NESTED_WRITE | NESTED_EXEC, false);
            continue;
        }
        if (r && r->host)
            refuse_host_tables(gpa, hpa_of(r->host + (gpa - r->gpa)), PAGE_SIZE);
        table[index_at(gpa, 1)] =
            r && r->host ? pt->fmt->leaf_entry(hpa_of(r->host + (gpa - r->gpa)), region_perms(r), false) : 0;
    }
    return true;
}

static void free_level(const struct nested_pt_format *fmt, u64 *table, unsigned level)
{
    if (level > 1)
        for (unsigned i = 0; i < ENTRIES; i++)
            if (fmt->present(table[i]) && !(level == 2 && fmt->is_large(table[i])))
                free_level(fmt, hva_of(fmt->address(table[i])), level - 1);
    page_free(table, PAGE_SIZE);
}

void nested_pt_destroy(struct nested_pt *pt)
{
    if (pt->root)
        free_level(pt->fmt, pt->root, 4);
    pt->root = NULL;
    pt->table_pages = 0;
}
