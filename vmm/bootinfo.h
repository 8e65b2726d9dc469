/* The one structure a boot entry (boot/uefi.c, boot/multiboot2.c) hands to
 * the core. After core_main() starts, nothing knows which entry ran. */
#ifndef ZAZEN_BOOTINFO_H
#define ZAZEN_BOOTINFO_H

#include "types.h"

#define BOOTINFO_MAGIC 0x5a617a656e424f4full /* "ZazenBOO" */
#define BOOTINFO_MAX_MEM 512
#define BOOTINFO_MAX_FILES 32
#define BOOTINFO_NAME_MAX 96

enum mem_type {
    MEM_USABLE = 1,     /* free RAM */
    MEM_USABLE_LATER,   /* free once the core runs on its own page tables and stack
                           (UEFI boot-services memory, still holding the firmware's) */
    MEM_ZAZEN,          /* Zazen's image, loaded files, boot info, stack */
    MEM_RESERVED,       /* firmware runtime, SMRAM, holes: never touched */
    MEM_ACPI_RECLAIM,
    MEM_ACPI_NVS,
    MEM_MMIO,
    MEM_UNUSABLE,
};

struct bootinfo_mem {
    u64 base;
    u64 size;
    u32 type; /* enum mem_type */
};

#define BOOTINFO_HEAD_BYTES (64 * 1024) /* what identifies a disk file not loaded whole */

struct bootinfo_file {
    char name[BOOTINFO_NAME_MAX]; /* as the config names it */
    const u8 *data;               /* page aligned, identity mapped; NULL: not loaded (in_place_only) */
    u64 size;
    /* A disk file on a boot disk a host driver reaches (SATA, NVMe, ATA)
     * is not loaded whole (docs/storage.md): only its first
     * MIN(size, BOOTINFO_HEAD_BYTES) bytes (head) and its last 512 (tail),
     * which storage_init compares with the file it finds on the disk.
     * For a file loaded whole, head and tail point into data. */
    const u8 *head;
    const u8 *tail;
    bool in_place_only;
};

struct bootinfo {
    u64 magic;
    const char *entry; /* "UEFI" or "multiboot2", for the banner only */
    struct bootinfo_mem mem[BOOTINFO_MAX_MEM];
    u32 mem_count;
    struct bootinfo_file files[BOOTINFO_MAX_FILES];
    u32 file_count;
    char config_name[BOOTINFO_NAME_MAX];
    const char *config_text;
    u64 config_size;
    u64 acpi_rsdp; /* physical address, 0 if the firmware gave none */
    u64 core_bytes; /* Zazen's own: its image (.bss included), stack, boot info; not the loaded files */
    char cmdline[256];
};

/* Every entry ends by calling this on a stack of its own, interrupts off,
 * with all RAM identity mapped. */
NORETURN void core_main(struct bootinfo *bi);

#endif
