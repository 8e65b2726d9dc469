/* The copy-on-write overlay (overlay.h): an open-addressing hash from a
 * sector number to its copy in a pool that grows in 64 KiB chunks. The
 * table has twice as many slots as the budget has sectors, so it is never
 * more than half full and a probe always ends at an empty slot. Sectors
 * are never removed (a ,volatile disk's changes last as long as Zazen). */
#include "overlay.h"
#include "../string.h"

static u32 hash(u64 lba, u32 capacity)
{
    /* Fibonacci hashing (Knuth, TAOCP 6.4): neighbouring sectors spread. */
    return (u32)((lba * 0x9e3779b97f4a7c15ull) >> 32) & (capacity - 1);
}

/* The slot holding lba, or the empty slot where it would go. */
static u32 find_slot(const struct overlay *o, u64 lba)
{
    u32 i = hash(lba, o->capacity);
    while (o->keys[i] && o->keys[i] != lba + 1)
        i = (i + 1) & (o->capacity - 1);
    return i;
}

static u8 *sector_at(const struct overlay *o, u32 index)
{
    return o->chunks[index / OVERLAY_CHUNK_SECTORS] + (u64)(index % OVERLAY_CHUNK_SECTORS) * OVERLAY_SECTOR;
}

bool overlay_init(struct overlay *o, u32 budget, void *(*alloc)(u64 bytes))
{
    *o = (struct overlay){.alloc = alloc, .budget = budget - budget % OVERLAY_CHUNK_SECTORS};
    if (!o->budget)
        return false;
    o->capacity = 1;
    while (o->capacity < 2 * o->budget)
        o->capacity <<= 1;
    o->keys = alloc((u64)o->capacity * sizeof(*o->keys));
    o->index = alloc((u64)o->capacity * sizeof(*o->index));
    o->chunks = alloc((u64)(o->budget / OVERLAY_CHUNK_SECTORS) * sizeof(*o->chunks));
    return o->keys && o->index && o->chunks;
}

bool overlay_write(struct overlay *o, u64 lba, u32 count, const void *buf)
{
    /* First how many sectors are new, so a write that does not fit
     * changes nothing. */
    u32 fresh = 0;
    for (u32 i = 0; i < count; i++)
        fresh += o->keys[find_slot(o, lba + i)] == 0;
    if (fresh > o->budget - o->used)
        return false;
    u32 have = (o->used + OVERLAY_CHUNK_SECTORS - 1) / OVERLAY_CHUNK_SECTORS;
    u32 need = (o->used + fresh + OVERLAY_CHUNK_SECTORS - 1) / OVERLAY_CHUNK_SECTORS;
    for (u32 c = have; c < need; c++)
        if (!o->chunks[c] && !(o->chunks[c] = o->alloc((u64)OVERLAY_CHUNK_SECTORS * OVERLAY_SECTOR)))
            return false; /* chunks before c stay for later writes; nothing else changed */
    const u8 *src = buf;
    for (u32 i = 0; i < count; i++) {
        u32 slot = find_slot(o, lba + i);
        if (!o->keys[slot]) {
            o->keys[slot] = lba + i + 1;
            o->index[slot] = o->used++;
        }
        memcpy(sector_at(o, o->index[slot]), src + (u64)i * OVERLAY_SECTOR, OVERLAY_SECTOR);
    }
    return true;
}

void overlay_read(const struct overlay *o, u64 lba, u32 count, void *buf)
{
    if (!o->used)
        return;
    u8 *dst = buf;
    for (u32 i = 0; i < count; i++) {
        u32 slot = find_slot(o, lba + i);
        if (o->keys[slot])
            memcpy(dst + (u64)i * OVERLAY_SECTOR, sector_at(o, o->index[slot]), OVERLAY_SECTOR);
    }
}
