/* Finding a file's sectors on a FAT volume (fat.h). Everything read from
 * the disk is checked before it is used: a corrupt volume gives an error
 * that says what is wrong, never a wild read or a loop. */
#include "fat.h"
#include "../format.h"
#include "../string.h"

static u16 get16(const u8 *p) { return (u16)(p[0] | p[1] << 8); }
static u32 get32(const u8 *p) { return (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24; }
static u64 get64(const u8 *p) { return get32(p) | (u64)get32(p + 4) << 32; }

enum fat_type { FAT12, FAT16, FAT32 };

struct volume {
    const struct fat_reader *r;
    u64 lba; /* of its boot sector */
    enum fat_type type;
    u32 sectors_per_cluster;
    u64 fat_lba;       /* the first FAT */
    u64 root_lba;      /* FAT12/16: the fixed root directory */
    u32 root_sectors;  /* FAT12/16 */
    u32 root_cluster;  /* FAT32 */
    u64 data_lba;      /* cluster 2 */
    u32 clusters;      /* data clusters: valid numbers are 2 .. clusters + 1 */
    u64 cached;        /* the FAT sector pair in cache, ~0: none */
    u8 cache[2 * FAT_SECTOR];
    u8 sector[FAT_SECTOR];
    char *why;
    size_t why_size;
};

static enum fat_result bad(struct volume *v, const char *fmt, u64 a, u64 b)
{
    char msg[160];
    snprintf(msg, sizeof(msg), fmt, (unsigned long long)a, (unsigned long long)b);
    snprintf(v->why, v->why_size, "corrupt FAT volume at sector %llu: %s", (unsigned long long)v->lba, msg);
    return FAT_BAD;
}

static bool read_sectors(const struct fat_reader *r, u64 lba, u32 count, void *buf)
{
    if (lba >= r->disk_sectors || count > r->disk_sectors - lba)
        return false;
    return r->read(r->ctx, lba, count, buf);
}

/* ---- the boot sector (FAT spec 3.1-3.5) ---- */

static bool power_of_two(u32 x) { return x && !(x & (x - 1)); }

/* Whether the sector has the shape of a FAT boot sector at all (so a
 * partition table whose boot code starts with a jump is not taken for
 * one): a jump, a usual sector size, a power-of-two cluster, FATs. */
static bool looks_like_bpb(const u8 *b)
{
    u16 bps = get16(b + 11);
    return (b[0] == 0xEB || b[0] == 0xE9) && (bps == 512 || bps == 1024 || bps == 2048 || bps == 4096) &&
           power_of_two(b[13]) && b[16] >= 1 && b[16] <= 4 && get16(b + 14) >= 1 && b[510] == 0x55 && b[511] == 0xAA;
}

static enum fat_result parse_bpb(struct volume *v, const u8 *b)
{
    u16 bps = get16(b + 11);
    if (bps != FAT_SECTOR)
        return bad(v, "%llu-byte sectors (only 512 are supported)", bps, 0);
    u32 spc = b[13], reserved = get16(b + 14), fats = b[16], root_entries = get16(b + 17);
    u32 total = get16(b + 19) ? get16(b + 19) : get32(b + 32);
    u32 fat_size = get16(b + 22) ? get16(b + 22) : get32(b + 36);
    if (fat_size == 0)
        return bad(v, "FAT size 0", 0, 0);
    u32 root_sectors = (root_entries * 32 + FAT_SECTOR - 1) / FAT_SECTOR;
    u64 meta = (u64)reserved + (u64)fats * fat_size + root_sectors;
    if (total <= meta)
        return bad(v, "%llu sectors in all but %llu before the data area", total, meta);
    if (total > v->r->disk_sectors - v->lba)
        return bad(v, "%llu sectors, past the disk's end (%llu left)", total, v->r->disk_sectors - v->lba);
    u32 clusters = (u32)((total - meta) / spc);
    /* The type is the cluster count's, nothing else (FAT spec 3.5). */
    v->type = clusters < 4085 ? FAT12 : clusters < 65525 ? FAT16 : FAT32;
    u64 entries_fit = v->type == FAT12 ? (u64)fat_size * FAT_SECTOR * 2 / 3
                      : v->type == FAT16 ? (u64)fat_size * FAT_SECTOR / 2
                                         : (u64)fat_size * FAT_SECTOR / 4;
    if (entries_fit < (u64)clusters + 2)
        return bad(v, "a FAT of %llu sectors cannot hold %llu clusters", fat_size, clusters);
    v->sectors_per_cluster = spc;
    v->fat_lba = v->lba + reserved;
    v->root_lba = v->fat_lba + (u64)fats * fat_size;
    v->root_sectors = root_sectors;
    v->data_lba = v->root_lba + root_sectors;
    v->clusters = clusters;
    if (v->type == FAT32) {
        v->root_cluster = get32(b + 44);
        if (root_entries != 0)
            return bad(v, "FAT32 with %llu fixed root entries", root_entries, 0);
        if (v->root_cluster < 2 || v->root_cluster > clusters + 1)
            return bad(v, "root directory cluster %llu out of range", v->root_cluster, 0);
    } else if (root_entries == 0) {
        return bad(v, "FAT12/16 without root directory entries", 0, 0);
    }
    v->cached = ~0ull;
    return FAT_FOUND;
}

/* ---- the FAT ---- */

#define CHAIN_END 0xFFFFFFFFu

static bool fat_entry(struct volume *v, u32 cluster, u32 *next)
{
    u64 off = v->type == FAT12 ? cluster + cluster / 2 : v->type == FAT16 ? (u64)cluster * 2 : (u64)cluster * 4;
    u64 sector = off / FAT_SECTOR;
    if (sector != v->cached) {
        /* Two sectors: a FAT12 entry may straddle them. */
        if (!read_sectors(v->r, v->fat_lba + sector, 2, v->cache))
            return false;
        v->cached = sector;
    }
    const u8 *p = v->cache + off % FAT_SECTOR;
    u32 e;
    if (v->type == FAT12) {
        e = get16(p);
        e = cluster & 1 ? e >> 4 : e & 0xFFF;
        if (e >= 0xFF8)
            e = CHAIN_END;
        else if (e == 0xFF7)
            e = 0; /* bad cluster: never part of a chain */
    } else if (v->type == FAT16) {
        e = get16(p);
        if (e >= 0xFFF8)
            e = CHAIN_END;
        else if (e == 0xFFF7)
            e = 0;
    } else {
        e = get32(p) & 0x0FFFFFFF; /* the top 4 bits are reserved (FAT spec 4.1) */
        if (e >= 0x0FFFFFF8)
            e = CHAIN_END;
        else if (e == 0x0FFFFFF7)
            e = 0;
    }
    *next = e;
    return true;
}

static bool valid_cluster(const struct volume *v, u32 c) { return c >= 2 && c <= v->clusters + 1; }

static u64 cluster_lba(const struct volume *v, u32 c) { return v->data_lba + (u64)(c - 2) * v->sectors_per_cluster; }

/* ---- directories (FAT spec 6-7) ---- */

struct dir_match {
    u32 cluster;
    u32 size;
    bool directory;
};

/* Long-name state while walking a directory. */
struct lfn {
    u16 name[256];
    u8 checksum;
    u8 expect; /* the next ordinal expected (counting down); 0: none valid */
    bool valid;
};

static u8 short_checksum(const u8 *name)
{
    u8 sum = 0;
    for (unsigned i = 0; i < 11; i++)
        sum = (u8)(((sum & 1) << 7) + (sum >> 1) + name[i]);
    return sum;
}

static char lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c; }

