/* IDE: ATA disks and ATAPI CD-ROMs on the two legacy channels, with the
 * PIIX bus-master DMA engine. Every command completes at once (no seek or
 * rotation time): a command's data is ready as soon as it is written.
 * Specs: ATA/ATAPI-6 (T13/1410D rev 3b): register descriptions, command
 * descriptions (chapter 8) and protocols (chapter 9); SFF-8038i rev 1.0
 * (Bus Master Programming Interface for IDE ATA Controllers); Intel
 * 82371SB PIIX3 datasheet (bus master IDE I/O registers); SPC-2 (T10/1236D)
 * and MMC-2 (T10/1228D) for the ATAPI packet commands. */
#include "ide.h"
#include "../vmm/string.h"

/* ---- registers (ATA-6, "Register descriptions") ---- */

/* Command block: offsets from the channel's base port. */
#define REG_DATA 0
#define REG_ERROR 1   /* read */
#define REG_FEATURE 1 /* write */
#define REG_NSECTOR 2 /* sector count; ATAPI: interrupt reason */
#define REG_LBAL 3    /* LBA low / sector number */
#define REG_LBAM 4    /* LBA mid / cylinder low; ATAPI: byte count low */
#define REG_LBAH 5    /* LBA high / cylinder high; ATAPI: byte count high */
#define REG_DEVICE 6
#define REG_STATUS 7  /* read */
#define REG_COMMAND 7 /* write */
#define CMD_BLOCK_PORTS 8

/* Status register. Bit 4 is command dependent in ATA-6; ATA devices report
 * it set when ready (DSC, "device seek complete", of the earlier
 * standards), PACKET devices use it as SERV and leave it clear. */
#define ST_BSY 0x80
#define ST_DRDY 0x40
#define ST_DF 0x20
#define ST_DSC 0x10
#define ST_DRQ 0x08
#define ST_ERR 0x01

/* Error register. */
#define ER_UNC 0x40
#define ER_IDNF 0x10
#define ER_ABRT 0x04
#define ER_SENSE_KEY_SHIFT 4 /* PACKET devices: the sense key in bits 7:4 */
/* Diagnostic code after reset and EXECUTE DEVICE DIAGNOSTIC (ATA-6, EXECUTE DEVICE DIAGNOSTIC). */
#define DIAG_PASSED 0x01

/* Device register. */
#define DEV_LBA 0x40
#define DEV_DEV 0x10 /* selects device 1 */
#define DEV_HEAD 0x0F

/* Device Control register. */
#define CTL_NIEN 0x02 /* INTRQ disabled */
#define CTL_SRST 0x04 /* software reset */
#define CTL_HOB 0x80  /* read the previous contents (48-bit) */

/* PACKET: interrupt reason (sector count) and Features bits (ATA-6, PACKET). */
#define IR_COD 0x01 /* command packet */
#define IR_IO 0x02  /* to the host */
#define PKT_FEATURE_DMA 0x01

/* Signatures (ATA-6, "Signature and persistence" in the protocols chapter). */
#define SIG_PACKET_LBAM 0x14
#define SIG_PACKET_LBAH 0xEB

/* ---- ATA commands (ATA-6 chapter 8) ---- */

#define ATA_NOP 0x00
#define ATA_DEVICE_RESET 0x08
#define ATA_RECALIBRATE 0x10
#define ATA_READ_SECTORS 0x20
#define ATA_READ_SECTORS_EXT 0x24
#define ATA_READ_DMA_EXT 0x25
#define ATA_READ_MULTIPLE_EXT 0x29
#define ATA_WRITE_SECTORS 0x30
#define ATA_WRITE_SECTORS_EXT 0x34
#define ATA_WRITE_DMA_EXT 0x35
#define ATA_WRITE_MULTIPLE_EXT 0x39
#define ATA_READ_VERIFY 0x40
#define ATA_READ_VERIFY_EXT 0x42
#define ATA_EXECUTE_DIAGNOSTIC 0x90
#define ATA_INITIALIZE_PARAMS 0x91
#define ATA_PACKET 0xA0
#define ATA_IDENTIFY_PACKET 0xA1
#define ATA_READ_MULTIPLE 0xC4
#define ATA_WRITE_MULTIPLE 0xC5
#define ATA_SET_MULTIPLE 0xC6
#define ATA_READ_DMA 0xC8
#define ATA_WRITE_DMA 0xCA
#define ATA_STANDBY_IMMEDIATE 0xE0
#define ATA_IDLE_IMMEDIATE 0xE1
#define ATA_STANDBY 0xE2
#define ATA_IDLE 0xE3
#define ATA_CHECK_POWER_MODE 0xE5
#define ATA_FLUSH_CACHE 0xE7
#define ATA_FLUSH_CACHE_EXT 0xEA
#define ATA_IDENTIFY 0xEC
#define ATA_SET_FEATURES 0xEF

/* CHECK POWER MODE: sector count FFh = active or idle (ATA-6, CHECK POWER MODE). */
#define POWER_MODE_ACTIVE 0xFF

/* SET FEATURES subcommands (ATA-6, SET FEATURES, table of Features register values). */
#define SF_ENABLE_WRITE_CACHE 0x02
#define SF_SET_TRANSFER_MODE 0x03
#define SF_DISABLE_READ_LOOK_AHEAD 0x55
#define SF_DISABLE_REVERT_DEFAULTS 0x66
#define SF_DISABLE_WRITE_CACHE 0x82
#define SF_ENABLE_READ_LOOK_AHEAD 0xAA
#define SF_ENABLE_REVERT_DEFAULTS 0xCC
/* Transfer mode values in the sector count (ATA-6, SET FEATURES, "Set transfer mode"). */
#define XFER_PIO_DEFAULT 0x00
#define XFER_PIO_DEFAULT_NO_IORDY 0x01
#define XFER_PIO_FLOW 0x08 /* + mode 0-4 */
#define XFER_MWDMA 0x20    /* + mode 0-2 */
#define MAX_PIO_MODE 4
#define MAX_MWDMA_MODE 2

/* CHS translation for IDENTIFY words 1/3/6 (ATA-6 Annex, "CHS"): 16 heads,
 * 63 sectors per track, at most 16383 cylinders. */
#define CHS_HEADS 16
#define CHS_SECTORS 63
#define CHS_MAX_CYLS 16383
#define LBA28_MAX 0x0FFFFFFFull

/* ---- ATAPI packet commands (SPC-2, MMC-2) ---- */

#define SCSI_TEST_UNIT_READY 0x00
#define SCSI_REQUEST_SENSE 0x03
#define SCSI_INQUIRY 0x12
#define SCSI_MODE_SENSE_6 0x1A
#define SCSI_START_STOP_UNIT 0x1B
#define SCSI_PREVENT_ALLOW 0x1E
#define SCSI_READ_CAPACITY 0x25
#define SCSI_READ_10 0x28
#define SCSI_READ_TOC 0x43
#define SCSI_GET_CONFIGURATION 0x46
#define SCSI_GET_EVENT_STATUS 0x4A
#define SCSI_MODE_SENSE_10 0x5A
#define SCSI_READ_12 0xA8

/* Sense keys and additional sense codes (SPC-2 tables 107, 108). */
#define SK_NO_SENSE 0x00
#define SK_NOT_READY 0x02
#define SK_ILLEGAL_REQUEST 0x05
#define SK_ABORTED_COMMAND 0x0B
#define ASC_NONE 0x00
#define ASC_INVALID_OPCODE 0x20
#define ASC_LBA_OUT_OF_RANGE 0x21
#define ASC_INVALID_FIELD_IN_CDB 0x24
#define ASC_SAVING_NOT_SUPPORTED 0x39
#define ASC_MEDIUM_NOT_PRESENT 0x3A

#define SENSE_FIXED_CURRENT 0x70 /* response code: fixed format, current error */
#define SENSE_FIXED_LEN 18
#define INQUIRY_LEN 36
#define INQUIRY_EVPD 0x01
#define PERIPHERAL_CDROM 0x05 /* MMC device */
#define INQUIRY_RMB 0x80      /* removable medium */
#define INQUIRY_RESPONSE_FORMAT 0x02

#define MODE_PC_SAVED 3 /* page control (bits 7:6 of CDB byte 2) */
#define MODE_PC_CHANGEABLE 1
#define MODE_PAGE_CAPABILITIES 0x2A
#define MODE_PAGE_ALL 0x3F
#define MODE_CAPABILITIES_LEN 0x18 /* MMC-2 page 2Ah: page length 18h (26 bytes) */
#define MEDIUM_CD_ROM_DATA 0x01    /* mode header medium type: 120 mm CD-ROM, data only */
#define MEDIUM_NONE 0x70           /* door closed, no disc */

#define TOC_FORMAT_TOC 0
#define TOC_FORMAT_SESSION 1
#define TOC_MSF 0x02         /* CDB byte 1 */
#define TOC_ADR_CONTROL 0x14 /* ADR 1 (Q sub-channel position), control 4 (data track) */
#define TOC_LEAD_OUT 0xAA
#define CD_FRAMES_PER_SECOND 75
#define CD_MSF_OFFSET 150 /* LBA 0 is MSF 00:02:00 */

#define PROFILE_CD_ROM 0x0008
#define FEATURE_PROFILE_LIST 0x0000
#define FEATURE_CORE 0x0001
#define FEATURE_PERSISTENT 0x02
#define FEATURE_CURRENT 0x01
#define INTERFACE_ATAPI 0x00000002
#define GC_RT_ALL 0
#define GC_RT_CURRENT 1
#define GC_RT_ONE 2

#define GESN_POLLED 0x01
#define GESN_CLASS_MEDIA 4
#define GESN_NEA 0x80
#define GESN_MEDIA_PRESENT 0x02

#define PREVENT_BIT 0x01

/* ---- bus master (SFF-8038i; PIIX3 datasheet, bus master IDE I/O registers) ---- */

#define BM_REG_COMMAND 0
#define BM_REG_STATUS 2
#define BM_REG_PRD 4 /* dword */
#define BM_CHANNEL_PORTS 8
#define BM_CMD_START 0x01
#define BM_CMD_TO_MEMORY 0x08 /* Read/Write Control: 1 = the bus master writes memory */
#define BM_ST_ACTIVE 0x01
#define BM_ST_ERROR 0x02
#define BM_ST_INTR 0x04
#define BM_ST_DMA0_CAPABLE 0x20
#define BM_ST_DMA1_CAPABLE 0x40
#define BM_PRD_MASK 0xFFFFFFFCu /* the table is dword aligned */
/* Physical region descriptor: dword address (bit 0 = 0), word byte count
 * (bit 0 = 0; 0 = 64 KiB), bit 15 of the last word = end of table. */
#define PRD_SIZE 8
#define PRD_EOT 0x80
#define PRD_COUNT_MASK 0xFFFE
#define PRD_MAX_COUNT 0x10000
#define PRD_TABLE_BOUNDARY 0x10000 /* a table may not cross 64 KiB */

