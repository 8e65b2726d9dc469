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

static bool in_range(const struct block_device *dev, u64 lba, u64 count)
{
    return lba < dev->sectors && count <= dev->sectors - lba;
}

static bool dev_io(struct block_device *dev, u64 lba, u64 count, u8 *buf, bool write)
{
    if (!in_range(dev, lba, count))
        return false;
    bool ok = true;
    spin_lock(&dev->lock);
    while (ok && count) {
        u32 n = (u32)MIN(count, (u64)BLOCK_MAX_REQUEST);
        ok = write ? dev->driver->write(dev, lba, n, buf) : dev->driver->read(dev, lba, n, buf);
        lba += n;
        count -= n;
        buf += (u64)n * BLOCK_SECTOR;
    }
    if (ok)
        write ? dev->writes++ : dev->reads++;
    else
        dev->errors++;
    spin_unlock(&dev->lock);
    return ok;
}

bool block_dev_read(struct block_device *dev, u64 lba, u64 count, void *buf) { return dev_io(dev, lba, count, buf, false); }

bool block_dev_write(struct block_device *dev, u64 lba, u64 count, const void *buf)
{
    return dev_io(dev, lba, count, (u8 *)buf, true);
}

bool block_dev_flush(struct block_device *dev)
{
    spin_lock(&dev->lock);
    bool ok = dev->driver->flush(dev);
    ok ? dev->flushes++ : dev->errors++;
    spin_unlock(&dev->lock);
    return ok;
}

/* A store request becomes one device request per extent it touches. */
static bool store_io(struct block_store *s, u64 lba, u32 count, u8 *buf, bool write)
{
    if (lba >= s->sectors || count > s->sectors - lba || (write && s->read_only))
        return false;
    while (count) {
        u64 dev_lba, run;
        if (!fat_file_map(&s->file, lba, &dev_lba, &run))
            return false;
        u32 n = (u32)MIN((u64)count, run);
        if (!(write ? block_dev_write(s->dev, dev_lba, n, buf) : block_dev_read(s->dev, dev_lba, n, buf)))
            return false;
        lba += n;
        count -= n;
        buf += (u64)n * BLOCK_SECTOR;
    }
    return true;
}

bool block_store_read(struct block_store *s, u64 lba, u32 count, void *buf) { return store_io(s, lba, count, buf, false); }

bool block_store_write(struct block_store *s, u64 lba, u32 count, const void *buf)
{
    return store_io(s, lba, count, (u8 *)buf, true);
}

bool block_store_flush(struct block_store *s) { return block_dev_flush(s->dev); }
