/* Direct kernel boot for hvm domains (`kernel =`, `ramdisk =`, `cmdline =`
 * in zazen.cfg): the hypervisor places the kernel, its ramdisk and its
 * command line in guest RAM and leaves a hand-off block for the Zazen
 * BIOS, which enters the kernel at boot time (INT 19h) instead of reading
 * a boot sector, as QEMU's -kernel does through its linuxboot option ROM.
 *
 *   Linux/x86 boot protocol (bzImage: Linux, ipxe.lkrn, memtest86+'s .bin):
 *     real-mode setup at 10000h (protocol 2.02+; 90000h before), heap to
 *     E000h, command line at 1E000h, protected-mode code at 100000h, the
 *     initrd at the top of RAM below initrd_addr_max; the BIOS enters the
 *     setup at seg+20h:0 in real mode.
 *   Multiboot v1 (a.out kludge or ELF): segments at their physical
 *     addresses, the ramdisk as module 0 on the next page, the information
 *     structure in the boot area below; the BIOS enters the kernel in flat
 *     32-bit protected mode with EAX = 2BADB002h and EBX = the structure.
 *
 * Pure: guest memory is reached through a write callback, so the host
 * unit tests load crafted images into a buffer. Written again at every
 * reset of the domain, as the BIOS tables are. */
#ifndef ZAZEN_KERNEL_BOOT_H
#define ZAZEN_KERNEL_BOOT_H

#include "types.h"
#include "../guest-bios/tables.h"

/* The hand-off block the BIOS reads lives in the EBDA, which the E820
 * map reserves, so no kernel loads over it (bios.asm's KBOOT_OFF, in step).
 * The Multiboot information structure, memory map and strings go in the
 * boot area below the Linux setup's 10000h and above the BIOS stack
 * (0:7000h down), or, for a kernel that loads there itself, after the
 * kernel and its module. */
#define KBOOT_HANDOFF_ADDR (BIOS_EBDA_BASE + 0x300u)
#define KBOOT_INFO_ADDR 0x8000u
#define KBOOT_AREA_END 0x10000u
/* Conventional memory a Multiboot kernel may load into, as under GRUB or
 * QEMU (kvm-unit-tests' realmode loads at 8000h): from above the BIOS's
 * stack (POST writes the IVT, the BDA and its stack below 0:7000h) to the
 * EBDA. */
#define KBOOT_LOW_START 0x7000u
#define KBOOT_MAGIC 0x4e524b5au /* "ZKRN" */

enum kboot_kind { KBOOT_LINUX = 1, KBOOT_MULTIBOOT = 2 };

/* Read by bios.asm's boot_kernel when bios_info.flags has BIOS_INFO_KERNEL_BOOT. */
struct PACKED kboot_handoff {
    u32 magic;
    u16 kind;       /* enum kboot_kind */
    u16 seg;        /* Linux: the real-mode setup's segment (SS = DS = ES = FS = GS) */
    u16 sp;         /* Linux: its stack pointer, the heap's end */
    u16 reserved;
    u32 entry;      /* Multiboot: the 32-bit entry point */
    u32 eax, ebx;   /* Multiboot: 2BADB002h and the information structure */
};

/* A file to load, and how errors name it ("kernel 'vmlinuz' (zazen.cfg:3)"). */
struct kboot_file {
    const u8 *data;  /* NULL: none (only the ramdisk may be absent) */
    u64 size;
    const char *name;
    const char *what;
};

struct kboot_config {
    struct kboot_file kernel, ramdisk;
    const char *cmdline;
    const struct e820_entry *e820; /* the domain's memory map, as the BIOS reports it */
    unsigned e820_count;
};

/* What was loaded where, for the console. */
struct kboot_report {
    enum kboot_kind kind;
    u16 protocol;            /* Linux: boot protocol version */
    bool elf;                /* Multiboot: loaded from ELF program headers */
    u64 kernel_start, kernel_end;
    u64 ramdisk_start, ramdisk_end; /* 0, 0 without a ramdisk */
    u32 entry;               /* Multiboot */
};

/* Writes len bytes (data NULL: zeros) to guest-physical gpa; false if that
 * is not the domain's RAM. */
typedef bool (*kboot_write_fn)(void *ctx, u64 gpa, const void *data, u64 len);

/* Loads the kernel, ramdisk and command line and writes the hand-off
 * block. False, with why naming the file ("kernel 'x' (zazen.cfg:3):
 * truncated: ..."), for an image that is neither kind, is cut short, or
 * does not fit in the domain's RAM; nothing may run then. */
bool kboot_load(const struct kboot_config *c, kboot_write_fn write, void *ctx, struct kboot_report *rep, char *why,
                size_t why_size);

/* Where images may go: from 1 MiB to the end of the RAM entry there. */
u64 kboot_ram_top(const struct e820_entry *e820, unsigned count);

#endif
