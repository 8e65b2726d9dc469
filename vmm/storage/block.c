/* The block layer (block.h). */
#include "block.h"
#include "../string.h"

static struct block_device devices[BLOCK_MAX_DEVICES];
static unsigned device_count;

struct block_device *block_device_add(const struct block_driver *driver, void *priv, u64 sectors, const char *name,
                                      const char *model)
{
    if (device_count == BLOCK_MAX_DEVICES)
        return NULL;
    struct block_device *d = &devices[device_count++];
    d->driver = driver;
    d->priv = priv;
    d->sectors = sectors;
    strlcpy(d->name, name, sizeof(d->name));
    strlcpy(d->model, model, sizeof(d->model));
    spin_init(&d->lock, "block device");
    return d;
}

unsigned block_device_count(void) { return device_count; }

struct block_device *block_device_get(unsigned i) { return i < device_count ? &devices[i] : NULL; }

static bool in_range(u64 sectors, u64 lba, u64 count) { return lba < sectors && count <= sectors - lba; }

/* ---- the queue (device lock held) ---- */

static void enqueue(struct block_device *dev, struct block_request *r)
{
    r->next = NULL;
    r->queued = true;
    if (dev->tail)
        dev->tail->next = r;
    else
        dev->head = r;
    dev->tail = r;
    if (++dev->depth > dev->max_depth)
        dev->max_depth = dev->depth;
}

/* The head request ended: its status is final, the next one's turn. */
static void finish_head(struct block_device *dev, enum block_status status)
{
    struct block_request *r = dev->head;
    dev->head = r->next;
    if (!dev->head)
        dev->tail = NULL;
    dev->depth--;
    r->next = NULL;
    r->queued = false;
    if (status == BLOCK_DONE)
        r->op == BLOCK_READ ? dev->reads++ : r->op == BLOCK_WRITE ? dev->writes++ : dev->flushes++;
    else
        dev->errors++;
    /* Last: the owner may reuse r once it reads an end status (another CPU
     * polls only under this lock, but the release orders it anyway). */
    __atomic_store_n(&r->status, status, __ATOMIC_RELEASE);
}

/* Issues the head request's next driver command: a flush, or the longest
 * run of sectors that stays inside one extent and one driver command. */
static bool issue_piece(struct block_device *dev, struct block_request *r)
{
    if (r->op == BLOCK_FLUSH) {
        r->piece = 0;
        return dev->driver->issue(dev, BLOCK_FLUSH, 0, 0, NULL);
    }
    u64 dev_lba = r->lba, run = r->left;
    if (r->store && !fat_file_map(&r->store->file, r->lba, &dev_lba, &run))
        return false;
    u32 n = (u32)MIN(MIN((u64)r->left, run), (u64)BLOCK_MAX_REQUEST);
    if (!n || !in_range(dev->sectors, dev_lba, n))
        return false;
    r->piece = n;
    return dev->driver->issue(dev, r->op, dev_lba, n, r->buf);
}

/* The head's command in flight ended. */
static void piece_ended(struct block_device *dev, enum block_status st)
{
    struct block_request *r = dev->head;
    if (st != BLOCK_DONE) {
        finish_head(dev, BLOCK_FAILED);
        return;
    }
    r->lba += r->piece;
    r->left -= r->piece;
    r->buf += (u64)r->piece * BLOCK_SECTOR;
    if (r->op == BLOCK_FLUSH || r->left == 0)
        finish_head(dev, BLOCK_DONE);
}

/* Moves the queue as far as it goes without waiting: reaps the command in
 * flight if it ended, and issues the next one. count: a look that finds
 * the command running is counted (not the boot-time waits' spinning). */
