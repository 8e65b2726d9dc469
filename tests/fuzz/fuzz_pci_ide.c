/* fuzz-sources: devmodel/pci.c devmodel/piix.c devmodel/ide.c devmodel/bus.c devmodel/clock.c */
/* The PCI configuration mechanism, the i440FX/PIIX3 functions and the IDE
 * controller behind them, with ATA disks (writable and read-only, of odd
 * sizes, empty) and ATAPI CD-ROMs (with and without a disc) in any of the
 * four places: configuration reads and writes of any size (BAR4 moving
 * the bus-master block, I/O and bus master enables, IDETIM, PIRQ routing),
 * the task file and control registers of both channels, ATA commands in
 * CHS, LBA28 and LBA48, PIO data bursts of 16 and 32 bits (one access at
 * a time or as string I/O through the bus's REP path), ATAPI packets,
 * PRD tables written into the fake RAM and the bus master started and
 * stopped, software and PCI resets. A writable disk may instead be a
 * backend disk (as vmm/storage gives): asynchronous requests on a bounce
 * buffer that end after a few polls of the device's timer, which the
 * fuzzer moves the clock for.
 *
 * Checks. DMA touches RAM only as SFF-8038i allows: it reads a PRD entry
 * (8 bytes, inside the current channel's table, before its 64 KiB
 * boundary) and then moves data only inside the region that entry
 * describes, only while a channel's engine is active and bus mastering is
 * enabled. A transfer under way stays inside its buffer (the disk image,
 * the IDENTIFY/reply buffer or the packet). Read-only images and CDs are
 * never written. The vendor/device IDs stay put. INTRQ lines are what the
 * channels think they drive; only GSIs 14 and 15 move. The disk images
 * are allocated to their exact size, so ASan sees any byte beyond. A
 * backend is asked only for sectors of its disk and for at most its
 * bounce buffer, and never for a request while its last one runs (the
 * device waits for one a reset left behind). */
#include "fuzz_dev.h"
#include "../../devmodel/pci.h"
#include "../../devmodel/piix.h"
#include "../../devmodel/ide.h"

#define BM_DEFAULT 0xc000 /* where firmware usually puts BAR4 */
#define BM_ST_ACTIVE 0x01
#define PRD_MAX_COUNT 0x10000u

static struct pci_bus pci;
static struct piix piix;
static struct ide ide;
static struct ide_disk disks[IDE_DEVICES];
static u8 *images[IDE_DEVICES];
static u8 *pristine[IDE_DEVICES]; /* copies of the read-only images */

/* ---- backend disks ---- */

struct fake_backend {
    unsigned index;
    bool pending;
    unsigned busy_left;
    enum ide_io_op op;
    u64 lba;
    u32 count;
    u8 *buf;
    enum ide_io_status last;
    struct ide_backend be;
};
static struct fake_backend backends[IDE_DEVICES];

static bool be_submit(void *ctx, enum ide_io_op op, u64 lba, u32 count, void *buf)
{
    struct fake_backend *b = ctx;
    const struct ide_disk *d = &disks[b->index];
    FUZZ_CHECK(!b->pending, "disk %u: a request submitted while one runs", b->index);
    FUZZ_CHECK(buf == b->be.bounce, "disk %u: a request not on the bounce buffer", b->index);
    if (op != IDE_IO_FLUSH)
        FUZZ_CHECK(count && (u64)count * ATA_SECTOR_SIZE <= IDE_BOUNCE_BYTES &&
                       (lba + count) * ATA_SECTOR_SIZE <= d->size,
                   "disk %u: request for sectors %llu+%u of %llu", b->index, (unsigned long long)lba, count,
                   (unsigned long long)(d->size / ATA_SECTOR_SIZE));
    b->pending = true;
    b->busy_left = (unsigned)(lba + count) % 4;
    b->op = op, b->lba = lba, b->count = count, b->buf = buf;
    return true;
}

