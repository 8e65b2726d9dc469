/* unit-sources: vmm/storage/fat.c vmm/string.c vmm/format.c */
/* The FAT file locator (vmm/storage/fat.c) on volumes built here by the
 * FAT spec's rules: FAT12, FAT16 and FAT32 on a bare disk, in an MBR
 * partition and in a GPT partition; long names; fragmented files; and
 * every kind of corruption it must refuse with a message. */
#include "unit.h"
#include "../../vmm/storage/fat.h"
#include <stdlib.h>

static u8 *disk;
static u64 disk_sectors;
static u64 reads;

static bool reader(void *ctx, u64 lba, u32 count, void *buf)
{
    (void)ctx;
    reads++;
    if (lba + count > disk_sectors)
        return false;
    memcpy(buf, disk + lba * 512, (size_t)count * 512);
    return true;
}

static void put16(u8 *p, u16 v) { p[0] = (u8)v, p[1] = (u8)(v >> 8); }
static void put32(u8 *p, u32 v) { put16(p, (u16)v), put16(p + 2, (u16)(v >> 16)); }

/* The volume being built. */
static struct {
    u64 lba;
    int type; /* 12, 16, 32 */
    u32 reserved, fat_size, root_entries, total;
    u64 fat, root, data;
    u32 next_free;
} v;

static u8 *sec(u64 lba) { return disk + lba * 512; }

static void set_fat(u32 c, u32 value)
{
    for (unsigned copy = 0; copy < 2; copy++) {
        u8 *f = sec(v.fat + copy * v.fat_size);
        if (v.type == 12) {
            u32 off = c + c / 2;
            u16 old = (u16)(f[off] | f[off + 1] << 8);
            u16 n = c & 1 ? (u16)((old & 0x000F) | (value & 0xFFF) << 4) : (u16)((old & 0xF000) | (value & 0xFFF));
            put16(f + off, n);
        } else if (v.type == 16) {
            put16(f + c * 2, (u16)value);
        } else {
            put32(f + c * 4, value);
        }
    }
}

static u32 eoc(void) { return v.type == 12 ? 0xFFF : v.type == 16 ? 0xFFFF : 0x0FFFFFFF; }
static u64 clus(u32 c) { return v.data + (c - 2); } /* one sector per cluster */

/* A volume of the given type at lba (one sector per cluster). */
static void make_volume(u64 lba, int type)
{
    memset(&v, 0, sizeof(v));
    v.lba = lba;
    v.type = type;
    v.reserved = type == 32 ? 32 : 1;
    v.root_entries = type == 32 ? 0 : 64;
    v.total = type == 12 ? 2048 : type == 16 ? 8192 : 67000;
    v.fat_size = type == 12 ? 6 : type == 16 ? 33 : 524;
    u8 *b = sec(lba);
    b[0] = 0xEB, b[1] = 0x3C, b[2] = 0x90;
    memcpy(b + 3, "MSWIN4.1", 8);
    put16(b + 11, 512);
    b[13] = 1;
    put16(b + 14, (u16)v.reserved);
    b[16] = 2;
    put16(b + 17, (u16)v.root_entries);
    put32(b + 32, v.total);
    b[21] = 0xF8;
    if (type == 32) {
        put32(b + 36, v.fat_size);
        put32(b + 44, 2);
    } else {
        put16(b + 22, (u16)v.fat_size);
    }
    b[510] = 0x55, b[511] = 0xAA;
    v.fat = lba + v.reserved;
    v.root = v.fat + 2 * v.fat_size;
    v.data = v.root + v.root_entries * 32 / 512;
    set_fat(0, 0xFFFFFF8);
    set_fat(1, eoc());
    v.next_free = 3;
    if (type == 32)
        set_fat(2, eoc()); /* the root directory */
}

static u32 new_dir_cluster(void)
{
    u32 c = v.next_free++;
    set_fat(c, eoc());
    memset(sec(clus(c)), 0, 512);
    return c;
}

