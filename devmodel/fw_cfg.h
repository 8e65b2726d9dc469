/* The QEMU firmware configuration device (fw_cfg), as firmware written for
 * QEMU expects it on a PC: SeaBIOS, qboot, the Linux fw_cfg driver. Items
 * (blobs) are chosen by a 16-bit key and read byte by byte or by DMA; the
 * hypervisor fills them from the domain's configuration (RAM size, CPU
 * count, memory map, ACPI tables, boot order).
 * Spec: QEMU docs/specs/fw_cfg.rst ("Guest-side Hardware Interface"): the
 * selector register, the data register, the DMA interface, the file
 * directory.
 *
 * Ports (x86):
 *   510h  selector, 16 bits, little-endian, write only: picks an item and
 *         sets the data offset to 0;
 *   511h  data, 8 bits: reads the selected item's next byte (0 past its end
 *         or for a key with no item); writes are ignored;
 *   514h  DMA address, two 32-bit big-endian halves (514h high, 518h
 *         low); writing the low half starts the transfer described by the
 *         FWCfgDmaAccess at that guest-physical address. Reading 514h-51Bh
 *         gives the signature "QEMU CFG" as a big-endian 64-bit value.
 *
 * Interface for the platform: fw_cfg_add (a well-known key) and
 * fw_cfg_add_file (a named file at the next key from 20h, listed in the
 * directory at key 19h). The device keeps pointers: the data must outlive
 * it. */
#ifndef ZAZEN_DEVMODEL_FW_CFG_H
#define ZAZEN_DEVMODEL_FW_CFG_H

#include "devmodel.h"

#define FW_CFG_PORT_SELECTOR 0x510
#define FW_CFG_PORT_DATA 0x511
#define FW_CFG_PORT_DMA 0x514 /* 8 bytes: 514h high, 518h low */

/* Well-known keys ("Selector Register"; the legacy items firmware reads). */
#define FW_CFG_SIGNATURE 0x00
#define FW_CFG_ID 0x01
#define FW_CFG_UUID 0x02
#define FW_CFG_RAM_SIZE 0x03
#define FW_CFG_NOGRAPHIC 0x04
#define FW_CFG_NB_CPUS 0x05
#define FW_CFG_BOOT_MENU 0x0e
#define FW_CFG_MAX_CPUS 0x0f
#define FW_CFG_FILE_DIR 0x19
#define FW_CFG_FILE_FIRST 0x20
#define FW_CFG_ARCH_LOCAL 0x8000
#define FW_CFG_IRQ0_OVERRIDE (FW_CFG_ARCH_LOCAL + 2)
#define FW_CFG_E820_TABLE (FW_CFG_ARCH_LOCAL + 3)

/* FW_CFG_ID: the traditional interface, and DMA. */
#define FW_CFG_VERSION 0x01
#define FW_CFG_VERSION_DMA 0x02

/* FWCfgDmaAccess.control bits ("DMA interface"). */
#define FW_CFG_DMA_ERROR 0x01
#define FW_CFG_DMA_READ 0x02
#define FW_CFG_DMA_SKIP 0x04
#define FW_CFG_DMA_SELECT 0x08
#define FW_CFG_DMA_WRITE 0x10
#define FW_CFG_DMA_SIGNATURE 0x51454d5520434647ull /* "QEMU CFG" */

#define FW_CFG_MAX_ITEMS 40
#define FW_CFG_MAX_FILES 16
#define FW_CFG_FILE_NAME 56 /* with its NUL */
#define FW_CFG_FILE_ENTRY 64 /* size (be32), select (be16), reserved (u16), name */

struct fw_cfg_item {
    u16 key;
    const u8 *data;
    u32 size;
};

struct fw_cfg {
    struct fw_cfg_item items[FW_CFG_MAX_ITEMS];
    unsigned item_count;
    unsigned file_count;
    u8 dir[4 + FW_CFG_MAX_FILES * FW_CFG_FILE_ENTRY]; /* the file directory, key 19h */
    u8 id[4];
    u16 selector;
    u32 offset;   /* into the selected item */
    u32 dma_high; /* the high half, until the low one is written */
    struct dm_env *env;
};

/* Claims 510h-511h and 514h-51Bh; the signature, ID (with DMA) and an
 * empty file directory are there from the start. */
bool fw_cfg_init(struct fw_cfg *f, struct dm_env *env);
/* Selector 0, offset 0, no half-written DMA address. Items stay. */
void fw_cfg_reset(struct fw_cfg *f);
/* An item under a well-known key. False: the key is taken or the table full. */
bool fw_cfg_add(struct fw_cfg *f, u16 key, const void *data, u32 size);
/* A named file at the next free key from 20h, added to the directory.
 * False: the name is too long or taken, or the directory is full. */
bool fw_cfg_add_file(struct fw_cfg *f, const char *name, const void *data, u32 size);

#endif