static bool same_name_short(const u8 *e, const char *want, size_t len)
{
    char name[13];
    size_t n = 0;
    for (unsigned i = 0; i < 8 && e[i] != ' '; i++)
        name[n++] = (char)(i == 0 && e[0] == 0x05 ? 0xE5 : e[i]);
    if (e[8] != ' ') {
        name[n++] = '.';
        for (unsigned i = 8; i < 11 && e[i] != ' '; i++)
            name[n++] = (char)e[i];
    }
    if (n != len)
        return false;
    for (size_t i = 0; i < n; i++)
        if (lower(name[i]) != lower(want[i]))
            return false;
    return true;
}

static bool same_name_long(const struct lfn *l, const char *want, size_t len)
{
    if (len > 255)
        return false;
    for (size_t i = 0; i < len; i++)
        if (l->name[i] > 0x7F || lower((char)l->name[i]) != lower(want[i]))
            return false;
    return l->name[len] == 0 || len == 255;
}

static void lfn_piece(struct lfn *l, const u8 *e)
{
    static const u8 at[13] = {1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30};
    u8 ord = e[0] & 0x3F;
    if (e[0] & 0x40) { /* the last piece comes first */
        memset(l->name, 0, sizeof(l->name));
        l->checksum = e[13];
        l->expect = ord;
        l->valid = ord >= 1 && ord <= 20;
    }
    if (!l->valid || ord != l->expect || e[13] != l->checksum) {
        l->valid = false;
        return;
    }
    for (unsigned i = 0; i < 13; i++)
        l->name[(ord - 1) * 13 + i] = get16(e + at[i]);
    l->expect--;
}