/* A directory's next free entry: dir 0 = the root. */
static u8 *free_entry(u32 dir)
{
    u8 *s = dir ? sec(clus(dir)) : v.type == 32 ? sec(clus(2)) : sec(v.root);
    for (unsigned i = 0;; i++)
        if (s[i * 32] == 0)
            return s + i * 32;
}

static u8 checksum(const u8 *name)
{
    u8 sum = 0;
    for (int i = 0; i < 11; i++)
        sum = (u8)(((sum & 1) << 7) + (sum >> 1) + name[i]);
    return sum;
}

/* An entry named short11 ("LINUX   IMG"), with a long name if given. */
static void add_entry(u32 dir, const char *short11, const char *long_name, u8 attr, u32 cluster, u32 size)
{
    if (long_name) {
        size_t len = strlen(long_name);
        unsigned pieces = (unsigned)((len + 1 + 12) / 13);
        static const u8 at[13] = {1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30};
        for (unsigned p = pieces; p >= 1; p--) {
            u8 *e = free_entry(dir);
            memset(e, 0, 32);
            e[0] = (u8)(p | (p == pieces ? 0x40 : 0));
            e[11] = 0x0F;
            e[13] = checksum((const u8 *)short11);
            for (unsigned i = 0; i < 13; i++) {
                size_t k = (p - 1) * 13 + i;
                u16 ch = k < len ? (u8)long_name[k] : k == len ? 0 : 0xFFFF;
                put16(e + at[i], ch);
            }
        }
    }
    u8 *e = free_entry(dir);
    memcpy(e, short11, 11);
    e[11] = attr;
    put16(e + 26, (u16)cluster);
    put16(e + 20, (u16)(cluster >> 16));
    put32(e + 28, size);
}

/* A file of n sectors in the given clusters (a chain in that order);
 * sector i holds the byte pattern of i. */
static void write_file(const u32 *clusters, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        memset(sec(clus(clusters[i])), (int)(0x40 + i), 512);
        set_fat(clusters[i], i + 1 < n ? clusters[i + 1] : eoc());
    }
}

static void new_disk(u64 sectors)
{
    free(disk);
    disk = calloc(sectors, 512);
    disk_sectors = sectors;
}

static struct fat_reader rd = {reader, NULL, 0};
static struct fat_file f;
static char why[256];

static enum fat_result locate(const char *path)
{
    rd.disk_sectors = disk_sectors;
    why[0] = 0;
    return fat_locate(&rd, path, &f, why, sizeof(why));
}

/* \EFI\BOOT\linux.img, 4 contiguous sectors, plus a fragmented file. */
static void standard_tree(void)
{
    u32 efi = new_dir_cluster(), boot = new_dir_cluster();
    add_entry(0, "EFI        ", NULL, 0x10, efi, 0);
    add_entry(efi, "BOOT       ", NULL, 0x10, boot, 0);
    u32 start = v.next_free;
    u32 c[4] = {start, start + 1, start + 2, start + 3};
    v.next_free += 4;
    write_file(c, 4);
    add_entry(boot, "LINUX   IMG", NULL, 0x20, start, 4 * 512);
}

static bool file_sector_is(u64 n, u8 pattern)
{
    u64 lba, run;
    if (!fat_file_map(&f, n, &lba, &run))
        return false;
    return disk[lba * 512] == pattern && disk[lba * 512 + 511] == pattern;
}

TEST(fat_finds_a_file_on_fat12_fat16_fat32)
{
    static const int types[] = {12, 16, 32};
    for (unsigned t = 0; t < 3; t++) {
        new_disk(70000);
        make_volume(0, types[t]);
        standard_tree();
        CHECK_EQ(locate("\\EFI\\BOOT\\linux.img"), FAT_FOUND);
        CHECK_EQ(f.size, 2048);
        CHECK_EQ(f.extent_count, 1);
        CHECK_EQ(f.extents[0].sectors, 4);
        for (unsigned i = 0; i < 4; i++)
            CHECK(file_sector_is(i, (u8)(0x40 + i)));
        u64 lba, run;
        CHECK(!fat_file_map(&f, 4, &lba, &run));
        CHECK_EQ(locate("/efi/boot/LINUX.IMG"), FAT_FOUND); /* case and either slash */
        CHECK_EQ(locate("\\EFI\\BOOT\\other.img"), FAT_NOT_FOUND);
        CHECK_EQ(locate("\\EFI\\BOOT"), FAT_NOT_FOUND); /* a directory is no disk */
    }
}

