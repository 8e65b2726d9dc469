/* The copy-on-write overlay of a ,volatile disk that lives in place
 * (docs/storage.md): the guest's writes are kept in RAM, sector by sector,
 * and laid over what is read from the file on disk; the file itself is
 * never written, and the changes are gone when Zazen ends. Only written
 * sectors take memory, up to a budget: a write that would go beyond it
 * fails whole (nothing of it is kept) and the guest gets an I/O error.
 * Pure (memory comes from the caller's allocator), so the host unit
 * tests drive it. */
#ifndef ZAZEN_STORAGE_OVERLAY_H
#define ZAZEN_STORAGE_OVERLAY_H

#include "../types.h"

#define OVERLAY_SECTOR 512
#define OVERLAY_CHUNK_SECTORS 128 /* the pool grows by 64 KiB at a time */
#define OVERLAY_BUDGET_BYTES (32ull << 20)
#define OVERLAY_MAX_SECTORS ((u32)(OVERLAY_BUDGET_BYTES / OVERLAY_SECTOR))

struct overlay {
    void *(*alloc)(u64 bytes); /* zeroed memory, or NULL */
    u32 budget;                /* sectors at most */
    u32 used;                  /* sectors held */
    u32 capacity;              /* hash slots: a power of two, twice the budget */
    u64 *keys;                 /* sector + 1 per slot; 0: empty */
    u32 *index;                /* where the slot's sector is in the pool */
    u8 **chunks;               /* budget / OVERLAY_CHUNK_SECTORS pointers, allocated as needed */
};

/* Sets up an empty overlay of at most budget sectors (a multiple of
 * OVERLAY_CHUNK_SECTORS); its index is allocated now, its data as the
 * guest writes. False: no memory for the index. */
bool overlay_init(struct overlay *o, u32 budget, void *(*alloc)(u64 bytes));

/* Keeps count sectors from lba. False (and the overlay unchanged): the
 * new sectors would pass the budget, or no memory is left. */
bool overlay_write(struct overlay *o, u64 lba, u32 count, const void *buf);

/* Lays the kept sectors of [lba, lba + count) over buf, which holds what
 * the disk has there. */
void overlay_read(const struct overlay *o, u64 lba, u32 count, void *buf);

#endif
