/* IDE: two legacy ATA channels with ATA disks and ATAPI CD-ROMs, and the
 * PCI bus-master DMA engine of the PIIX.
 * Specs: ATA/ATAPI-6 (T13/1410D rev 3b); SFF-8038i rev 1.0 (Bus Master
 * Programming Interface for IDE ATA Controllers); Intel 82371SB (PIIX3)
 * datasheet (bus master IDE I/O registers); MMC-2 (T10/1228D) and
 * SPC-2 (T10/1236D) for the ATAPI packet commands. */
#ifndef ZAZEN_DEVMODEL_IDE_H
#define ZAZEN_DEVMODEL_IDE_H

#include "devmodel.h"

#define IDE_CHANNELS 2
#define IDE_DEVICES 4 /* primary master, primary slave, secondary master, secondary slave */

/* Legacy ("compatibility mode") resources of the two channels. */
#define IDE_PRIMARY_CMD 0x1F0
#define IDE_PRIMARY_CTL 0x3F6
#define IDE_PRIMARY_GSI 14
#define IDE_SECONDARY_CMD 0x170
#define IDE_SECONDARY_CTL 0x376
#define IDE_SECONDARY_GSI 15
#define IDE_BM_PORTS 16 /* the bus-master block, 8 ports per channel */

#define ATA_SECTOR_SIZE 512
#define ATAPI_SECTOR_SIZE 2048
#define IDE_MAX_MULTIPLE 16 /* IDENTIFY word 47: sectors per READ/WRITE MULTIPLE block */

/* A disk whose sectors live elsewhere (vmm/storage/block.h: a file on the
 * boot disk, reached through a host driver). Asynchronous, as a real
 * drive is: the device starts one request at a time on its bounce buffer
 * and returns to the guest with BSY set; a timer of its clock then polls
 * the request (first after IDE_POLL_FIRST_NS, backing off to
 * IDE_POLL_MAX_NS) and the command goes on (DRQ, or its completion and
 * INTRQ) once the backend says it ended. DONE means the backing device
 * has done it: a write it has not acknowledged is never reported done to
 * the guest, a flush is DONE once the device's cache is flushed
 * (docs/storage.md). */
enum ide_io_op { IDE_IO_READ, IDE_IO_WRITE, IDE_IO_FLUSH };
enum ide_io_status { IDE_IO_PENDING, IDE_IO_DONE, IDE_IO_FAILED };

struct ide_backend {
    /* Starts a request (FLUSH: lba, count, buf unused); returns at once.
     * False: refused (out of range, or a request from before a reset is
     * still under way): the device treats it as failed. */
    bool (*submit)(void *ctx, enum ide_io_op op, u64 lba, u32 count, void *buf);
    /* The last request's state; never waits. PENDING until it ended (also
     * for a request a reset left behind: the device waits for it before
     * it touches the bounce buffer again). */
    enum ide_io_status (*poll)(void *ctx);
    void *ctx;
    u8 *bounce; /* IDE_BOUNCE_BYTES where the device stages the data (host drivers DMA into it) */
};

#define IDE_POLL_FIRST_NS 20000ull /* 20 us: about a 4 KiB transfer's time on a SATA SSD */
#define IDE_POLL_MAX_NS 500000ull

/* Bytes the device stages between the guest and a backend at a time: one
 * DRQ block of PIO, or a piece of a DMA transfer. */
#define IDE_BOUNCE_BYTES (64 * 1024)

struct ide_disk {
    u8 *data; /* the image, in memory; writes change it (NULL: backend) */
    const struct ide_backend *backend; /* used when data is NULL */
    u64 size;
    bool read_only;
    bool cdrom;     /* ATAPI CD-ROM (2048-byte sectors); size 0 = no disc */
    char model[41]; /* "" = a default name */
};

/* One device's copy of the command block registers (ATA-6, "Register
 * descriptions"): the host writes both devices' copies; each device updates
 * its own. The previous contents ("hob_") are the two-deep registers of the
 * 48-bit Address feature set, read with Device Control HOB = 1. */
