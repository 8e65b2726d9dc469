/* What a domain tells firmware written for QEMU (SeaBIOS, qboot) through
 * the fw_cfg device (devmodel/fw_cfg.h), built from its configuration:
 * the CPU count, the RAM size and memory map (etc/e820), the boot order
 * (bootorder), and the same ACPI tables the Zazen BIOS gets
 * (guest-bios/tables.c) as blobs with a linker/loader script
 * (etc/table-loader) that places them and patches their pointers and
 * checksums, as QEMU's "BIOS linker/loader" does. Pure: the unit tests
 * run it on the host.
 *
 * Items (keys and names as in QEMU's docs/specs/fw_cfg.rst):
 *   05h NB_CPUS, 0Fh MAX_CPUS   u16, the domain's vCPUs
 *   03h RAM_SIZE                u64, bytes
 *   04h NOGRAPHIC               u16 1: no display, firmware talks on COM1
 *   8002h IRQ0_OVERRIDE         u8 1 on the PCI PC (ISA IRQ0 on I/O APIC pin 2)
 *   etc/e820                    {u64 base, u64 length, u32 type} per range
 *   bootorder                   OpenFirmware paths, one per line
 *   etc/acpi/tables, etc/acpi/rsdp, etc/table-loader (PCI PC and ISA PC)
 * A kernel for direct boot (QEMU's 07h-18h) is not offered here. */
#ifndef ZAZEN_VMM_FW_CFG_CONTENT_H
#define ZAZEN_VMM_FW_CFG_CONTENT_H

#include "../devmodel/fw_cfg.h"
#include "../guest-bios/tables.h"

#define FW_CFG_LOADER_ENTRY 128
#define FW_CFG_LOADER_MAX 24
#define FW_CFG_BOOTORDER_MAX 256

/* The linker/loader commands (SeaBIOS romfile_loader, QEMU bios-linker-loader). */
enum { LOADER_ALLOCATE = 1, LOADER_ADD_POINTER = 2, LOADER_ADD_CHECKSUM = 3 };
enum { LOADER_ZONE_HIGH = 1, LOADER_ZONE_FSEG = 2 };

struct fw_cfg_boot_disk {
    unsigned channel, unit; /* IDE channel 0/1, master 0 / slave 1 */
};

struct fw_cfg_content {
    u16 cpus;
    u64 ram_size;
    u16 nographic;
    u8 irq0_override;
    struct e820_entry e820[1];
    char bootorder[FW_CFG_BOOTORDER_MAX];
    u8 acpi[BIOS_ACPI_SIZE]; /* the tables, their pointers made offsets into this blob */
    u32 acpi_size;
    u8 rsdp[36];
    u8 loader[FW_CFG_LOADER_MAX * FW_CFG_LOADER_ENTRY];
    u32 loader_size;
};

/* Builds everything for a PC with p's platform, `cpus` vCPUs and the IDE
 * drives to boot from in order (channel/unit pairs). False: the tables
 * did not fit (a bug, not a guest error). */
bool fw_cfg_content_build(struct fw_cfg_content *c, const struct bios_platform *p, unsigned cpus,
                          const struct fw_cfg_boot_disk *boot, unsigned boot_count);
/* Hands every item to the device. False: the device's tables are full. */
bool fw_cfg_content_install(const struct fw_cfg_content *c, struct fw_cfg *f);

#endif