/* ---- small helpers ---- */

static bool present(const struct ide_device *d) { return d->disk != NULL; }
static bool is_packet(const struct ide_device *d) { return d->disk && d->disk->cdrom; }
static bool channel_empty(const struct ide_channel *ch) { return !present(&ch->dev[0]) && !present(&ch->dev[1]); }
static u8 selected_index(const struct ide_channel *ch) { return (ch->device & DEV_DEV) ? 1 : 0; }
static struct ide_device *selected(struct ide_channel *ch) { return &ch->dev[selected_index(ch)]; }
static u64 ata_sectors(const struct ide_device *d) { return d->disk->size / ATA_SECTOR_SIZE; }
static u64 cd_blocks(const struct ide_device *d) { return d->disk->data ? d->disk->size / ATAPI_SECTOR_SIZE : 0; }
static bool medium_present(const struct ide_device *d) { return cd_blocks(d) > 0; }

/* The status a device shows when idle and ready. */
static u8 ready_status(const struct ide_device *d) { return is_packet(d) ? ST_DRDY : ST_DRDY | ST_DSC; }

static void put16be(u8 *p, u32 v)
{
    p[0] = (u8)(v >> 8);
    p[1] = (u8)v;
}

static void put32be(u8 *p, u32 v)
{
    put16be(p, v >> 16);
    put16be(p + 2, v);
}

static u32 get16be(const u8 *p) { return (u32)p[0] << 8 | p[1]; }
static u32 get32be(const u8 *p) { return get16be(p) << 16 | get16be(p + 2); }
static u32 get16le(const u8 *p) { return (u32)p[0] | (u32)p[1] << 8; }
static u32 get32le(const u8 *p) { return get16le(p) | get16le(p + 2) << 16; }

static size_t bounded_strlen(const char *s, size_t max)
{
    size_t n = 0;
    while (n < max && s[n])
        n++;
    return n;
}

/* ---- interrupts ---- */

/* INTRQ is driven by the selected device while nIEN = 0 and released
 * otherwise (ATA-6, Device Control register, nIEN); the bus master's
 * Interrupt bit latches its rising edge (SFF-8038i, Bus Master IDE Status). */
static void channel_update_irq(struct ide_channel *ch)
{
    const struct ide_device *d = selected(ch);
    bool level = present(d) && d->intrq && !(ch->devctl & CTL_NIEN);
    if (level == ch->irq_level)
        return;
    ch->irq_level = level;
    if (level)
        ch->bm_status |= BM_ST_INTR;
    dm_irq_set(ch->ide->env->irq, ch->gsi, level);
}

static void raise_intrq(struct ide_channel *ch, struct ide_device *d)
{
    d->intrq = true;
    channel_update_irq(ch);
}

/* ---- command endings ---- */

static void end_transfer(struct ide_channel *ch)
{
    ch->phase = IDE_IDLE;
    ch->block_left = 0;
    ch->xfer_left = 0;
    ch->ptr = NULL;
    ch->backend_xfer = false;
}

/* Normal outputs of a command: ready, no error, INTRQ. */
static void command_done(struct ide_channel *ch, struct ide_device *d)
{
    end_transfer(ch);
    d->status = ready_status(d);
    raise_intrq(ch, d);
}

/* Error outputs: ERR with the error register, INTRQ. */
static void command_error(struct ide_channel *ch, struct ide_device *d, u8 error)
{
    end_transfer(ch);
    d->error = error;
    d->status = ready_status(d) | ST_ERR;
    raise_intrq(ch, d);
}

static void command_abort(struct ide_channel *ch, struct ide_device *d) { command_error(ch, d, ER_ABRT); }

/* ---- signatures and resets (ATA-6 protocols chapter: power-on and hardware reset, software reset, signature) ---- */

static void set_signature(struct ide_device *d)
{
    d->nsector = 1;
    d->lbal = 1;
    d->lbam = is_packet(d) ? SIG_PACKET_LBAM : 0;
    d->lbah = is_packet(d) ? SIG_PACKET_LBAH : 0;
    d->hob_feature = d->hob_nsector = d->hob_lbal = d->hob_lbam = d->hob_lbah = 0;
}

/* The state after a reset: signature, diagnostic code, not busy. PACKET
 * devices leave DRDY clear until they execute a command (ATA-6, signature and persistence). */
static void device_after_reset(struct ide_device *d)
{
    set_signature(d);
    d->error = DIAG_PASSED;
    d->status = is_packet(d) ? 0 : ST_DRDY | ST_DSC;
    d->intrq = false;
}

static void default_geometry(struct ide_device *d)
{
    u64 cyls = ata_sectors(d) / (CHS_HEADS * CHS_SECTORS);
    d->heads = CHS_HEADS;
    d->sectors = CHS_SECTORS;
    d->cyls = (u16)(cyls == 0 ? 1 : cyls > CHS_MAX_CYLS ? CHS_MAX_CYLS : cyls);
    d->cur_heads = d->heads;
    d->cur_sectors = d->sectors;
    d->cur_cyls = d->cyls;
}

/* Power-on or hardware reset: settings revert to their defaults too. */
static void device_power_on(struct ide_device *d)
{
    struct ide_disk *disk = d->disk;
    u8 number = d->number;
    memset(d, 0, sizeof(*d));
    d->disk = disk;
    d->number = number;
    if (!disk)
        return;
    if (!disk->cdrom)
        default_geometry(d);
    d->write_cache = true;
    d->read_look_ahead = true;
    device_after_reset(d);
}

/* SRST set: both devices go busy and drop what they were doing. */
static void io_cancel(struct ide_channel *ch);

static void soft_reset_begin(struct ide_channel *ch)
{
    end_transfer(ch);
    io_cancel(ch); /* a backend request keeps going; the next command waits for it (backend_free) */
    for (unsigned i = 0; i < 2; i++)
        if (present(&ch->dev[i])) {
            ch->dev[i].status = ST_BSY;
            ch->dev[i].intrq = false;
        }
    channel_update_irq(ch);
}

/* SRST cleared: reset complete, signatures in place, device 0 selected;
 * no interrupt (ATA-6, software reset protocol). Settings such as the
 * multiple count survive a software reset. */
static void soft_reset_end(struct ide_channel *ch)
{
    for (unsigned i = 0; i < 2; i++)
        if (present(&ch->dev[i]))
            device_after_reset(&ch->dev[i]);
    ch->device = 0;
    channel_update_irq(ch);
}

/* ---- PIO data transfer (ATA-6 protocols: PIO data-in, PIO data-out, PACKET) ---- */

static void ata_next_block(struct ide_channel *ch, struct ide_device *d)
{
    ch->block_left = MIN(ch->block_size, ch->xfer_left);
    ch->cur_block = ch->block_left;
    ch->xfer_left -= ch->block_left;
    d->status = ready_status(d) | ST_DRQ;
}

/* Data-in: each DRQ block is announced with INTRQ. */
static void ata_pio_in(struct ide_channel *ch, struct ide_device *d, u8 *data, u32 bytes, u32 block)
{
    ch->phase = IDE_PIO_IN;
    ch->ptr = data;
    ch->xfer_left = bytes;
    ch->block_size = block;
    ata_next_block(ch, d);
    raise_intrq(ch, d);
}

/* Data-out: the first block is requested without an interrupt. */
static void ata_pio_out(struct ide_channel *ch, struct ide_device *d, u8 *data, u32 bytes, u32 block)
{
    ch->phase = IDE_PIO_OUT;
    ch->ptr = data;
    ch->xfer_left = bytes;
    ch->block_size = block;
    ata_next_block(ch, d);
}

/* PACKET PIO data-in: each DRQ block carries at most the byte count limit
 * (even, unless it is the last), announced in the byte count registers
 * with interrupt reason I/O = 1, C/D = 0 (ATA-6, PACKET command and protocol). A limit of 0
 * is taken as the largest even count. */
static void atapi_next_block(struct ide_channel *ch, struct ide_device *d)
{
    u32 limit = ch->block_size ? ch->block_size : 0xFFFE;
    u32 n = ch->xfer_left;
    if (n > limit)
        n = MAX(limit & ~1u, 2u);
    ch->block_left = n;
    ch->xfer_left -= n;
    d->lbam = (u8)n;
    d->lbah = (u8)(n >> 8);
    d->nsector = IR_IO;
    d->status = ST_DRDY | ST_DRQ;
    raise_intrq(ch, d);
}

static void atapi_execute(struct ide_channel *ch, struct ide_device *d);
static void atapi_done(struct ide_channel *ch, struct ide_device *d);

/* ---- backend disks: requests under way ---- */

/* What a backend request's end continues (ch->io_wait). */
enum io_wait {
    IO_NONE,
    IO_START,   /* a command waits until a request a reset left behind has ended */
    IO_PIO_IN,  /* the next DRQ block is being read */
    IO_PIO_OUT, /* the DRQ block the host wrote is being written */
    IO_DMA,     /* a DMA piece is being read or written */
    IO_FLUSH,
};

enum ata_xfer { XFER_SINGLE, XFER_MULTIPLE, XFER_DMA, XFER_FLUSH };

static const struct ide_backend *backend_of(const struct ide_device *d) { return d->disk->backend; }
static u8 *bounce_of(const struct ide_device *d) { return d->disk->backend->bounce; }

static void io_arm(struct ide_channel *ch)
{
    struct dm_clock *c = ch->ide->env->clock;
    timer_arm(c, &ch->io_timer, clock_now(c) + ch->io_poll_ns);
}

static void io_cancel(struct ide_channel *ch)
{
    ch->io_wait = IO_NONE;
    timer_cancel(ch->ide->env->clock, &ch->io_timer);
}

/* The device works on a request: BSY (ATA-6: the device sets BSY while it
 * executes a command and has nothing for the host), no data phase, and
 * the poll timer runs. */
static void io_wait_begin(struct ide_channel *ch, struct ide_device *d, enum io_wait w)
{
    ch->io_wait = (u8)w;
    ch->io_dev = (u8)(d - ch->dev); /* a reset may change the active device meanwhile */
    ch->block_left = 0;
    d->status = ST_BSY;
    ch->io_poll_ns = IDE_POLL_FIRST_NS;
    io_arm(ch);
}

static void io_end(struct ide_channel *ch, struct ide_device *d, enum io_wait w, bool ok);

/* Starts a request on the bounce buffer and leaves the device BSY. A
 * request the backend refuses ends at once, failed. */
static void io_submit(struct ide_channel *ch, struct ide_device *d, enum ide_io_op op, u64 lba, u32 count,
                      enum io_wait w)
{
    const struct ide_backend *b = backend_of(d);
    if (!b->submit(b->ctx, op, lba, count, b->bounce)) {
        io_end(ch, d, w, false);
        return;
    }
    io_wait_begin(ch, d, w);
}

