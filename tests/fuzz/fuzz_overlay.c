/* fuzz-sources: vmm/storage/overlay.c vmm/string.c */
/* A ,volatile disk's copy-on-write overlay (vmm/storage/overlay.c) under
 * any sequence of guest writes and reads, against a model: 8 runs of 512
 * sectors spread over a 4 GiB disk, each sector either unwritten (it
 * reads as the disk's) or holding the last value written. Checks: a read
 * gives every written sector's last contents and the disk's elsewhere; a
 * write is refused exactly when its new sectors would pass the budget or
 * the allocator (which the input can make fail) gives nothing, and a
 * refused write changes nothing; the sectors held are the model's and
 * never pass the budget. */
#include "fuzz.h"
#include "../../vmm/storage/overlay.h"

#define RUN 512
#define RUNS 8
#define RUN_STRIDE (1ull << 20) /* sectors: run k starts at k * 512 MiB */
#define BUDGET (2 * OVERLAY_CHUNK_SECTORS)
#define MAX_COUNT 128

static void *blocks[64];
static unsigned block_count;
static bool alloc_fails;

static void *alloc(u64 bytes)
{
    if (alloc_fails || block_count == 64)
        return NULL;
    return blocks[block_count++] = calloc(1, bytes);
}

static u16 model[RUNS * RUN]; /* 0: unwritten, else the value written + 1 */
static u8 buf[MAX_COUNT * OVERLAY_SECTOR];

static u64 lba_of(u32 i) { return (u64)(i / RUN) * RUN_STRIDE + i % RUN; }
static u8 disk_value(u32 i) { return (u8)(i * 7 + 1); }

static u32 held(void)
{
    u32 n = 0;
    for (u32 i = 0; i < RUNS * RUN; i++)
        n += model[i] != 0;
    return n;
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
    struct prog g = {data, size};
    memset(model, 0, sizeof(model));
    while (block_count)
        free(blocks[--block_count]);
    alloc_fails = false;
    struct overlay o;
    if (!overlay_init(&o, BUDGET, alloc))
        abort();
    while (prog_more(&g)) {
        u8 op = take8(&g);
        u32 first = take16(&g) % (RUNS * RUN);
        u32 count = 1 + take8(&g) % MAX_COUNT;
        count = MIN(count, RUN - first % RUN); /* one run: consecutive disk sectors */
        if (op & 1) { /* a write of count sectors of one value */
            u8 v = take8(&g);
            alloc_fails = (op & 0x80) != 0;
            memset(buf, v, (size_t)count * OVERLAY_SECTOR);
            u32 fresh = 0;
            for (u32 i = 0; i < count; i++)
                fresh += model[first + i] == 0;
            u32 before = held();
            bool ok = overlay_write(&o, lba_of(first), count, buf);
            FUZZ_CHECK(ok || alloc_fails || before + fresh > BUDGET, "a write of %u new sectors refused, %u held",
                       fresh, before);
            FUZZ_CHECK(!ok || before + fresh <= BUDGET, "a write past the budget kept: %u + %u", before, fresh);
            if (ok)
                for (u32 i = 0; i < count; i++)
                    model[first + i] = (u16)(v + 1);
            alloc_fails = false;
        } else { /* a read: the disk's bytes, then the overlay over them */
            for (u32 i = 0; i < count; i++)
                memset(buf + (size_t)i * OVERLAY_SECTOR, disk_value(first + i), OVERLAY_SECTOR);
            overlay_read(&o, lba_of(first), count, buf);
            for (u32 i = 0; i < count; i++) {
                u8 want = model[first + i] ? (u8)(model[first + i] - 1) : disk_value(first + i);
                const u8 *s = buf + (size_t)i * OVERLAY_SECTOR;
                FUZZ_CHECK(s[0] == want && s[OVERLAY_SECTOR - 1] == want, "sector %u reads %02x, want %02x",
                           first + i, s[0], want);
            }
        }
        FUZZ_CHECK(o.used == held() && o.used <= BUDGET, "%u sectors held, the model %u, budget %u", o.used, held(),
                   BUDGET);
    }
    return 0;
}
