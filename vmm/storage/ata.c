/* Host legacy ATA driver (ata.h).
 *
 * PIO only, interrupts off (nIEN), one command at a time per channel.
 * A request is a small state machine: ata_issue() writes the task file
 * and the command; ata_step() looks at the status once and does what it
 * says (move one DRQ block, finish, fail, or time out) without waiting.
 * The block layer's issue/check pair (block.h) starts a request and
 * steps it from its polls; only setup (IDENTIFY, before any vCPU runs)
 * steps a request to its end in a loop (ata_run).
 *
 * The two devices of a channel share its registers: the channel has a
 * lock and an owner, the disk whose command is in flight; a disk whose
 * request finds the channel taken by the other starts it at a later
 * poll (its timeout counts from the block layer's issue). */
#include "ata.h"
#include "hostpci.h"
#include "../console.h"
#include "../format.h"
#include "../hosttime.h"
#include "../lock.h"
#include "../mm.h"
#include "../string.h"
#include "../x86.h"

/* Command block registers, offsets from the channel's command base
 * (ATA8-APT 6: 1F0h-1F7h / 170h-177h in compatibility mode). */
#define REG_DATA 0
#define REG_ERROR 1    /* read */
#define REG_FEATURES 1 /* write */
#define REG_COUNT 2
#define REG_LBA_LOW 3
#define REG_LBA_MID 4
#define REG_LBA_HIGH 5
#define REG_DEVICE 6
#define REG_STATUS 7  /* read: also clears a pending interrupt */
#define REG_COMMAND 7 /* write */
/* Control block: the one register at 3F6h / 376h (or the native BAR + 2):
 * Alternate Status when read (no side effect), Device Control written. */

#define ST_ERR 0x01
#define ST_DRQ 0x08
#define ST_DF 0x20
#define ST_DRDY 0x40
#define ST_BSY 0x80

#define DC_NIEN 0x02 /* interrupts off: the driver polls */
#define DC_SRST 0x04

#define DEV_LBA 0x40 /* Device register bit 6: the address is an LBA */
#define DEV_1 0x10   /* Device register bit 4: device 1 ("slave") */

/* ATA8-ACS opcodes. */
#define CMD_READ_SECTORS 0x20
#define CMD_READ_SECTORS_EXT 0x24
#define CMD_WRITE_SECTORS 0x30
#define CMD_WRITE_SECTORS_EXT 0x34
#define CMD_FLUSH_CACHE 0xE7
#define CMD_FLUSH_CACHE_EXT 0xEA
#define CMD_IDENTIFY 0xEC

#define WORDS_PER_SECTOR (BLOCK_SECTOR / 2)
#define LBA28_LIMIT (1u << 28)
#define IO_TIMEOUT_MS 10000
#define FLUSH_TIMEOUT_MS 30000
/* After SRST a device may stay busy up to 31 s (ATA8-APT 11.2, the
 * device 0 timeout of the reset protocol). */
#define RESET_TIMEOUT_MS 31000

enum ata_state { ATA_PENDING, ATA_DONE, ATA_FAILED };

/* One command in flight on a channel. */
struct ata_request {
    u8 cmd;
    u64 lba;
    u32 count;   /* sectors to move (0: a command without data) */
    u32 done;    /* sectors moved so far */
    u8 *buf;
    bool write;
    u64 timeout_ms;
    u64 deadline; /* TSC */
    bool timed_out;
    u8 status, error; /* at the end */
};

struct ata_disk;

struct ata_channel {
    u16 cmd;  /* command block base */
    u16 ctrl; /* the Alternate Status / Device Control register */
    struct spinlock lock;
    struct ata_disk *owner; /* whose command is on the registers; NULL: free */
    char where[32]; /* "ata 00:01.1 channel 0" */
};

struct ata_disk {
    struct ata_channel *ch;
    unsigned dev; /* 0 or 1 */
    bool lba48;
    bool flush_ext;
    struct ata_request req; /* the block layer's command (one at a time) */
    bool started;           /* req is on the channel's registers */
};

static u8 ata_in(const struct ata_channel *ch, unsigned reg) { return inb((u16)(ch->cmd + reg)); }
static void ata_out(const struct ata_channel *ch, unsigned reg, u8 v) { outb((u16)(ch->cmd + reg), v); }
static u8 alt_status(const struct ata_channel *ch) { return inb(ch->ctrl); }


static void delay_us(u64 us)
{
    u64 end = rdtsc() + us * host_tsc_khz() / 1000 + 1;
    while (rdtsc() < end)
        pause();
}

