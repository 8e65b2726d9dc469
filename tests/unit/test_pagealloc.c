/* The physical range allocator. */
/* unit-sources: vmm/pagealloc.c vmm/string.c */
#include "unit.h"
#include "../../vmm/pagealloc.h"

static struct page_allocator pa;

TEST(pagealloc_add_and_alloc_lowest_first)
{
    pagealloc_init(&pa);
    CHECK(pagealloc_add(&pa, 0x200000, 0x100000));
    CHECK(pagealloc_add(&pa, 0x100000, 0x10000));
    CHECK_EQ(pa.free_bytes, 0x110000);
    CHECK_EQ(pagealloc_alloc(&pa, 4096, 4096), 0x100000);
    CHECK_EQ(pagealloc_alloc(&pa, 4096, 4096), 0x101000);
    CHECK_EQ(pa.free_bytes, 0x110000 - 0x2000);
}

TEST(pagealloc_alignment)
{
    pagealloc_init(&pa);
    CHECK(pagealloc_add(&pa, 0x101000, 0x600000));
    u64 big = pagealloc_alloc(&pa, 0x200000, 0x200000);
    CHECK_EQ(big, 0x200000);
    /* the part below the aligned block stays free */
    CHECK_EQ(pagealloc_alloc(&pa, 4096, 4096), 0x101000);
    CHECK_EQ(pagealloc_alloc(&pa, 0x1000, 0x3000), 0); /* not a power of two */
}

TEST(pagealloc_unaligned_ranges_shrink_inwards)
{
    pagealloc_init(&pa);
    CHECK(pagealloc_add(&pa, 0x1800, 0x2000)); /* covers only the page 0x2000-0x3000 */
    CHECK_EQ(pa.free_bytes, 0x1000);
    CHECK(pagealloc_add(&pa, 0, 0x1000)); /* page 0 is never handed out */
    CHECK_EQ(pa.free_bytes, 0x1000);
}

TEST(pagealloc_free_coalesces)
{
    pagealloc_init(&pa);
    CHECK(pagealloc_add(&pa, 0x100000, 0x4000));
    u64 a = pagealloc_alloc(&pa, 0x1000, 0), b = pagealloc_alloc(&pa, 0x1000, 0), c = pagealloc_alloc(&pa, 0x1000, 0);
    CHECK(pagealloc_free(&pa, a, 0x1000));
    CHECK(pagealloc_free(&pa, c, 0x1000));
    CHECK_EQ(pa.count, 2);
    CHECK(pagealloc_free(&pa, b, 0x1000));
    CHECK_EQ(pa.count, 1);
    CHECK_EQ(pagealloc_largest(&pa, 0x1000), 0x4000);
}

TEST(pagealloc_refuses_double_free)
{
    pagealloc_init(&pa);
    CHECK(pagealloc_add(&pa, 0x100000, 0x4000));
    u64 a = pagealloc_alloc(&pa, 0x2000, 0);
    CHECK(pagealloc_free(&pa, a, 0x2000));
    CHECK(!pagealloc_free(&pa, a, 0x1000));
    CHECK(!pagealloc_free(&pa, 0x100800, 0x1000)); /* unaligned */
    CHECK_EQ(pa.free_bytes, 0x4000);
}

TEST(pagealloc_reserve_splits)
{
    pagealloc_init(&pa);
    CHECK(pagealloc_add(&pa, 0x100000, 0x10000));
    pagealloc_reserve(&pa, 0x104000, 0x2000);
    CHECK_EQ(pa.count, 2);
    CHECK_EQ(pa.free_bytes, 0xe000);
    CHECK_EQ(pagealloc_alloc(&pa, 0x5000, 0), 0x106000); /* the low piece is 0x4000 long */
    pagealloc_reserve(&pa, 0x0, 0x200000);
    CHECK_EQ(pa.free_bytes, 0);
    CHECK_EQ(pagealloc_alloc(&pa, 0x1000, 0), 0);
}

TEST(pagealloc_add_twice_counts_once)
{
    pagealloc_init(&pa);
    CHECK(pagealloc_add(&pa, 0x100000, 0x4000));
    CHECK(pagealloc_add(&pa, 0x102000, 0x4000));
    CHECK_EQ(pa.free_bytes, 0x6000);
    CHECK_EQ(pa.count, 1);
}

TEST(pagealloc_out_of_memory)
{
    pagealloc_init(&pa);
    CHECK(pagealloc_add(&pa, 0x100000, 0x3000));
    CHECK_EQ(pagealloc_alloc(&pa, 0x4000, 0), 0);
    CHECK_EQ(pagealloc_alloc(&pa, 0x3000, 0), 0x100000);
    CHECK_EQ(pagealloc_alloc(&pa, 0x1000, 0), 0);
}

TEST(pagealloc_table_full)
{
    pagealloc_init(&pa);
    for (u64 i = 0; i < PAGEALLOC_MAX_RANGES; i++)
        CHECK(pagealloc_add(&pa, 0x100000 + i * 0x2000, 0x1000));
    CHECK(!pagealloc_add(&pa, 0x10000000, 0x1000));
    CHECK_EQ(pa.count, PAGEALLOC_MAX_RANGES);
}
