/* unit-sources: vmm/storage/block.c vmm/storage/fat.c vmm/string.c vmm/format.c */
/* The block layer (vmm/storage/block.c): a store's requests are checked
 * against its size and its read-only flag before any reaches the driver,
 * mapped through the file's extents, and split into driver requests of
 * at most BLOCK_MAX_REQUEST sectors; failures and flushes come back. */
#include "unit.h"
#include "../../vmm/storage/block.h"

#define DEV_SECTORS 4096

static u8 media[DEV_SECTORS * BLOCK_SECTOR];
/* The fake device takes one command at a time (issue) and ends it on the
 * (busy_checks + 1)th check; only then does the data move, as a disk's
 * DMA would have by its completion. */
static struct {
    unsigned calls, flushes, checks;
    u64 lba[64];
    u32 count[64];
    enum block_op op[64];
    bool fail, in_flight;
    unsigned busy_checks, busy_left, violations;
    enum block_op cur_op;
    u64 cur_lba;
    u32 cur_count;
    void *cur_buf;
} drv;

static bool d_issue(struct block_device *dev, enum block_op op, u64 lba, u32 count, void *b)
{
    (void)dev;
    if (drv.in_flight) /* one command at a time */
        drv.violations++;
    if (drv.calls < 64) {
        drv.lba[drv.calls] = lba;
        drv.count[drv.calls] = count;
        drv.op[drv.calls] = op;
    }
    drv.calls++;
    if (op != BLOCK_FLUSH && (count > BLOCK_MAX_REQUEST || lba + count > DEV_SECTORS))
        return false;
    drv.in_flight = true;
    drv.busy_left = drv.busy_checks;
    drv.cur_op = op, drv.cur_lba = lba, drv.cur_count = count, drv.cur_buf = b;
    return true;
}

static enum block_status d_check(struct block_device *dev)
{
    (void)dev;
    drv.checks++;
    if (!drv.in_flight)
        drv.violations++;
    if (drv.busy_left) {
        drv.busy_left--;
        return BLOCK_PENDING;
    }
    drv.in_flight = false;
    if (drv.fail)
        return BLOCK_FAILED;
    size_t bytes = (size_t)drv.cur_count * BLOCK_SECTOR;
    if (drv.cur_op == BLOCK_READ)
        memcpy(drv.cur_buf, media + drv.cur_lba * BLOCK_SECTOR, bytes);
    else if (drv.cur_op == BLOCK_WRITE)
        memcpy(media + drv.cur_lba * BLOCK_SECTOR, drv.cur_buf, bytes);
    else
        drv.flushes++;
    return BLOCK_DONE;
}

static const struct block_driver driver = {d_issue, d_check};
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
    CHECK_EQ(drv.calls, 6); /* the write and both flushes reached the driver */
    CHECK_EQ(drv.op[4], BLOCK_FLUSH);
    CHECK_EQ(drv.op[5], BLOCK_FLUSH);
    CHECK_EQ(drv.flushes, 1); /* the failed one flushed nothing */
}

TEST(block_requests_complete_asynchronously_in_order)
{
    /* A write, then a flush, queued together: nothing is done before the
     * device said so, the flush is issued only after the write ended, and
     * polling either request moves both. */
    setup(false);
    drv.busy_checks = 2;
    struct block_request w = {0}, f = {0};
    memset(buf, 0x5A, 3 * BLOCK_SECTOR);
    CHECK(block_submit(&w, dev, &store, BLOCK_WRITE, 8, 3, buf)); /* sectors 108-109, then 500 */
    CHECK(block_submit(&f, dev, &store, BLOCK_FLUSH, 0, 0, NULL));
    CHECK_EQ(dev->max_depth, 2);
    CHECK(!block_submit(&w, dev, &store, BLOCK_WRITE, 0, 1, buf)); /* still queued */
    CHECK_EQ(drv.calls, 1); /* the first piece only */
    CHECK_EQ(block_poll(&w), BLOCK_PENDING);
    CHECK_EQ(media[108 * BLOCK_SECTOR], 108); /* not written yet: the device has not ended it */
    CHECK_EQ(block_poll(&f), BLOCK_PENDING);  /* the first piece ends; the second is issued */
    CHECK_EQ(media[108 * BLOCK_SECTOR], 0x5A);
    CHECK_EQ(drv.calls, 2);
    CHECK_EQ(drv.lba[1], 500);
    CHECK_EQ(block_poll(&w), BLOCK_PENDING);
    CHECK_EQ(block_poll(&w), BLOCK_PENDING);
    CHECK_EQ(block_poll(&w), BLOCK_DONE); /* and the flush is issued after it */
    CHECK_EQ(drv.calls, 3);
    CHECK_EQ(drv.op[2], BLOCK_FLUSH);
    CHECK_EQ(drv.flushes, 0);
    CHECK_EQ(block_poll(&f), BLOCK_PENDING);
    CHECK_EQ(block_poll(&f), BLOCK_PENDING);
    CHECK_EQ(block_poll(&f), BLOCK_DONE);
    CHECK_EQ(drv.flushes, 1);
    CHECK_EQ(dev->depth, 0);
    CHECK(!drv.in_flight);
    CHECK_EQ(drv.violations, 0);
}

TEST(block_failed_piece_fails_its_request_and_the_next_goes_on)
{
    setup(false);
    drv.busy_checks = 1;
    struct block_request a = {0}, b = {0};
    CHECK(block_submit(&a, dev, &store, BLOCK_READ, 0, 35, buf));
    CHECK(block_submit(&b, dev, NULL, BLOCK_READ, 7, 1, buf + 100 * BLOCK_SECTOR));
    drv.fail = true; /* b's submit looked once (busy); this look ends a's first piece, failed */
    CHECK_EQ(block_poll(&a), BLOCK_FAILED); /* and the rest of a is not issued */
    CHECK_EQ(drv.calls, 2);                 /* b's command was issued at once */
    CHECK_EQ(drv.lba[1], 7);
    drv.fail = false;
    CHECK_EQ(block_poll(&b), BLOCK_PENDING);
    CHECK_EQ(block_poll(&b), BLOCK_DONE);
    CHECK_EQ(buf[100 * BLOCK_SECTOR], 7);
}