struct ide_device {
    struct ide_disk *disk; /* NULL: absent */
    u8 error, feature, nsector, lbal, lbam, lbah, status;
    u8 hob_feature, hob_nsector, hob_lbal, hob_lbam, hob_lbah;
    bool intrq; /* interrupt pending; drives INTRQ while selected and nIEN = 0 */
    u8 number;  /* 0-3, for the serial number */
    /* ATA */
    u16 cyls, heads, sectors;             /* default CHS translation (IDENTIFY words 1/3/6) */
    u16 cur_cyls, cur_heads, cur_sectors; /* current (INITIALIZE DEVICE PARAMETERS) */
    u8 multiple;                          /* READ/WRITE MULTIPLE block; 0 = disabled */
    u8 xfer_mode;                         /* SET FEATURES 03h value; 0 = default PIO */
    bool write_cache, read_look_ahead;
    /* ATAPI */
    u8 sense_key, asc, ascq;
    bool medium_locked;
};

/* What the channel is doing between the command and its completion. */
enum ide_phase {
    IDE_IDLE,
    IDE_PIO_IN,      /* ATA PIO data-in: the host reads DRQ blocks */
    IDE_PIO_OUT,     /* ATA PIO data-out: the host writes DRQ blocks */
    IDE_PACKET,      /* ATAPI: the host writes the 12-byte command packet */
    IDE_ATAPI_IN,    /* ATAPI PIO data-in */
    IDE_DMA_WAIT,    /* a DMA command waits for the bus master */
};

struct ide;

struct ide_channel {
    struct ide *ide;
    u8 index;
    u16 cmd_base, ctl_port;
    u8 gsi;
    struct ide_device dev[2];
    u8 device; /* the Device register, written to both devices (DEV = bit 4) */
    u8 devctl; /* the Device Control register */
    bool irq_level;
    /* the transfer under way */
    enum ide_phase phase;
    u8 active;       /* the device doing it */
    u8 *ptr;         /* next byte, in the image, buf or packet */
    u32 block_left;  /* bytes left in the current DRQ block */
    u32 xfer_left;   /* bytes of the transfer after the current block */
    u32 block_size;  /* bytes per DRQ block (ATA) or the byte count limit (ATAPI) */
    bool packet_dma; /* PACKET with Features bit 0 (DMA) */
    bool dma_to_memory;
    u32 dma_bytes;
    u8 packet[12];
    u8 buf[512]; /* IDENTIFY data and ATAPI replies */
    /* A transfer with a backend disk: the data passes through its bounce buffer. */
    bool backend_xfer;
    u64 xfer_lba;  /* PIO: the next sector to read or write; DMA: the transfer's first */
    u32 cur_block; /* bytes of the DRQ block under way */
    /* A backend request under way (BSY set): what its end continues. */
    u8 io_wait;        /* enum in ide.c; 0: none */
    u8 io_dev;         /* the device (0 or 1) whose request it is */
    struct dm_timer io_timer;
    u64 io_poll_ns;    /* the next poll's delay (backs off) */
    u32 dma_off, dma_piece; /* the DMA piece in flight: offset and bytes */
    u32 staged;        /* PIO data-in: bytes read ahead into the bounce buffer not yet taken by the host */
    u8 dma_result;     /* enum dma_result of the last piece moved */
    /* a command that waits for the backend to end a request a reset left */
    u64 start_lba;
    u32 start_count;
    u8 start_how;
    bool start_write;
    /* bus-master registers (SFF-8038i, "Bus Master IDE Register Description") */
    u8 bm_cmd, bm_status;
    u32 bm_prd;
};

struct ide {
    struct ide_channel ch[IDE_CHANNELS];
    u16 bm_base;          /* 0: the bus-master ports are not decoded */
    bool bus_master;      /* PCI command Bus Master Enable: DMA may run */
    struct dm_env *env;
};

/* disks: [0] primary master, [1] primary slave, [2] secondary master,
 * [3] secondary slave; NULL = absent. Claims the legacy ports of both
 * channels. The bus-master ports are claimed by ide_set_bmdma_base. */
bool ide_init(struct ide *ide, struct dm_env *env, struct ide_disk *disks[IDE_DEVICES]);
/* Hardware reset (power-on/RESET-): devices and bus-master registers. */
void ide_reset(struct ide *ide);
/* (Re)claims the 16 bus-master ports at base (0 = release). */
void ide_set_bmdma_base(struct ide *ide, u16 base);
/* Follows the PCI command register's Bus Master Enable: DMA waits while it
 * is clear. ide_init starts with it set (a standalone controller). */
void ide_set_bus_master(struct ide *ide, bool enabled);

#endif
