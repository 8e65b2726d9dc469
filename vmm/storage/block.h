/* The block layer: what a guest-facing disk (the IDE device; the PVH
 * block backend still serves a RAM copy, docs/storage.md) reads and
 * writes through. A block device is a host disk a driver found (ahci.c,
 * nvme.c); a store is what a guest disk is backed by: a file's sectors on
 * a block device (a FAT file, storage.c) or a partition.
 *
 * Requests are asynchronous. A caller submits a struct block_request it
 * owns (block_submit) and later asks whether it has ended (block_poll);
 * nothing waits inside. Each device keeps a FIFO queue of the requests
 * submitted to it and has one driver command in flight at a time: a poll
 * of any request on a device asks the driver whether that command ended
 * (driver->check) and, if it did, issues the next piece or request. So
 * whoever polls (a guest disk's timer, on the CPU of the vCPU that
 * submitted) moves every request of the device forward. The queue is
 * bounded by construction: a request is owned by one store (one guest
 * disk, which has one command outstanding, as an IDE device does), so a
 * device's queue never holds more requests than stores are open on it.
 *
 * Promises (docs/storage.md): a write request is DONE only once the
 * device acknowledged every sector of it; a flush request is DONE only
 * once the device completed its flush, and it is issued only after every
 * request queued before it ended (one command in flight, FIFO). A device
 * error or a command that outlives its timeout makes the request FAILED,
 * never a wait without end.
 *
 * Drivers (the interface changed from read/write/flush calls that waited
 * for the device to issue/check pairs; a driver written to the old
 * synchronous shape with separate issue and check steps fits by dropping
 * its wait loop): */
#ifndef ZAZEN_STORAGE_BLOCK_H
#define ZAZEN_STORAGE_BLOCK_H

#include "../lock.h"
#include "../types.h"
#include "fat.h"

#define BLOCK_SECTOR 512
#define BLOCK_MAX_DEVICES 8
#define BLOCK_MAX_REQUEST (64 * 1024 / BLOCK_SECTOR) /* sectors per driver command */

enum block_op { BLOCK_READ, BLOCK_WRITE, BLOCK_FLUSH };
enum block_status { BLOCK_PENDING, BLOCK_DONE, BLOCK_FAILED };

struct block_device;

struct block_driver {
    /* Starts one command and returns at once (no wait for the device).
     * Called only when no command of this device is in flight. For READ
     * and WRITE: count <= BLOCK_MAX_REQUEST, lba + count within the
     * device, buf identity mapped, 2-byte aligned, untouched by the caller
     * until the command ended. FLUSH: lba, count and buf are 0. False: the
     * command could not be started (the driver said why on the console). */
    bool (*issue)(struct block_device *dev, enum block_op op, u64 lba, u32 count, void *buf);
    /* Has the command in flight ended? Never waits. DONE: the device
     * reported success (for a write: it has the data; for a flush: its
     * cache is on the medium). FAILED: a device error, or the command's
     * timeout passed; the driver has said so on the console and recovered
     * the device, which takes the next command. */
    enum block_status (*check)(struct block_device *dev);
};

struct block_request;

struct block_device {
    const struct block_driver *driver;
    void *priv;
    u64 sectors;
    char name[48];  /* "ahci 00:1f.2 port 0", for messages */
    char model[41]; /* IDENTIFY's model string */
    struct spinlock lock; /* the queue and the driver */
    struct block_request *head, *tail; /* the queue, oldest first; head's piece may be in flight */
    bool in_flight;                    /* a driver command was issued and has not been seen to end */
    u64 reads, writes, flushes, errors;
    u64 polls;    /* polls (block_poll, block_submit) that found a command still running; not the sync forms' */
    u32 depth, max_depth; /* requests queued now, and the most seen */
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

/* One request; its owner keeps it (and buf) alive and untouched while it
 * is PENDING. The fields after status are the block layer's. */
struct block_request {
    enum block_status status;
    enum block_op op;
    struct block_device *dev;
    struct block_store *store; /* NULL: lba counts the device's sectors */
    u64 lba;                   /* the next sector to issue, of the store or device */
    u32 left;                  /* sectors still to issue */
    u32 piece;                 /* sectors of the driver command in flight */
    u8 *buf;
    bool queued;
    struct block_request *next;
};

/* Drivers add the disks they find. */
struct block_device *block_device_add(const struct block_driver *driver, void *priv, u64 sectors, const char *name,
                                      const char *model);
unsigned block_device_count(void);
struct block_device *block_device_get(unsigned i);

/* Queues r: count sectors from lba of store s (or of dev when s is NULL),
 * any count (split into driver commands of at most BLOCK_MAX_REQUEST
 * sectors and at extent boundaries). Checked first against the store's
 * size and read-only flag and the device's size: false (and r untouched)
 * for a request out of range, a write to a read-only store, or an r that
 * is still queued. Otherwise r is PENDING and the device may already be
 * working on it. */
bool block_submit(struct block_request *r, struct block_device *dev, struct block_store *s, enum block_op op, u64 lba,
                  u32 count, void *buf);
/* Moves the device's queue forward (never waits) and says where r is. A
 * request that was never submitted reads as its last status. */
enum block_status block_poll(struct block_request *r);

/* Synchronous forms, for boot (no vCPU runs yet) and the unit tests:
 * submit and poll until the request ends. */
bool block_dev_read(struct block_device *dev, u64 lba, u64 count, void *buf);
bool block_dev_write(struct block_device *dev, u64 lba, u64 count, const void *buf);
bool block_dev_flush(struct block_device *dev);
bool block_store_read(struct block_store *s, u64 lba, u32 count, void *buf);
bool block_store_write(struct block_store *s, u64 lba, u32 count, const void *buf);
bool block_store_flush(struct block_store *s);

#endif
