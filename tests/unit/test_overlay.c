/* unit-sources: vmm/storage/overlay.c vmm/string.c */
/* The copy-on-write overlay of a ,volatile disk (vmm/storage/overlay.c):
 * written sectors read back over the disk's, others read as the disk's;
 * a write past the budget fails whole and changes nothing; memory is
 * taken only as sectors are written. */
#include <stdlib.h>

#include "unit.h"
#include "../../vmm/storage/overlay.h"

static u64 allocated;
static u64 alloc_limit = ~0ull;

static void *blocks[512];
static unsigned block_count;

static void *counting_alloc(u64 bytes)
{
    if (allocated + bytes > alloc_limit || block_count == 512)
        return NULL;
    allocated += bytes;
    return blocks[block_count++] = calloc(1, bytes);
}

/* Each test starts with nothing allocated (what the last one took is freed). */
static void fresh(void)
{
    while (block_count)
        free(blocks[--block_count]);
    allocated = 0;
    alloc_limit = ~0ull;
}

static void fill(u8 *buf, u32 count, u8 value) { memset(buf, value, (size_t)count * OVERLAY_SECTOR); }

TEST(overlay_lays_written_sectors_over_the_disk)
{
    struct overlay o;
    fresh();
    CHECK(overlay_init(&o, 4 * OVERLAY_CHUNK_SECTORS, counting_alloc));
    u64 index_bytes = allocated;
    static u8 w[8 * OVERLAY_SECTOR], r[16 * OVERLAY_SECTOR];
    fill(w, 8, 0xab);
    u64 far = 8388607ull - 8; /* near the end of a 4 GiB disk */
    CHECK(overlay_write(&o, far, 8, w));
    CHECK_EQ(o.used, 8);
    CHECK_EQ(allocated - index_bytes, OVERLAY_CHUNK_SECTORS * OVERLAY_SECTOR); /* one chunk, not the budget */
    fill(r, 16, 0x11);                                                      /* "the disk's" bytes */
    overlay_read(&o, far - 4, 16, r);
    for (u32 i = 0; i < 16; i++)
        CHECK_EQ(r[i * OVERLAY_SECTOR + 7], i >= 4 && i < 12 ? 0xab : 0x11);
    /* Rewriting a sector takes no more room. */
    fill(w, 1, 0xcd);
    CHECK(overlay_write(&o, far + 2, 1, w));
    CHECK_EQ(o.used, 8);
    fill(r, 1, 0);
    overlay_read(&o, far + 2, 1, r);
    CHECK_EQ(r[511], 0xcd);
}

TEST(overlay_write_past_the_budget_fails_whole)
{
    struct overlay o;
    fresh();
    CHECK(overlay_init(&o, OVERLAY_CHUNK_SECTORS, counting_alloc));
    static u8 w[OVERLAY_CHUNK_SECTORS * OVERLAY_SECTOR], r[OVERLAY_SECTOR];
    fill(w, OVERLAY_CHUNK_SECTORS, 1);
    CHECK(overlay_write(&o, 1000, OVERLAY_CHUNK_SECTORS - 2, w)); /* all but two sectors of the budget */
    fill(w, 4, 2);
    CHECK(!overlay_write(&o, 5000, 4, w)); /* 4 new sectors, room for 2 */
    CHECK_EQ(o.used, OVERLAY_CHUNK_SECTORS - 2);
    fill(r, 1, 0x77);
    overlay_read(&o, 5000, 1, r);
    CHECK_EQ(r[0], 0x77); /* nothing of the refused write was kept */
    /* Overwriting sectors it holds still works when full, and new ones up to the budget. */
    CHECK(overlay_write(&o, 1000, 4, w));
    CHECK(overlay_write(&o, 5000, 2, w));
    CHECK_EQ(o.used, OVERLAY_CHUNK_SECTORS);
    CHECK(!overlay_write(&o, 9000, 1, w));
}

TEST(overlay_without_memory_fails_the_write)
{
    struct overlay o;
    fresh();
    CHECK(overlay_init(&o, 2 * OVERLAY_CHUNK_SECTORS, counting_alloc));
    alloc_limit = allocated; /* the host has nothing more to give */
    static u8 w[OVERLAY_SECTOR], r[OVERLAY_SECTOR];
    fill(w, 1, 3);
    CHECK(!overlay_write(&o, 7, 1, w));
    CHECK_EQ(o.used, 0);
    fill(r, 1, 9);
    overlay_read(&o, 7, 1, r);
    CHECK_EQ(r[0], 9);
}

TEST(overlay_many_scattered_sectors)
{
    /* The whole budget in sectors spread over a 4 GiB disk: every one
     * reads back, the neighbours do not. */
    struct overlay o;
    fresh();
    u32 budget = 16 * OVERLAY_CHUNK_SECTORS;
    CHECK(overlay_init(&o, budget, counting_alloc));
    static u8 w[OVERLAY_SECTOR], r[2 * OVERLAY_SECTOR];
    for (u32 i = 0; i < budget; i++) {
        memset(w, 0, sizeof(w));
        memcpy(w, &i, sizeof(i));
        CHECK(overlay_write(&o, (u64)i * 4099, 1, w));
    }
    for (u32 i = 0; i < budget; i++) {
        memset(r, 0xee, sizeof(r));
        overlay_read(&o, (u64)i * 4099, 2, r);
        u32 got;
        memcpy(&got, r, sizeof(got));
        CHECK_EQ(got, i);
        CHECK_EQ(r[OVERLAY_SECTOR], 0xee);
    }
}

TEST(overlay_zz_frees_the_last_test)
{
    fresh(); /* so the leak checker sees nothing left */
    CHECK_EQ(block_count, 0);
}