enum scan { SCAN_MORE, SCAN_FOUND, SCAN_END };

/* One sector of directory entries. */
static enum scan scan_entries(struct volume *v, struct lfn *l, const char *want, size_t len, struct dir_match *m)
{
    for (unsigned i = 0; i < FAT_SECTOR / 32; i++) {
        const u8 *e = v->sector + i * 32;
        if (e[0] == 0x00)
            return SCAN_END;
        if (e[0] == 0xE5) {
            l->valid = false;
            continue;
        }
        u8 attr = e[11];
        if ((attr & 0x3F) == 0x0F) {
            lfn_piece(l, e);
            continue;
        }
        bool long_ok = l->valid && l->expect == 0 && l->checksum == short_checksum(e);
        l->valid = false;
        if (attr & 0x08) /* the volume label */
            continue;
        if ((long_ok && same_name_long(l, want, len)) || same_name_short(e, want, len)) {
            m->cluster = get16(e + 26) | (v->type == FAT32 ? (u32)get16(e + 20) << 16 : 0);
            m->size = get32(e + 28);
            m->directory = attr & 0x10;
            return SCAN_FOUND;
        }
    }
    return SCAN_MORE;
}

/* Looks for one name in the directory at cluster (0: the FAT12/16 root). */
static enum fat_result find_in_dir(struct volume *v, u32 cluster, const char *want, size_t len, struct dir_match *m)
{
    struct lfn l = {.valid = false};
    if (cluster == 0 && v->type != FAT32) {
        for (u32 s = 0; s < v->root_sectors; s++) {
            if (!read_sectors(v->r, v->root_lba + s, 1, v->sector))
                return bad(v, "cannot read root directory sector %llu", s, 0);
            enum scan r = scan_entries(v, &l, want, len, m);
            if (r != SCAN_MORE)
                return r == SCAN_FOUND ? FAT_FOUND : FAT_NOT_FOUND;
        }
        return FAT_NOT_FOUND;
    }
    if (cluster == 0)
        cluster = v->root_cluster;
    /* A directory has at most 65536 entries (FAT spec 6): more clusters
     * than that holds is a loop in its chain. */
    u64 max_sectors = 65536 * 32 / FAT_SECTOR, seen = 0;
    while (cluster != CHAIN_END) {
        if (!valid_cluster(v, cluster))
            return bad(v, "directory chain reaches cluster %llu", cluster, 0);
        for (u32 s = 0; s < v->sectors_per_cluster; s++) {
            if (++seen > max_sectors)
                return bad(v, "directory at cluster %llu is longer than 65536 entries (a loop?)", cluster, 0);
            if (!read_sectors(v->r, cluster_lba(v, cluster) + s, 1, v->sector))
                return bad(v, "cannot read directory cluster %llu", cluster, 0);
            enum scan r = scan_entries(v, &l, want, len, m);
            if (r != SCAN_MORE)
                return r == SCAN_FOUND ? FAT_FOUND : FAT_NOT_FOUND;
        }
        if (!fat_entry(v, cluster, &cluster))
            return bad(v, "cannot read the FAT", 0, 0);
    }
    return FAT_NOT_FOUND;
}

/* ---- the file's clusters ---- */

