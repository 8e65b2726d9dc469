/* The Linux/x86 boot protocol's setup header (Documentation/x86/boot.rst,
 * "The real-mode kernel header"): what a boot loader reads from a bzImage
 * to place it. Pure: the direct kernel boot of hvm domains
 * (vmm/kernel_boot.c) uses it, and so can any other loader of bzImages. */
#ifndef ZAZEN_BZIMAGE_H
#define ZAZEN_BZIMAGE_H

#include "types.h"

/* Offsets in the image (= in the real-mode code), boot.rst's table. */
#define BZ_SETUP_SECTS 0x1f1
#define BZ_SYSSIZE 0x1f4
#define BZ_BOOT_FLAG 0x1fe     /* AA55h */
#define BZ_HEADER 0x202        /* "HdrS" */
#define BZ_VERSION 0x206
#define BZ_TYPE_OF_LOADER 0x210
#define BZ_LOADFLAGS 0x211
#define BZ_SETUP_MOVE_SIZE 0x212
#define BZ_CODE32_START 0x214
#define BZ_RAMDISK_IMAGE 0x218
#define BZ_RAMDISK_SIZE 0x21c
#define BZ_HEAP_END_PTR 0x224
#define BZ_CMD_LINE_PTR 0x228
#define BZ_INITRD_ADDR_MAX 0x22c
#define BZ_KERNEL_ALIGNMENT 0x230
#define BZ_RELOCATABLE 0x234
#define BZ_XLOADFLAGS 0x236
#define BZ_CMDLINE_SIZE 0x238
#define BZ_PREF_ADDRESS 0x258
#define BZ_INIT_SIZE 0x260
#define BZ_HEADER_END 0x270    /* past every field up to protocol 2.15 */
/* The old command line protocol (before 2.02), in the first sector. */
#define BZ_CMD_LINE_MAGIC 0x20 /* A33Fh */
#define BZ_CMD_LINE_OFFSET 0x22

#define BZ_HDRS_MAGIC 0x53726448u
#define BZ_LOADED_HIGH 0x01    /* loadflags: protected-mode code at 100000h (a bzImage) */
#define BZ_CAN_USE_HEAP 0x80   /* loadflags: heap_end_ptr is valid */
#define BZ_LOADER_UNDEFINED 0xff /* type_of_loader: "no assigned id" */

struct bzimage {
    u16 version;          /* boot protocol, 0x020f for 2.15 */
    unsigned setup_sects; /* 512-byte sectors after the boot sector (0 in the file means 4) */
    u64 setup_size;       /* the real-mode code: (setup_sects + 1) * 512 bytes */
    u64 kernel_size;      /* the protected-mode code that follows it */
    u8 loadflags;
    u32 initrd_addr_max;  /* highest address the initrd's last byte may have */
    u32 cmdline_size;     /* longest command line, without its NUL */
    bool relocatable;
    u32 kernel_alignment;
    u64 pref_address;     /* 2.10+: where the kernel wants to run */
    u32 init_size;        /* 2.10+: bytes it needs from there while it starts */
};

/* Reads the setup header of a bzImage of `size` bytes. False, with why
 * ("not a Linux kernel: ...", "truncated: ..."), if it is none or is cut
 * short. */
bool bzimage_parse(const u8 *image, u64 size, struct bzimage *out, char *why, size_t why_size);

/* Whether the image at least carries a boot protocol header ("HdrS"):
 * lets a caller tell "a broken bzImage" from "some other format". */
bool bzimage_has_header(const u8 *image, u64 size);

/* The end of the memory the protected-mode kernel uses while it starts,
 * loaded at `load` (100000h): its own size, or pref_address + init_size
 * (2.10+), where a kernel decompresses itself (boot.rst, init_size). */
u64 bzimage_footprint_end(const struct bzimage *bz, u64 load);

#endif
