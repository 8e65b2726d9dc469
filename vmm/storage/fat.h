/* Finding a file's sectors on a FAT12/16/32 volume, read only, so that a
 * guest's disk can live in place in a file on the boot disk. Pure: every
 * sector comes through the caller's reader, so the host unit tests and
 * the fuzzer drive it with an image in memory.
 * Spec: Microsoft "FAT: General Overview of On-Disk Format" 1.03 (the
 * BPB, the FAT type by cluster count, directory entries, long names);
 * UEFI 2.10 5.2-5.3 (MBR and GPT partition tables). */
#ifndef ZAZEN_STORAGE_FAT_H
#define ZAZEN_STORAGE_FAT_H

#include "../types.h"

#define FAT_SECTOR 512
#define FAT_MAX_EXTENTS 64 /* a file in more pieces is refused as too fragmented */

/* Reads count 512-byte sectors at lba of the whole disk into buf. */
struct fat_reader {
    bool (*read)(void *ctx, u64 lba, u32 count, void *buf);
    void *ctx;
    u64 disk_sectors;
};

/* A run of the file's sectors: disk sectors [lba, lba + sectors). */
struct fat_extent {
    u64 lba;
    u64 sectors;
};

struct fat_file {
    u64 size; /* bytes, from its directory entry */
    u64 volume_lba;
    u32 extent_count;
    struct fat_extent extents[FAT_MAX_EXTENTS];
    bool gpt_backup; /* a GPT partition found through the backup header (the primary is corrupt) */
};

enum fat_result {
    FAT_FOUND,
    FAT_NOT_FOUND, /* no FAT volume on this disk holds the path */
    FAT_BAD,       /* a volume holds it, but the volume or the file is unusable: why says so */
};

/* Looks for path ("\EFI\BOOT\linux.img"; '\' or '/' between names, case
 * ignored, long names matched) on the disk: the whole disk as one volume,
 * else each partition of its MBR or GPT. */
enum fat_result fat_locate(const struct fat_reader *r, const char *path, struct fat_file *out, char *why,
                           size_t why_size);

/* The same on the volume at volume_lba. */
enum fat_result fat_find_on_volume(const struct fat_reader *r, u64 volume_lba, const char *path, struct fat_file *out,
                                   char *why, size_t why_size);

/* Looks for the GPT partition named label (its UTF-16 name compared with
 * the ASCII label, case kept, as Linux's PARTLABEL=) on the disk:
 * FAT_FOUND with its sectors as one extent in out (size: its bytes). */
enum fat_result gpt_find_label(const struct fat_reader *r, const char *label, struct fat_file *out, char *why,
                               size_t why_size);

/* The same by the partition's unique GUID (UniquePartitionGUID), given
 * as Linux's PARTUUID= prints it ("0fc63daf-8483-4772-8e79-3d69d8477de4",
 * either case). A GPT is used when its header and entry array pass their
 * CRC32 checks: the primary header's, else the backup's at the disk's
 * last sector; neither valid is FAT_BAD naming both faults. */
enum fat_result gpt_find_uuid(const struct fat_reader *r, const char *uuid, struct fat_file *out, char *why,
                              size_t why_size);

/* The 36-character GUID text as the 16 bytes a GPT stores; false if it
 * is not one. */
bool gpt_parse_guid(const char *text, u8 guid[16]);

/* CRC-32 of n bytes as the GPT header and entry array carry it. */
u32 gpt_crc32(const void *p, size_t n);

/* The disk sector of the file's sector n and how many follow it in the
 * same extent; false past the file's end. */
bool fat_file_map(const struct fat_file *f, u64 n, u64 *lba, u64 *run);

#endif