static bool add_extent(struct fat_file *f, u64 lba, u64 sectors)
{
    if (f->extent_count) {
        struct fat_extent *last = &f->extents[f->extent_count - 1];
        if (last->lba + last->sectors == lba) {
            last->sectors += sectors;
            return true;
        }
    }
    if (f->extent_count == FAT_MAX_EXTENTS)
        return false;
    f->extents[f->extent_count++] = (struct fat_extent){lba, sectors};
    return true;
}

static enum fat_result map_chain(struct volume *v, const struct dir_match *m, struct fat_file *f, const char *path)
{
    u64 cluster_bytes = (u64)v->sectors_per_cluster * FAT_SECTOR;
    u64 needed = (m->size + cluster_bytes - 1) / cluster_bytes;
    f->size = m->size;
    f->volume_lba = v->lba;
    f->extent_count = 0;
    if (needed == 0)
        return FAT_FOUND;
    if (needed > v->clusters)
        return bad(v, "a file of %llu clusters on a volume of %llu", needed, v->clusters);
    u32 c = m->cluster;
    u64 left = m->size / FAT_SECTOR;
    for (u64 i = 0; i < needed; i++) {
        if (c == CHAIN_END)
            return bad(v, "a file's cluster chain ends after %llu of its %llu clusters", i, needed);
        if (!valid_cluster(v, c))
            return bad(v, "a file's cluster chain reaches cluster %llu (piece %llu)", c, i);
        u64 n = MIN(left, (u64)v->sectors_per_cluster);
        if (!add_extent(f, cluster_lba(v, c), n)) {
            snprintf(v->why, v->why_size, "'%s' is fragmented into more than %d pieces: copy it to a fresh file", path,
                     FAT_MAX_EXTENTS);
            return FAT_BAD;
        }
        left -= n;
        if (!fat_entry(v, c, &c))
            return bad(v, "cannot read the FAT", 0, 0);
    }
    /* Two pieces of one file on the same sectors: cross-linked clusters. */
    for (u32 a = 0; a < f->extent_count; a++)
        for (u32 b = a + 1; b < f->extent_count; b++) {
            const struct fat_extent *x = &f->extents[a], *y = &f->extents[b];
            if (x->lba < y->lba + y->sectors && y->lba < x->lba + x->sectors)
                return bad(v, "a file's clusters are linked twice (at sector %llu)", MAX(x->lba, y->lba), 0);
        }
    if (c != CHAIN_END)
        return bad(v, "a file's cluster chain goes on past its size (%llu clusters)", needed, 0);
    return FAT_FOUND;
}

enum fat_result fat_find_on_volume(const struct fat_reader *r, u64 volume_lba, const char *path, struct fat_file *out,
                                   char *why, size_t why_size)
{
    static struct volume vol; /* big; one look-up at a time (boot, one CPU) */
    struct volume *v = &vol;
    memset(v, 0, sizeof(*v));
    v->r = r;
    v->lba = volume_lba;
    v->why = why;
    v->why_size = why_size;
    if (!read_sectors(r, volume_lba, 1, v->sector) || !looks_like_bpb(v->sector))
        return FAT_NOT_FOUND;
    u8 boot[FAT_SECTOR];
    memcpy(boot, v->sector, sizeof(boot));
    enum fat_result res = parse_bpb(v, boot);
    if (res != FAT_FOUND)
        return res;
    struct dir_match m = {0, 0, true};
    const char *p = path;
    for (;;) {
        while (*p == '\\' || *p == '/')
            p++;
        if (!*p)
            break;
        const char *end = p;
        while (*end && *end != '\\' && *end != '/')
            end++;
        if (!m.directory)
            return FAT_NOT_FOUND;
        res = find_in_dir(v, m.cluster, p, (size_t)(end - p), &m);
        if (res != FAT_FOUND)
            return res;
        p = end;
    }
    if (m.directory)
        return FAT_NOT_FOUND;
    if (m.size % FAT_SECTOR) {
        snprintf(why, why_size, "'%s' is %u bytes: not a whole number of 512-byte sectors", path, m.size);
        return FAT_BAD;
    }
    return map_chain(v, &m, out, path);
}

