/* unit-sources: vmm/storage/block.c vmm/storage/fat.c vmm/string.c vmm/format.c */
/* The block layer (vmm/storage/block.c): a store's requests are checked
 * against its size and its read-only flag before any reaches the driver,
 * mapped through the file's extents, and split into driver requests of
 * at most BLOCK_MAX_REQUEST sectors; failures and flushes come back. */
#include "unit.h"
#include "../../vmm/storage/block.h"

#define DEV_SECTORS 4096

static u8 media[DEV_SECTORS * BLOCK_SECTOR];
static struct {
    unsigned calls, flushes;
    u64 lba[64];
    u32 count[64];
    bool fail;
} drv;

static bool note(u64 lba, u32 count)
{
    if (drv.calls < 64) {
        drv.lba[drv.calls] = lba;
        drv.count[drv.calls] = count;
    }
    drv.calls++;
    return !drv.fail && count <= BLOCK_MAX_REQUEST && lba + count <= DEV_SECTORS;
}

static bool d_read(struct block_device *dev, u64 lba, u32 count, void *buf)
{
    (void)dev;
    if (!note(lba, count))
        return false;
    memcpy(buf, media + lba * BLOCK_SECTOR, (size_t)count * BLOCK_SECTOR);
    return true;
}

static bool d_write(struct block_device *dev, u64 lba, u32 count, const void *buf)
{
    (void)dev;
    if (!note(lba, count))
        return false;
    memcpy(media + lba * BLOCK_SECTOR, buf, (size_t)count * BLOCK_SECTOR);
    return true;
}

static bool d_flush(struct block_device *dev)
{
    (void)dev;
    drv.flushes++;
    return !drv.fail;
}

static const struct block_driver driver = {d_read, d_write, d_flush};
static struct block_device *dev;
static struct block_store store;
static u8 buf[300 * BLOCK_SECTOR];

static void setup(bool read_only)
{
    memset(&drv, 0, sizeof(drv));
    for (unsigned s = 0; s < DEV_SECTORS; s++)
        memset(media + s * BLOCK_SECTOR, (int)(s & 0xFF), BLOCK_SECTOR);
    if (!dev)
        dev = block_device_add(&driver, NULL, DEV_SECTORS, "test", "TEST DISK");
    /* a file of 35 sectors in three pieces: 100-109, 500-519, 50-54 */
    store = (struct block_store){.dev = dev, .sectors = 35, .read_only = read_only};
    store.file.size = 35 * BLOCK_SECTOR;
    store.file.extent_count = 3;
    store.file.extents[0] = (struct fat_extent){100, 10};
    store.file.extents[1] = (struct fat_extent){500, 20};
    store.file.extents[2] = (struct fat_extent){50, 5};
}

TEST(block_store_maps_through_extents)
{
    setup(false);
    CHECK(block_store_read(&store, 0, 35, buf));
    CHECK_EQ(drv.calls, 3);
    CHECK_EQ(drv.lba[0], 100);
    CHECK_EQ(drv.count[0], 10);
    CHECK_EQ(drv.lba[1], 500);
    CHECK_EQ(drv.count[1], 20);
    CHECK_EQ(drv.lba[2], 50);
    CHECK_EQ(drv.count[2], 5);
    CHECK_EQ(buf[9 * BLOCK_SECTOR], 109);
    CHECK_EQ(buf[10 * BLOCK_SECTOR], 500 & 0xFF);
    CHECK_EQ(buf[34 * BLOCK_SECTOR + 511], 54);
    /* a write inside the second piece lands there alone */
    memset(buf, 0xAB, BLOCK_SECTOR * 2);
    drv.calls = 0;
    CHECK(block_store_write(&store, 12, 2, buf));
    CHECK_EQ(drv.calls, 1);
    CHECK_EQ(drv.lba[0], 502);
    CHECK_EQ(media[502 * BLOCK_SECTOR], 0xAB);
    CHECK_EQ(media[504 * BLOCK_SECTOR], 504 & 0xFF);
}

TEST(block_store_checks_before_the_driver)
{
    setup(true);
    CHECK(!block_store_read(&store, 35, 1, buf));  /* past the end */
    CHECK(!block_store_read(&store, 30, 6, buf));  /* runs past the end */
    CHECK(!block_store_read(&store, ~0ull, 2, buf)); /* wraps */
    CHECK(!block_store_write(&store, 0, 1, buf));  /* read-only */
    CHECK_EQ(drv.calls, 0);
    CHECK(block_store_read(&store, 34, 1, buf));
    CHECK_EQ(drv.calls, 1);
}

TEST(block_device_splits_and_reports_failures)
{
    setup(false);
    CHECK(block_dev_read(dev, 1000, 300, buf)); /* 128 + 128 + 44 */
    CHECK_EQ(drv.calls, 3);
    CHECK_EQ(drv.count[0], BLOCK_MAX_REQUEST);
    CHECK_EQ(drv.lba[2], 1000 + 2 * BLOCK_MAX_REQUEST);
    CHECK_EQ(drv.count[2], 300 - 2 * BLOCK_MAX_REQUEST);
    CHECK(!block_dev_read(dev, DEV_SECTORS - 1, 2, buf));
    CHECK_EQ(drv.calls, 3);
    u64 errors = dev->errors;
    drv.fail = true;
    CHECK(!block_store_write(&store, 0, 1, buf));
    CHECK(!block_store_flush(&store));
    CHECK_EQ(dev->errors, errors + 2);
    drv.fail = false;
    CHECK(block_store_flush(&store));
    CHECK_EQ(drv.flushes, 2);
}
