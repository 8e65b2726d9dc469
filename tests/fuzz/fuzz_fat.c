/* fuzz-sources: vmm/storage/fat.c vmm/format.c vmm/string.c */
/* The FAT file locator (vmm/storage/fat.c) on any disk: the input is a
 * sparse disk (its size, a path choice, then records of a sector number
 * and the sector's 512 bytes; sectors no record gives read as zeros), so
 * the fuzzer can build boot sectors, partition tables, FATs and
 * directories wherever it likes. Checks: a found file's pieces lie inside
 * the disk, do not overlap, add up to its size and map back the same; a
 * refusal says why in a terminated message; the look-up ends after a
 * bounded number of reads (no loop on a looping chain). The same for the
 * GPT partition look-up of partlabel: (one extent inside the disk). */
#include "fuzz.h"
#include "../../vmm/storage/fat.h"

#define RECORD (4 + FAT_SECTOR)
#define MAX_READS 100000

static const u8 *records;
static size_t record_count;
static u64 reads;

static bool reader(void *ctx, u64 lba, u32 count, void *buf)
{
    const struct fat_reader *r = ctx;
    FUZZ_CHECK(lba < r->disk_sectors && count <= r->disk_sectors - lba, "read of %u at %llu past %llu", count,
               (unsigned long long)lba, (unsigned long long)r->disk_sectors);
    FUZZ_CHECK(++reads < MAX_READS, "more than %d reads: a loop?", MAX_READS);
    for (u32 i = 0; i < count; i++) {
        u8 *out = (u8 *)buf + (size_t)i * FAT_SECTOR;
        memset(out, 0, FAT_SECTOR);
        for (size_t k = 0; k < record_count; k++) { /* the last record of a sector wins */
            const u8 *rec = records + k * RECORD;
            u32 at = (u32)rec[0] | (u32)rec[1] << 8 | (u32)rec[2] << 16 | (u32)rec[3] << 24;
            if (at == lba + i)
                memcpy(out, rec + 4, FAT_SECTOR);
        }
    }
    return true;
}

static const char *const paths[] = {"\\EFI\\BOOT\\linux.img", "linux.img", "/a/b/c/d", "\\linux-mgmt.img",
                                     "\\EFI\\BOOT\\a-name-longer-than-thirteen-characters.img"};

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
    struct prog g = {data, size < 6 ? size : 6};
    u64 disk_sectors = 1 + take32(&g) % (1u << 24);
    const char *path = paths[take8(&g) % ARRAY_SIZE(paths)];
    records = data + (size < 6 ? size : 6);
    record_count = (size - (size_t)(records - data)) / RECORD;
    reads = 0;
    struct fat_reader r = {reader, NULL, disk_sectors};
    r.ctx = &r;
    static struct fat_file f;
    char why[200];
    memset(why, 0x55, sizeof(why));
    enum fat_result res = fat_locate(&r, path, &f, why, sizeof(why));
    if (res == FAT_FOUND) {
        FUZZ_CHECK(f.size % FAT_SECTOR == 0 && f.extent_count <= FAT_MAX_EXTENTS, "size %llu, %u pieces",
                   (unsigned long long)f.size, f.extent_count);
        u64 total = 0;
        for (u32 i = 0; i < f.extent_count; i++) {
            const struct fat_extent *e = &f.extents[i];
            FUZZ_CHECK(e->sectors && e->lba < disk_sectors && e->sectors <= disk_sectors - e->lba,
                       "piece %u at %llu+%llu outside the disk", i, (unsigned long long)e->lba,
                       (unsigned long long)e->sectors);
            for (u32 j = 0; j < i; j++)
                FUZZ_CHECK(e->lba >= f.extents[j].lba + f.extents[j].sectors ||
                               f.extents[j].lba >= e->lba + e->sectors,
                           "pieces %u and %u overlap", j, i);
            total += e->sectors;
        }
        FUZZ_CHECK(total == f.size / FAT_SECTOR, "pieces of %llu sectors for %llu bytes", (unsigned long long)total,
                   (unsigned long long)f.size);
        u64 lba, run;
        if (total) {
            FUZZ_CHECK(fat_file_map(&f, total - 1, &lba, &run) && run == 1, "last sector does not map");
            FUZZ_CHECK(!fat_file_map(&f, total, &lba, &run), "a sector past the end maps");
        }
    } else if (res == FAT_BAD) {
        FUZZ_CHECK(memchr(why, 0, sizeof(why)) && why[0], "refused without a message");
    }
    /* the partition look-up of partlabel: on the same disk */
    reads = 0;
    memset(why, 0x55, sizeof(why));
    res = gpt_find_label(&r, take8(&g) & 1 ? "zazen-linux" : "a", &f, why, sizeof(why));
    if (res == FAT_FOUND)
        FUZZ_CHECK(f.extent_count == 1 && f.extents[0].sectors && f.extents[0].lba < disk_sectors &&
                       f.extents[0].sectors <= disk_sectors - f.extents[0].lba &&
                       f.size == f.extents[0].sectors * FAT_SECTOR,
                   "partition at %llu+%llu outside the disk", (unsigned long long)f.extents[0].lba,
                   (unsigned long long)f.extents[0].sectors);
    else if (res == FAT_BAD)
        FUZZ_CHECK(memchr(why, 0, sizeof(why)) && why[0], "refused without a message");
    return 0;
}