/* The status is valid 400 ns after a command, a device selection or a
 * DRQ block (ATA8-APT 11.1): reading Alternate Status, which has no side
 * effect, four times takes at least that on any ISA-timed bus. */
static void delay_400ns(const struct ata_channel *ch)
{
    for (int i = 0; i < 4; i++)
        (void)alt_status(ch);
}

/* One DRQ block through the Data register, 16 bits at a time. */
static void insw_block(u16 port, void *buf)
{
    u64 n = WORDS_PER_SECTOR;
    __asm__ volatile("rep insw" : "+D"(buf), "+c"(n) : "d"(port) : "memory");
}

static void outsw_block(u16 port, const void *buf)
{
    u64 n = WORDS_PER_SECTOR;
    __asm__ volatile("rep outsw" : "+S"(buf), "+c"(n) : "d"(port) : "memory");
}

/* Waits until BSY is clear; false after ms milliseconds. */
static bool wait_not_busy(const struct ata_channel *ch, u64 ms)
{
    u64 end = host_tsc_deadline_ms(ms);
    while (alt_status(ch) & ST_BSY) {
        if (rdtsc() > end)
            return false;
        pause();
    }
    return true;
}

/* Software reset of the channel, both devices (ATA8-APT 11.2): SRST set
 * for at least 5 us, cleared, then at least 2 ms before the status means
 * anything, then BSY clears once device 0 is ready. nIEN stays set. */
static bool channel_reset(const struct ata_channel *ch)
{
    outb(ch->ctrl, DC_NIEN | DC_SRST);
    delay_us(5);
    outb(ch->ctrl, DC_NIEN);
    delay_us(2000);
    return wait_not_busy(ch, RESET_TIMEOUT_MS);
}

/* Selects the device; the host may only write the Device register when
 * BSY and DRQ are clear (ATA8-APT 5.2.9). */
static bool select_device(const struct ata_channel *ch, unsigned dev, u8 lba_high_nibble)
{
    if (!wait_not_busy(ch, IO_TIMEOUT_MS) || (alt_status(ch) & ST_DRQ))
        return false;
    ata_out(ch, REG_DEVICE, (u8)(0xA0 | DEV_LBA | (dev ? DEV_1 : 0) | (lba_high_nibble & 0x0F)));
    delay_400ns(ch);
    return wait_not_busy(ch, IO_TIMEOUT_MS);
}

/* Issue: the task file and the command. The 48-bit commands take each
 * register twice, the high-order byte first (ATA8-APT 6.1: the "previous
 * content" of the FIFO-like registers is the HOB). */
static bool ata_issue(struct ata_disk *d, struct ata_request *r)
{
    const struct ata_channel *ch = d->ch;
    bool ext = r->cmd == CMD_READ_SECTORS_EXT || r->cmd == CMD_WRITE_SECTORS_EXT;
    r->done = 0;
    r->timed_out = false;
    r->deadline = host_tsc_deadline_ms(r->timeout_ms);
    if (!select_device(ch, d->dev, ext ? 0 : (u8)(r->lba >> 24)))
        return false;
    if (ext) {
        ata_out(ch, REG_FEATURES, 0);
        ata_out(ch, REG_COUNT, (u8)(r->count >> 8));
        ata_out(ch, REG_LBA_LOW, (u8)(r->lba >> 24));
        ata_out(ch, REG_LBA_MID, (u8)(r->lba >> 32));
        ata_out(ch, REG_LBA_HIGH, (u8)(r->lba >> 40));
    }
    ata_out(ch, REG_FEATURES, 0);
    ata_out(ch, REG_COUNT, (u8)r->count); /* 0 is 256 sectors for the 28-bit commands */
    ata_out(ch, REG_LBA_LOW, (u8)r->lba);
    ata_out(ch, REG_LBA_MID, (u8)(r->lba >> 8));
    ata_out(ch, REG_LBA_HIGH, (u8)(r->lba >> 16));
    ata_out(ch, REG_COMMAND, r->cmd);
    delay_400ns(ch);
    return true;
}

/* Completion check: one look at the status, and the one thing it asks
 * for (PIO data-in/data-out/non-data, ATA8-APT 11.6-11.7: a DRQ block per
 * sector, BSY between blocks, and at the end neither BSY nor DRQ). */
