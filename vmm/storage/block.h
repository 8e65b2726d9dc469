/* The block layer: what a guest-facing disk (the IDE device now, the PVH
 * block backend later) reads and writes through. A block device is a host
 * disk a driver found (ahci.c); a store is what a guest disk is backed by:
 * a file's sectors on a block device (a FAT file, storage.c) or RAM.
 *
 * Every request is checked against the store's size before it reaches a
 * driver. Requests are carried out synchronously, one at a time per
 * device (its lock is the queue: depth 1): the call returns once the
 * device has acknowledged the write or flushed its cache, so a guest is
 * never told a write is done before the device said so (docs/storage.md). */
#ifndef ZAZEN_STORAGE_BLOCK_H
#define ZAZEN_STORAGE_BLOCK_H

#include "../lock.h"
#include "../types.h"
#include "fat.h"

#define BLOCK_SECTOR 512
#define BLOCK_MAX_DEVICES 8
#define BLOCK_MAX_REQUEST (64 * 1024 / BLOCK_SECTOR) /* sectors per driver request */

struct block_device;

struct block_driver {
    /* count <= BLOCK_MAX_REQUEST; lba + count within the device; buf
     * identity mapped, 2-byte aligned. True once the device reported
     * success. */
    bool (*read)(struct block_device *dev, u64 lba, u32 count, void *buf);
    bool (*write)(struct block_device *dev, u64 lba, u32 count, const void *buf);
    bool (*flush)(struct block_device *dev);
};

struct block_device {
    const struct block_driver *driver;
    void *priv;
    u64 sectors;
    char name[48];  /* "ahci 00:1f.2 port 0", for messages */
    char model[41]; /* IDENTIFY's model string */
    struct spinlock lock; /* one request at a time */
    u64 reads, writes, flushes, errors;
};

/* A guest disk's backing store: a FAT file's sectors on a device. */
struct block_store {
    struct block_device *dev;
    struct fat_file file;
    u64 sectors; /* the file's */
    bool read_only;
    bool in_use;       /* a writable use holds it */
    const char *owner; /* the config key and file that opened it, for messages */
};

/* Drivers add the disks they find. */
struct block_device *block_device_add(const struct block_driver *driver, void *priv, u64 sectors, const char *name,
                                      const char *model);
unsigned block_device_count(void);
struct block_device *block_device_get(unsigned i);

/* Device-level I/O: any count (split into driver-sized requests), range
 * checked, under the device's lock. */
bool block_dev_read(struct block_device *dev, u64 lba, u64 count, void *buf);
bool block_dev_write(struct block_device *dev, u64 lba, u64 count, const void *buf);
bool block_dev_flush(struct block_device *dev);

/* Store-level I/O: sectors of the store, mapped through its extents. */
bool block_store_read(struct block_store *s, u64 lba, u32 count, void *buf);
bool block_store_write(struct block_store *s, u64 lba, u32 count, const void *buf);
bool block_store_flush(struct block_store *s);

#endif
