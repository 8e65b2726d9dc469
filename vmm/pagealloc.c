/* See pagealloc.h. The free list stays sorted and coalesced, so every
 * operation is a linear scan of at most a few hundred ranges. */
#include "pagealloc.h"
#include "string.h"

void pagealloc_init(struct page_allocator *pa) { memset(pa, 0, sizeof(*pa)); }

static bool insert_at(struct page_allocator *pa, unsigned i, u64 base, u64 end)
{
    if (pa->count == PAGEALLOC_MAX_RANGES)
        return false;
    memmove(&pa->free[i + 1], &pa->free[i], (pa->count - i) * sizeof(pa->free[0]));
    pa->free[i] = (struct page_range){base, end};
    pa->count++;
    return true;
}

static void remove_at(struct page_allocator *pa, unsigned i)
{
    memmove(&pa->free[i], &pa->free[i + 1], (pa->count - i - 1) * sizeof(pa->free[0]));
    pa->count--;
}

/* Inserts a free range that overlaps nothing already free, merging with
 * neighbours. */
static bool insert_free(struct page_allocator *pa, u64 base, u64 end)
{
    unsigned i = 0;
    while (i < pa->count && pa->free[i].base < base)
        i++;
    bool join_prev = i > 0 && pa->free[i - 1].end == base;
    bool join_next = i < pa->count && pa->free[i].base == end;
    if (join_prev && join_next) {
        pa->free[i - 1].end = pa->free[i].end;
        remove_at(pa, i);
    } else if (join_prev) {
        pa->free[i - 1].end = end;
    } else if (join_next) {
        pa->free[i].base = base;
    } else if (!insert_at(pa, i, base, end)) {
        return false;
    }
    pa->free_bytes += end - base;
    return true;
}

static bool overlaps_free(const struct page_allocator *pa, u64 base, u64 end)
{
    for (unsigned i = 0; i < pa->count; i++)
        if (pa->free[i].base < end && base < pa->free[i].end)
            return true;
    return false;
}

bool pagealloc_add(struct page_allocator *pa, u64 base, u64 size)
{
    u64 end = ALIGN_DOWN(base + size, PAGE_SIZE);
    base = ALIGN_UP(base, PAGE_SIZE);
    if (base == 0)
        base = PAGE_SIZE; /* 0 means "no memory" to callers */
    if (end <= base)
        return true;
    pagealloc_reserve(pa, base, end - base); /* adding twice must not double count */
    if (!insert_free(pa, base, end))
        return false;
    pa->managed_bytes += end - base;
    return true;
}

void pagealloc_reserve(struct page_allocator *pa, u64 base, u64 size)
{
    u64 end = ALIGN_UP(base + size, PAGE_SIZE);
    base = ALIGN_DOWN(base, PAGE_SIZE);
    for (unsigned i = 0; i < pa->count;) {
        struct page_range *r = &pa->free[i];
        if (r->end <= base || end <= r->base) {
            i++;
            continue;
        }
        u64 cut_base = MAX(r->base, base), cut_end = MIN(r->end, end);
        pa->free_bytes -= cut_end - cut_base;
        if (cut_base > r->base && cut_end < r->end) {
            u64 tail_end = r->end;
            r->end = cut_base;
            if (!insert_at(pa, i + 1, cut_end, tail_end))
                pa->free_bytes -= tail_end - cut_end; /* table full: the tail is lost */
            return;
        }
        if (cut_base > r->base) {
            r->end = cut_base;
            i++;
        } else if (cut_end < r->end) {
            r->base = cut_end;
            i++;
        } else {
            remove_at(pa, i);
        }
    }
}

u64 pagealloc_alloc(struct page_allocator *pa, u64 size, u64 align)
{
    size = ALIGN_UP(size, PAGE_SIZE);
    if (align < PAGE_SIZE)
        align = PAGE_SIZE;
    if (size == 0 || (align & (align - 1)))
        return 0;
    for (unsigned i = 0; i < pa->count; i++) {
        u64 base = ALIGN_UP(pa->free[i].base, align);
        if (base >= pa->free[i].base && base + size > base && base + size <= pa->free[i].end) {
            pagealloc_reserve(pa, base, size);
            return base;
        }
    }
    return 0;
}

bool pagealloc_free(struct page_allocator *pa, u64 base, u64 size)
{
    size = ALIGN_UP(size, PAGE_SIZE);
    if (!size || !IS_ALIGNED(base, PAGE_SIZE) || overlaps_free(pa, base, base + size))
        return false; /* a double free or a bad pointer: refuse rather than corrupt */
    return insert_free(pa, base, base + size);
}

u64 pagealloc_largest(const struct page_allocator *pa, u64 align)
{
    u64 best = 0;
    for (unsigned i = 0; i < pa->count; i++) {
        u64 base = ALIGN_UP(pa->free[i].base, align);
        if (base < pa->free[i].end && pa->free[i].end - base > best)
            best = pa->free[i].end - base;
    }
    return best;
}