/* A command on a backend disk starts only once the backend has ended any
 * request a reset left behind: until then the host's DMA may still write
 * the bounce buffer. False: the command waits (BSY) and starts again. */
static bool backend_free(struct ide_channel *ch, struct ide_device *d, u64 lba, u32 count, bool write,
                         enum ata_xfer how)
{
    const struct ide_backend *b = backend_of(d);
    if (b->poll(b->ctx) != IDE_IO_PENDING)
        return true;
    ch->start_lba = lba;
    ch->start_count = count;
    ch->start_write = write;
    ch->start_how = (u8)how;
    io_wait_begin(ch, d, IO_START);
    return false;
}

/* Data-in: the next part of the transfer is read from the backend into
 * the bounce buffer (as many whole DRQ blocks as fit: a drive reads ahead
 * too, and one request per 64 KiB rather than per block keeps a firmware
 * reading sector by sector fast); DRQ announces the first block once the
 * read has ended, the others follow from the buffer (pio_block_done). */
static void pio_in_fetch(struct ide_channel *ch, struct ide_device *d)
{
    u32 fits = IDE_BOUNCE_BYTES / ch->block_size * ch->block_size;
    u32 n = MIN(fits, ch->xfer_left);
    ch->staged = n;
    io_submit(ch, d, IDE_IO_READ, ch->xfer_lba, n / ATA_SECTOR_SIZE, IO_PIO_IN);
    ch->xfer_lba += n / ATA_SECTOR_SIZE;
}

static void pio_in_fetched(struct ide_channel *ch, struct ide_device *d, bool ok)
{
    if (!ok) { /* ATA-6, READ SECTORS: uncorrectable data */
        command_error(ch, d, ER_UNC | ER_ABRT);
        return;
    }
    ch->ptr = bounce_of(d);
    ata_next_block(ch, d);
    raise_intrq(ch, d);
}

/* Data-out: the block the host wrote has reached the device (or not):
 * only now is the next block asked for, or the command done. */
static void pio_out_written(struct ide_channel *ch, struct ide_device *d, bool ok)
{
    if (!ok) {
        command_error(ch, d, ER_ABRT);
        return;
    }
    ch->xfer_lba += ch->cur_block / ATA_SECTOR_SIZE;
    ch->ptr = bounce_of(d);
    if (ch->xfer_left) {
        ata_next_block(ch, d);
        raise_intrq(ch, d);
    } else {
        command_done(ch, d);
    }
}

/* The host has moved the whole DRQ block. */
static void pio_block_done(struct ide_channel *ch)
{
    struct ide_device *d = &ch->dev[ch->active];
    switch (ch->phase) {
    case IDE_PIO_IN:
        if (ch->xfer_left) {
            if (ch->backend_xfer) {
                ch->staged -= ch->cur_block;
                if (!ch->staged) { /* the bounce buffer is used up: read on */
                    pio_in_fetch(ch, d);
                    break;
                }
            }
            ata_next_block(ch, d);
            raise_intrq(ch, d);
        } else { /* data-in ends without an interrupt */
            end_transfer(ch);
            d->status = ready_status(d);
        }
        break;
    case IDE_PIO_OUT:
        if (ch->backend_xfer) {
            io_submit(ch, d, IDE_IO_WRITE, ch->xfer_lba, ch->cur_block / ATA_SECTOR_SIZE, IO_PIO_OUT);
            break;
        }
        if (ch->xfer_left) {
            ata_next_block(ch, d);
            raise_intrq(ch, d);
        } else {
            command_done(ch, d);
        }
        break;
    case IDE_PACKET:
        atapi_execute(ch, d);
        break;
    case IDE_ATAPI_IN:
        if (ch->xfer_left)
            atapi_next_block(ch, d);
        else
            atapi_done(ch, d);
        break;
    default:
        break;
    }
}

/* The data register belongs to the transfer of the device doing it, and
 * only while that device is selected. */
static bool data_phase(const struct ide_channel *ch, enum ide_phase a, enum ide_phase b)
{
    return (ch->phase == a || ch->phase == b) && ch->active == selected_index(ch) && ch->block_left;
}

static u32 data_read(void *dev, u16 port, u8 size)
{
    struct ide_channel *ch = dev;
    (void)port;
    if (channel_empty(ch))
        return (u32)bus_all_ones(size);
    if (!present(selected(ch)))
        return 0;
    if (!data_phase(ch, IDE_PIO_IN, IDE_ATAPI_IN))
        return (u32)bus_all_ones(size);
    u32 v = 0;
    for (unsigned i = 0; i < size; i++) {
        u8 b = 0xFF;
        if (ch->block_left) {
            b = *ch->ptr++;
            ch->block_left--;
        }
        v |= (u32)b << (8 * i);
    }
    if (!ch->block_left)
        pio_block_done(ch);
    return v;
}

static void data_write(void *dev, u16 port, u8 size, u32 value)
{
    struct ide_channel *ch = dev;
    (void)port;
    if (!data_phase(ch, IDE_PIO_OUT, IDE_PACKET))
        return;
    for (unsigned i = 0; i < size && ch->block_left; i++) {
        *ch->ptr++ = (u8)(value >> (8 * i));
        ch->block_left--;
    }
    if (!ch->block_left)
        pio_block_done(ch);
}

/* REP INSW/INSD and OUTSW/OUTSD on the data register: whole accesses
 * inside the current DRQ block move as one copy; the bus does anything
 * else (a block's end, a bus without data) through data_read/data_write,
 * so the result is the same as one access at a time. */
static u32 data_rep(struct ide_channel *ch, u8 size, u8 *buf, u32 count, bool in)
{
    if (!data_phase(ch, in ? IDE_PIO_IN : IDE_PIO_OUT, in ? IDE_ATAPI_IN : IDE_PACKET) || channel_empty(ch) ||
        !present(selected(ch)))
        return 0;
    u32 n = MIN(count, ch->block_left / size);
    if (n == 0)
        return 0;
    u32 bytes = n * size;
    if (in)
        memcpy(buf, ch->ptr, bytes);
    else
        memcpy(ch->ptr, buf, bytes);
    ch->ptr += bytes;
    ch->block_left -= bytes;
    if (!ch->block_left)
        pio_block_done(ch);
    return n;
}

static u32 data_read_rep(void *dev, u16 port, u8 size, void *buf, u32 count)
{
    (void)port;
    return data_rep(dev, size, buf, count, true);
}

static u32 data_write_rep(void *dev, u16 port, u8 size, const void *buf, u32 count)
{
    (void)port;
    return data_rep(dev, size, (u8 *)buf, count, false);
}

/* ---- bus-master DMA (SFF-8038i, "Bus Master IDE Operation") ---- */

enum dma_result {
    DMA_TABLE_END,  /* moved everything and ended on the last descriptor's last byte */
    DMA_TABLE_LEFT, /* moved everything; the table describes more */
    DMA_FAILED,     /* memory refused, or the table describes less */
};

/* Walks the PRD table from the pointer register, moving bytes
 * [skip, skip + len) of the transfer between p and guest RAM. Every access
 * goes through env->mem; the walk stops at the first refusal, before
 * touching anything past it. When the piece ends the transfer, the result
 * says whether the table ended with it. */
static enum dma_result dma_move_part(struct ide_channel *ch, u8 *p, u32 skip, u32 len)
{
    const struct dm_memory *mem = ch->ide->env->mem;
    u32 entry = ch->bm_prd;
    u64 pos = 0; /* bytes of the transfer the entries before this one cover */
    u64 end = (u64)skip + len;
    for (;;) {
        u8 prd[PRD_SIZE];
        /* The table may not cross a 64 KiB boundary (SFF-8038i, Physical
         * Region Descriptor Table): an entry that straddles one is past
         * the table's end. */
        if (entry % PRD_TABLE_BOUNDARY > PRD_TABLE_BOUNDARY - PRD_SIZE)
            return DMA_FAILED;
        if (!mem->read(mem->ctx, entry, prd, sizeof(prd)))
            return DMA_FAILED;
        u64 addr = get32le(prd) & ~1u;
        u32 count = get16le(prd + 4) & PRD_COUNT_MASK;
        if (count == 0)
            count = PRD_MAX_COUNT;
        bool eot = prd[7] & PRD_EOT;
        u64 lo = MAX(pos, (u64)skip), hi = MIN(pos + count, end);
        if (lo < hi) {
            u8 *q = p + (lo - skip);
            u64 a = addr + (lo - pos);
            u32 n = (u32)(hi - lo);
            bool ok = ch->dma_to_memory ? mem->write(mem->ctx, a, q, n) : mem->read(mem->ctx, a, q, n);
            if (!ok)
                return DMA_FAILED;
        }
        if (pos + count >= end)
            return eot && pos + count == end ? DMA_TABLE_END : DMA_TABLE_LEFT;
        pos += count;
        entry += PRD_SIZE;
        if (eot || entry % PRD_TABLE_BOUNDARY == 0)
            return DMA_FAILED;
    }
}

static enum dma_result dma_move(struct ide_channel *ch) { return dma_move_part(ch, ch->ptr, 0, ch->dma_bytes); }

/* The end of a DMA command: the bus master's status and the device's.
 * io_error: the backend failed (the bus did not). */
static void dma_finish(struct ide_channel *ch, struct ide_device *d, enum dma_result r, bool io_error)
{
    if (io_error) { /* the bus master moved what it could; the device reports the error */
        ch->bm_status &= (u8)~BM_ST_ACTIVE;
        ch->bm_status |= BM_ST_INTR;
        command_error(ch, d, ch->dma_to_memory ? (u8)(ER_UNC | ER_ABRT) : ER_ABRT);
        return;
    }
    /* Active stays set only when the table describes more than the device
     * moved (SFF-8038i, Interrupt/Active combinations). */
    if (r != DMA_TABLE_LEFT)
        ch->bm_status &= (u8)~BM_ST_ACTIVE;
    if (r == DMA_FAILED)
        ch->bm_status |= BM_ST_ERROR;
    ch->bm_status |= BM_ST_INTR;
    if (r != DMA_FAILED) {
        if (is_packet(d))
            atapi_done(ch, d);
        else
            command_done(ch, d);
    } else if (is_packet(d)) {
        d->sense_key = SK_ABORTED_COMMAND;
        d->asc = d->ascq = 0;
        command_error(ch, d, (u8)(SK_ABORTED_COMMAND << ER_SENSE_KEY_SHIFT | ER_ABRT));
        d->nsector = IR_IO | IR_COD;
    } else {
        command_abort(ch, d);
    }
}

/* A backend disk's DMA: bounce-buffer-sized pieces, each read from the
 * backend and then moved to guest RAM, or moved from guest RAM and then
 * written to the backend; the command completes only after the last
 * piece's request ended. */