/* ---- partition tables ---- */

/* The result of one more candidate volume: the first found wins; a bad
 * one is reported when no other holds the file. */
static enum fat_result merge(enum fat_result sofar, enum fat_result now) { return sofar == FAT_BAD ? FAT_BAD : now; }

/* ---- GPT (UEFI 2.10 5.3) ---- */

/* CRC-32 as the GPT uses it (UEFI 2.10 5.3.2 names the ANSI X3.66 /
 * IEEE 802.3 CRC: reflected polynomial EDB88320h, initial value and final
 * XOR FFFFFFFFh). crc is the running value: start with 0. */
static u32 crc32_update(u32 crc, const u8 *p, size_t n)
{
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = crc & 1 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
    }
    return ~crc;
}

u32 gpt_crc32(const void *p, size_t n) { return crc32_update(0, p, n); }

/* Entry i of the entry array at lba. Entries divide a sector
 * (gpt_header_check checked the size), so none straddles two: `sector`
 * keeps the one read last and is read again where entry i starts a new
 * one. NULL, and why, if that sector is past the disk's end. */
static const u8 *gpt_entry(const struct fat_reader *r, u64 lba, u32 i, u32 size, u8 *sector, char *why,
                           size_t why_size)
{
    u64 off = (u64)i * size;
    if (off % FAT_SECTOR == 0 && !read_sectors(r, lba + off / FAT_SECTOR, 1, sector)) {
        snprintf(why, why_size, "corrupt GPT: its entries at sector %llu are past the disk's end",
                 (unsigned long long)lba);
        return NULL;
    }
    return sector + off % FAT_SECTOR;
}

struct gpt {
    u64 entries_lba;
    u32 count, size;
    bool backup; /* the primary header was bad: these come from the backup */
};

/* Whether the header at lba is valid, as firmware checks it (UEFI 2.10
 * 5.3.2): the signature; HeaderCRC32 over HeaderSize bytes with the CRC
 * field taken as zero; MyLBA is lba; entries of a size the spec allows;
 * PartitionEntryArrayCRC32 over count * size bytes of the array. Else
 * false and what is wrong in why. */
static bool gpt_header_check(const struct fat_reader *r, u64 lba, struct gpt *g, char *why, size_t why_size)
{
    u8 hdr[FAT_SECTOR];
    if (!read_sectors(r, lba, 1, hdr)) {
        snprintf(why, why_size, "cannot be read");
        return false;
    }
    if (memcmp(hdr, "EFI PART", 8) != 0) {
        snprintf(why, why_size, "no GPT signature");
        return false;
    }
    u32 hsize = get32(hdr + 12), want = get32(hdr + 16);
    if (hsize < 92 || hsize > FAT_SECTOR) {
        snprintf(why, why_size, "header size %u", hsize);
        return false;
    }
    memset(hdr + 16, 0, 4);
    u32 got = gpt_crc32(hdr, hsize);
    if (got != want) {
        snprintf(why, why_size, "header CRC32 %08x, computed %08x", want, got);
        return false;
    }
    if (get64(hdr + 24) != lba) {
        snprintf(why, why_size, "it says it is at sector %llu", (unsigned long long)get64(hdr + 24));
        return false;
    }
    g->entries_lba = get64(hdr + 72);
    g->count = get32(hdr + 80);
    g->size = get32(hdr + 84);
    if (g->size < 128 || g->size > FAT_SECTOR || FAT_SECTOR % g->size || g->count > 1024) {
        snprintf(why, why_size, "%u entries of %u bytes", g->count, g->size);
        return false;
    }
    u64 bytes = (u64)g->count * g->size, sectors = (bytes + FAT_SECTOR - 1) / FAT_SECTOR;
    u32 crc = 0;
    u8 sector[FAT_SECTOR];
    for (u64 s = 0; s < sectors; s++) {
        if (!read_sectors(r, g->entries_lba + s, 1, sector)) {
            snprintf(why, why_size, "its entries at sector %llu are past the disk's end",
                     (unsigned long long)g->entries_lba);
            return false;
        }
        crc = crc32_update(crc, sector, (size_t)MIN((u64)FAT_SECTOR, bytes - s * FAT_SECTOR));
    }
    want = get32(hdr + 88);
    if (crc != want) {
        snprintf(why, why_size, "entry array CRC32 %08x, computed %08x", want, crc);
        return false;
    }
    return true;
}