static enum ide_io_status be_poll(void *ctx)
{
    struct fake_backend *b = ctx;
    if (!b->pending)
        return b->last;
    if (b->busy_left) {
        b->busy_left--;
        return IDE_IO_PENDING;
    }
    b->pending = false;
    size_t bytes = (size_t)b->count * ATA_SECTOR_SIZE;
    u8 *image = images[b->index];
    if (b->op == IDE_IO_READ)
        memcpy(b->buf, image + b->lba * ATA_SECTOR_SIZE, bytes);
    else if (b->op == IDE_IO_WRITE)
        memcpy(image + b->lba * ATA_SECTOR_SIZE, b->buf, bytes);
    /* every fifth request fails, as a device error would */
    b->last = (b->lba + b->count) % 5 == 4 ? IDE_IO_FAILED : IDE_IO_DONE;
    return b->last;
}

/* ---- guest RAM: the DMA oracle ---- */

/* What the bus master may do next: fetch a PRD entry, or move data in the
 * region the entry it fetched last describes. */
static struct {
    bool have_entry;
    u64 addr;
    u32 count;
} dma;

/* The 4 KiB pages of RAM written since the input began (cleared before
 * the next one: clearing the whole megabyte would cost most of the time). */
static bool ram_dirty[FAKE_RAM_SIZE / 4096];

static void mark_dirty(u64 gpa, size_t len)
{
    for (u64 a = gpa & ~4095ull; a < gpa + len && a < FAKE_RAM_SIZE; a += 4096)
        ram_dirty[a / 4096] = true;
}

static void clear_ram(void)
{
    for (unsigned i = 0; i < ARRAY_SIZE(ram_dirty); i++)
        if (ram_dirty[i]) {
            memset(fake.ram + 4096 * i, 0, 4096);
            ram_dirty[i] = false;
        }
}

static bool some_engine_active(void)
{
    for (unsigned c = 0; c < IDE_CHANNELS; c++)
        if (ide.ch[c].bm_status & BM_ST_ACTIVE)
            return true;
    return false;
}

/* A PRD fetch: 8 bytes at an entry of some active channel's table, which
 * starts at its descriptor table pointer and may not cross 64 KiB. (A
 * table that is dword but not qword aligned has an entry across the
 * boundary, where the rule is already broken; the model walks on until
 * the end of the table then, which is as good as anything.) */
static bool is_prd_fetch(u64 gpa, size_t len)
{
    if (len != 8)
        return false;
    for (unsigned c = 0; c < IDE_CHANNELS; c++) {
        const struct ide_channel *ch = &ide.ch[c];
        u64 table = ch->bm_prd, end = (table | 0xffff) + 1;
        bool inside = gpa + 8 <= end || table % 8;
        if ((ch->bm_status & BM_ST_ACTIVE) && gpa >= table && inside && (gpa - table) % 8 == 0)
            return true;
    }
    return false;
}

static void check_data_access(u64 gpa, size_t len, const char *what)
{
    FUZZ_CHECK(dma.have_entry && gpa >= dma.addr && len <= dma.count && gpa - dma.addr <= dma.count - len,
               "DMA %s of %zu bytes at %#llx outside the PRD region %#llx+%#x", what, len, (unsigned long long)gpa,
               (unsigned long long)dma.addr, dma.count);
    dma.have_entry = false;
}

static bool dma_read(void *ctx, u64 gpa, void *buf, size_t len)
{
    FUZZ_CHECK(ide.bus_master && some_engine_active(), "DMA read at %#llx while the bus master is off",
               (unsigned long long)gpa);
    if (!dma.have_entry) {
        FUZZ_CHECK(is_prd_fetch(gpa, len), "DMA read of %zu bytes at %#llx is not a PRD fetch", len,
                   (unsigned long long)gpa);
        if (!fake_mem_read(ctx, gpa, buf, len))
            return false;
        const u8 *e = buf;
        u32 count = (e[4] | e[5] << 8) & 0xfffe;
        dma.addr = (e[0] | e[1] << 8 | e[2] << 16 | (u32)e[3] << 24) & ~1u;
        dma.count = count ? count : PRD_MAX_COUNT;
        dma.have_entry = true;
        return true;
    }
    check_data_access(gpa, len, "read");
    return fake_mem_read(ctx, gpa, buf, len);
}