TEST(fat_long_names)
{
    new_disk(70000);
    make_volume(0, 32);
    u32 c[2] = {10, 11};
    v.next_free = 12;
    write_file(c, 2);
    add_entry(0, "LINUX-~1IMG", "linux-mgmt.img", 0x20, 10, 512);
    add_entry(0, "LINUX-~2IMG", "linux-shell-with-a-much-longer-name.img", 0x20, 11, 512);
    set_fat(11, eoc());
    set_fat(10, eoc());
    enum fat_result r = locate("\\linux-mgmt.img");
    if (r != FAT_FOUND)
        printf("why: %s\n", why);
    CHECK_EQ(r, FAT_FOUND);
    CHECK_EQ(f.size, 512);
    CHECK_EQ(f.extents[0].lba, clus(10));
    CHECK_EQ(locate("\\LINUX-~1.IMG"), FAT_FOUND); /* its short alias */
    CHECK_EQ(locate("\\linux-shell-with-a-much-longer-name.img"), FAT_FOUND);
    CHECK_EQ(f.extents[0].lba, clus(11));
    CHECK_EQ(locate("\\linux-mgmt.im"), FAT_NOT_FOUND);
    /* a long name whose checksum does not match its short entry is not its name */
    u8 *root = sec(clus(2));
    root[13] ^= 1;
    CHECK_EQ(locate("\\linux-mgmt.img"), FAT_NOT_FOUND);
}

TEST(fat_fragmented_file)
{
    new_disk(70000);
    make_volume(0, 16);
    u32 c[5] = {20, 21, 30, 10, 11};
    write_file(c, 5);
    add_entry(0, "FRAG    IMG", NULL, 0x20, 20, 5 * 512);
    CHECK_EQ(locate("frag.img"), FAT_FOUND);
    CHECK_EQ(f.extent_count, 3);
    CHECK_EQ(f.extents[0].sectors, 2);
    CHECK_EQ(f.extents[2].lba, clus(10));
    for (unsigned i = 0; i < 5; i++)
        CHECK(file_sector_is(i, (u8)(0x40 + i)));
    /* more pieces than it keeps: refused, with a remedy */
    new_disk(70000);
    make_volume(0, 16);
    u32 many[FAT_MAX_EXTENTS + 1];
    for (unsigned i = 0; i < FAT_MAX_EXTENTS + 1; i++)
        many[i] = 100 + 2 * i;
    write_file(many, FAT_MAX_EXTENTS + 1);
    add_entry(0, "FRAG    IMG", NULL, 0x20, 100, (FAT_MAX_EXTENTS + 1) * 512);
    CHECK_EQ(locate("\\frag.img"), FAT_BAD);
    CHECK_STR(why, "'\\frag.img' is fragmented into more than 64 pieces: copy it to a fresh file");
}

/* CRC-32 written from its definition (IEEE 802.3, reflected, bit by bit),
 * to check fat.c's against: 0xCBF43926 for "123456789". */
static u32 crc32_ref(const u8 *p, size_t n)
{
    u32 c = 0xFFFFFFFF;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
    }
    return ~c;
}