static void dma_next_piece(struct ide_channel *ch, struct ide_device *d)
{
    u32 n = MIN((u32)IDE_BOUNCE_BYTES, ch->dma_bytes - ch->dma_off);
    u64 lba = ch->xfer_lba + ch->dma_off / ATA_SECTOR_SIZE;
    ch->dma_piece = n;
    if (ch->dma_to_memory) {
        io_submit(ch, d, IDE_IO_READ, lba, n / ATA_SECTOR_SIZE, IO_DMA);
        return;
    }
    enum dma_result r = dma_move_part(ch, bounce_of(d), ch->dma_off, n);
    ch->dma_result = (u8)r;
    if (r == DMA_FAILED) {
        dma_finish(ch, d, r, false);
        return;
    }
    io_submit(ch, d, IDE_IO_WRITE, lba, n / ATA_SECTOR_SIZE, IO_DMA);
}

static void dma_piece_ended(struct ide_channel *ch, struct ide_device *d, bool ok)
{
    /* The host stopped the engine, or took PCI bus mastering away (PCI
     * 3.0 6.2.2, Command bit 2: no master access while it is 0), while the
     * piece's request ran: nothing more moves. */
    if (!(ch->bm_status & BM_ST_ACTIVE) || !ch->ide->bus_master) {
        command_abort(ch, d);
        return;
    }
    if (!ok) {
        dma_finish(ch, d, DMA_FAILED, true);
        return;
    }
    if (ch->dma_to_memory) {
        enum dma_result r = dma_move_part(ch, bounce_of(d), ch->dma_off, ch->dma_piece);
        ch->dma_result = (u8)r;
        if (r == DMA_FAILED) {
            dma_finish(ch, d, r, false);
            return;
        }
    }
    ch->dma_off += ch->dma_piece;
    if (ch->dma_off < ch->dma_bytes)
        dma_next_piece(ch, d);
    else
        dma_finish(ch, d, (enum dma_result)ch->dma_result, false);
}

/* Runs a waiting DMA command once the bus master is started (Start bit
 * written 1 sets Active) and PCI Bus Master Enable is on. */
static void dma_try_run(struct ide_channel *ch)
{
    if (ch->phase != IDE_DMA_WAIT || !(ch->bm_status & BM_ST_ACTIVE) || !ch->ide->bus_master ||
        ch->io_wait != IO_NONE)
        return;
    struct ide_device *d = &ch->dev[ch->active];
    /* The bus master moves data the way its Read/Write Control bit says;
     * the drive, the way its command says. When they disagree the
     * transfer cannot complete (SFF-8038i 1.0, Bus Master IDE Command
     * register, bit 3): fail it rather than move data backwards. */
    bool engine_to_memory = ch->bm_cmd & BM_CMD_TO_MEMORY;
    if (engine_to_memory != ch->dma_to_memory) {
        dma_finish(ch, d, DMA_FAILED, false);
        return;
    }
    if (ch->backend_xfer) {
        ch->dma_off = 0;
        dma_next_piece(ch, d);
        return;
    }
    dma_finish(ch, d, dma_move(ch), false);
}

/* Data phase by DMA: DRQ set while the device waits for the bus master. */
static void dma_start(struct ide_channel *ch, struct ide_device *d, u8 *data, u32 bytes, bool to_memory)
{
    ch->phase = IDE_DMA_WAIT;
    ch->ptr = data;
    ch->dma_bytes = bytes;
    ch->dma_to_memory = to_memory;
    d->status = ready_status(d) | ST_DRQ;
    dma_try_run(ch);
}

static u32 bm_read(void *dev, u16 port, u8 size)
{
    struct ide *ide = dev;
    unsigned off = (u16)(port - ide->bm_base);
    struct ide_channel *ch = &ide->ch[(off / BM_CHANNEL_PORTS) & 1];
    unsigned reg = off % BM_CHANNEL_PORTS;
    (void)size; /* byte wide: the bus splits wider accesses */
    switch (reg) {
    case BM_REG_COMMAND:
        return ch->bm_cmd;
    case BM_REG_STATUS:
        return ch->bm_status;
    case BM_REG_PRD:
    case BM_REG_PRD + 1:
    case BM_REG_PRD + 2:
    case BM_REG_PRD + 3:
        return (ch->bm_prd >> (8 * (reg - BM_REG_PRD))) & 0xFF;
    default:
        return 0; /* reserved */
    }
}

/* Start 0->1 starts the engine (Active set); 1->0 stops it and loses its
 * state. Read/Write Control may not change while Active. */
static void bm_command_write(struct ide_channel *ch, u8 v)
{
    bool was = ch->bm_cmd & BM_CMD_START;
    bool start = v & BM_CMD_START;
    u8 dir = (ch->bm_status & BM_ST_ACTIVE) ? (ch->bm_cmd & BM_CMD_TO_MEMORY) : (v & BM_CMD_TO_MEMORY);
    ch->bm_cmd = (u8)((start ? BM_CMD_START : 0) | dir);
    if (start && !was) {
        ch->bm_status |= BM_ST_ACTIVE;
        dma_try_run(ch);
    } else if (!start && was) {
        ch->bm_status &= (u8)~BM_ST_ACTIVE;
    }
}

/* Error and Interrupt are write-1-to-clear; the DMA capable bits are plain
 * read/write for software; Active is read-only. */
static void bm_status_write(struct ide_channel *ch, u8 v)
{
    u8 capable = BM_ST_DMA0_CAPABLE | BM_ST_DMA1_CAPABLE;
    ch->bm_status = (u8)((ch->bm_status & ~capable) | (v & capable));
    ch->bm_status &= (u8)~(v & (BM_ST_ERROR | BM_ST_INTR));
}

static void bm_write(void *dev, u16 port, u8 size, u32 value)
{
    struct ide *ide = dev;
    unsigned off = (u16)(port - ide->bm_base);
    struct ide_channel *ch = &ide->ch[(off / BM_CHANNEL_PORTS) & 1];
    unsigned reg = off % BM_CHANNEL_PORTS;
    u8 v = (u8)value;
    (void)size;
    switch (reg) {
    case BM_REG_COMMAND:
        bm_command_write(ch, v);
        break;
    case BM_REG_STATUS:
        bm_status_write(ch, v);
        break;
    case BM_REG_PRD:
    case BM_REG_PRD + 1:
    case BM_REG_PRD + 2:
    case BM_REG_PRD + 3: {
        unsigned shift = 8 * (reg - BM_REG_PRD);
        ch->bm_prd = ((ch->bm_prd & ~(0xFFu << shift)) | ((u32)v << shift)) & BM_PRD_MASK;
        break;
    }
    default:
        break;
    }
}

/* ---- IDENTIFY data (ATA-6, IDENTIFY DEVICE and IDENTIFY PACKET DEVICE) ---- */

#define ID_CONFIG_FIXED 0x0040        /* word 0 (ATA): obsolete "not removable" */
#define ID_CONFIG_PACKET_CDROM 0x85C0 /* word 0: ATAPI, CD-ROM (05h), removable, DRQ in 50 us, 12-byte packets */
#define ID_MULTIPLE_MAX (0x8000 | IDE_MAX_MULTIPLE) /* word 47 */
#define ID_CAP_DMA 0x0100             /* word 49 */
#define ID_CAP_LBA 0x0200
#define ID_CAP_IORDY_DISABLE 0x0400
#define ID_CAP_IORDY 0x0800
#define ID_CAP2_VALID 0x4000          /* word 50 */
#define ID_PIO_TIMING_MODE2 0x0200    /* word 51 (obsolete): PIO mode 2 */
#define ID_VALID_54_58 0x0001         /* word 53 */
#define ID_VALID_64_70 0x0002
#define ID_VALID_88 0x0004
#define ID_MULTIPLE_VALID 0x0100      /* word 59 */
#define ID_MWDMA_SUPPORTED 0x0007     /* word 63: modes 0-2 */
#define ID_MWDMA_SELECTED_SHIFT 8
#define ID_PIO_3_4 0x0003             /* word 64 */
#define ID_CYCLE_NS 120               /* words 65-68: mode 2 MWDMA / mode 4 PIO cycle */
#define ID_MAJOR_ATA1_TO_6 0x007E     /* word 80 */
#define ID_MAJOR_ATAPI4_TO_6 0x0070
#define ID_FS_POWER_MGMT 0x0008       /* words 82/85 */
#define ID_FS_PACKET 0x0010
#define ID_FS_WRITE_CACHE 0x0020
#define ID_FS_LOOK_AHEAD 0x0040
#define ID_FS_DEVICE_RESET 0x0200
#define ID_FS_VALID 0x4000            /* words 83, 84, 87: bit 14 = 1, bit 15 = 0 */
#define ID_FS_LBA48 0x0400            /* words 83/86 */
#define ID_FS_FLUSH 0x1000
#define ID_FS_FLUSH_EXT 0x2000
#define ID_RESET_VALID 0x4000         /* word 93 */
#define ID_RESET_DEV0 0x0001
#define ID_RESET_DEV0_JUMPER 0x0002
#define ID_RESET_DEV0_PASSED 0x0008
#define ID_RESET_DEV0_PDIAG 0x0010
#define ID_RESET_DEV0_DASP 0x0020
#define ID_RESET_DEV0_ANSWERS_DEV1 0x0040
#define ID_RESET_DEV1 0x0100
#define ID_RESET_DEV1_JUMPER 0x0200
#define ID_RESET_DEV1_PDIAG 0x0800
#define ID_INTEGRITY_SIGNATURE 0xA5   /* word 255 bits 7:0 */

static void id_word(u8 *buf, unsigned word, u16 v)
{
    buf[2 * word] = (u8)v;
    buf[2 * word + 1] = (u8)(v >> 8);
}

static void id_dword(u8 *buf, unsigned word, u32 v)
{
    id_word(buf, word, (u16)v);
    id_word(buf, word + 1, (u16)(v >> 16));
}

/* ATA strings: two characters a word, the first in bits 15:8, padded with
 * spaces. */
static void id_string(u8 *buf, unsigned word, unsigned words, const char *s)
{
    size_t len = bounded_strlen(s, 2 * words);
    for (unsigned i = 0; i < 2 * words; i++)
        buf[2 * word + (i ^ 1)] = (u8)(i < len ? s[i] : ' ');
}

static const char *model_name(const struct ide_device *d)
{
    if (d->disk->model[0])
        return d->disk->model;
    return is_packet(d) ? "ZAZEN CD-ROM" : "ZAZEN HARDDISK";
}

static void id_strings(u8 *buf, const struct ide_device *d)
{
    char serial[] = "ZAZEN-IDE-0";
    serial[sizeof(serial) - 2] = (char)('0' + d->number);
    id_string(buf, 10, 10, serial);
    id_string(buf, 23, 4, "1.0");
    char model[41];
    size_t len = bounded_strlen(model_name(d), 40);
    memcpy(model, model_name(d), len);
    model[len] = 0;
    id_string(buf, 27, 20, model);
}

