/* Multiboot kernels (the Multiboot Specification 0.6.96): the header a
 * kernel carries in its first 8 KiB, the segments to load (from the
 * header's a.out kludge addresses or from the ELF program headers), and
 * the information structure the boot loader hands it. Pure: the direct
 * kernel boot of hvm domains (vmm/kernel_boot.c) places what this
 * computes; the host unit tests check it with crafted images. */
#ifndef ZAZEN_MULTIBOOT_H
#define ZAZEN_MULTIBOOT_H

#include "types.h"
#include "../guest-bios/tables.h"

#define MB_HEADER_MAGIC 0x1badb002u /* in the kernel's header (spec 3.1.2) */
#define MB_BOOT_MAGIC 0x2badb002u   /* in EAX at the kernel's entry (spec 3.2) */
#define MB_SEARCH_BYTES 8192        /* the header lies in the first 8 KiB, 4-byte aligned */

/* Header flags (3.1.2): bits 0-15 are requirements a loader must meet or
 * refuse the kernel; bits 16-31 are optional features. */
#define MB_FLAG_PAGE_ALIGN (1u << 0)  /* modules on 4 KiB boundaries */
#define MB_FLAG_MEMORY_INFO (1u << 1) /* mem_* and mmap_* in the info structure */
#define MB_FLAG_VIDEO_MODE (1u << 2)  /* video mode information */
#define MB_FLAG_AOUT_KLUDGE (1u << 16) /* the load addresses are in the header */
#define MB_FLAGS_UNDERSTOOD (MB_FLAG_PAGE_ALIGN | MB_FLAG_MEMORY_INFO | MB_FLAG_VIDEO_MODE)

/* Info structure flags (3.3): which fields are valid. */
#define MBI_MEMORY (1u << 0)
#define MBI_CMDLINE (1u << 2)
#define MBI_MODS (1u << 3)
#define MBI_MMAP (1u << 6)
#define MBI_LOADER_NAME (1u << 9)
#define MBI_FRAMEBUFFER (1u << 12)
#define MBI_SIZE 116 /* up to and including the framebuffer fields */

struct multiboot_header {
    u64 offset; /* of the magic in the file */
    u32 flags;
    /* With MB_FLAG_AOUT_KLUDGE: physical addresses. */
    u32 header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
};

#define MB_MAX_SEGMENTS 16

/* Copy file_size bytes from file_offset to dest, then zero up to mem_size. */
struct multiboot_segment {
    u64 dest, file_offset, file_size, mem_size;
};

struct multiboot_kernel {
    struct multiboot_header header;
    bool elf;                /* loaded from ELF program headers, else by the a.out kludge */
    struct multiboot_segment seg[MB_MAX_SEGMENTS];
    unsigned seg_count;
    u64 start, end;          /* the lowest and past the highest byte loaded */
    u32 entry;               /* physical */
};

/* Finds the header: the magic at a 4-byte boundary in the first 8 KiB
 * whose checksum field makes magic + flags + checksum zero. */
bool multiboot_find_header(const u8 *image, u64 size, struct multiboot_header *out);

/* What to load and where to enter, from a header found in the image.
 * False, with why, for a header asking what Zazen does not provide, an
 * image cut short, or an entry point outside what is loaded. */
bool multiboot_plan(const u8 *image, u64 size, const struct multiboot_header *h, struct multiboot_kernel *out,
                    char *why, size_t why_size);

/* What goes into the information structure. */
struct multiboot_info_input {
    u32 base;                /* guest-physical address of the buffer */
    const struct e820_entry *e820;
    unsigned e820_count;
    const char *cmdline;     /* the kernel's command line (by convention its own name first) */
    const char *loader_name;
    bool module;             /* one module: */
    u32 mod_start, mod_end;
    const char *mod_string;
    bool text_mode;          /* describe the 80x25 text screen (header flag bit 2) */
};

/* Builds the information structure, then the memory map, module list and
 * strings it points to, into buf (which will sit at in->base). Returns
 * the bytes used, or 0 if buf is too small. */
size_t multiboot_build_info(const struct multiboot_info_input *in, u8 *buf, size_t buf_size);

#endif