static enum ata_state ata_step(struct ata_disk *d, struct ata_request *r)
{
    const struct ata_channel *ch = d->ch;
    u8 st = alt_status(ch);
    if (st & ST_BSY || (!(st & (ST_DRQ | ST_ERR | ST_DF)) && r->done < r->count)) {
        if (rdtsc() <= r->deadline)
            return ATA_PENDING;
        r->timed_out = true;
        r->status = st;
        return ATA_FAILED;
    }
    if (st & (ST_ERR | ST_DF)) {
        r->status = ata_in(ch, REG_STATUS);
        r->error = ata_in(ch, REG_ERROR);
        return ATA_FAILED;
    }
    if (st & ST_DRQ) {
        if (r->done == r->count) { /* the device wants more than the command moves */
            r->status = st;
            return ATA_FAILED;
        }
        u8 *p = r->buf + (u64)r->done * BLOCK_SECTOR;
        r->write ? outsw_block((u16)(ch->cmd + REG_DATA), p) : insw_block((u16)(ch->cmd + REG_DATA), p);
        r->done++;
        delay_400ns(ch);
        return ATA_PENDING;
    }
    r->status = ata_in(ch, REG_STATUS); /* acknowledges the (masked) interrupt */
    return ATA_DONE;
}

/* With the channel's lock: says how a failed command failed and brings a
 * device stuck busy or mid-transfer back by a reset of the channel (an
 * error the device reported leaves it ready). */
static void ata_failed(struct ata_disk *d, struct ata_request *r)
{
    struct ata_channel *ch = d->ch;
    if (r->timed_out)
        kprintf("zazen: %s device %u: command %02xh at sector %llu timed out after %llu ms (status %02xh)\n",
                ch->where, d->dev, r->cmd, (unsigned long long)r->lba, (unsigned long long)r->timeout_ms, r->status);
    else
        kprintf("zazen: %s device %u: command %02xh at sector %llu failed: status %02xh error %02xh\n", ch->where,
                d->dev, r->cmd, (unsigned long long)r->lba, r->status, r->error);
    if (r->timed_out || (alt_status(ch) & (ST_BSY | ST_DRQ)))
        channel_reset(ch);
}

/* With the channel's lock: writes the command; a channel that never went
 * idle fails it. */
static enum ata_state ata_start(struct ata_disk *d, struct ata_request *r)
{
    if (ata_issue(d, r))
        return ATA_PENDING;
    r->timed_out = true;
    r->status = alt_status(d->ch);
    return ATA_FAILED;
}

/* Setup: one command to its end, waiting on this CPU. */
static bool ata_run(struct ata_disk *d, struct ata_request *r)
{
    struct ata_channel *ch = d->ch;
    spin_lock(&ch->lock);
    enum ata_state s = ata_start(d, r);
    while (s == ATA_PENDING) {
        s = ata_step(d, r);
        if (s == ATA_PENDING)
            pause();
    }
    if (s == ATA_FAILED)
        ata_failed(d, r);
    spin_unlock(&ch->lock);
    return s == ATA_DONE;
}

/* The block layer's command as an ATA request: the 48-bit commands when
 * the disk has them, the 28-bit ones within their reach. */
static bool ata_request_for(const struct ata_disk *d, enum block_op op, u64 lba, u32 count, void *buf,
                            struct ata_request *r)
{
    if (op == BLOCK_FLUSH) {
        *r = (struct ata_request){.cmd = d->flush_ext ? CMD_FLUSH_CACHE_EXT : CMD_FLUSH_CACHE,
                                  .timeout_ms = FLUSH_TIMEOUT_MS};
        return true;
    }
    bool write = op == BLOCK_WRITE;
    *r = (struct ata_request){.lba = lba, .count = count, .buf = buf, .write = write, .timeout_ms = IO_TIMEOUT_MS};
    if (d->lba48)
        r->cmd = write ? CMD_WRITE_SECTORS_EXT : CMD_READ_SECTORS_EXT;
    else if (lba + count <= LBA28_LIMIT && count <= 256)
        r->cmd = write ? CMD_WRITE_SECTORS : CMD_READ_SECTORS;
    else
        return false;
    return true;
}

/* block_driver.issue: the request is taken; it goes on the registers now
 * if the channel is free, or at a later check. */
static bool ata_block_issue(struct block_device *dev, enum block_op op, u64 lba, u32 count, void *buf)
{
    struct ata_disk *d = dev->priv;
    if (!ata_request_for(d, op, lba, count, buf, &d->req)) {
        kprintf("zazen: %s device %u: sector %llu is beyond 28-bit addressing\n", d->ch->where, d->dev,
                (unsigned long long)lba);
        return false;
    }
    d->req.deadline = host_tsc_deadline_ms(d->req.timeout_ms);
    d->started = false;
    return true;
}