/* Word 93: how the reset went, from device 0's and device 1's side. */
static u16 id_reset_result(const struct ide_channel *ch, const struct ide_device *d)
{
    if (d == &ch->dev[1])
        return ID_RESET_VALID | ID_RESET_DEV1 | ID_RESET_DEV1_JUMPER | ID_RESET_DEV1_PDIAG;
    u16 v = ID_RESET_VALID | ID_RESET_DEV0 | ID_RESET_DEV0_JUMPER | ID_RESET_DEV0_PASSED;
    if (present(&ch->dev[1]))
        v |= ID_RESET_DEV0_PDIAG | ID_RESET_DEV0_DASP;
    else
        v |= ID_RESET_DEV0_ANSWERS_DEV1;
    return v;
}

static u16 id_mwdma(const struct ide_device *d)
{
    u16 v = ID_MWDMA_SUPPORTED;
    if (d->xfer_mode >= XFER_MWDMA && d->xfer_mode <= XFER_MWDMA + MAX_MWDMA_MODE)
        v |= (u16)(1u << (ID_MWDMA_SELECTED_SHIFT + d->xfer_mode - XFER_MWDMA));
    return v;
}

static void id_timings(u8 *buf, const struct ide_device *d)
{
    id_word(buf, 63, id_mwdma(d));
    id_word(buf, 64, ID_PIO_3_4);
    for (unsigned w = 65; w <= 68; w++)
        id_word(buf, w, ID_CYCLE_NS);
}

/* Word 255: signature A5h and a checksum making all 512 bytes sum to 0. */
static void id_integrity(u8 *buf)
{
    u8 sum = ID_INTEGRITY_SIGNATURE;
    buf[510] = ID_INTEGRITY_SIGNATURE;
    for (unsigned i = 0; i < 510; i++)
        sum = (u8)(sum + buf[i]);
    buf[511] = (u8)-sum;
}

static void build_identify_device(struct ide_channel *ch, const struct ide_device *d)
{
    u8 *buf = ch->buf;
    u64 total = ata_sectors(d);
    memset(buf, 0, ATA_SECTOR_SIZE);
    id_word(buf, 0, ID_CONFIG_FIXED);
    id_word(buf, 1, d->cyls);
    id_word(buf, 3, d->heads);
    id_word(buf, 6, d->sectors);
    id_strings(buf, d);
    id_word(buf, 47, ID_MULTIPLE_MAX);
    id_word(buf, 49, ID_CAP_DMA | ID_CAP_LBA | ID_CAP_IORDY_DISABLE | ID_CAP_IORDY);
    id_word(buf, 50, ID_CAP2_VALID);
    id_word(buf, 51, ID_PIO_TIMING_MODE2);
    id_word(buf, 53, ID_VALID_54_58 | ID_VALID_64_70 | ID_VALID_88);
    id_word(buf, 54, d->cur_cyls);
    id_word(buf, 55, d->cur_heads);
    id_word(buf, 56, d->cur_sectors);
    id_dword(buf, 57, (u32)((u32)d->cur_cyls * d->cur_heads * d->cur_sectors));
    id_word(buf, 59, d->multiple ? (u16)(ID_MULTIPLE_VALID | d->multiple) : 0);
    id_dword(buf, 60, (u32)MIN(total, LBA28_MAX));
    id_timings(buf, d);
    id_word(buf, 80, ID_MAJOR_ATA1_TO_6);
    id_word(buf, 82, ID_FS_POWER_MGMT | ID_FS_WRITE_CACHE | ID_FS_LOOK_AHEAD);
    id_word(buf, 83, ID_FS_VALID | ID_FS_LBA48 | ID_FS_FLUSH | ID_FS_FLUSH_EXT);
    id_word(buf, 84, ID_FS_VALID);
    id_word(buf, 85, (u16)(ID_FS_POWER_MGMT | (d->write_cache ? ID_FS_WRITE_CACHE : 0) |
                           (d->read_look_ahead ? ID_FS_LOOK_AHEAD : 0)));
    id_word(buf, 86, ID_FS_LBA48 | ID_FS_FLUSH | ID_FS_FLUSH_EXT);
    id_word(buf, 87, ID_FS_VALID);
    id_word(buf, 88, 0); /* no Ultra DMA: the PIIX3 has none */
    id_word(buf, 93, id_reset_result(ch, d));
    id_dword(buf, 100, (u32)total);
    id_dword(buf, 102, (u32)(total >> 32));
    id_integrity(buf);
}

static void build_identify_packet(struct ide_channel *ch, const struct ide_device *d)
{
    u8 *buf = ch->buf;
    memset(buf, 0, ATA_SECTOR_SIZE);
    id_word(buf, 0, ID_CONFIG_PACKET_CDROM);
    id_strings(buf, d);
    id_word(buf, 49, ID_CAP_DMA | ID_CAP_LBA | ID_CAP_IORDY_DISABLE | ID_CAP_IORDY);
    id_word(buf, 50, ID_CAP2_VALID);
    id_word(buf, 53, ID_VALID_64_70 | ID_VALID_88);
    id_timings(buf, d);
    id_word(buf, 80, ID_MAJOR_ATAPI4_TO_6);
    id_word(buf, 82, ID_FS_POWER_MGMT | ID_FS_PACKET | ID_FS_DEVICE_RESET);
    id_word(buf, 83, ID_FS_VALID);
    id_word(buf, 84, ID_FS_VALID);
    id_word(buf, 85, ID_FS_POWER_MGMT | ID_FS_PACKET | ID_FS_DEVICE_RESET);
    id_word(buf, 87, ID_FS_VALID);
    id_word(buf, 93, id_reset_result(ch, d));
    id_integrity(buf);
}

/* ---- ATA commands ---- */

/* Sector count: 0 means 256 (28-bit) or 65536 (48-bit commands). */
static u32 request_count(const struct ide_device *d, bool ext)
{
    if (ext) {
        u32 n = (u32)d->hob_nsector << 8 | d->nsector;
        return n ? n : 65536;
    }
    return d->nsector ? d->nsector : 256;
}

/* The first sector: 48-bit LBA (previous contents are bits 47:24), 28-bit
 * LBA (bits 27:24 in the Device register), or CHS through the current
 * translation (sector numbers start at 1). False for an impossible CHS. */
static bool request_lba(const struct ide_channel *ch, const struct ide_device *d, bool ext, u64 *lba)
{
    if (ext) {
        *lba = (u64)d->hob_lbah << 40 | (u64)d->hob_lbam << 32 | (u64)d->hob_lbal << 24 | (u64)d->lbah << 16 |
               (u64)d->lbam << 8 | d->lbal;
        return true;
    }
    if (ch->device & DEV_LBA) {
        *lba = (u64)(ch->device & DEV_HEAD) << 24 | (u64)d->lbah << 16 | (u64)d->lbam << 8 | d->lbal;
        return true;
    }
    u32 cyl = (u32)d->lbah << 8 | d->lbam;
    u32 head = ch->device & DEV_HEAD;
    u32 sector = d->lbal;
    if (sector == 0 || sector > d->cur_sectors || head >= d->cur_heads || cyl >= d->cur_cyls)
        return false;
    *lba = ((u64)cyl * d->cur_heads + head) * d->cur_sectors + sector - 1;
    return true;
}

/* The sectors a command addresses; IDNF if any lies beyond the disk. */
static bool request_range(struct ide_channel *ch, struct ide_device *d, bool ext, u64 *lba, u32 *count)
{
    u64 total = ata_sectors(d);
    *count = request_count(d, ext);
    if (!request_lba(ch, d, ext, lba) || *lba >= total || *count > total - *lba) {
        command_error(ch, d, ER_IDNF);
        return false;
    }
    return true;
}

/* The same commands on a backend disk: the data goes through the bounce
 * buffer, one DRQ block (PIO) or one piece (DMA) at a time, each a
 * request the device is BSY for. */
static void backend_read_write(struct ide_channel *ch, struct ide_device *d, u64 lba, u32 count, bool write,
                               enum ata_xfer how)
{
    if (!backend_free(ch, d, lba, count, write, how))
        return;
    u32 bytes = count * ATA_SECTOR_SIZE;
    u32 block = (how == XFER_MULTIPLE ? d->multiple : 1) * ATA_SECTOR_SIZE;
    ch->xfer_lba = lba;
    ch->backend_xfer = true; /* before dma_start, which may run it at once */
    if (how == XFER_DMA) {
        dma_start(ch, d, bounce_of(d), bytes, !write);
    } else if (write) {
        ata_pio_out(ch, d, bounce_of(d), bytes, block);
    } else {
        ch->phase = IDE_PIO_IN;
        ch->ptr = bounce_of(d);
        ch->xfer_left = bytes;
        ch->block_size = block;
        pio_in_fetch(ch, d);
    }
}

/* FLUSH CACHE (EXT): done only once the backing device has flushed its
 * cache too; its failure is the command's (ABRT). */
static void backend_flush(struct ide_channel *ch, struct ide_device *d)
{
    if (backend_free(ch, d, 0, 0, false, XFER_FLUSH))
        io_submit(ch, d, IDE_IO_FLUSH, 0, 0, IO_FLUSH);
}

static void io_end(struct ide_channel *ch, struct ide_device *d, enum io_wait w, bool ok)
{
    switch (w) {
    case IO_START:
        if (ch->start_how == XFER_FLUSH)
            backend_flush(ch, d);
        else
            backend_read_write(ch, d, ch->start_lba, ch->start_count, ch->start_write, (enum ata_xfer)ch->start_how);
        break;
    case IO_PIO_IN: pio_in_fetched(ch, d, ok); break;
    case IO_PIO_OUT: pio_out_written(ch, d, ok); break;
    case IO_DMA: dma_piece_ended(ch, d, ok); break;
    case IO_FLUSH:
        if (ok)
            command_done(ch, d);
        else
            command_abort(ch, d);
        break;
    case IO_NONE: break;
    }
    channel_update_irq(ch);
}

/* The poll timer: has the request ended? Polls back off while it runs. */
static void io_poll(void *dev, u64 now)
{
    struct ide_channel *ch = dev;
    (void)now;
    if (ch->io_wait == IO_NONE)
        return;
    struct ide_device *d = &ch->dev[ch->io_dev];
    const struct ide_backend *b = backend_of(d);
    enum ide_io_status st = b->poll(b->ctx);
    if (st == IDE_IO_PENDING) {
        ch->io_poll_ns = MIN(ch->io_poll_ns * 2, IDE_POLL_MAX_NS);
        io_arm(ch);
        return;
    }
    enum io_wait w = (enum io_wait)ch->io_wait;
    ch->io_wait = IO_NONE;
    io_end(ch, d, w, st == IDE_IO_DONE);
}