static void advance(struct block_device *dev, bool count)
{
    for (;;) {
        if (dev->in_flight) {
            enum block_status st = dev->driver->check(dev);
            if (st == BLOCK_PENDING) {
                dev->polls += count;
                return;
            }
            dev->in_flight = false;
            piece_ended(dev, st);
        }
        if (!dev->head)
            return;
        if (!issue_piece(dev, dev->head)) {
            finish_head(dev, BLOCK_FAILED);
            continue;
        }
        dev->in_flight = true;
        return; /* just issued: the next poll looks */
    }
}

bool block_submit(struct block_request *r, struct block_device *dev, struct block_store *s, enum block_op op, u64 lba,
                  u32 count, void *buf)
{
    if (op != BLOCK_FLUSH) {
        if (s && (!in_range(s->sectors, lba, count) || (op == BLOCK_WRITE && s->read_only)))
            return false;
        if (!s && !in_range(dev->sectors, lba, count))
            return false;
    }
    spin_lock(&dev->lock);
    if (r->queued) {
        spin_unlock(&dev->lock);
        return false;
    }
    if (op != BLOCK_FLUSH && count == 0) { /* nothing to move: done at once, as the device would say */
        *r = (struct block_request){.status = BLOCK_DONE, .op = op};
        spin_unlock(&dev->lock);
        return true;
    }
    *r = (struct block_request){.status = BLOCK_PENDING, .op = op, .dev = dev, .store = s, .lba = lba,
                                .left = op == BLOCK_FLUSH ? 0 : count, .buf = buf};
    enqueue(dev, r);
    advance(dev, true);
    spin_unlock(&dev->lock);
    return true;
}

static enum block_status poll(struct block_request *r, bool count)
{
    enum block_status st = __atomic_load_n(&r->status, __ATOMIC_ACQUIRE);
    if (st != BLOCK_PENDING || !r->dev)
        return st;
    spin_lock(&r->dev->lock);
    advance(r->dev, count);
    st = r->status;
    spin_unlock(&r->dev->lock);
    return st;
}

enum block_status block_poll(struct block_request *r) { return poll(r, true); }

/* ---- synchronous forms ---- */

static bool wait_for(struct block_request *r)
{
    enum block_status st;
    while ((st = poll(r, false)) == BLOCK_PENDING)
        __asm__ volatile("pause");
    return st == BLOCK_DONE;
}

static bool sync_io(struct block_device *dev, struct block_store *s, enum block_op op, u64 lba, u32 count, void *buf)
{
    struct block_request r = {0};
    return block_submit(&r, dev, s, op, lba, count, buf) && wait_for(&r);
}

static bool dev_io(struct block_device *dev, u64 lba, u64 count, u8 *buf, enum block_op op)
{
    if (!in_range(dev->sectors, lba, count))
        return false;
    while (count) {
        u32 n = (u32)MIN(count, (u64)0x10000);
        if (!sync_io(dev, NULL, op, lba, n, buf))
            return false;
        lba += n;
        count -= n;
        buf += (u64)n * BLOCK_SECTOR;
    }
    return true;
}

bool block_dev_read(struct block_device *dev, u64 lba, u64 count, void *buf) { return dev_io(dev, lba, count, buf, BLOCK_READ); }

bool block_dev_write(struct block_device *dev, u64 lba, u64 count, const void *buf)
{
    return dev_io(dev, lba, count, (u8 *)buf, BLOCK_WRITE);
}

bool block_dev_flush(struct block_device *dev) { return sync_io(dev, NULL, BLOCK_FLUSH, 0, 0, NULL); }

bool block_store_read(struct block_store *s, u64 lba, u32 count, void *buf)
{
    return sync_io(s->dev, s, BLOCK_READ, lba, count, buf);
}

bool block_store_write(struct block_store *s, u64 lba, u32 count, const void *buf)
{
    return sync_io(s->dev, s, BLOCK_WRITE, lba, count, (void *)buf);
}

bool block_store_flush(struct block_store *s) { return sync_io(s->dev, s, BLOCK_FLUSH, 0, 0, NULL); }