/* The GPT to use: the primary header at sector 1, else the backup at the
 * disk's last sector, as firmware does (UEFI 2.10 5.3.2: "If the primary
 * GPT is invalid, the backup GPT is used instead"). FAT_NOT_FOUND if
 * neither has the signature; FAT_BAD, with both reasons, if neither is
 * valid. */
static enum fat_result gpt_open(const struct fat_reader *r, struct gpt *g, char *why, size_t why_size)
{
    char primary[96], backup[96];
    g->backup = false;
    if (gpt_header_check(r, 1, g, primary, sizeof(primary)))
        return FAT_FOUND;
    u64 last = r->disk_sectors - 1;
    if (last > 1 && gpt_header_check(r, last, g, backup, sizeof(backup))) {
        g->backup = true;
        return FAT_FOUND;
    }
    if (last <= 1)
        snprintf(backup, sizeof(backup), "no room for one");
    bool none = strcmp(primary, "no GPT signature") == 0 && strcmp(backup, "no GPT signature") == 0;
    if (none)
        return FAT_NOT_FOUND;
    snprintf(why, why_size, "corrupt GPT: primary header (sector 1): %s; backup header (sector %llu): %s", primary,
             (unsigned long long)last, backup);
    return FAT_BAD;
}

static enum fat_result try_gpt(const struct fat_reader *r, const char *path, struct fat_file *out, char *why,
                               size_t why_size)
{
    struct gpt g;
    enum fat_result hdr = gpt_open(r, &g, why, why_size);
    if (hdr != FAT_FOUND)
        return hdr;
    enum fat_result res = FAT_NOT_FOUND;
    char first_bad[160] = "";
    u8 sector[FAT_SECTOR];
    for (u32 i = 0; i < g.count; i++) {
        const u8 *e = gpt_entry(r, g.entries_lba, i, g.size, sector, why, why_size);
        if (!e)
            return FAT_BAD;
        static const u8 zero[16];
        if (memcmp(e, zero, 16) == 0)
            continue;
        u64 first = get64(e + 32);
        enum fat_result now = fat_find_on_volume(r, first, path, out, why, why_size);
        if (now == FAT_FOUND)
            return FAT_FOUND;
        if (now == FAT_BAD && res != FAT_BAD)
            strlcpy(first_bad, why, sizeof(first_bad));
        res = merge(res, now);
    }
    if (res == FAT_BAD)
        strlcpy(why, first_bad, why_size);
    return res;
}

/* PartitionName: 36 UTF-16LE code units, NUL-padded. */
static bool gpt_name_is(const u8 *name, const char *label, size_t len)
{
    for (size_t k = 0; k < len; k++)
        if (get16(name + 2 * k) != (u8)label[k])
            return false;
    return len == 36 || get16(name + 2 * len) == 0;
}

/* What a partition is looked for by: its name, or its unique GUID. */
struct gpt_want {
    const char *label; /* NULL: by guid */
    const u8 *guid;
};

static bool gpt_entry_is(const u8 *e, const struct gpt_want *w)
{
    if (w->label)
        return gpt_name_is(e + 56, w->label, strlen(w->label));
    return memcmp(e + 16, w->guid, 16) == 0; /* UniquePartitionGUID (UEFI 2.10 table 5-7) */
}