static bool dma_write(void *ctx, u64 gpa, const void *buf, size_t len)
{
    FUZZ_CHECK(ide.bus_master && some_engine_active(), "DMA write at %#llx while the bus master is off",
               (unsigned long long)gpa);
    check_data_access(gpa, len, "write");
    mark_dirty(gpa, len);
    return fake_mem_write(ctx, gpa, buf, len);
}

/* ---- the transfer under way ---- */

/* The end of the buffer p points into, or NULL. */
static const u8 *buffer_end(const u8 *p)
{
    for (unsigned c = 0; c < IDE_CHANNELS; c++) {
        const struct ide_channel *ch = &ide.ch[c];
        if (p >= ch->buf && p <= ch->buf + sizeof(ch->buf))
            return ch->buf + sizeof(ch->buf);
        if (p >= ch->packet && p <= ch->packet + sizeof(ch->packet))
            return ch->packet + sizeof(ch->packet);
    }
    for (unsigned i = 0; i < IDE_DEVICES; i++) {
        if (images[i] && p >= images[i] && p <= images[i] + disks[i].size)
            return images[i] + disks[i].size;
        if (backends[i].be.bounce && p >= backends[i].be.bounce && p <= backends[i].be.bounce + IDE_BOUNCE_BYTES)
            return backends[i].be.bounce + IDE_BOUNCE_BYTES;
    }
    return NULL;
}

static void check_channels(void)
{
    for (unsigned c = 0; c < IDE_CHANNELS; c++) {
        const struct ide_channel *ch = &ide.ch[c];
        FUZZ_CHECK(fake.level[ch->gsi] == ch->irq_level, "channel %u: GSI %u is %d, INTRQ %d", c, ch->gsi,
                   fake.level[ch->gsi], ch->irq_level);
        if (ch->phase == IDE_IDLE)
            continue;
        const u8 *end = buffer_end(ch->ptr);
        /* A backend transfer stages one DRQ block (PIO) in the bounce
         * buffer; its DMA moves pieces with their own bounds. */
        u64 left = ch->backend_xfer ? (ch->phase == IDE_DMA_WAIT ? 0 : ch->block_left)
                   : ch->phase == IDE_DMA_WAIT ? ch->dma_bytes
                                               : (u64)ch->block_left + ch->xfer_left;
        FUZZ_CHECK(end && left <= (u64)(end - ch->ptr), "channel %u: phase %d moves %llu bytes from %p, %td left",
                   c, ch->phase, (unsigned long long)left, (void *)ch->ptr, end ? end - ch->ptr : -1);
    }
    FUZZ_CHECK(pci_config_read(&piix.host, PCI_VENDOR_ID, 4) == (I440FX_DEVICE_ID << 16 | PIIX_VENDOR_INTEL) &&
                   pci_config_read(&piix.isa, PCI_VENDOR_ID, 4) == (PIIX3_ISA_DEVICE_ID << 16 | PIIX_VENDOR_INTEL) &&
                   pci_config_read(&piix.idefn, PCI_VENDOR_ID, 4) ==
                       (PIIX3_IDE_DEVICE_ID << 16 | PIIX_VENDOR_INTEL),
               "the IDs changed");
    FUZZ_CHECK(pci_config_read(&piix.idefn, PIIX_BMIBA, 4) & PCI_BAR_IO, "BAR4 lost its I/O indicator");
}

/* ---- setting up ---- */

/* What a fresh image holds: a pattern that differs from sector to sector. */
static u8 pattern[64 * ATA_SECTOR_SIZE];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    for (unsigned b = 0; b < sizeof(pattern); b++)
        pattern[b] = (u8)(b / 512 * 31 + b * 7 + 1);
    return 0;
}