static u32 get32_(const u8 *p) { return (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24; }

/* Gives the header at lba a header size, its own LBA and both CRCs
 * (UEFI 2.10 5.3.2), as a GPT tool writes them. */
static void gpt_seal(u64 lba)
{
    u8 *hdr = sec(lba);
    put32(hdr + 12, 92);
    put32(hdr + 24, (u32)lba), put32(hdr + 28, (u32)(lba >> 32));
    u64 entries = get32_(hdr + 72);
    put32(hdr + 88, crc32_ref(sec(entries), (size_t)get32_(hdr + 80) * get32_(hdr + 84)));
    put32(hdr + 16, 0);
    put32(hdr + 16, crc32_ref(hdr, 92));
}

/* A GPT header at lba with count entries of 128 bytes at entries. */
static u8 *gpt_header(u64 lba, u64 entries, u32 count)
{
    u8 *hdr = sec(lba);
    memset(hdr, 0, 512);
    memcpy(hdr, "EFI PART", 8);
    put32(hdr + 72, (u32)entries);
    put32(hdr + 80, count);
    put32(hdr + 84, 128);
    return hdr;
}

TEST(gpt_crc32_is_the_ieee_crc)
{
    CHECK_EQ(gpt_crc32("123456789", 9), 0xCBF43926u);
    CHECK_EQ(gpt_crc32("", 0), 0);
    u8 buf[300];
    for (unsigned i = 0; i < sizeof(buf); i++)
        buf[i] = (u8)(i * 7 + 3);
    CHECK_EQ(gpt_crc32(buf, sizeof(buf)), crc32_ref(buf, sizeof(buf)));
}

TEST(fat_in_mbr_and_gpt_partitions)
{
    new_disk(80000);
    u8 *mbr = sec(0);
    mbr[0] = 0xEB; /* GRUB's MBR starts with a jump too: not taken for a FAT boot sector */
    mbr[446 + 16 + 4] = 0x0C;
    put32(mbr + 446 + 16 + 8, 2048);
    put32(mbr + 446 + 16 + 12, 70000);
    mbr[510] = 0x55, mbr[511] = 0xAA;
    make_volume(2048, 32);
    standard_tree();
    CHECK_EQ(locate("\\EFI\\BOOT\\linux.img"), FAT_FOUND);
    CHECK_EQ(f.volume_lba, 2048);
    CHECK(file_sector_is(3, 0x43));

    /* the same volume behind a protective MBR and a GPT */
    memset(mbr + 446, 0, 64);
    mbr[446 + 4] = 0xEE;
    put32(mbr + 446 + 8, 1);
    u8 *hdr = gpt_header(1, 2, 128);
    u8 *e = sec(2) + 128; /* the second entry; the first is unused */
    e[0] = 0x28;          /* any non-zero type GUID */
    put32(e + 32, 2048);
    put32(e + 40, 2048 + 70000 - 1);
    gpt_seal(1);
    CHECK_EQ(locate("\\EFI\\BOOT\\linux.img"), FAT_FOUND);
    CHECK_EQ(f.volume_lba, 2048);
    put32(hdr + 84, 100); /* an entry size the spec does not allow */
    gpt_seal(1);
    CHECK_EQ(locate("\\EFI\\BOOT\\linux.img"), FAT_BAD);
    CHECK_STR(why, "corrupt GPT: primary header (sector 1): 128 entries of 100 bytes; "
                   "backup header (sector 79999): no GPT signature");
}

TEST(fat_refuses_corrupt_volumes)
{
    new_disk(70000);
    make_volume(0, 16);
    standard_tree();
    CHECK_EQ(locate("\\EFI\\BOOT\\linux.img"), FAT_FOUND);
    u32 start = (u32)(f.extents[0].lba - v.data + 2);
    /* a chain that loops back on itself before the file's end */
    u64 start_lba = f.extents[0].lba;
    set_fat(start + 1, start);
    CHECK_EQ(locate("\\EFI\\BOOT\\linux.img"), FAT_BAD);
    char want[200];
    snprintf(want, sizeof(want), "corrupt FAT volume at sector 0: a file's clusters are linked twice (at sector %llu)",
             (unsigned long long)start_lba);
    CHECK_STR(why, want);
    /* a chain that ends early */
    set_fat(start + 1, eoc());
    CHECK_EQ(locate("\\EFI\\BOOT\\linux.img"), FAT_BAD);
    CHECK_STR(why, "corrupt FAT volume at sector 0: a file's cluster chain ends after 2 of its 4 clusters");
    /* a chain that reaches a free cluster */
    set_fat(start + 1, 0);
    CHECK_EQ(locate("\\EFI\\BOOT\\linux.img"), FAT_BAD);
    CHECK_STR(why, "corrupt FAT volume at sector 0: a file's cluster chain reaches cluster 0 (piece 2)");
    /* a chain longer than the file */
    set_fat(start + 1, start + 2);
    set_fat(start + 3, start + 4);
    CHECK_EQ(locate("\\EFI\\BOOT\\linux.img"), FAT_BAD);
    CHECK_STR(why, "corrupt FAT volume at sector 0: a file's cluster chain goes on past its size (4 clusters)");
    set_fat(start + 3, eoc());
    CHECK_EQ(locate("\\EFI\\BOOT\\linux.img"), FAT_FOUND);
    /* a size that is not whole sectors */
    u8 *entry = sec(clus(4)); /* BOOT's directory: its first entry */
    put32(entry + 28, 2000);
    CHECK_EQ(locate("\\EFI\\BOOT\\linux.img"), FAT_BAD);
    CHECK_STR(why, "'\\EFI\\BOOT\\linux.img' is 2000 bytes: not a whole number of 512-byte sectors");
    put32(entry + 28, 2048);
    /* a directory whose chain loops */
    set_fat(4, 4);
    memset(sec(clus(4)), 0x41, 512); /* full of entries that never end */
    for (unsigned i = 0; i < 16; i++)
        sec(clus(4))[i * 32 + 11] = 0x20;
    CHECK_EQ(locate("\\EFI\\BOOT\\linux.img"), FAT_BAD);
    CHECK_STR(why, "corrupt FAT volume at sector 0: directory at cluster 4 is longer than 65536 entries (a loop?)");
    /* sizes that do not add up */
    put16(sec(0) + 11, 4096);
    CHECK_EQ(locate("\\EFI\\BOOT\\linux.img"), FAT_BAD);
    CHECK_STR(why, "corrupt FAT volume at sector 0: 4096-byte sectors (only 512 are supported)");
    put16(sec(0) + 11, 512);
    put32(sec(0) + 32, 90000);
    CHECK_EQ(locate("\\EFI\\BOOT\\linux.img"), FAT_BAD);
    CHECK_STR(why, "corrupt FAT volume at sector 0: 90000 sectors, past the disk's end (70000 left)");
    put32(sec(0) + 32, 8192);
    put16(sec(0) + 22, 2);
    CHECK_EQ(locate("\\EFI\\BOOT\\linux.img"), FAT_BAD);
    CHECK_STR(why, "corrupt FAT volume at sector 0: a FAT of 2 sectors cannot hold 8183 clusters"); /* 8192 - 1 - 2 * 2 - 4 */
    /* no FAT at all */
    memset(sec(0), 0, 512);
    CHECK_EQ(locate("\\EFI\\BOOT\\linux.img"), FAT_NOT_FOUND);
}

static void gpt_name(u8 *e, const char *name)
{
    memset(e + 56, 0, 72);
    for (size_t i = 0; name[i]; i++)
        put16(e + 56 + 2 * i, (u8)name[i]);
}

TEST(gpt_partition_by_label)
{
    new_disk(10000);
    u8 *hdr = gpt_header(1, 2, 8);
    u8 *e = sec(2);
    e[0] = 0x28, put32(e + 32, 40), put32(e + 40, 1039), gpt_name(e, "zazen-esp");
    e += 128;
    e[0] = 0x28, put32(e + 32, 2048), put32(e + 40, 4095), gpt_name(e, "zazen-data");
    gpt_seal(1);
    rd.disk_sectors = disk_sectors;
    CHECK_EQ(gpt_find_label(&rd, "zazen-data", &f, why, sizeof(why)), FAT_FOUND);
    CHECK_EQ(f.extent_count, 1);
    CHECK_EQ(f.extents[0].lba, 2048);
    CHECK_EQ(f.extents[0].sectors, 2048);
    CHECK_EQ(f.size, 2048 * 512);
    CHECK_EQ(gpt_find_label(&rd, "zazen-esp", &f, why, sizeof(why)), FAT_FOUND);
    CHECK_EQ(f.extents[0].lba, 40);
    CHECK_EQ(gpt_find_label(&rd, "zazen", &f, why, sizeof(why)), FAT_NOT_FOUND);      /* a prefix is not the name */
    CHECK_EQ(gpt_find_label(&rd, "zazen-data2", &f, why, sizeof(why)), FAT_NOT_FOUND);
    CHECK_EQ(gpt_find_label(&rd, "ZAZEN-DATA", &f, why, sizeof(why)), FAT_NOT_FOUND); /* case kept */
    CHECK(!f.gpt_backup);
    put32(e + 40, 20000); /* past the disk's end */
    gpt_seal(1);
    CHECK_EQ(gpt_find_label(&rd, "zazen-data", &f, why, sizeof(why)), FAT_BAD);
    CHECK_STR(why, "corrupt GPT: partition 'zazen-data' at sectors 2048-20000, the disk has 10000");
    memset(hdr, 0, 8); /* no GPT */
    CHECK_EQ(gpt_find_label(&rd, "zazen-data", &f, why, sizeof(why)), FAT_NOT_FOUND);
}

/* The partition "0fc63daf-8483-4772-8e79-3d69d8477de4" as blkid prints
 * it: the first three fields little-endian on disk. */
static const u8 uuid_bytes[16] = {0xaf, 0x3d, 0xc6, 0x0f, 0x83, 0x84, 0x72, 0x47,
                                  0x8e, 0x79, 0x3d, 0x69, 0xd8, 0x47, 0x7d, 0xe4};

TEST(gpt_guid_text)
{
    u8 g[16];
    CHECK(gpt_parse_guid("0fc63daf-8483-4772-8e79-3d69d8477de4", g));
    CHECK(memcmp(g, uuid_bytes, 16) == 0);
    CHECK(gpt_parse_guid("0FC63DAF-8483-4772-8E79-3D69D8477DE4", g)); /* case ignored */
    CHECK(memcmp(g, uuid_bytes, 16) == 0);
    CHECK(!gpt_parse_guid("0fc63daf-8483-4772-8e79-3d69d8477de", g));   /* short */
    CHECK(!gpt_parse_guid("0fc63daf-8483-4772-8e79-3d69d8477de40", g)); /* long */
    CHECK(!gpt_parse_guid("0fc63daf+8483-4772-8e79-3d69d8477de4", g));
    CHECK(!gpt_parse_guid("0fc63dag-8483-4772-8e79-3d69d8477de4", g));
    CHECK(!gpt_parse_guid("", g));
}

/* A disk with a GPT of 8 entries: "zazen-esp" and "zazen-data" (whose
 * unique GUID is uuid_bytes); primary at 1 (entries at 2), backup at the
 * last sector (entries in the 2 sectors before it). */
static void two_partition_disk(void)
{
    new_disk(10000);
    gpt_header(1, 2, 8);
    u8 *e = sec(2);
    e[0] = 0x28, put32(e + 32, 40), put32(e + 40, 1039), gpt_name(e, "zazen-esp");
    e[16] = 0x11;
    e += 128;
    e[0] = 0x28, put32(e + 32, 2048), put32(e + 40, 4095), gpt_name(e, "zazen-data");
    memcpy(e + 16, uuid_bytes, 16);
    gpt_seal(1);
    memcpy(sec(9997), sec(2), 1024);
    gpt_header(9999, 9997, 8);
    gpt_seal(9999);
    rd.disk_sectors = disk_sectors;
}

TEST(gpt_partition_by_uuid)
{
    two_partition_disk();
    CHECK_EQ(gpt_find_uuid(&rd, "0fc63daf-8483-4772-8e79-3d69d8477de4", &f, why, sizeof(why)), FAT_FOUND);
    CHECK_EQ(f.extents[0].lba, 2048);
    CHECK_EQ(f.extents[0].sectors, 2048);
    CHECK_EQ(gpt_find_uuid(&rd, "0FC63DAF-8483-4772-8E79-3D69D8477DE4", &f, why, sizeof(why)), FAT_FOUND);
    CHECK_EQ(gpt_find_uuid(&rd, "0fc63daf-8483-4772-8e79-3d69d8477de5", &f, why, sizeof(why)), FAT_NOT_FOUND);
    CHECK_EQ(gpt_find_uuid(&rd, "not-a-uuid", &f, why, sizeof(why)), FAT_NOT_FOUND);
    /* an unused entry (zero type GUID) is never a match, whatever its GUID says */
    memcpy(sec(2) + 256 + 16, uuid_bytes, 16);
    sec(2)[128 + 16] = 0;
    gpt_seal(1);
    CHECK_EQ(gpt_find_uuid(&rd, "0fc63daf-8483-4772-8e79-3d69d8477de4", &f, why, sizeof(why)), FAT_NOT_FOUND);
}

TEST(gpt_checks_crcs_and_falls_back_to_the_backup)
{
    two_partition_disk();
    CHECK_EQ(gpt_find_label(&rd, "zazen-data", &f, why, sizeof(why)), FAT_FOUND);
    CHECK(!f.gpt_backup);
    /* a primary entry changed behind the CRC's back: the backup's entries are used */
    put32(sec(2) + 128 + 32, 3000);
    CHECK_EQ(gpt_find_label(&rd, "zazen-data", &f, why, sizeof(why)), FAT_FOUND);
    CHECK(f.gpt_backup);
    CHECK_EQ(f.extents[0].lba, 2048);
    /* the primary header itself damaged (one byte of its reserved field) */
    gpt_seal(1);
    CHECK_EQ(gpt_find_label(&rd, "zazen-data", &f, why, sizeof(why)), FAT_FOUND);
    CHECK(!f.gpt_backup);
    CHECK_EQ(f.extents[0].lba, 3000);
    sec(1)[20] ^= 1;
    CHECK_EQ(gpt_find_uuid(&rd, "0fc63daf-8483-4772-8e79-3d69d8477de4", &f, why, sizeof(why)), FAT_FOUND);
    CHECK(f.gpt_backup);
    CHECK_EQ(f.extents[0].lba, 2048);
    /* the header CRC covers HeaderSize bytes: a byte past them changes nothing */
    sec(1)[20] ^= 1;
    sec(1)[200] ^= 1;
    CHECK_EQ(gpt_find_label(&rd, "zazen-data", &f, why, sizeof(why)), FAT_FOUND);
    CHECK(!f.gpt_backup);
    /* a header that is not where it says it is (a copy of the backup at sector 1) */
    memcpy(sec(1), sec(9999), 512);
    CHECK_EQ(gpt_find_label(&rd, "zazen-data", &f, why, sizeof(why)), FAT_FOUND);
    CHECK(f.gpt_backup);
    /* both bad: an error naming both faults, nothing found */
    gpt_seal(1);
    sec(1)[20] ^= 1;
    u32 stored = get32_(sec(9999) + 88);
    sec(9997)[0] ^= 0xFF;
    CHECK_EQ(gpt_find_label(&rd, "zazen-data", &f, why, sizeof(why)), FAT_BAD);
    u8 copy[92];
    memcpy(copy, sec(1), 92);
    memset(copy + 16, 0, 4);
    char want[256];
    snprintf(want, sizeof(want),
             "corrupt GPT: primary header (sector 1): header CRC32 %08x, computed %08x; backup header (sector 9999): "
             "entry array CRC32 %08x, computed %08x",
             get32_(sec(1) + 16), crc32_ref(copy, 92), stored, crc32_ref(sec(9997), 1024));
    CHECK_STR(why, want);
    CHECK_EQ(locate("\\EFI\\BOOT\\linux.img"), FAT_NOT_FOUND); /* no protective MBR: fat_locate never looks */
    /* neither header there at all: no GPT, not an error */
    memset(sec(1), 0, 512);
    memset(sec(9999), 0, 512);
    CHECK_EQ(gpt_find_label(&rd, "zazen-data", &f, why, sizeof(why)), FAT_NOT_FOUND);
}