/* block_driver.check: starts the request if the channel is free, then
 * moves the data blocks the device has ready (each a sector) until it is
 * busy again or the command ended. */
static enum block_status ata_block_check(struct block_device *dev)
{
    struct ata_disk *d = dev->priv;
    struct ata_channel *ch = d->ch;
    struct ata_request *r = &d->req;
    spin_lock(&ch->lock);
    enum ata_state s = ATA_PENDING;
    if (!d->started) {
        if (ch->owner && ch->owner != d) {
            spin_unlock(&ch->lock);
            if (rdtsc() <= r->deadline)
                return BLOCK_PENDING;
            kprintf("zazen: %s device %u: the channel stayed busy with the other device for %llu ms\n", ch->where,
                    d->dev, (unsigned long long)r->timeout_ms);
            return BLOCK_FAILED;
        }
        ch->owner = d;
        d->started = true;
        u64 deadline = r->deadline;
        s = ata_start(d, r); /* it sets the deadline afresh: keep the one from the issue */
        r->deadline = deadline;
    }
    for (u32 moved = r->done; s == ATA_PENDING; moved = r->done) {
        s = ata_step(d, r);
        if (s == ATA_PENDING && r->done == moved)
            break; /* busy: the next poll looks again */
    }
    if (s != ATA_PENDING) {
        if (s == ATA_FAILED)
            ata_failed(d, r);
        ch->owner = NULL;
        d->started = false;
    }
    spin_unlock(&ch->lock);
    return s == ATA_DONE ? BLOCK_DONE : s == ATA_FAILED ? BLOCK_FAILED : BLOCK_PENDING;
}

static const struct block_driver ata_driver = {ata_block_issue, ata_block_check};

static u16 id_word(const u8 *id, unsigned w) { return (u16)(id[2 * w] | id[2 * w + 1] << 8); }

/* IDENTIFY DEVICE's model number (ACS 7.16, words 27-46): two characters
 * a word, the first in the high byte; trailing spaces dropped. */
void ata_identify_model(const u8 *id, char *out)
{
    for (unsigned i = 0; i < 40; i += 2) {
        out[i] = (char)id[54 + i + 1];
        out[i + 1] = (char)id[54 + i];
    }
    out[40] = 0;
    for (int i = 39; i >= 0 && out[i] == ' '; i--)
        out[i] = 0;
}

/* After the channel's reset, a device that is there left its signature
 * in the LBA Mid/High registers (ATA8-ACS 9.12): 00h/00h an ATA device,
 * 14h/EBh an ATAPI one (a CD-ROM: not ours). */
static bool is_ata_device(const struct ata_channel *ch, unsigned dev)
{
    ata_out(ch, REG_DEVICE, (u8)(0xA0 | (dev ? DEV_1 : 0)));
    delay_400ns(ch);
    u8 st = alt_status(ch);
    if (st == 0xFF || st == 0x00 || (st & ST_BSY)) /* nothing drives the bus, or no device 1 */
        return false;
    return ata_in(ch, REG_LBA_MID) == 0 && ata_in(ch, REG_LBA_HIGH) == 0 && (st & ST_DRDY);
}