static enum fat_result gpt_find(const struct fat_reader *r, const struct gpt_want *w, const char *what,
                                struct fat_file *out, char *why, size_t why_size)
{
    struct gpt g;
    enum fat_result res = gpt_open(r, &g, why, why_size);
    if (res != FAT_FOUND)
        return res;
    u8 sector[FAT_SECTOR];
    static const u8 zero[16];
    for (u32 i = 0; i < g.count; i++) {
        const u8 *e = gpt_entry(r, g.entries_lba, i, g.size, sector, why, why_size);
        if (!e)
            return FAT_BAD;
        if (memcmp(e, zero, 16) == 0 || !gpt_entry_is(e, w)) /* a zero type GUID: an unused entry */
            continue;
        u64 first = get64(e + 32), last = get64(e + 40);
        if (first == 0 || last < first || last >= r->disk_sectors) {
            snprintf(why, why_size, "corrupt GPT: partition '%s' at sectors %llu-%llu, the disk has %llu", what,
                     (unsigned long long)first, (unsigned long long)last, (unsigned long long)r->disk_sectors);
            return FAT_BAD;
        }
        out->volume_lba = first;
        out->size = (last - first + 1) * FAT_SECTOR;
        out->extent_count = 1;
        out->extents[0] = (struct fat_extent){first, last - first + 1};
        out->gpt_backup = g.backup;
        return FAT_FOUND;
    }
    return FAT_NOT_FOUND;
}

enum fat_result gpt_find_label(const struct fat_reader *r, const char *label, struct fat_file *out, char *why,
                               size_t why_size)
{
    size_t len = strlen(label);
    if (len == 0 || len > 36)
        return FAT_NOT_FOUND;
    struct gpt_want w = {label, NULL};
    return gpt_find(r, &w, label, out, why, why_size);
}

static int hex_digit(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

bool gpt_parse_guid(const char *text, u8 guid[16])
{
    /* The text's bytes in order are Data1 (4, little-endian on disk),
     * Data2 (2, LE), Data3 (2, LE), then Data4's 8 bytes as they are
     * (UEFI 2.10 appendix A, "GUID and time formats"). */
    static const u8 at[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
    unsigned n = 0;
    for (unsigned i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (text[i] != '-')
                return false;
            continue;
        }
        int hi = hex_digit(text[i]), lo = hi < 0 ? -1 : hex_digit(text[++i]);
        if (hi < 0 || lo < 0)
            return false;
        guid[at[n++]] = (u8)(hi << 4 | lo);
    }
    return text[36] == 0;
}

enum fat_result gpt_find_uuid(const struct fat_reader *r, const char *uuid, struct fat_file *out, char *why,
                              size_t why_size)
{
    u8 guid[16];
    if (!gpt_parse_guid(uuid, guid))
        return FAT_NOT_FOUND;
    struct gpt_want w = {NULL, guid};
    return gpt_find(r, &w, uuid, out, why, why_size);
}

enum fat_result fat_locate(const struct fat_reader *r, const char *path, struct fat_file *out, char *why,
                           size_t why_size)
{
    u8 mbr[FAT_SECTOR];
    if (!read_sectors(r, 0, 1, mbr)) {
        snprintf(why, why_size, "cannot read the disk's first sector");
        return FAT_NOT_FOUND;
    }
    if (looks_like_bpb(mbr)) /* a volume without a partition table (a "superfloppy") */
        return fat_find_on_volume(r, 0, path, out, why, why_size);
    if (mbr[510] != 0x55 || mbr[511] != 0xAA)
        return FAT_NOT_FOUND;
    enum fat_result res = FAT_NOT_FOUND;
    char first_bad[160] = "";
    for (unsigned i = 0; i < 4; i++) {
        const u8 *e = mbr + 446 + 16 * i;
        u8 type = e[4];
        enum fat_result now;
        if (type == 0)
            continue;
        if (type == 0xEE) /* the protective MBR of a GPT disk (UEFI 2.10 5.2.3) */
            now = try_gpt(r, path, out, why, why_size);
        else
            now = fat_find_on_volume(r, get32(e + 8), path, out, why, why_size);
        if (now == FAT_FOUND)
            return FAT_FOUND;
        if (now == FAT_BAD && res != FAT_BAD)
            strlcpy(first_bad, why, sizeof(first_bad));
        res = merge(res, now);
    }
    if (res == FAT_BAD)
        strlcpy(why, first_bad, why_size);
    return res;
}

bool fat_file_map(const struct fat_file *f, u64 n, u64 *lba, u64 *run)
{
    for (u32 i = 0; i < f->extent_count; i++) {
        const struct fat_extent *e = &f->extents[i];
        if (n < e->sectors) {
            *lba = e->lba + n;
            *run = e->sectors - n;
            return true;
        }
        n -= e->sectors;
    }
    return false;
}
