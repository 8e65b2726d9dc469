/* fuzz-sources: vmm/storage/fat.c vmm/format.c vmm/string.c */
/* The FAT file locator (vmm/storage/fat.c) on any disk: the input is a
 * sparse disk (its size, a path choice, then records of a sector number
 * and the sector's 512 bytes; sectors no record gives read as zeros), so
 * the fuzzer can build boot sectors, partition tables, FATs and
 * directories wherever it likes. Checks: a found file's pieces lie inside
 * the disk, do not overlap, add up to its size and map back the same; a
 * refusal says why in a terminated message; the look-up ends after a
 * bounded number of reads (no loop on a looping chain). The same for the
 * GPT partition look-ups of partlabel: and partuuid: (one extent inside
 * the disk). The input's flags byte can ask for the GPT headers' CRC32s
 * to be made right before the look-ups (a fuzzer does not find a CRC by
 * itself), so the code behind the CRC checks is reached too. */
#include "fuzz.h"
#include "../../vmm/storage/fat.h"

#define RECORD (4 + FAT_SECTOR)
#define MAX_READS 100000

static u8 *records;
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

static u32 get32_(const u8 *p) { return (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24; }
static void put32_(u8 *p, u32 v) { p[0] = (u8)v, p[1] = (u8)(v >> 8), p[2] = (u8)(v >> 16), p[3] = (u8)(v >> 24); }

/* Gives every record holding a GPT header where one belongs (sector 1,
 * the last sector) the header and entry-array CRC32s it should have. */
static void seal_gpt_headers(const struct fat_reader *r)
{
    for (size_t k = 0; k < record_count; k++) {
        u8 *rec = records + k * RECORD;
        u8 *hdr = rec + 4;
        u32 at = get32_(rec);
        if ((at != 1 && at != r->disk_sectors - 1) || memcmp(hdr, "EFI PART", 8) != 0)
            continue;
        u64 entries = get32_(hdr + 72) | (u64)get32_(hdr + 76) << 32;
        u64 bytes = (u64)get32_(hdr + 80) * get32_(hdr + 84);
        if (bytes <= 1024 * FAT_SECTOR && entries < r->disk_sectors &&
            (bytes + FAT_SECTOR - 1) / FAT_SECTOR <= r->disk_sectors - entries) {
            static u8 array[1024 * FAT_SECTOR];
            reader((void *)r, entries, (u32)((bytes + FAT_SECTOR - 1) / FAT_SECTOR), array);
            put32_(hdr + 88, gpt_crc32(array, (size_t)bytes));
        }
        u32 hsize = get32_(hdr + 12);
        if (hsize >= 92 && hsize <= FAT_SECTOR) {
            put32_(hdr + 16, 0);
            put32_(hdr + 16, gpt_crc32(hdr, hsize));
        }
    }
}

static const char *const paths[] = {"\\EFI\\BOOT\\linux.img", "linux.img", "/a/b/c/d", "\\linux-mgmt.img",
                                     "\\EFI\\BOOT\\a-name-longer-than-thirteen-characters.img"};

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
    struct prog g = {data, size < 7 ? size : 7};
    u64 disk_sectors = 1 + take32(&g) % (1u << 24);
    const char *path = paths[take8(&g) % ARRAY_SIZE(paths)];
    u8 flags = take8(&g);
    size_t head = size < 7 ? size : 7;
    record_count = (size - head) / RECORD;
    static u8 *copy;
    static size_t copy_size;
    if (record_count * RECORD > copy_size) {
        free(copy);
        copy_size = record_count * RECORD;
        copy = malloc(copy_size);
        FUZZ_CHECK(copy, "out of memory");
    }
    records = copy;
    if (record_count)
        memcpy(records, data + head, record_count * RECORD);
    struct fat_reader r = {reader, NULL, disk_sectors};
    r.ctx = &r;
    reads = 0;
    if (flags & 2)
        seal_gpt_headers(&r);
    reads = 0;
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
    res = flags & 4 ? gpt_find_uuid(&r, flags & 1 ? "5a2e4c1b-7d3f-4e8a-9b61-c0ffee0d15c5"
                                                  : "00000000-0000-0000-0000-000000000000",
                                    &f, why, sizeof(why))
                    : gpt_find_label(&r, flags & 1 ? "zazen-linux" : "a", &f, why, sizeof(why));
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