/* Each place: absent, an ATA disk (writable or read-only) of 0-63
 * sectors, or a CD-ROM of 0-7 blocks (0: no disc); a model name that is
 * empty (the default), ordinary, or the full 40 characters. */
static void setup_disks(struct prog *g)
{
    static const char *models[] = {"", "ZAZEN HARDDISK disk0.img", "0123456789012345678901234567890123456789"};
    for (unsigned i = 0; i < IDE_DEVICES; i++) {
        u8 kind = take8(g), n = take8(g);
        struct ide_disk *d = &disks[i];
        memset(d, 0, sizeof(*d));
        images[i] = pristine[i] = NULL;
        if (kind % 4 == 0)
            continue;
        d->cdrom = kind % 4 == 3;
        d->read_only = kind % 4 != 1;
        d->size = d->cdrom ? (u64)(n % 8) * ATAPI_SECTOR_SIZE : (u64)(n % 64) * ATA_SECTOR_SIZE;
        if (d->size || !d->cdrom) {
            images[i] = malloc(d->size ? d->size : 1);
            memcpy(images[i], pattern, d->size);
            d->data = images[i];
        }
        if (d->read_only && d->size) {
            pristine[i] = malloc(d->size);
            memcpy(pristine[i], images[i], d->size);
        }
        if (!d->cdrom && !d->read_only && (kind & 0x40)) { /* a backend disk: the image is its device */
            struct fake_backend *b = &backends[i];
            *b = (struct fake_backend){.index = i, .last = IDE_IO_DONE};
            b->be = (struct ide_backend){be_submit, be_poll, b, malloc(IDE_BOUNCE_BYTES)};
            memset(b->be.bounce, 0, IDE_BOUNCE_BYTES);
            d->backend = &b->be;
            d->data = NULL;
        }
        strcpy(d->model, models[(kind >> 2) % 3]);
    }
}

static void free_disks(void)
{
    for (unsigned i = 0; i < IDE_DEVICES; i++) {
        if (pristine[i])
            FUZZ_CHECK(memcmp(pristine[i], images[i], disks[i].size) == 0, "read-only image %u was written", i);
        free(images[i]);
        free(pristine[i]);
        free(backends[i].be.bounce);
        backends[i].be.bounce = NULL;
    }
}

/* ---- operations ---- */

static void cfg_address(u8 dev, u8 fn, u8 reg)
{
    fuzz_out(PCI_CONFIG_ADDRESS_PORT, 4, 0x80000000u | (u32)dev << 11 | (u32)fn << 8 | (reg & 0xfcu));
}

/* Functions 00:00.0, 00:01.0, 00:01.1, or anything on the bus. */
static void take_function(struct prog *g, u8 *dev, u8 *fn)
{
    u8 b = take8(g);
    static const u8 known[3][2] = {{PIIX_HOST_DEV, 0}, {PIIX_DEV, PIIX_ISA_FN}, {PIIX_DEV, PIIX_IDE_FN}};
    if (b % 4 < 3) {
        *dev = known[b % 4][0];
        *fn = known[b % 4][1];
    } else {
        *dev = (b >> 2) & 31;
        *fn = b >> 7 ? 7 : 0;
    }
}

static u16 bm_base(void) { return ide.bm_base ? ide.bm_base : BM_DEFAULT; }

/* A PRD table in RAM (dword aligned), its entries pointing mostly into
 * RAM, pointed at by one channel's descriptor table pointer. */
