/* The platform tables of a Zazen PC, built from the domain's configuration
 * apart from the BIOS's real-mode code (as Xen's hvmloader keeps them
 * apart from the BIOS payload): the E820 memory map, the ACPI tables and
 * the SMBIOS tables.
 * Pure: the hypervisor writes the result into guest RAM when it creates
 * or resets a domain that boots the built-in BIOS; the host unit tests
 * read it back. Describes only what devmodel/pc.c emulates. */
#ifndef ZAZEN_GUEST_BIOS_TABLES_H
#define ZAZEN_GUEST_BIOS_TABLES_H

#include "../vmm/types.h"

/* Guest-physical layout shared with bios.asm (keep the %defines there in step). */
#define BIOS_EBDA_BASE 0x9f000u      /* 4 KiB extended BIOS data area */
#define BIOS_EBDA_KIB 4
#define BIOS_RSDP_ADDR 0x9f010u      /* in the EBDA's first KiB, where OSes search */
#define BIOS_MP_FLOATING_ADDR 0x9f040u /* the MP floating pointer, also in its first KiB (MP spec 4.1) */
#define BIOS_INFO_ADDR 0x9f100u      /* struct bios_info: what the ROM reads */
#define BIOS_ACPI_SIZE 0x10000u      /* the last 64 KiB of RAM hold the ACPI tables */
#define BIOS_ROM_SIZE 0x10000u       /* the ROM: F0000h-FFFFFh and FFFF0000h-FFFFFFFFh */
/* A slot the ROM keeps free (bios.asm: fseg_tables) for what OSes look for
 * in the F segment: the RSDP again (ACPI 6.4 5.2.5.1: E0000h-FFFFFh is
 * searched after the EBDA), the SMBIOS entry point (SMBIOS 3.x/2.8 5.2.1:
 * F0000h-FFFFFh, on 16-byte boundaries) and the SMBIOS structures. */
#define BIOS_FSEG_TABLES 0xff000u
#define BIOS_FSEG_TABLES_SIZE 0xc00u
#define BIOS_FSEG_RSDP (BIOS_FSEG_TABLES + 0x00u)
#define BIOS_FSEG_SMBIOS_EP (BIOS_FSEG_TABLES + 0x30u)
#define BIOS_FSEG_SMBIOS_TABLE (BIOS_FSEG_TABLES + 0x50u)
#define BIOS_INFO_MAGIC 0x4f49425au  /* "ZBIO" */
#define BIOS_E820_MAX 16

enum e820_type { E820_RAM = 1, E820_RESERVED = 2, E820_ACPI = 3, E820_NVS = 4 };

struct PACKED e820_entry {
    u64 base, length;
    u32 type;
};

/* Read by the ROM at BIOS_INFO_ADDR (bios.asm: INT 15h E820, E801, 88h). */
struct PACKED bios_info {
    u32 magic;
    u16 e820_count;
    u16 flags;               /* BIOS_INFO_PCI: PCI BIOS services offered */
    u32 ram_below_4g;        /* bytes */
    struct e820_entry e820[BIOS_E820_MAX];
};
#define BIOS_INFO_PCI 1             /* the PCI chipset is there */
#define BIOS_INFO_BOOT_CD_FIRST 2   /* boot order: the CD-ROM before the hard disk */
#define BIOS_INFO_KERNEL_BOOT 4     /* INT 19h enters the kernel the hypervisor loaded (vmm/kernel_boot.h) */

struct bios_platform {
    u64 ram_size;            /* bytes, below 4 GiB */
    bool pci;                /* i440FX/PIIX3 PCI chipset with an I/O APIC */
    bool boot_cd_first;
    bool kernel_boot;        /* kernel = in the config: boot it instead of a disk */
    bool pvh;                /* a Xen PVH domain (type = pvh): the local APIC alone, no legacy devices */
    u16 pm_base;             /* ACPI PM1a event block; control at +4, timer at +8 */
    u8 sci_irq;
    u64 ioapic_base, lapic_base;
    /* for SMBIOS */
    const char *name;        /* the domain's: the system's serial number, and its UUID */
    unsigned vcpus;
    char cpu_vendor[13];     /* CPUID leaf 0, as the guest sees it */
    u32 cpu_signature;       /* CPUID leaf 1 EAX */
    u32 cpu_features;        /* CPUID leaf 1 EDX */
    u32 cpu_mhz;             /* 0: unknown */
};

/* Writes bytes into guest-physical memory; the builder never writes
 * anywhere but the EBDA, the ACPI area and the ROM's F-segment slot
 * (BIOS_FSEG_TABLES: the caller writes the domain's copy of the ROM). */
typedef void (*bios_write_fn)(void *ctx, u64 gpa, const void *data, size_t len);

/* Builds everything and writes it with write(). */
void bios_tables_build(const struct bios_platform *p, bios_write_fn write, void *ctx);

/* Pieces, for the unit tests. */
unsigned bios_e820_build(const struct bios_platform *p, struct e820_entry *out);
/* The SMBIOS 2.8 structure table (types 0, 1, 3, 4, 16, 17, 19, 32, 127)
 * into out (BIOS_FSEG_TABLES_SIZE bytes at most); returns its length and
 * the number of structures and the largest one's size. */
size_t bios_smbios_build(const struct bios_platform *p, u8 *out, size_t max, unsigned *count, unsigned *largest);
u8 acpi_checksum(const void *data, size_t len);

#endif
