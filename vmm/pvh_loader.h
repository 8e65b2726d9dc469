/* The loader of `type = pvh` domains: a Linux kernel entered at its Xen
 * PVH entry point (the ELF note XEN_ELFNOTE_PHYS32_ENTRY, type 18, Xen
 * public/elfnote.h) in 32-bit flat protected mode, with EBX pointing at
 * a struct hvm_start_info (Xen public/arch-x86/hvm/start_info.h).
 *
 * The kernel is an ELF vmlinux, or a bzImage whose payload (Linux boot
 * protocol 2.08+: payload_offset at 248h, payload_length at 24Ch) is an
 * XZ or gzip compressed vmlinux, which Zazen decompresses itself
 * (vmm/xz.c, vmm/inflate.c) as Xen's libxenguest does.
 *
 * The guest-physical layout (all below 1 GiB, as Linux's early page
 * tables map only that much when it reads start_info's tables):
 *   6000h   hvm_start_info (56 bytes), 6040h: the module list (32 bytes)
 *   7000h   the memory map (24-byte entries)
 *   20000h  the command line
 *   segments at their p_paddr (16 MiB and up for Debian's kernels)
 *   the ramdisk at the top of the RAM below the special pages
 * Pure: guest memory is reached through a write callback. */
#ifndef ZAZEN_PVH_LOADER_H
#define ZAZEN_PVH_LOADER_H

#include "types.h"

#define PVH_START_INFO_ADDR 0x6000u
#define PVH_MODLIST_ADDR 0x6040u
#define PVH_MEMMAP_ADDR 0x7000u
#define PVH_CMDLINE_ADDR 0x20000u
#define PVH_CMDLINE_MAX 2048u
#define PVH_MEMMAP_MAX 16
#define XEN_HVM_START_MAGIC 0x336ec578u
#define XEN_ELFNOTE_PHYS32_ENTRY 18

/* hvm_memmap_table_entry types (start_info.h), the E820 ones. */
enum { PVH_MEM_RAM = 1, PVH_MEM_RESERVED = 2, PVH_MEM_ACPI = 3 };

struct PACKED hvm_start_info {
    u32 magic, version, flags, nr_modules;
    u64 modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
    u32 memmap_entries, reserved;
};

struct PACKED hvm_modlist_entry {
    u64 paddr, size, cmdline_paddr, reserved;
};

struct PACKED hvm_memmap_entry {
    u64 addr, size;
    u32 type, reserved;
};

struct pvh_file {
    const u8 *data; /* NULL: none (the ramdisk only) */
    u64 size;
    const char *what; /* "kernel 'vmlinuz' (zazen.cfg:3)": errors start with it */
};

/* Writes len bytes (data NULL: zeros) at gpa; false if that is not RAM. */
typedef bool (*pvh_write_fn)(void *ctx, u64 gpa, const void *data, u64 len);
/* Host memory for a decompressed kernel, and its release. */
typedef void *(*pvh_alloc_fn)(u64 size);
typedef void (*pvh_free_fn)(void *p, u64 size);

struct pvh_config {
    struct pvh_file kernel, ramdisk;
    const char *cmdline;
    u64 ram_size;
    u64 usable_top;  /* RAM from 1 MiB up to here takes the kernel and the ramdisk */
    u64 rsdp;        /* the ACPI RSDP's address */
    const struct hvm_memmap_entry *memmap;
    unsigned memmap_count;
    pvh_alloc_fn alloc;
    pvh_free_fn free;
};

struct pvh_report {
    bool compressed;       /* a bzImage: its payload was decompressed */
    const char *format;    /* "xz", "gzip" or "ELF" */
    u64 payload_size;      /* the decompressed vmlinux's size */
    u32 entry;             /* the PVH entry point */
    u64 kernel_start, kernel_end;
    u64 ramdisk_start, ramdisk_end;
};

/* Finds the PVH entry note in an ELF image's PT_NOTE segments. False with
 * why if there is none, or it is malformed. */
bool pvh_find_entry(const u8 *elf, u64 size, u32 *entry, char *why, size_t why_size);

/* Loads everything and writes the start_info; false with a sentence that
 * starts with the file's description. */
bool pvh_load(const struct pvh_config *c, pvh_write_fn write, void *ctx, struct pvh_report *rep, char *why,
              size_t why_size);

#endif