/* READ/WRITE SECTORS, MULTIPLE and DMA, 28- and 48-bit. */
static void ata_read_write(struct ide_channel *ch, struct ide_device *d, bool ext, bool write, enum ata_xfer how)
{
    u64 lba;
    u32 count;
    /* READ/WRITE MULTIPLE while multiple mode is disabled abort (ATA-6, READ MULTIPLE and WRITE MULTIPLE). */
    if (how == XFER_MULTIPLE && !d->multiple) {
        command_abort(ch, d);
        return;
    }
    if (write && d->disk->read_only) {
        command_abort(ch, d);
        return;
    }
    if (!request_range(ch, d, ext, &lba, &count))
        return;
    if (!d->disk->data) {
        backend_read_write(ch, d, lba, count, write, how);
        return;
    }
    u8 *data = d->disk->data + lba * ATA_SECTOR_SIZE;
    u32 bytes = count * ATA_SECTOR_SIZE;
    if (how == XFER_DMA)
        dma_start(ch, d, data, bytes, !write);
    else if (write)
        ata_pio_out(ch, d, data, bytes, (how == XFER_MULTIPLE ? d->multiple : 1) * ATA_SECTOR_SIZE);
    else
        ata_pio_in(ch, d, data, bytes, (how == XFER_MULTIPLE ? d->multiple : 1) * ATA_SECTOR_SIZE);
}

static void ata_read_verify(struct ide_channel *ch, struct ide_device *d, bool ext)
{
    u64 lba;
    u32 count;
    if (request_range(ch, d, ext, &lba, &count))
        command_done(ch, d);
}

static bool valid_transfer_mode(u8 mode)
{
    return mode == XFER_PIO_DEFAULT || mode == XFER_PIO_DEFAULT_NO_IORDY ||
           (mode >= XFER_PIO_FLOW && mode <= XFER_PIO_FLOW + MAX_PIO_MODE) ||
           (mode >= XFER_MWDMA && mode <= XFER_MWDMA + MAX_MWDMA_MODE);
}

/* SET FEATURES: transfer modes we advertise; cache and look-ahead switches
 * (nominal: writes reach the image at once); revert-to-defaults switches
 * (nothing to revert beyond what a reset does). Anything else aborts. */
static void set_features(struct ide_channel *ch, struct ide_device *d)
{
    switch (d->feature) {
    case SF_SET_TRANSFER_MODE:
        if (!valid_transfer_mode(d->nsector)) {
            command_abort(ch, d);
            return;
        }
        d->xfer_mode = d->nsector;
        break;
    case SF_ENABLE_WRITE_CACHE:
    case SF_DISABLE_WRITE_CACHE:
        if (is_packet(d)) {
            command_abort(ch, d);
            return;
        }
        d->write_cache = d->feature == SF_ENABLE_WRITE_CACHE;
        break;
    case SF_ENABLE_READ_LOOK_AHEAD:
    case SF_DISABLE_READ_LOOK_AHEAD:
        if (is_packet(d)) {
            command_abort(ch, d);
            return;
        }
        d->read_look_ahead = d->feature == SF_ENABLE_READ_LOOK_AHEAD;
        break;
    case SF_ENABLE_REVERT_DEFAULTS:
    case SF_DISABLE_REVERT_DEFAULTS:
        break;
    default:
        command_abort(ch, d);
        return;
    }
    command_done(ch, d);
}

/* SET MULTIPLE MODE: a power of two up to word 47's maximum; 0 disables
 * READ/WRITE MULTIPLE (ATA-6, SET MULTIPLE MODE). */
static void set_multiple(struct ide_channel *ch, struct ide_device *d)
{
    u8 n = d->nsector;
    if (n > IDE_MAX_MULTIPLE || (n & (n - 1))) {
        command_abort(ch, d);
        return;
    }
    d->multiple = n;
    command_done(ch, d);
}

/* INITIALIZE DEVICE PARAMETERS: sectors per track from the sector count,
 * heads from the Device register's head bits + 1 (ATA-6, INITIALIZE DEVICE PARAMETERS). */
static void initialize_parameters(struct ide_channel *ch, struct ide_device *d)
{
    u32 spt = d->nsector, heads = (ch->device & DEV_HEAD) + 1u;
    if (spt == 0) {
        command_abort(ch, d);
        return;
    }
    u64 cyls = ata_sectors(d) / (spt * heads);
    d->cur_sectors = (u16)spt;
    d->cur_heads = (u16)heads;
    d->cur_cyls = (u16)MIN(cyls, 0xFFFFull);
    command_done(ch, d);
}

/* The commands both kinds of device take alike: SET FEATURES and the
 * power management set, whose modes an emulated disk has no use for
 * (always active; IDLE and STANDBY succeed). False for any other. */
static bool feature_or_power_command(struct ide_channel *ch, struct ide_device *d, u8 cmd)
{
    switch (cmd) {
    case ATA_SET_FEATURES: set_features(ch, d); return true;
    case ATA_CHECK_POWER_MODE:
        d->nsector = POWER_MODE_ACTIVE;
        command_done(ch, d);
        return true;
    case ATA_IDLE:
    case ATA_STANDBY:
    case ATA_IDLE_IMMEDIATE:
    case ATA_STANDBY_IMMEDIATE:
        command_done(ch, d);
        return true;
    default:
        return false;
    }
}

static void ata_command(struct ide_channel *ch, struct ide_device *d, u8 cmd)
{
    switch (cmd) {
    case ATA_READ_SECTORS: ata_read_write(ch, d, false, false, XFER_SINGLE); break;
    case ATA_READ_SECTORS_EXT: ata_read_write(ch, d, true, false, XFER_SINGLE); break;
    case ATA_WRITE_SECTORS: ata_read_write(ch, d, false, true, XFER_SINGLE); break;
    case ATA_WRITE_SECTORS_EXT: ata_read_write(ch, d, true, true, XFER_SINGLE); break;
    case ATA_READ_MULTIPLE: ata_read_write(ch, d, false, false, XFER_MULTIPLE); break;
    case ATA_READ_MULTIPLE_EXT: ata_read_write(ch, d, true, false, XFER_MULTIPLE); break;
    case ATA_WRITE_MULTIPLE: ata_read_write(ch, d, false, true, XFER_MULTIPLE); break;
    case ATA_WRITE_MULTIPLE_EXT: ata_read_write(ch, d, true, true, XFER_MULTIPLE); break;
    case ATA_READ_DMA: ata_read_write(ch, d, false, false, XFER_DMA); break;
    case ATA_READ_DMA_EXT: ata_read_write(ch, d, true, false, XFER_DMA); break;
    case ATA_WRITE_DMA: ata_read_write(ch, d, false, true, XFER_DMA); break;
    case ATA_WRITE_DMA_EXT: ata_read_write(ch, d, true, true, XFER_DMA); break;
    case ATA_READ_VERIFY: ata_read_verify(ch, d, false); break;
    case ATA_READ_VERIFY_EXT: ata_read_verify(ch, d, true); break;
    case ATA_IDENTIFY:
        build_identify_device(ch, d);
        ata_pio_in(ch, d, ch->buf, ATA_SECTOR_SIZE, ATA_SECTOR_SIZE);
        break;
    case ATA_SET_MULTIPLE: set_multiple(ch, d); break;
    case ATA_INITIALIZE_PARAMS: initialize_parameters(ch, d); break;
    case ATA_RECALIBRATE:
        command_done(ch, d);
        break;
    case ATA_FLUSH_CACHE:
    case ATA_FLUSH_CACHE_EXT:
        if (d->disk->data)
            command_done(ch, d);
        else
            backend_flush(ch, d);
        break;
    default: /* NOP, DEVICE RESET (PACKET only) and everything unknown */
        if (!feature_or_power_command(ch, d, cmd))
            command_abort(ch, d);
        break;
    }
}

/* ---- ATAPI: the PACKET command and protocol (ATA-6) ---- */

/* Command completion: I/O = 1, C/D = 1, DRQ = 0, INTRQ. */
static void atapi_done(struct ide_channel *ch, struct ide_device *d)
{
    command_done(ch, d);
    d->nsector = IR_IO | IR_COD;
}

/* CHECK CONDITION: the sense key in the error register, CHK (ERR) set;
 * REQUEST SENSE returns the details. */
static void atapi_check(struct ide_channel *ch, struct ide_device *d, u8 key, u8 asc)
{
    d->sense_key = key;
    d->asc = asc;
    d->ascq = 0;
    command_error(ch, d, (u8)(key << ER_SENSE_KEY_SHIFT));
    d->nsector = IR_IO | IR_COD;
}