static void write_prd_table(struct prog *g)
{
    u32 table = (take32(g) % FAKE_RAM_SIZE) & ~3u;
    unsigned entries = 1 + take8(g) % 4;
    for (unsigned i = 0; i < entries && table + 8 * (i + 1) <= FAKE_RAM_SIZE; i++) {
        u8 how = take8(g);
        u32 addr = take32(g);
        u16 count = take16(g);
        if (how & 1)
            addr %= FAKE_RAM_SIZE;
        u8 *e = fake.ram + table + 8 * i;
        memcpy(e, &addr, 4);
        memcpy(e + 4, &count, 2);
        e[6] = 0;
        e[7] = (i + 1 == entries || (how & 2)) ? 0x80 : 0;
        mark_dirty(table + 8 * i, 8);
    }
    fuzz_out((u16)(bm_base() + (take_bool(g) ? 8 : 0) + 4), 4, table);
}

static const u8 commands[] = {0x20, 0x24, 0x25, 0x29, 0x30, 0x34, 0x35, 0x39, 0x40, 0x42, 0x90, 0x91, 0xa0,
                              0xa1, 0xc4, 0xc5, 0xc6, 0xc8, 0xca, 0xe5, 0xe7, 0xec, 0xef, 0x08, 0x00};

/* The task file and a command, as a driver writes them (the registers
 * twice, for the 48-bit commands' previous contents). */
static void ata_command(struct prog *g)
{
    u16 base = take_bool(g) ? IDE_SECONDARY_CMD : IDE_PRIMARY_CMD;
    for (unsigned r = 1; r <= 5; r++) {
        fuzz_out(base + r, 1, take8(g));
        fuzz_out(base + r, 1, take8(g));
    }
    fuzz_out(base + 6, 1, take8(g));
    u8 c = take8(g);
    fuzz_out(base + 7, 1, c < 0xe0 ? commands[c % sizeof(commands)] : take8(g));
}

/* PACKET with a byte count limit, then the 12 command bytes. */
static void atapi_packet(struct prog *g)
{
    u16 base = take_bool(g) ? IDE_SECONDARY_CMD : IDE_PRIMARY_CMD;
    fuzz_out(base + 6, 1, take8(g) & 0x10);
    fuzz_out(base + 1, 1, take8(g)); /* Features: DMA */
    fuzz_out(base + 4, 1, take8(g)); /* byte count limit */
    fuzz_out(base + 5, 1, take8(g));
    fuzz_out(base + 7, 1, 0xa0);
    for (unsigned i = 0; i < 6; i++)
        fuzz_out(base, 2, take16(g));
}

/* Many data register accesses at once, so whole sectors move: one by one,
 * or as a REP INSW/OUTSW (INSD/OUTSD) moves them, through the bus's
 * string I/O path and the IDE's fast path for whole DRQ blocks. */