static bool disk_setup(struct ata_channel *ch, unsigned dev, u8 *id)
{
    if (!is_ata_device(ch, dev))
        return false;
    struct ata_disk probe = {.ch = ch, .dev = dev};
    struct ata_request r = {.cmd = CMD_IDENTIFY, .count = 1, .buf = id, .timeout_ms = IO_TIMEOUT_MS};
    if (!ata_run(&probe, &r)) {
        kprintf("zazen: %s device %u: IDENTIFY DEVICE failed\n", ch->where, dev);
        return false;
    }
    u16 w49 = id_word(id, 49), w83 = id_word(id, 83), w106 = id_word(id, 106);
    if (!(w49 & BIT(9))) { /* LBA supported (words 60-61) */
        kprintf("zazen: %s device %u: the disk has no LBA addressing\n", ch->where, dev);
        return false;
    }
    if ((w106 & 0xC000) == 0x4000 && (w106 & BIT(12))) { /* words 117-118 hold a logical sector size */
        kprintf("zazen: %s device %u: logical sectors are not 512 bytes\n", ch->where, dev);
        return false;
    }
    bool valid83 = (w83 & 0xC000) == 0x4000; /* bit 14 set, 15 clear: the word is valid */
    bool lba48 = valid83 && (w83 & BIT(10));
    u64 sectors = id_word(id, 60) | (u64)id_word(id, 61) << 16;
    if (lba48) { /* words 100-103: the 48-bit Address feature set's sector count */
        u64 s48 = 0;
        for (unsigned i = 0; i < 4; i++)
            s48 |= (u64)id_word(id, 100 + i) << (16 * i);
        sectors = MAX(sectors, s48);
    }
    if (!sectors)
        return false;
    struct ata_disk *d = page_alloc(sizeof(*d));
    if (!d)
        return false;
    *d = (struct ata_disk){.ch = ch, .dev = dev, .lba48 = lba48, .flush_ext = lba48 && valid83 && (w83 & BIT(13))};
    char name[48], model[41];
    snprintf(name, sizeof(name), "%s device %u", ch->where, dev);
    ata_identify_model(id, model);
    if (!block_device_add(&ata_driver, d, sectors, name, model))
        return false;
    kprintf("zazen: storage: %s: %s, %llu sectors (%llu MiB)%s\n", name, model, (unsigned long long)sectors,
            (unsigned long long)(sectors >> 11), lba48 ? "" : ", 28-bit LBA");
    return true;
}

/* A channel's registers: the BARs in native mode, else the ISA ports
 * (PCI IDE Controller Specification 1.0, 2.1: interface bit 0/2 set =
 * the primary/secondary channel is in native mode; BAR0/1 and BAR2/3 are
 * its command block and the 4-byte control block, whose byte 2 is the
 * Alternate Status / Device Control register). */
static bool channel_ports(unsigned bus, unsigned dev, unsigned fn, unsigned c, u8 progif, u16 *cmd, u16 *ctrl)
{
    if (!(progif & (c ? BIT(2) : BIT(0)))) {
        *cmd = c ? 0x170 : 0x1F0;
        *ctrl = c ? 0x376 : 0x3F6;
        return true;
    }
    u32 b0 = hostpci_read32(bus, dev, fn, 0x10 + 8 * c), b1 = hostpci_read32(bus, dev, fn, 0x14 + 8 * c);
    if (!(b0 & 1) || !(b1 & 1) || !(b0 & ~3u) || !(b1 & ~3u))
        return false; /* not I/O BARs, or unassigned */
    *cmd = (u16)(b0 & ~3u);
    *ctrl = (u16)((b1 & ~3u) + 2);
    return true;
}

static unsigned controller_setup(unsigned bus, unsigned dev, unsigned fn)
{
    u8 progif = (u8)(hostpci_read32(bus, dev, fn, 0x08) >> 8);
    /* I/O space on; bus mastering and INTx are left as they are (PIO,
     * nIEN: the controller raises nothing). */
    u32 command = hostpci_read32(bus, dev, fn, 0x04);
    hostpci_write32(bus, dev, fn, 0x04, (command & 0xFFFF) | BIT(0));
    u8 *id = page_alloc(BLOCK_SECTOR);
    if (!id)
        return 0;
    unsigned found = 0;
    for (unsigned c = 0; c < 2; c++) {
        u16 cmd, ctrl;
        if (!channel_ports(bus, dev, fn, c, progif, &cmd, &ctrl))
            continue;
        if (inb((u16)(cmd + REG_STATUS)) == 0xFF) /* floating bus: nothing attached */
            continue;
        struct ata_channel *ch = page_alloc(sizeof(*ch));
        if (!ch)
            break;
        ch->cmd = cmd;
        ch->ctrl = ctrl;
        ch->owner = NULL;
        spin_init(&ch->lock, "ata channel");
        snprintf(ch->where, sizeof(ch->where), "ata %02x:%02x.%x channel %u", bus, dev, fn, c);
        if (!channel_reset(ch)) {
            kprintf("zazen: %s: still busy %u ms after a reset\n", ch->where, RESET_TIMEOUT_MS);
            continue;
        }
        unsigned here = 0;
        for (unsigned d = 0; d < 2; d++)
            here += disk_setup(ch, d, id);
        found += here;
        if (!here)
            page_free(ch, sizeof(*ch));
    }
    page_free(id, BLOCK_SECTOR);
    return found;
}

/* Class 01h (mass storage), subclass 01h (IDE), any interface. */
unsigned ata_probe(void) { return hostpci_for_class_masked(0x010100, 0xFFFF00, controller_setup); }