static void atapi_invalid_field(struct ide_channel *ch, struct ide_device *d)
{
    atapi_check(ch, d, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
}

/* Returns min(len, allocation length) bytes to the host, by DMA if the
 * PACKET command asked for it, else in PIO DRQ blocks. */
static void atapi_send(struct ide_channel *ch, struct ide_device *d, u8 *data, u32 len, u32 alloc)
{
    u32 n = MIN(len, alloc);
    if (n == 0) {
        atapi_done(ch, d);
        return;
    }
    if (ch->packet_dma) {
        dma_start(ch, d, data, n, true);
        return;
    }
    ch->phase = IDE_ATAPI_IN;
    ch->ptr = data;
    ch->xfer_left = n;
    atapi_next_block(ch, d);
}

static bool atapi_need_medium(struct ide_channel *ch, struct ide_device *d)
{
    if (medium_present(d))
        return true;
    atapi_check(ch, d, SK_NOT_READY, ASC_MEDIUM_NOT_PRESENT);
    return false;
}

/* REQUEST SENSE: fixed format sense data (SPC-2, REQUEST SENSE); the sense is then cleared. */
static void scsi_request_sense(struct ide_channel *ch, struct ide_device *d, const u8 *cdb)
{
    u8 *b = ch->buf;
    memset(b, 0, SENSE_FIXED_LEN);
    b[0] = SENSE_FIXED_CURRENT;
    b[2] = d->sense_key;
    b[7] = SENSE_FIXED_LEN - 8; /* additional sense length */
    b[12] = d->asc;
    b[13] = d->ascq;
    d->sense_key = SK_NO_SENSE;
    d->asc = d->ascq = ASC_NONE;
    atapi_send(ch, d, b, SENSE_FIXED_LEN, cdb[4]);
}

static void copy_padded(u8 *dst, const char *s, size_t len)
{
    size_t n = bounded_strlen(s, len);
    memcpy(dst, s, n);
    memset(dst + n, ' ', len - n);
}

/* INQUIRY: standard data only (SPC-2, INQUIRY); vital product data pages are
 * not provided. */
static void scsi_inquiry(struct ide_channel *ch, struct ide_device *d, const u8 *cdb)
{
    u8 *b = ch->buf;
    if (cdb[1] & INQUIRY_EVPD) {
        atapi_invalid_field(ch, d);
        return;
    }
    memset(b, 0, INQUIRY_LEN);
    b[0] = PERIPHERAL_CDROM;
    b[1] = INQUIRY_RMB;
    b[3] = INQUIRY_RESPONSE_FORMAT;
    b[4] = INQUIRY_LEN - 5; /* additional length */
    copy_padded(b + 8, "ZAZEN", 8);
    copy_padded(b + 16, model_name(d), 16);
    copy_padded(b + 32, "1.0", 4);
    atapi_send(ch, d, b, INQUIRY_LEN, get16be(cdb + 3));
}

/* MMC-2 page 2Ah, CD Capabilities and Mechanical Status: reads CD-ROM
 * (and CD-R/RW) media, no writing or audio; a lockable, ejectable tray. */
#define CAP_READ_CDR 0x01
#define CAP_READ_CDRW 0x02
#define CAP_LOCK 0x01
#define CAP_LOCK_STATE 0x02
#define CAP_EJECT 0x08
#define CAP_TRAY (1 << 5)
#define CAP_SPEED_KBS 4224 /* 24x (176 KB/s each) */
#define CAP_BUFFER_KB 512
static u32 mode_page_capabilities(u8 *p, const struct ide_device *d, bool changeable)
{
    memset(p, 0, MODE_CAPABILITIES_LEN + 2);
    p[0] = MODE_PAGE_CAPABILITIES;
    p[1] = MODE_CAPABILITIES_LEN;
    if (!changeable) { /* nothing here can be changed with MODE SELECT */
        p[2] = CAP_READ_CDR | CAP_READ_CDRW;
        p[6] = (u8)(CAP_LOCK | (d->medium_locked ? CAP_LOCK_STATE : 0) | CAP_EJECT | CAP_TRAY);
        put16be(p + 8, CAP_SPEED_KBS);
        put16be(p + 12, CAP_BUFFER_KB);
        put16be(p + 14, CAP_SPEED_KBS);
    }
    return MODE_CAPABILITIES_LEN + 2;
}

/* MODE SENSE (6) and (10) (SPC-2, MODE SENSE): a header without block
 * descriptors, then page 2Ah (alone or as "all pages"). */
static void scsi_mode_sense(struct ide_channel *ch, struct ide_device *d, const u8 *cdb, bool ten)
{
    u8 *b = ch->buf;
    u8 pc = cdb[2] >> 6, page = cdb[2] & 0x3F;
    u32 header = ten ? 8 : 4;
    if (pc == MODE_PC_SAVED) {
        atapi_check(ch, d, SK_ILLEGAL_REQUEST, ASC_SAVING_NOT_SUPPORTED);
        return;
    }
    if (page != MODE_PAGE_CAPABILITIES && page != MODE_PAGE_ALL) {
        atapi_invalid_field(ch, d);
        return;
    }
    memset(b, 0, header);
    u32 len = header + mode_page_capabilities(b + header, d, pc == MODE_PC_CHANGEABLE);
    u8 medium = medium_present(d) ? MEDIUM_CD_ROM_DATA : MEDIUM_NONE;
    if (ten) {
        put16be(b, len - 2); /* mode data length excludes itself */
        b[2] = medium;
        atapi_send(ch, d, b, len, get16be(cdb + 7));
    } else {
        b[0] = (u8)(len - 1);
        b[1] = medium;
        atapi_send(ch, d, b, len, cdb[4]);
    }
}

static void scsi_read_capacity(struct ide_channel *ch, struct ide_device *d)
{
    u8 *b = ch->buf;
    if (!atapi_need_medium(ch, d))
        return;
    put32be(b, (u32)MIN(cd_blocks(d) - 1, 0xFFFFFFFFull)); /* the last LBA */
    put32be(b + 4, ATAPI_SECTOR_SIZE);
    atapi_send(ch, d, b, 8, 8);
}

/* READ (10) and READ (12) (MMC-2): 2048-byte user data blocks. A length of
 * 0 is not an error. */
static void scsi_read(struct ide_channel *ch, struct ide_device *d, u32 lba, u32 count)
{
    if (!atapi_need_medium(ch, d))
        return;
    if (count == 0) {
        atapi_done(ch, d);
        return;
    }
    if (lba >= cd_blocks(d) || count > cd_blocks(d) - lba) {
        atapi_check(ch, d, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
        return;
    }
    if (count > 0xFFFFFFFFu / ATAPI_SECTOR_SIZE) {
        atapi_invalid_field(ch, d);
        return;
    }
    u32 bytes = count * ATAPI_SECTOR_SIZE;
    atapi_send(ch, d, d->disk->data + (u64)lba * ATAPI_SECTOR_SIZE, bytes, bytes);
}

/* A TOC address: an LBA, or MSF (LBA + 150 frames, 75 frames a second). */
static void toc_address(u8 *p, u32 lba, bool msf)
{
    if (!msf) {
        put32be(p, lba);
        return;
    }
    u32 frames = lba + CD_MSF_OFFSET;
    p[0] = 0;
    p[1] = (u8)(frames / (CD_FRAMES_PER_SECOND * 60));
    p[2] = (u8)((frames / CD_FRAMES_PER_SECOND) % 60);
    p[3] = (u8)(frames % CD_FRAMES_PER_SECOND);
}

static u32 toc_descriptor(u8 *p, u8 track, u32 lba, bool msf)
{
    p[0] = 0;
    p[1] = TOC_ADR_CONTROL;
    p[2] = track;
    p[3] = 0;
    toc_address(p + 4, lba, msf);
    return 8;
}

/* READ TOC/PMA/ATIP (MMC-2): one data track (1) starting at LBA 0 and the
 * lead-out (AAh) at the end; format 0 (TOC) and 1 (session info). The
 * format is in byte 2, or in byte 9 bits 7:6 for older hosts (SFF-8020i). */
static void scsi_read_toc(struct ide_channel *ch, struct ide_device *d, const u8 *cdb)
{
    u8 *b = ch->buf;
    bool msf = cdb[1] & TOC_MSF;
    u8 format = cdb[2] & 0x0F;
    u8 track = cdb[6];
    u32 len = 4;
    if (!atapi_need_medium(ch, d))
        return;
    if (format == 0)
        format = cdb[9] >> 6;
    u32 lead_out = (u32)MIN(cd_blocks(d), 0xFFFFFFFFull);
    if (format == TOC_FORMAT_TOC) {
        if (track > 1 && track != TOC_LEAD_OUT) {
            atapi_invalid_field(ch, d);
            return;
        }
        if (track <= 1)
            len += toc_descriptor(b + len, 1, 0, msf);
        len += toc_descriptor(b + len, TOC_LEAD_OUT, lead_out, msf);
    } else if (format == TOC_FORMAT_SESSION) {
        len += toc_descriptor(b + len, 1, 0, msf); /* first track of the last session */
    } else {
        atapi_invalid_field(ch, d);
        return;
    }
    put16be(b, len - 2); /* data length excludes itself */
    b[2] = 1;            /* first track or session */
    b[3] = 1;            /* last */
    atapi_send(ch, d, b, len, get16be(cdb + 7));
}

/* GET CONFIGURATION (MMC-2): the header with the current profile,
 * then the Profile List (CD-ROM) and Core (ATAPI) features, filtered by
 * the request type and starting feature number. */
static u32 feature_header(u8 *p, u16 code, u8 additional)
{
    put16be(p, code);
    p[2] = FEATURE_PERSISTENT | FEATURE_CURRENT;
    p[3] = additional;
    return 4;
}

static void scsi_get_configuration(struct ide_channel *ch, struct ide_device *d, const u8 *cdb)
{
    u8 *b = ch->buf;
    u8 rt = cdb[1] & 3;
    u32 start = get16be(cdb + 2);
    u32 len = 8;
    if (rt > GC_RT_ONE) {
        atapi_invalid_field(ch, d);
        return;
    }
    memset(b, 0, 32);
    put16be(b + 6, medium_present(d) ? PROFILE_CD_ROM : 0);
    if (start == FEATURE_PROFILE_LIST) {
        len += feature_header(b + len, FEATURE_PROFILE_LIST, 4);
        put16be(b + len, PROFILE_CD_ROM);
        b[len + 2] = medium_present(d) ? 1 : 0; /* CurrentP */
        len += 4;
    }
    if (start == FEATURE_CORE || (start < FEATURE_CORE && rt != GC_RT_ONE)) {
        len += feature_header(b + len, FEATURE_CORE, 4);
        put32be(b + len, INTERFACE_ATAPI);
        len += 4;
    }
    put32be(b, len - 4); /* data length excludes itself */
    atapi_send(ch, d, b, len, get16be(cdb + 7));
}

/* GET EVENT STATUS NOTIFICATION (MMC-2): polled only; the media class
 * reports "no change" with the disc present or not. */
static void scsi_get_event_status(struct ide_channel *ch, struct ide_device *d, const u8 *cdb)
{
    u8 *b = ch->buf;
    u32 len = 4;
    if (!(cdb[1] & GESN_POLLED)) {
        atapi_invalid_field(ch, d);
        return;
    }
    memset(b, 0, 8);
    b[3] = 1 << GESN_CLASS_MEDIA; /* supported event classes */
    if (cdb[4] & (1 << GESN_CLASS_MEDIA)) {
        b[2] = GESN_CLASS_MEDIA;
        b[4] = 0; /* event code: no change */
        b[5] = medium_present(d) ? GESN_MEDIA_PRESENT : 0;
        len += 4;
    } else {
        b[2] = GESN_NEA; /* no event available for the classes asked */
    }
    put16be(b, len - 2);
    atapi_send(ch, d, b, len, get16be(cdb + 7));
}

/* The 12-byte packet is in; run it. The sense data describes the last
 * command, so everything but REQUEST SENSE starts with NO SENSE. */
static void atapi_execute(struct ide_channel *ch, struct ide_device *d)
{
    const u8 *cdb = ch->packet;
    end_transfer(ch);
    if (cdb[0] != SCSI_REQUEST_SENSE) {
        d->sense_key = SK_NO_SENSE;
        d->asc = d->ascq = ASC_NONE;
    }
    switch (cdb[0]) {
    case SCSI_TEST_UNIT_READY:
        if (atapi_need_medium(ch, d))
            atapi_done(ch, d);
        break;
    case SCSI_REQUEST_SENSE: scsi_request_sense(ch, d, cdb); break;
    case SCSI_INQUIRY: scsi_inquiry(ch, d, cdb); break;
    case SCSI_MODE_SENSE_6: scsi_mode_sense(ch, d, cdb, false); break;
    case SCSI_MODE_SENSE_10: scsi_mode_sense(ch, d, cdb, true); break;
    case SCSI_READ_CAPACITY: scsi_read_capacity(ch, d); break;
    case SCSI_READ_10: scsi_read(ch, d, get32be(cdb + 2), get16be(cdb + 7)); break;
    case SCSI_READ_12: scsi_read(ch, d, get32be(cdb + 2), get32be(cdb + 6)); break;
    case SCSI_READ_TOC: scsi_read_toc(ch, d, cdb); break;
    case SCSI_GET_CONFIGURATION: scsi_get_configuration(ch, d, cdb); break;
    case SCSI_GET_EVENT_STATUS: scsi_get_event_status(ch, d, cdb); break;
    case SCSI_PREVENT_ALLOW:
        d->medium_locked = cdb[4] & PREVENT_BIT;
        atapi_done(ch, d);
        break;
    case SCSI_START_STOP_UNIT: /* the image stays in: load and eject do nothing */
        atapi_done(ch, d);
        break;
    default:
        atapi_check(ch, d, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
        break;
    }
}

/* PACKET: DRQ for the command packet, interrupt reason C/D = 1, I/O = 0,
 * no INTRQ (IDENTIFY PACKET DEVICE word 0 announces DRQ within 50 us).
 * The byte count limit for PIO data is in LBA mid/high. */
static void atapi_packet(struct ide_channel *ch, struct ide_device *d)
{
    ch->phase = IDE_PACKET;
    ch->ptr = ch->packet;
    ch->block_left = sizeof(ch->packet);
    ch->xfer_left = 0;
    ch->block_size = (u32)d->lbah << 8 | d->lbam;
    ch->packet_dma = d->feature & PKT_FEATURE_DMA;
    d->nsector = IR_COD;
    d->status = ST_DRDY | ST_DRQ;
}

/* DEVICE RESET (ATA-6): this device only, no interrupt. */
static void atapi_device_reset(struct ide_channel *ch, struct ide_device *d)
{
    end_transfer(ch);
    device_after_reset(d);
}

/* The ATA commands a PACKET device takes (ATA-6, PACKET Command feature set).
 * IDENTIFY DEVICE and READ SECTORS abort with the signature in place, so
 * a host probing with them learns what the device is. */
static void packet_device_command(struct ide_channel *ch, struct ide_device *d, u8 cmd)
{
    switch (cmd) {
    case ATA_PACKET: atapi_packet(ch, d); break;
    case ATA_IDENTIFY_PACKET:
        build_identify_packet(ch, d);
        ata_pio_in(ch, d, ch->buf, ATA_SECTOR_SIZE, ATA_SECTOR_SIZE);
        break;
    case ATA_DEVICE_RESET: atapi_device_reset(ch, d); break;
    case ATA_IDENTIFY:
    case ATA_READ_SECTORS:
        set_signature(d);
        command_abort(ch, d);
        break;
    default:
        if (!feature_or_power_command(ch, d, cmd))
            command_abort(ch, d);
        break;
    }
}

/* EXECUTE DEVICE DIAGNOSTIC (ATA-6): both devices run it whichever
 * is selected; each shows its signature and diagnostic code; device 0
 * (or the only device) interrupts. */
static void execute_diagnostic(struct ide_channel *ch)
{
    end_transfer(ch);
    for (unsigned i = 0; i < 2; i++)
        if (present(&ch->dev[i]))
            device_after_reset(&ch->dev[i]);
    ch->device = 0;
    ch->active = present(&ch->dev[0]) ? 0 : 1;
    raise_intrq(ch, &ch->dev[ch->active]);
}

/* The Command register. A device that is absent (device 0 answers for an
 * absent device 1) or busy ignores it; a new command drops any transfer
 * left unfinished and clears the pending interrupt. */
static void command_write(struct ide_channel *ch, u8 cmd)
{
    struct ide_device *d = selected(ch);
    if (channel_empty(ch))
        return;
    if (cmd == ATA_EXECUTE_DIAGNOSTIC && !(d->status & ST_BSY)) {
        execute_diagnostic(ch);
        return;
    }
    /* A channel runs one command at a time: while a backend request of
     * either device is under way the other device's command is ignored
     * too (ATA/ATAPI-6, the Device and Command registers: written while
     * BSY is set, the result is indeterminate); the request's end then
     * continues on its own device, not on one selected since. */
    if (!present(d) || (d->status & ST_BSY) || ch->io_wait != IO_NONE)
        return;
    end_transfer(ch);
    d->intrq = false;
    d->error = 0;
    ch->active = selected_index(ch);
    if (is_packet(d))
        packet_device_command(ch, d, cmd);
    else
        ata_command(ch, d, cmd);
    channel_update_irq(ch);
}

/* ---- the channel's registers ---- */

/* A selected device that is absent reads 00h when the other device is
 * present (ATA-6: device 0 answers for an absent device 1 with a status of
 * 00h; this model returns 00h from every register so that probes writing
 * and reading back the sector count see nothing there). A channel with no
 * device at all floats: FFh. */
static u32 cmd_block_read(void *dev, u16 port, u8 size)
{
    struct ide_channel *ch = dev;
    struct ide_device *d = selected(ch);
    bool hob = ch->devctl & CTL_HOB;
    (void)size; /* byte wide */
    if (channel_empty(ch))
        return 0xFF;
    if (!present(d))
        return 0;
    switch (port - ch->cmd_base) {
    case REG_ERROR: return d->error;
    case REG_NSECTOR: return hob ? d->hob_nsector : d->nsector;
    case REG_LBAL: return hob ? d->hob_lbal : d->lbal;
    case REG_LBAM: return hob ? d->hob_lbam : d->lbam;
    case REG_LBAH: return hob ? d->hob_lbah : d->lbah;
    case REG_DEVICE: return ch->device;
    case REG_STATUS:
        /* Reading Status acknowledges the interrupt (ATA-6, Status register). */
        d->intrq = false;
        channel_update_irq(ch);
        return d->status;
    default: return 0xFF;
    }
}

/* Shifts a 48-bit register pair: the old value becomes the previous content. */
static void push_reg(u8 *cur, u8 *prev, u8 v)
{
    *prev = *cur;
    *cur = v;
}

/* Command block writes go to both devices' registers. Any write clears HOB
 * (ATA-6, Device Control register). */
static void cmd_block_write(void *dev, u16 port, u8 size, u32 value)
{
    struct ide_channel *ch = dev;
    unsigned reg = port - ch->cmd_base;
    u8 v = (u8)value;
    (void)size;
    ch->devctl &= (u8)~CTL_HOB;
    if (reg == REG_COMMAND) {
        command_write(ch, v);
        return;
    }
    if (reg == REG_DEVICE) {
        ch->device = v;
        channel_update_irq(ch); /* INTRQ follows the selected device */
        return;
    }
    for (unsigned i = 0; i < 2; i++) {
        struct ide_device *d = &ch->dev[i];
        switch (reg) {
        case REG_FEATURE: push_reg(&d->feature, &d->hob_feature, v); break;
        case REG_NSECTOR: push_reg(&d->nsector, &d->hob_nsector, v); break;
        case REG_LBAL: push_reg(&d->lbal, &d->hob_lbal, v); break;
        case REG_LBAM: push_reg(&d->lbam, &d->hob_lbam, v); break;
        case REG_LBAH: push_reg(&d->lbah, &d->hob_lbah, v); break;
        default: break;
        }
    }
}

/* Alternate Status: the status without acknowledging the interrupt. */
static u32 control_read(void *dev, u16 port, u8 size)
{
    struct ide_channel *ch = dev;
    (void)port;
    (void)size;
    if (channel_empty(ch))
        return 0xFF;
    return present(selected(ch)) ? selected(ch)->status : 0;
}

/* Device Control: nIEN gates INTRQ; SRST 0->1 starts and 1->0 ends a
 * software reset of both devices (ATA-6, software reset protocol). */
static void control_write(void *dev, u16 port, u8 size, u32 value)
{
    struct ide_channel *ch = dev;
    u8 old = ch->devctl, v = (u8)value;
    (void)port;
    (void)size;
    ch->devctl = v;
    if (!(old & CTL_SRST) && (v & CTL_SRST))
        soft_reset_begin(ch);
    else if ((old & CTL_SRST) && !(v & CTL_SRST))
        soft_reset_end(ch);
    channel_update_irq(ch);
}

/* ---- the controller ---- */

static void channel_reset(struct ide_channel *ch)
{
    end_transfer(ch);
    io_cancel(ch);
    ch->device = 0;
    ch->devctl = 0;
    ch->packet_dma = false;
    ch->bm_cmd = 0;
    ch->bm_status = 0;
    ch->bm_prd = 0;
    for (unsigned i = 0; i < 2; i++)
        device_power_on(&ch->dev[i]);
    channel_update_irq(ch);
}

void ide_reset(struct ide *ide)
{
    for (unsigned c = 0; c < IDE_CHANNELS; c++)
        channel_reset(&ide->ch[c]);
}

static bool channel_init(struct ide *ide, unsigned c, struct ide_disk *master, struct ide_disk *slave)
{
    struct ide_channel *ch = &ide->ch[c];
    struct io_bus *bus = ide->env->bus;
    ch->ide = ide;
    ch->index = (u8)c;
    ch->cmd_base = c == 0 ? IDE_PRIMARY_CMD : IDE_SECONDARY_CMD;
    ch->ctl_port = c == 0 ? IDE_PRIMARY_CTL : IDE_SECONDARY_CTL;
    ch->gsi = c == 0 ? IDE_PRIMARY_GSI : IDE_SECONDARY_GSI;
    ch->dev[0].disk = master;
    ch->dev[1].disk = slave;
    timer_init(&ch->io_timer, io_poll, ch);
    ch->dev[0].number = (u8)(2 * c);
    ch->dev[1].number = (u8)(2 * c + 1);
    /* The data register takes 16- and 32-bit PIO; the others are bytes. */
    return bus_claim_io(bus, ch->cmd_base + REG_DATA, 1, 4, data_read, data_write, ch, "ide-data") &&
           bus_set_io_rep(bus, ch->cmd_base + REG_DATA, data_read_rep, data_write_rep) &&
           bus_claim_io(bus, ch->cmd_base + REG_ERROR, CMD_BLOCK_PORTS - 1, 1, cmd_block_read, cmd_block_write, ch,
                        "ide") &&
           bus_claim_io(bus, ch->ctl_port, 1, 1, control_read, control_write, ch, "ide-control");
}

bool ide_init(struct ide *ide, struct dm_env *env, struct ide_disk *disks[IDE_DEVICES])
{
    memset(ide, 0, sizeof(*ide));
    ide->env = env;
    ide->bus_master = true;
    bool ok = true;
    for (unsigned c = 0; c < IDE_CHANNELS; c++)
        ok &= channel_init(ide, c, disks ? disks[2 * c] : NULL, disks ? disks[2 * c + 1] : NULL);
    ide_reset(ide);
    return ok;
}

void ide_set_bmdma_base(struct ide *ide, u16 base)
{
    if (base == ide->bm_base)
        return;
    if (ide->bm_base)
        bus_release_io(ide->env->bus, ide->bm_base, ide);
    ide->bm_base = 0;
    if (base && bus_claim_io(ide->env->bus, base, IDE_BM_PORTS, 1, bm_read, bm_write, ide, "ide-bmdma"))
        ide->bm_base = base;
}

void ide_set_bus_master(struct ide *ide, bool enabled)
{
    ide->bus_master = enabled;
    for (unsigned c = 0; c < IDE_CHANNELS; c++)
        dma_try_run(&ide->ch[c]);
}