static void data_burst(struct prog *g)
{
    static u8 buf[4 * 2 * 255];
    u16 base = take_bool(g) ? IDE_SECONDARY_CMD : IDE_PRIMARY_CMD;
    u8 how = take8(g);
    u8 io_size = how & 1 ? 4 : 2;
    u32 n = 2 * (u32)take8(g);
    bool out = how & 2;
    if (out)
        for (u32 i = 0; i < n * io_size; i++)
            buf[i] = (u8)(i * 7 + how);
    if (how & 4) {
        if (out)
            bus_io_write_rep(&fake.bus, base, io_size, buf, n);
        else
            bus_io_read_rep(&fake.bus, base, io_size, buf, n);
        return;
    }
    for (u32 i = 0; i < n; i++) {
        if (out) {
            u32 v;
            memcpy(&v, buf + i * io_size, 4);
            fuzz_out(base, io_size, v);
        } else {
            fuzz_in(base, io_size);
        }
    }
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
    struct prog g = {data, size};
    struct dm_env *env = fuzz_env_reset(BIT(IDE_PRIMARY_GSI) | BIT(IDE_SECONDARY_GSI));
    clear_ram();
    fake.mem = (struct dm_memory){dma_read, dma_write, &fake};
    memset(&dma, 0, sizeof(dma));
    setup_disks(&g);
    struct ide_disk *list[IDE_DEVICES];
    for (unsigned i = 0; i < IDE_DEVICES; i++)
        list[i] = disks[i].data || disks[i].backend || disks[i].cdrom ? &disks[i] : NULL;
    if (!ide_init(&ide, env, list) || !pci_init(&pci, env) || !piix_init(&piix, env, &pci, &ide, NULL, NULL))
        abort();
    while (prog_more(&g)) {
        dma.have_entry = false; /* a DMA run starts with a PRD fetch */
        struct window ports[] = {
            {IDE_PRIMARY_CMD, 8},         {IDE_PRIMARY_CTL, 1}, {IDE_SECONDARY_CMD, 8}, {IDE_SECONDARY_CTL, 1},
            {PCI_CONFIG_ADDRESS_PORT, 1}, {PCI_CONFIG_DATA_PORT, 4}, {bm_base(), IDE_BM_PORTS},
        };
        switch (take8(&g) % 13) {
        case 0:
            fuzz_any_in(&g, ports, ARRAY_SIZE(ports));
            break;
        case 1:
            fuzz_any_out(&g, ports, ARRAY_SIZE(ports));
            break;
        case 2: { /* configuration write */
            u8 dev, fn;
            take_function(&g, &dev, &fn);
            u8 reg = take8(&g), io_size = take_io_size(&g);
            cfg_address(dev, fn, reg);
            fuzz_out((u16)(PCI_CONFIG_DATA_PORT + (reg & 3)), io_size, (u32)take_value(&g, io_size));
            break;
        }
        case 3: { /* configuration read */
            u8 dev, fn;
            take_function(&g, &dev, &fn);
            u8 reg = take8(&g);
            cfg_address(dev, fn, reg);
            fuzz_in((u16)(PCI_CONFIG_DATA_PORT + (reg & 3)), take_io_size(&g));
            break;
        }
        case 4: { /* firmware's bus-master setup: BAR4, then I/O and bus master enable */
            u16 base = take_bool(&g) ? BM_DEFAULT : take16(&g);
            cfg_address(PIIX_DEV, PIIX_IDE_FN, PIIX_BMIBA);
            fuzz_out(PCI_CONFIG_DATA_PORT, 4, base | PCI_BAR_IO);
            cfg_address(PIIX_DEV, PIIX_IDE_FN, PCI_COMMAND);
            fuzz_out(PCI_CONFIG_DATA_PORT, 2, take8(&g) & (PCI_COMMAND_IO | PCI_COMMAND_MASTER));
            break;
        }
        case 5:
            write_prd_table(&g);
            break;
        case 6:
            ata_command(&g);
            break;
        case 7:
            data_burst(&g);
            break;
        case 8: /* start or stop a channel's engine, either direction */
            fuzz_out((u16)(bm_base() + (take_bool(&g) ? 8 : 0)), 1, take8(&g) & 0x09);
            break;
        case 9:
            atapi_packet(&g);
            break;
        case 10: { /* the guest writes its RAM (a PRD table, a buffer) */
            u32 at = take32(&g) % FAKE_RAM_SIZE;
            unsigned n = take8(&g) % 16;
            for (unsigned i = 0; i < n && at + i < FAKE_RAM_SIZE; i++)
                fake.ram[at + i] = take8(&g);
            mark_dirty(at, MIN(n, FAKE_RAM_SIZE - at));
            break;
        }
        case 11: {
            u8 b = take8(&g);
            if (b == 0xa5)
                piix_reset(&piix); /* PCIRST#: IDE too */
            else if (b == 0x5a)
                pci_reset(&pci);
            else /* software reset: SRST set, then cleared */
                fuzz_out(b & 1 ? IDE_SECONDARY_CTL : IDE_PRIMARY_CTL, 1, b & 0x86);
            break;
        }
        case 12: /* time passes: backend requests are polled */
            clock_advance(&fake.clock, fake.clock.now + (u64)take16(&g) * 1000);
            break;
        }
        check_channels();
    }
    free_disks();
    return 0;
}
