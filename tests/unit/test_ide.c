/* unit-sources: devmodel/ide.c devmodel/bus.c devmodel/clock.c */
/* The IDE controller: ATA PIO and DMA, the bus-master engine and its
 * memory safety, resets and signatures, interrupts, and ATAPI. */
#include "unit.h"
#include "dm_fake.h"
#include "../../devmodel/ide.h"

#define P_DATA 0x1F0
#define P_ERROR 0x1F1
#define P_FEATURE 0x1F1
#define P_NSECT 0x1F2
#define P_LBAL 0x1F3
#define P_LBAM 0x1F4
#define P_LBAH 0x1F5
#define P_DEVICE 0x1F6
#define P_STATUS 0x1F7
#define P_COMMAND 0x1F7
#define P_CTL 0x3F6
#define S_DATA 0x170
#define S_STATUS 0x177
#define S_CTL 0x376
#define BM 0xC000 /* bus-master base used by the tests */

#define DISK_SECTORS 2048
#define CD_BLOCKS 32

static u8 disk_image[DISK_SECTORS * 512];
static u8 cd_image[CD_BLOCKS * 2048];
static struct ide_disk hd, cd;
static struct ide ide;
static u8 buf[16384];

static u8 pattern(u64 sector, unsigned byte) { return (u8)(sector * 31 + byte * 7 + 1); }

static void fill_images(void)
{
    for (unsigned s = 0; s < DISK_SECTORS; s++)
        for (unsigned i = 0; i < 512; i++)
            disk_image[s * 512 + i] = pattern(s, i);
    for (unsigned s = 0; s < CD_BLOCKS; s++)
        for (unsigned i = 0; i < 2048; i++)
            cd_image[s * 2048 + i] = pattern(s + 1000, i);
}

/* Primary master: the disk; secondary master: the CD-ROM. */
static void setup(bool read_only)
{
    struct dm_env *env = fake_env_reset();
    fill_images();
    hd = (struct ide_disk){.data = disk_image, .size = sizeof(disk_image), .read_only = read_only};
    strcpy(hd.model, "TEST DISK");
    cd = (struct ide_disk){.data = cd_image, .size = sizeof(cd_image), .cdrom = true};
    strcpy(cd.model, "TEST CDROM");
    struct ide_disk *disks[4] = {&hd, NULL, &cd, NULL};
    ide_init(&ide, env, disks);
    ide_set_bmdma_base(&ide, BM);
}

static u16 inw_(u16 port) { return (u16)io_in(port, 2); }

static void pio_read(u16 data, u8 *dst, unsigned bytes)
{
    for (unsigned i = 0; i < bytes; i += 2) {
        u16 w = inw_(data);
        dst[i] = (u8)w;
        dst[i + 1] = (u8)(w >> 8);
    }
}

static void pio_write(u16 data, const u8 *src, unsigned bytes)
{
    for (unsigned i = 0; i < bytes; i += 2)
        io_out(data, 2, src[i] | src[i + 1] << 8);
}

static void ata_lba28(u32 lba, u8 count, u8 cmd)
{
    outb_(P_NSECT, count);
    outb_(P_LBAL, (u8)lba);
    outb_(P_LBAM, (u8)(lba >> 8));
    outb_(P_LBAH, (u8)(lba >> 16));
    outb_(P_DEVICE, (u8)(0xE0 | ((lba >> 24) & 0xF)));
    outb_(P_COMMAND, cmd);
}

/* 48-bit: the high bytes first, then the low ones (the register FIFO). */
static void ata_lba48(u64 lba, u16 count, u8 cmd)
{
    outb_(P_NSECT, (u8)(count >> 8));
    outb_(P_LBAL, (u8)(lba >> 24));
    outb_(P_LBAM, (u8)(lba >> 32));
    outb_(P_LBAH, (u8)(lba >> 40));
    outb_(P_NSECT, (u8)count);
    outb_(P_LBAL, (u8)lba);
    outb_(P_LBAM, (u8)(lba >> 8));
    outb_(P_LBAH, (u8)(lba >> 16));
    outb_(P_DEVICE, 0x40);
    outb_(P_COMMAND, cmd);
}

static bool matches_disk(const u8 *p, u32 lba, u32 sectors)
{
    return memcmp(p, disk_image + (u64)lba * 512, sectors * 512) == 0;
}

static bool sector_is_pattern(u32 lba)
{
    for (unsigned i = 0; i < 512; i++)
        if (disk_image[lba * 512 + i] != pattern(lba, i))
            return false;
    return true;
}

static u16 id_word(const u8 *id, unsigned w) { return (u16)(id[2 * w] | id[2 * w + 1] << 8); }

/* An ATA string from IDENTIFY data, trailing spaces removed. */
static void id_string(const u8 *id, unsigned word, unsigned words, char *out)
{
    for (unsigned i = 0; i < 2 * words; i++)
        out[i] = (char)id[2 * word + (i ^ 1)];
    out[2 * words] = 0;
    for (int i = (int)(2 * words) - 1; i >= 0 && out[i] == ' '; i--)
        out[i] = 0;
}

static void prd(u32 table, unsigned i, u32 addr, u16 count, bool last)
{
    u8 *e = fake.ram + table + 8 * i;
    memcpy(e, &addr, 4);
    e[4] = (u8)count;
    e[5] = (u8)(count >> 8);
    e[6] = 0;
    e[7] = last ? 0x80 : 0;
}

static void bm_setup(unsigned channel, u32 table, bool to_memory)
{
    u16 base = (u16)(BM + 8 * channel);
    outb_(base, 0); /* stopped */
    io_out(base + 4, 4, table);
    outb_(base + 2, 0x06); /* clear Interrupt and Error */
    outb_(base, to_memory ? 0x08 : 0x00);
}

static void bm_start(unsigned channel, bool to_memory) { outb_((u16)(BM + 8 * channel), to_memory ? 0x09 : 0x01); }

/* ---------------- ATA ---------------- */

TEST(ide_identify_device)
{
    char s[41];
    setup(false);
    ata_lba28(0, 0, 0xEC);
    CHECK_EQ(inb_(P_CTL) & 0x89, 0x08); /* DRQ, not BSY, no ERR */
    CHECK(fake.level[IDE_PRIMARY_GSI]);
    pio_read(P_DATA, buf, 512);
    CHECK_EQ(inb_(P_CTL), 0x50); /* DRDY DSC: data-in ends without DRQ */
    CHECK_EQ(id_word(buf, 0) & 0x8000, 0);
    id_string(buf, 27, 20, s);
    CHECK_STR(s, "TEST DISK");
    id_string(buf, 10, 10, s);
    CHECK_STR(s, "ZAZEN-IDE-0");
    CHECK_EQ(id_word(buf, 1), 2); /* 2048 / (16 * 63) cylinders */
    CHECK_EQ(id_word(buf, 3), 16);
    CHECK_EQ(id_word(buf, 6), 63);
    CHECK_EQ(id_word(buf, 47) & 0xFF, 16);
    CHECK_EQ(id_word(buf, 49) & 0x0300, 0x0300); /* LBA, DMA */
    CHECK_EQ(id_word(buf, 53) & 0x7, 0x7);
    CHECK_EQ(id_word(buf, 59), 0); /* multiple disabled */
    CHECK_EQ(id_word(buf, 60) | id_word(buf, 61) << 16, DISK_SECTORS);
    CHECK_EQ(id_word(buf, 63) & 0x7, 0x7);
    CHECK_EQ(id_word(buf, 64), 0x3);
    CHECK_EQ(id_word(buf, 80) & 0x40, 0x40); /* ATA-6 */
    CHECK_EQ(id_word(buf, 83) & 0xC000, 0x4000);
    CHECK_EQ(id_word(buf, 83) & 0x3400, 0x3400); /* LBA48, FLUSH CACHE (EXT) */
    CHECK_EQ(id_word(buf, 86) & 0x3400, 0x3400);
    CHECK_EQ(id_word(buf, 100) | id_word(buf, 101) << 16, DISK_SECTORS);
    CHECK_EQ(id_word(buf, 102) | id_word(buf, 103), 0);
    CHECK_EQ(id_word(buf, 93) & 0x4049, 0x4049); /* valid, device 0, passed, answers for absent device 1 */
    u8 sum = 0;
    for (unsigned i = 0; i < 512; i++)
        sum = (u8)(sum + buf[i]);
    CHECK_EQ(buf[510], 0xA5);
    CHECK_EQ(sum, 0);
}

TEST(ide_identify_large_disk_caps_lba28)
{
    setup(false);
    /* IDENTIFY reads no data, so a huge size over the small image is safe here. */
    hd.size = (1ull << 31) * 512; /* 2^31 sectors, 1 TiB */
    ide_reset(&ide);
    ata_lba28(0, 0, 0xEC);
    pio_read(P_DATA, buf, 512);
    CHECK_EQ(id_word(buf, 60) | id_word(buf, 61) << 16, 0x0FFFFFFF);
    CHECK_EQ(id_word(buf, 100) | (u32)id_word(buf, 101) << 16, 0x80000000u);
    CHECK_EQ(id_word(buf, 1), 16383);
}

TEST(ide_pio_read_lba28_interrupts_per_block)
{
    setup(false);
    ata_lba28(5, 2, 0x20);
    CHECK_EQ(fake.edges[IDE_PRIMARY_GSI], 1);
    CHECK_EQ(inb_(P_STATUS), 0x58); /* DRDY DSC DRQ; the read acknowledges */
    CHECK(!fake.level[IDE_PRIMARY_GSI]);
    pio_read(P_DATA, buf, 512);
    CHECK_EQ(fake.edges[IDE_PRIMARY_GSI], 2); /* the second block */
    CHECK_EQ(inb_(P_STATUS), 0x58);
    pio_read(P_DATA, buf + 512, 512);
    CHECK_EQ(fake.edges[IDE_PRIMARY_GSI], 2); /* none after the last data-in block */
    CHECK_EQ(inb_(P_STATUS), 0x50);
    CHECK(matches_disk(buf, 5, 2));
}

TEST(ide_pio_32bit_data_reads)
{
    setup(false);
    ata_lba28(9, 1, 0x20);
    for (unsigned i = 0; i < 512; i += 4) {
        u32 v = io_in(P_DATA, 4);
        memcpy(buf + i, &v, 4);
    }
    CHECK(matches_disk(buf, 9, 1));
    CHECK_EQ(inb_(P_STATUS), 0x50);
}

TEST(ide_pio_write_lba28)
{
    setup(false);
    u8 data[1024];
    for (unsigned i = 0; i < sizeof(data); i++)
        data[i] = (u8)(0xA0 ^ i);
    ata_lba28(10, 2, 0x30);
    CHECK_EQ(fake.edges[IDE_PRIMARY_GSI], 0); /* the first block needs no interrupt */
    CHECK_EQ(inb_(P_CTL), 0x58);
    pio_write(P_DATA, data, 512);
    CHECK_EQ(fake.edges[IDE_PRIMARY_GSI], 1);
    CHECK_EQ(inb_(P_STATUS), 0x58);
    pio_write(P_DATA, data + 512, 512);
    CHECK_EQ(fake.edges[IDE_PRIMARY_GSI], 2); /* completion */
    CHECK_EQ(inb_(P_STATUS), 0x50);
    CHECK(memcmp(disk_image + 10 * 512, data, 1024) == 0);
    CHECK(sector_is_pattern(9));
    CHECK(sector_is_pattern(12));
}

TEST(ide_pio_lba48_and_hob_registers)
{
    setup(false);
    ata_lba48(7, 1, 0x24);
    pio_read(P_DATA, buf, 512);
    CHECK(matches_disk(buf, 7, 1));
    CHECK_EQ(inb_(P_STATUS), 0x50);
    /* HOB = 1 reads the previous contents. */
    ata_lba48(0x0102030405ull, 1, 0x40); /* READ VERIFY (out of range): only the registers matter here */
    outb_(P_CTL, 0x80);
    CHECK_EQ(inb_(P_LBAL), 0x02);
    CHECK_EQ(inb_(P_LBAM), 0x01);
    CHECK_EQ(inb_(P_LBAH), 0x00);
    outb_(P_FEATURE, 0x00); /* any command block write clears HOB */
    CHECK_EQ(inb_(P_LBAL), 0x05);
    CHECK_EQ(inb_(P_LBAM), 0x04);
    /* bits 24-47 count: LBA 2^24 + 7 is past the disk */
    ata_lba48((1ull << 24) + 7, 1, 0x24);
    CHECK_EQ(inb_(P_STATUS), 0x51);
    CHECK_EQ(inb_(P_ERROR), 0x10);
    /* WRITE SECTORS EXT */
    u8 data[512];
    memset(data, 0x3C, sizeof(data));
    ata_lba48(100, 1, 0x34);
    pio_write(P_DATA, data, 512);
    CHECK_EQ(inb_(P_STATUS), 0x50);
    CHECK_EQ(disk_image[100 * 512 + 17], 0x3C);
}

TEST(ide_pio_chs_and_initialize_parameters)
{
    setup(false);
    /* C=1 H=2 S=3 with 16 heads, 63 sectors: LBA (1*16+2)*63+2 = 1136 */
    outb_(P_NSECT, 1);
    outb_(P_LBAL, 3);
    outb_(P_LBAM, 1);
    outb_(P_LBAH, 0);
    outb_(P_DEVICE, 0xA2);
    outb_(P_COMMAND, 0x20);
    pio_read(P_DATA, buf, 512);
    CHECK(matches_disk(buf, 1136, 1));
    /* sector 0 does not exist */
    outb_(P_LBAL, 0);
    outb_(P_COMMAND, 0x20);
    CHECK_EQ(inb_(P_STATUS), 0x51);
    CHECK_EQ(inb_(P_ERROR), 0x10);
    /* 4 heads, 32 sectors per track */
    outb_(P_NSECT, 32);
    outb_(P_DEVICE, 0xA3);
    outb_(P_COMMAND, 0x91);
    CHECK_EQ(inb_(P_STATUS), 0x50);
    outb_(P_NSECT, 1);
    outb_(P_LBAL, 1);
    outb_(P_LBAM, 2);
    outb_(P_DEVICE, 0xA1); /* C=2 H=1 S=1: (2*4+1)*32 = 288 */
    outb_(P_COMMAND, 0x20);
    pio_read(P_DATA, buf, 512);
    CHECK(matches_disk(buf, 288, 1));
    outb_(P_NSECT, 0);
    outb_(P_COMMAND, 0xEC);
    pio_read(P_DATA, buf, 512);
    CHECK_EQ(id_word(buf, 55), 4);
    CHECK_EQ(id_word(buf, 56), 32);
    CHECK_EQ(id_word(buf, 54), 16); /* 2048 / 128 */
}

TEST(ide_read_write_multiple)
{
    setup(false);
    ata_lba28(0, 4, 0xC4); /* multiple mode is off after power-on */
    CHECK_EQ(inb_(P_STATUS), 0x51);
    CHECK_EQ(inb_(P_ERROR), 0x04);
    outb_(P_NSECT, 3); /* not a power of two */
    outb_(P_COMMAND, 0xC6);
    CHECK_EQ(inb_(P_STATUS), 0x51);
    outb_(P_NSECT, 4);
    outb_(P_COMMAND, 0xC6);
    CHECK_EQ(inb_(P_STATUS), 0x50);
    unsigned edges = fake.edges[IDE_PRIMARY_GSI];
    ata_lba28(20, 6, 0xC4); /* blocks of 4 and 2 sectors */
    CHECK_EQ(inb_(P_STATUS), 0x58);
    pio_read(P_DATA, buf, 4 * 512);
    CHECK_EQ(fake.edges[IDE_PRIMARY_GSI], edges + 2);
    CHECK_EQ(inb_(P_STATUS), 0x58);
    pio_read(P_DATA, buf + 4 * 512, 2 * 512);
    CHECK_EQ(inb_(P_STATUS), 0x50);
    CHECK(matches_disk(buf, 20, 6));
    /* WRITE MULTIPLE EXT, 5 sectors: blocks of 4 and 1 */
    u8 data[5 * 512];
    for (unsigned i = 0; i < sizeof(data); i++)
        data[i] = (u8)(i * 3);
    edges = fake.edges[IDE_PRIMARY_GSI];
    ata_lba48(40, 5, 0x39);
    pio_write(P_DATA, data, 4 * 512);
    CHECK_EQ(fake.edges[IDE_PRIMARY_GSI], edges + 1);
    CHECK_EQ(inb_(P_STATUS), 0x58);
    pio_write(P_DATA, data + 4 * 512, 512);
    CHECK_EQ(fake.edges[IDE_PRIMARY_GSI], edges + 2);
    CHECK_EQ(inb_(P_STATUS), 0x50);
    CHECK(memcmp(disk_image + 40 * 512, data, sizeof(data)) == 0);
    /* IDENTIFY word 59 shows the setting */
    ata_lba28(0, 0, 0xEC);
    pio_read(P_DATA, buf, 512);
    CHECK_EQ(id_word(buf, 59), 0x0104);
}

TEST(ide_dma_read_two_prd_entries)
{
    setup(false);
    prd(0x1000, 0, 0x2000, 512, false);
    prd(0x1000, 1, 0x8000, 1024, true);
    bm_setup(0, 0x1000, true);
    ata_lba28(3, 3, 0xC8);
    /* waits for the bus master: nothing moved yet */
    CHECK_EQ(inb_(P_CTL), 0x58);
    CHECK_EQ(fake.ram[0x2000], 0);
    CHECK(!fake.level[IDE_PRIMARY_GSI]);
    bm_start(0, true);
    CHECK(memcmp(fake.ram + 0x2000, disk_image + 3 * 512, 512) == 0);
    CHECK(memcmp(fake.ram + 0x8000, disk_image + 4 * 512, 1024) == 0);
    CHECK_EQ(fake.ram[0x8000 + 1024], 0);
    CHECK_EQ(inb_(BM + 2), 0x04); /* Interrupt, not Active (the table ended), no Error */
    CHECK(fake.level[IDE_PRIMARY_GSI]);
    CHECK_EQ(inb_(P_STATUS), 0x50);
    CHECK(!fake.level[IDE_PRIMARY_GSI]);
    outb_(BM, 0x08);
    outb_(BM + 2, 0x04); /* write 1 to clear */
    CHECK_EQ(inb_(BM + 2), 0x00);
}

TEST(ide_dma_read_ext_with_start_already_set)
{
    setup(false);
    prd(0x1000, 0, 0x3000, 0, true); /* count 0 = 64 KiB: more than the transfer */
    bm_setup(0, 0x1000, true);
    bm_start(0, true);
    CHECK_EQ(inb_(BM + 2), 0x01); /* Active, waiting */
    ata_lba48(50, 2, 0x25);
    CHECK(memcmp(fake.ram + 0x3000, disk_image + 50 * 512, 1024) == 0);
    CHECK_EQ(inb_(BM + 2), 0x05); /* Interrupt, still Active: the table describes more */
    CHECK_EQ(inb_(P_STATUS), 0x50);
    outb_(BM, 0x08);
    CHECK_EQ(inb_(BM + 2), 0x04);
}

TEST(ide_dma_write_two_prd_entries)
{
    setup(false);
    for (unsigned i = 0; i < 1536; i++)
        fake.ram[0x4000 + i] = (u8)(i ^ 0x5A);
    prd(0x1000, 0, 0x4000, 1024, false);
    prd(0x1000, 1, 0x4400, 512, true);
    bm_setup(0, 0x1000, false);
    ata_lba28(30, 3, 0xCA);
    CHECK(sector_is_pattern(30));
    bm_start(0, false);
    CHECK(memcmp(disk_image + 30 * 512, fake.ram + 0x4000, 1536) == 0);
    CHECK(sector_is_pattern(33));
    CHECK_EQ(inb_(BM + 2), 0x04);
    CHECK_EQ(inb_(P_STATUS), 0x50);
}

static u8 ram_before[FAKE_RAM_SIZE];

TEST(ide_dma_outside_ram_fails_safely)
{
    setup(false);
    prd(0x1000, 0, FAKE_RAM_SIZE - 256, 512, true); /* half outside the domain's RAM */
    bm_setup(0, 0x1000, true);
    memcpy(ram_before, fake.ram, FAKE_RAM_SIZE);
    ata_lba28(0, 1, 0xC8);
    bm_start(0, true);
    CHECK(memcmp(ram_before, fake.ram, FAKE_RAM_SIZE) == 0);
    CHECK_EQ(inb_(BM + 2), 0x06); /* Error, Interrupt, not Active */
    CHECK(fake.level[IDE_PRIMARY_GSI]);
    CHECK_EQ(inb_(P_STATUS), 0x51);
    CHECK_EQ(inb_(P_ERROR), 0x04);
    /* the table itself outside RAM */
    bm_setup(0, 0x00F00000, true);
    ata_lba28(0, 1, 0xC8);
    bm_start(0, true);
    CHECK(memcmp(ram_before, fake.ram, FAKE_RAM_SIZE) == 0);
    CHECK_EQ(inb_(BM + 2), 0x06);
    CHECK_EQ(inb_(P_STATUS), 0x51);
    CHECK_EQ(inb_(P_ERROR), 0x04);
    /* a DMA write from outside RAM leaves the disk alone */
    prd(0x1000, 0, 0x00200000, 512, true);
    bm_setup(0, 0x1000, false);
    ata_lba28(1, 1, 0xCA);
    bm_start(0, false);
    CHECK(sector_is_pattern(1));
    CHECK_EQ(inb_(P_STATUS), 0x51);
}

TEST(ide_dma_table_shorter_than_transfer_fails)
{
    setup(false);
    prd(0x1000, 0, 0x2000, 512, true);
    bm_setup(0, 0x1000, true);
    ata_lba28(0, 2, 0xC8);
    bm_start(0, true);
    CHECK_EQ(inb_(BM + 2), 0x06);
    CHECK_EQ(inb_(P_STATUS), 0x51);
    CHECK(memcmp(fake.ram + 0x2000, disk_image, 512) == 0);
}

TEST(ide_dma_direction_must_match_the_command)
{
    setup(false);
    /* READ DMA with the engine set to read memory: nothing moves */
    prd(0x1000, 0, 0x2000, 512, true);
    bm_setup(0, 0x1000, false);
    ata_lba28(5, 1, 0xC8);
    bm_start(0, false);
    CHECK_EQ(fake.ram[0x2000], 0);
    CHECK_EQ(inb_(BM + 2), 0x06); /* Error, Interrupt */
    CHECK_EQ(inb_(P_STATUS), 0x51);
    CHECK_EQ(inb_(P_ERROR), 0x04);
    /* WRITE DMA with the engine set to write memory: the disk keeps its data */
    bm_setup(0, 0x1000, true);
    ata_lba28(2, 1, 0xCA);
    bm_start(0, true);
    CHECK(sector_is_pattern(2));
    CHECK_EQ(inb_(P_STATUS), 0x51);
}

TEST(ide_dma_table_straddling_64k_fails)
{
    setup(false);
    /* the table register keeps dword alignment: FFFCh is a legal value,
     * but its first entry would cross into the next 64 KiB */
    prd(0xFFFC, 0, 0x2000, 512, true); /* a whole entry, were it read */
    bm_setup(0, 0xFFFC, true);
    ata_lba28(4, 1, 0xC8);
    bm_start(0, true);
    CHECK_EQ(fake.ram[0x2000], 0);
    CHECK_EQ(inb_(BM + 2), 0x06);
    CHECK_EQ(inb_(P_STATUS), 0x51);
}

TEST(ide_dma_waits_for_bus_master_enable)
{
    setup(false);
    ide_set_bus_master(&ide, false);
    prd(0x1000, 0, 0x2000, 512, true);
    bm_setup(0, 0x1000, true);
    ata_lba28(6, 1, 0xC8);
    bm_start(0, true);
    CHECK_EQ(fake.ram[0x2000], 0);
    CHECK_EQ(inb_(P_CTL), 0x58);
    ide_set_bus_master(&ide, true);
    CHECK(matches_disk(fake.ram + 0x2000, 6, 1));
    CHECK_EQ(inb_(P_CTL), 0x50);
}

TEST(ide_bm_registers_and_moving_base)
{
    setup(false);
    io_out(BM + 4, 4, 0x12345677);
    CHECK_EQ(io_in(BM + 4, 4), 0x12345674); /* dword aligned */
    io_out(BM + 12, 4, 0xABCD0000);
    CHECK_EQ(io_in(BM + 12, 4), 0xABCD0000);
    outb_(BM + 2, 0x60); /* DMA capable bits are plain read/write */
    CHECK_EQ(inb_(BM + 2), 0x60);
    ide_set_bmdma_base(&ide, 0xD000);
    CHECK_EQ(io_in(BM + 4, 4), 0xFFFFFFFF);
    CHECK_EQ(io_in(0xD000 + 4, 4), 0x12345674);
    ide_set_bmdma_base(&ide, 0);
    CHECK_EQ(io_in(0xD000 + 4, 4), 0xFFFFFFFF);
}

TEST(ide_interrupt_cleared_by_status_not_altstatus_and_gated_by_nien)
{
    setup(false);
    ata_lba28(0, 1, 0x40); /* READ VERIFY */
    CHECK(fake.level[IDE_PRIMARY_GSI]);
    CHECK_EQ(inb_(P_CTL), 0x50);
    CHECK(fake.level[IDE_PRIMARY_GSI]); /* the alternate status leaves it */
    CHECK_EQ(inb_(P_STATUS), 0x50);
    CHECK(!fake.level[IDE_PRIMARY_GSI]);
    outb_(P_CTL, 0x02); /* nIEN */
    ata_lba28(0, 1, 0x40);
    CHECK(!fake.level[IDE_PRIMARY_GSI]);
    outb_(P_CTL, 0x00); /* the pending interrupt shows once enabled */
    CHECK(fake.level[IDE_PRIMARY_GSI]);
    inb_(P_STATUS);
    CHECK(!fake.level[IDE_PRIMARY_GSI]);
    CHECK(!fake.level[IDE_SECONDARY_GSI]);
}

TEST(ide_software_reset_signatures)
{
    setup(false);
    outb_(P_NSECT, 0x55);
    outb_(P_LBAM, 0x77);
    outb_(P_CTL, 0x04); /* SRST */
    CHECK_EQ(inb_(P_CTL) & 0x80, 0x80);
    outb_(P_CTL, 0x00);
    CHECK_EQ(inb_(P_STATUS), 0x50);
    CHECK_EQ(inb_(P_ERROR), 0x01);
    CHECK_EQ(inb_(P_NSECT), 1);
    CHECK_EQ(inb_(P_LBAL), 1);
    CHECK_EQ(inb_(P_LBAM), 0);
    CHECK_EQ(inb_(P_LBAH), 0);
    CHECK_EQ(fake.edges[IDE_PRIMARY_GSI], 0); /* no interrupt after SRST */
    /* the CD-ROM on the secondary channel */
    outb_(S_CTL, 0x04);
    outb_(S_CTL, 0x00);
    CHECK_EQ(inb_(0x172), 1);
    CHECK_EQ(inb_(0x173), 1);
    CHECK_EQ(inb_(0x174), 0x14);
    CHECK_EQ(inb_(0x175), 0xEB);
    CHECK_EQ(inb_(S_STATUS) & 0x88, 0);
}

TEST(ide_execute_diagnostic)
{
    setup(false);
    outb_(P_DEVICE, 0x10); /* even with the absent device 1 selected */
    outb_(P_COMMAND, 0x90);
    CHECK_EQ(inb_(P_DEVICE), 0x00);
    CHECK_EQ(inb_(P_ERROR), 0x01);
    CHECK_EQ(inb_(P_NSECT), 1);
    CHECK(fake.level[IDE_PRIMARY_GSI]);
    CHECK_EQ(inb_(P_STATUS), 0x50);
}

TEST(ide_register_readback_and_absent_devices)
{
    setup(false);
    outb_(P_NSECT, 0x55);
    outb_(P_LBAL, 0xAA);
    CHECK_EQ(inb_(P_NSECT), 0x55);
    CHECK_EQ(inb_(P_LBAL), 0xAA);
    outb_(P_DEVICE, 0xB0); /* device 1: absent */
    CHECK_EQ(inb_(P_STATUS), 0x00);
    CHECK_EQ(inb_(P_CTL), 0x00);
    CHECK_EQ(inb_(P_NSECT), 0x00);
    outb_(P_COMMAND, 0xEC); /* ignored */
    CHECK(!fake.level[IDE_PRIMARY_GSI]);
    outb_(P_DEVICE, 0xA0);
    CHECK_EQ(inb_(P_STATUS), 0x50);
    CHECK_EQ(inb_(P_NSECT), 0x55);
    /* a channel without devices floats */
    struct ide_disk *disks[4] = {&hd, NULL, NULL, NULL};
    ide_init(&ide, fake_env_reset(), disks);
    CHECK_EQ(inb_(S_STATUS), 0xFF);
    CHECK_EQ(inb_(S_CTL), 0xFF);
    CHECK_EQ(inw_(S_DATA), 0xFFFF);
}

TEST(ide_read_only_disk_aborts_writes)
{
    setup(true);
    ata_lba28(2, 1, 0x30);
    CHECK_EQ(inb_(P_STATUS), 0x51);
    CHECK_EQ(inb_(P_ERROR), 0x04);
    ata_lba28(2, 1, 0xCA);
    CHECK_EQ(inb_(P_STATUS), 0x51);
    CHECK_EQ(inb_(P_ERROR), 0x04);
    u8 data[512] = {0};
    pio_write(P_DATA, data, 512); /* no DRQ: ignored */
    CHECK(sector_is_pattern(2));
    ata_lba28(2, 1, 0x20); /* reads still work */
    pio_read(P_DATA, buf, 512);
    CHECK(matches_disk(buf, 2, 1));
}

TEST(ide_out_of_range_is_idnf)
{
    setup(false);
    ata_lba28(DISK_SECTORS, 1, 0x20);
    CHECK_EQ(inb_(P_STATUS), 0x51);
    CHECK_EQ(inb_(P_ERROR), 0x10);
    ata_lba28(DISK_SECTORS - 1, 2, 0x30);
    CHECK_EQ(inb_(P_STATUS), 0x51);
    CHECK_EQ(inb_(P_ERROR), 0x10);
    ata_lba28(DISK_SECTORS - 1, 1, 0x20);
    CHECK_EQ(inb_(P_STATUS), 0x58);
    pio_read(P_DATA, buf, 512);
    CHECK(matches_disk(buf, DISK_SECTORS - 1, 1));
    ata_lba28(DISK_SECTORS - 2, 3, 0xC8);
    CHECK_EQ(inb_(P_STATUS), 0x51);
    CHECK_EQ(inb_(P_ERROR), 0x10);
}

TEST(ide_misc_commands)
{
    setup(false);
    outb_(P_NSECT, 0);
    outb_(P_COMMAND, 0xE5); /* CHECK POWER MODE */
    CHECK_EQ(inb_(P_STATUS), 0x50);
    CHECK_EQ(inb_(P_NSECT), 0xFF);
    outb_(P_COMMAND, 0x00); /* NOP aborts */
    CHECK_EQ(inb_(P_STATUS), 0x51);
    CHECK_EQ(inb_(P_ERROR), 0x04);
    outb_(P_COMMAND, 0xE7); /* FLUSH CACHE */
    CHECK_EQ(inb_(P_STATUS), 0x50);
    CHECK_EQ(inb_(P_ERROR), 0x00);
    outb_(P_FEATURE, 0x03);
    outb_(P_NSECT, 0x22); /* MWDMA2 */
    outb_(P_COMMAND, 0xEF);
    CHECK_EQ(inb_(P_STATUS), 0x50);
    outb_(P_FEATURE, 0x03);
    outb_(P_NSECT, 0x45); /* UDMA5: not supported */
    outb_(P_COMMAND, 0xEF);
    CHECK_EQ(inb_(P_STATUS), 0x51);
    outb_(P_COMMAND, 0xEC);
    pio_read(P_DATA, buf, 512);
    CHECK_EQ(id_word(buf, 63), 0x0407);
    CHECK_EQ(id_word(buf, 88), 0);
    outb_(P_COMMAND, 0x08); /* DEVICE RESET is for PACKET devices */
    CHECK_EQ(inb_(P_STATUS), 0x51);
}

/* ---------------- ATAPI ---------------- */

#define A_DATA 0x170
#define A_ERROR 0x171
#define A_FEATURE 0x171
#define A_IREASON 0x172
#define A_BCL 0x174
#define A_BCH 0x175
#define A_DEVICE 0x176
#define A_STATUS 0x177
#define A_COMMAND 0x177

/* Sends a packet; false if the device did not ask for it properly. */
static bool send_packet(const u8 *cdb, u16 limit, bool dma)
{
    outb_(A_DEVICE, 0xA0);
    outb_(A_FEATURE, dma ? 1 : 0);
    outb_(A_BCL, (u8)limit);
    outb_(A_BCH, (u8)(limit >> 8));
    outb_(A_COMMAND, 0xA0);
    if ((inb_(0x376) & 0x89) != 0x08 || inb_(A_IREASON) != 0x01)
        return false;
    pio_write(A_DATA, cdb, 12);
    return true;
}

static unsigned drq_blocks;

/* Reads PIO data blocks until completion; returns the bytes read. */
static unsigned atapi_read_data(u8 *dst, unsigned max)
{
    unsigned got = 0;
    drq_blocks = 0;
    for (;;) {
        u8 st = inb_(A_STATUS);
        if (!(st & 0x08) || inb_(A_IREASON) != 0x02)
            return got;
        unsigned n = inb_(A_BCL) | inb_(A_BCH) << 8;
        if (got + n > max)
            return got;
        pio_read(A_DATA, dst + got, (n + 1) & ~1u);
        got += n;
        drq_blocks++;
    }
}

static unsigned atapi_pio(const u8 *cdb, u16 limit, u8 *dst, unsigned max)
{
    if (!send_packet(cdb, limit, false))
        return ~0u;
    return atapi_read_data(dst, max);
}

TEST(atapi_signature_and_identify)
{
    char s[41];
    setup(false);
    CHECK_EQ(inb_(A_BCL), 0x14);
    CHECK_EQ(inb_(A_BCH), 0xEB);
    outb_(A_COMMAND, 0xEC); /* IDENTIFY DEVICE aborts, signature kept */
    CHECK_EQ(inb_(A_STATUS) & 0x01, 0x01);
    CHECK_EQ(inb_(A_ERROR), 0x04);
    CHECK_EQ(inb_(A_BCL), 0x14);
    CHECK_EQ(inb_(A_BCH), 0xEB);
    outb_(A_COMMAND, 0xA1);
    CHECK(fake.level[IDE_SECONDARY_GSI]);
    CHECK_EQ(inb_(A_STATUS), 0x48);
    pio_read(A_DATA, buf, 512);
    CHECK_EQ(inb_(A_STATUS), 0x40);
    CHECK_EQ(id_word(buf, 0), 0x85C0);
    id_string(buf, 27, 20, s);
    CHECK_STR(s, "TEST CDROM");
    CHECK_EQ(id_word(buf, 49) & 0x0100, 0x0100);
    CHECK_EQ(id_word(buf, 82) & 0x0010, 0x0010);
}

TEST(atapi_inquiry_and_capacity)
{
    setup(false);
    u8 inquiry[12] = {0x12, 0, 0, 0, 36};
    CHECK_EQ(atapi_pio(inquiry, 0xFFFE, buf, sizeof(buf)), 36);
    CHECK_EQ(buf[0], 0x05);
    CHECK_EQ(buf[1], 0x80);
    CHECK(memcmp(buf + 8, "ZAZEN   ", 8) == 0);
    CHECK(memcmp(buf + 16, "TEST CDROM      ", 16) == 0);
    CHECK_EQ(inb_(A_STATUS), 0x40);
    CHECK_EQ(inb_(A_IREASON), 0x03);
    u8 short_inquiry[12] = {0x12, 0, 0, 0, 5};
    CHECK_EQ(atapi_pio(short_inquiry, 0xFFFE, buf, sizeof(buf)), 5);
    u8 cap[12] = {0x25};
    CHECK_EQ(atapi_pio(cap, 0xFFFE, buf, sizeof(buf)), 8);
    CHECK_EQ(buf[3], CD_BLOCKS - 1);
    CHECK_EQ(buf[0] | buf[1] | buf[2], 0);
    CHECK_EQ(buf[6], 0x08); /* 2048 */
    CHECK_EQ(buf[7], 0x00);
    u8 tur[12] = {0x00};
    CHECK_EQ(atapi_pio(tur, 0, buf, sizeof(buf)), 0);
    CHECK_EQ(inb_(A_STATUS), 0x40);
}

TEST(atapi_read10_pio_in_limited_blocks)
{
    setup(false);
    u8 read10[12] = {0x28, 0, 0, 0, 0, 2, 0, 0, 3};
    unsigned edges = fake.edges[IDE_SECONDARY_GSI];
    CHECK_EQ(atapi_pio(read10, 4096, buf, sizeof(buf)), 3 * 2048);
    CHECK_EQ(drq_blocks, 2); /* 4096 + 2048 */
    CHECK(memcmp(buf, cd_image + 2 * 2048, 3 * 2048) == 0);
    CHECK_EQ(inb_(A_IREASON), 0x03);
    CHECK_EQ(inb_(A_STATUS), 0x40);
    CHECK_EQ(fake.edges[IDE_SECONDARY_GSI], edges + 3); /* two data blocks and the completion */
    /* READ (12) */
    u8 read12[12] = {0xA8, 0, 0, 0, 0, 31, 0, 0, 0, 1};
    CHECK_EQ(atapi_pio(read12, 0xFFFE, buf, sizeof(buf)), 2048);
    CHECK(memcmp(buf, cd_image + 31 * 2048, 2048) == 0);
    /* past the end */
    u8 beyond[12] = {0x28, 0, 0, 0, 0, 31, 0, 0, 2};
    CHECK_EQ(atapi_pio(beyond, 0xFFFE, buf, sizeof(buf)), 0);
    CHECK_EQ(inb_(A_STATUS), 0x41);
    CHECK_EQ(inb_(A_ERROR), 0x50); /* ILLEGAL REQUEST */
}

TEST(atapi_read10_dma)
{
    setup(false);
    prd(0x1000, 0, 0x10000, 2048, false);
    prd(0x1000, 1, 0x20000, 4096, true);
    bm_setup(1, 0x1000, true);
    u8 read10[12] = {0x28, 0, 0, 0, 0, 5, 0, 0, 3};
    CHECK(send_packet(read10, 0, true));
    CHECK_EQ(fake.ram[0x10000], 0); /* waits for the bus master */
    bm_start(1, true);
    CHECK(memcmp(fake.ram + 0x10000, cd_image + 5 * 2048, 2048) == 0);
    CHECK(memcmp(fake.ram + 0x20000, cd_image + 6 * 2048, 4096) == 0);
    CHECK_EQ(inb_(BM + 8 + 2), 0x04);
    CHECK(fake.level[IDE_SECONDARY_GSI]);
    CHECK_EQ(inb_(A_STATUS), 0x40);
    CHECK_EQ(inb_(A_IREASON), 0x03);
    /* outside RAM: CHECK CONDITION, ABRT, bus master error */
    prd(0x1000, 0, FAKE_RAM_SIZE + 0x1000, 2048, true);
    bm_setup(1, 0x1000, true);
    memcpy(ram_before, fake.ram, FAKE_RAM_SIZE);
    CHECK(send_packet(read10, 0, true));
    bm_start(1, true);
    CHECK(memcmp(ram_before, fake.ram, FAKE_RAM_SIZE) == 0);
    CHECK_EQ(inb_(BM + 8 + 2), 0x06);
    CHECK_EQ(inb_(A_STATUS), 0x41);
    CHECK_EQ(inb_(A_ERROR) & 0x04, 0x04);
}

TEST(atapi_read_toc)
{
    setup(false);
    u8 toc[12] = {0x43, 0, 0, 0, 0, 0, 0, 0, 100};
    CHECK_EQ(atapi_pio(toc, 0xFFFE, buf, sizeof(buf)), 20);
    CHECK_EQ(buf[0] << 8 | buf[1], 18);
    CHECK_EQ(buf[2], 1);
    CHECK_EQ(buf[3], 1);
    CHECK_EQ(buf[5], 0x14);
    CHECK_EQ(buf[6], 1);
    CHECK_EQ(buf[8] | buf[9] | buf[10] | buf[11], 0);
    CHECK_EQ(buf[14], 0xAA);
    CHECK_EQ(buf[19], CD_BLOCKS);
    u8 toc_msf[12] = {0x43, 0x02, 0, 0, 0, 0, 0, 0, 100};
    CHECK_EQ(atapi_pio(toc_msf, 0xFFFE, buf, sizeof(buf)), 20);
    CHECK_EQ(buf[9], 0); /* track 1 at 00:02:00 */
    CHECK_EQ(buf[10], 2);
    CHECK_EQ(buf[11], 0);
    CHECK_EQ(buf[17], 0); /* lead-out at 32 + 150 frames = 00:02:32 */
    CHECK_EQ(buf[18], 2);
    CHECK_EQ(buf[19], 32);
    u8 session[12] = {0x43, 0, 1, 0, 0, 0, 0, 0, 12};
    CHECK_EQ(atapi_pio(session, 0xFFFE, buf, sizeof(buf)), 12);
    CHECK_EQ(buf[1], 10);
    CHECK_EQ(buf[6], 1);
}

TEST(atapi_request_sense_after_invalid_opcode)
{
    setup(false);
    u8 bad[12] = {0xD8};
    CHECK(send_packet(bad, 0xFFFE, false));
    CHECK(fake.level[IDE_SECONDARY_GSI]);
    CHECK_EQ(inb_(A_STATUS), 0x41);
    CHECK(!fake.level[IDE_SECONDARY_GSI]);
    CHECK_EQ(inb_(A_ERROR), 0x50);
    CHECK_EQ(inb_(A_IREASON), 0x03);
    u8 sense[12] = {0x03, 0, 0, 0, 18};
    CHECK_EQ(atapi_pio(sense, 0xFFFE, buf, sizeof(buf)), 18);
    CHECK_EQ(buf[0], 0x70);
    CHECK_EQ(buf[2], 0x05);
    CHECK_EQ(buf[7], 10);
    CHECK_EQ(buf[12], 0x20);
    CHECK_EQ(buf[13], 0x00);
    CHECK_EQ(inb_(A_STATUS), 0x40);
    /* read once: the next one is NO SENSE */
    CHECK_EQ(atapi_pio(sense, 0xFFFE, buf, sizeof(buf)), 18);
    CHECK_EQ(buf[2], 0x00);
    CHECK_EQ(buf[12], 0x00);
}

TEST(atapi_mode_sense_configuration_events)
{
    setup(false);
    u8 ms10[12] = {0x5A, 0, 0x2A, 0, 0, 0, 0, 0, 64};
    CHECK_EQ(atapi_pio(ms10, 0xFFFE, buf, sizeof(buf)), 8 + 26);
    CHECK_EQ(buf[0] << 8 | buf[1], 8 + 26 - 2);
    CHECK_EQ(buf[8], 0x2A);
    CHECK_EQ(buf[9], 0x18);
    u8 ms6_all[12] = {0x1A, 0, 0x3F, 0, 255};
    CHECK_EQ(atapi_pio(ms6_all, 0xFFFE, buf, sizeof(buf)), 4 + 26);
    CHECK_EQ(buf[0], 4 + 26 - 1);
    CHECK_EQ(buf[4], 0x2A);
    u8 ms_bad[12] = {0x5A, 0, 0x05, 0, 0, 0, 0, 0, 64};
    CHECK_EQ(atapi_pio(ms_bad, 0xFFFE, buf, sizeof(buf)), 0);
    CHECK_EQ(inb_(A_STATUS), 0x41);
    u8 gc[12] = {0x46, 0, 0, 0, 0, 0, 0, 0, 64};
    CHECK_EQ(atapi_pio(gc, 0xFFFE, buf, sizeof(buf)), 24);
    CHECK_EQ(buf[3], 20);
    CHECK_EQ(buf[6] << 8 | buf[7], 0x0008);
    CHECK_EQ(buf[8] << 8 | buf[9], 0x0000); /* profile list */
    CHECK_EQ(buf[12] << 8 | buf[13], 0x0008);
    CHECK_EQ(buf[16] << 8 | buf[17], 0x0001); /* core */
    u8 gc_header[12] = {0x46, 0, 0, 0, 0, 0, 0, 0, 8};
    CHECK_EQ(atapi_pio(gc_header, 0xFFFE, buf, sizeof(buf)), 8);
    CHECK_EQ(buf[7], 0x08);
    u8 gesn[12] = {0x4A, 1, 0, 0, 0x10, 0, 0, 0, 8};
    CHECK_EQ(atapi_pio(gesn, 0xFFFE, buf, sizeof(buf)), 8);
    CHECK_EQ(buf[2], 4);
    CHECK_EQ(buf[5], 0x02);
    u8 gesn_async[12] = {0x4A, 0, 0, 0, 0x10, 0, 0, 0, 8};
    CHECK_EQ(atapi_pio(gesn_async, 0xFFFE, buf, sizeof(buf)), 0);
    CHECK_EQ(inb_(A_STATUS), 0x41);
    u8 prevent[12] = {0x1E, 0, 0, 0, 1};
    CHECK_EQ(atapi_pio(prevent, 0, buf, sizeof(buf)), 0);
    CHECK_EQ(inb_(A_STATUS), 0x40);
    u8 start_stop[12] = {0x1B, 0, 0, 0, 2};
    CHECK_EQ(atapi_pio(start_stop, 0, buf, sizeof(buf)), 0);
    CHECK_EQ(inb_(A_STATUS), 0x40);
}

TEST(atapi_no_disc_is_not_ready)
{
    setup(false);
    cd.size = 0;
    u8 tur[12] = {0x00};
    CHECK_EQ(atapi_pio(tur, 0, buf, sizeof(buf)), 0);
    CHECK_EQ(inb_(A_STATUS), 0x41);
    CHECK_EQ(inb_(A_ERROR), 0x20); /* NOT READY */
    u8 sense[12] = {0x03, 0, 0, 0, 18};
    CHECK_EQ(atapi_pio(sense, 0xFFFE, buf, sizeof(buf)), 18);
    CHECK_EQ(buf[12], 0x3A);
}

/* REP INSW/OUTSW through the bus's string path (the data register's fast
 * copy): a READ MULTIPLE of blocks of 4 and 2 sectors read in one call
 * that runs over the block boundary, then a WRITE SECTORS of 2 in one
 * call. Same data, interrupts and status as word by word. */
TEST(ide_string_pio_over_block_boundaries)
{
    setup(false);
    outb_(P_NSECT, 4);
    outb_(P_COMMAND, 0xC6); /* SET MULTIPLE MODE: 4 */
    CHECK_EQ(inb_(P_STATUS), 0x50); /* acknowledges its interrupt */
    unsigned edges = fake.edges[IDE_PRIMARY_GSI];
    ata_lba28(20, 6, 0xC4);
    bus_io_read_rep(&fake.bus, P_DATA, 2, buf, 6 * 256);
    /* the second block's INTRQ came while the first was still pending
     * (no status read between): still one edge, as word by word */
    CHECK_EQ(fake.edges[IDE_PRIMARY_GSI], edges + 1);
    CHECK(fake.level[IDE_PRIMARY_GSI]);
    CHECK_EQ(inb_(P_STATUS), 0x50);
    CHECK(matches_disk(buf, 20, 6));
    /* one word more than the transfer: the bus reads all ones, as one IN would */
    ata_lba28(7, 1, 0x20);
    u16 words[257];
    bus_io_read_rep(&fake.bus, P_DATA, 2, words, 257);
    CHECK(matches_disk((u8 *)words, 7, 1));
    CHECK_EQ(words[256], 0xFFFF);
    u8 data[2 * 512];
    for (unsigned i = 0; i < sizeof(data); i++)
        data[i] = (u8)(i * 7);
    ata_lba28(50, 2, 0x30);
    bus_io_write_rep(&fake.bus, P_DATA, 2, data, 2 * 256);
    CHECK_EQ(inb_(P_STATUS), 0x50);
    CHECK(memcmp(disk_image + 50 * 512, data, sizeof(data)) == 0);
}

/* ---------------- a backend disk (vmm/storage: a file on the boot disk) ---------------- */

/* The backend keeps its sectors in disk_image and counts what it was
 * asked. A request ends on the (busy_polls + 1)th poll after its submit;
 * only then does its data move (as the host disk's DMA would have by its
 * completion). fail_* make the requests fail as a device error would. */
static struct {
    unsigned reads, writes, flushes, polls;
    u64 sectors_written;
    bool fail_read, fail_write, fail_flush;
    unsigned busy_polls, busy_left;
    bool pending;
    enum ide_io_op op;
    u64 lba;
    u32 count;
    u8 *buf;
    enum ide_io_status last;
} be;

static bool be_submit(void *ctx, enum ide_io_op op, u64 lba, u32 count, void *buf)
{
    (void)ctx;
    if (be.pending)
        return false;
    op == IDE_IO_READ ? be.reads++ : op == IDE_IO_WRITE ? be.writes++ : be.flushes++;
    if (op != IDE_IO_FLUSH && (lba + count) * 512 > sizeof(disk_image))
        return false;
    be.pending = true;
    be.busy_left = be.busy_polls;
    be.op = op, be.lba = lba, be.count = count, be.buf = buf;
    return true;
}

static enum ide_io_status be_poll(void *ctx)
{
    (void)ctx;
    be.polls++;
    if (!be.pending)
        return be.last;
    if (be.busy_left) {
        be.busy_left--;
        return IDE_IO_PENDING;
    }
    be.pending = false;
    size_t bytes = (size_t)be.count * 512;
    if (be.op == IDE_IO_READ) {
        be.last = be.fail_read ? IDE_IO_FAILED : IDE_IO_DONE;
        if (!be.fail_read)
            memcpy(be.buf, disk_image + be.lba * 512, bytes);
    } else if (be.op == IDE_IO_WRITE) {
        be.last = be.fail_write ? IDE_IO_FAILED : IDE_IO_DONE;
        if (!be.fail_write) {
            memcpy(disk_image + be.lba * 512, be.buf, bytes);
            be.sectors_written += be.count;
        }
    } else {
        be.last = be.fail_flush ? IDE_IO_FAILED : IDE_IO_DONE;
    }
    return be.last;
}

static u8 bounce[IDE_BOUNCE_BYTES];
static const struct ide_backend backend = {be_submit, be_poll, NULL, bounce};

static void setup_backend(void)
{
    setup(false);
    memset(&be, 0, sizeof(be));
    be.last = IDE_IO_DONE;
    hd = (struct ide_disk){.data = NULL, .backend = &backend, .size = sizeof(disk_image)};
    strcpy(hd.model, "TEST DISK");
    ide_reset(&ide);
}

/* Lets the device's poll timer run until the request under way ended. */
static void settle(void)
{
    for (unsigned i = 0; i < 64 && (inb_(P_CTL) & 0x80); i++)
        fake_advance(IDE_POLL_MAX_NS);
}

TEST(ide_backend_pio_read_write_multiple)
{
    setup_backend();
    ata_lba28(7, 3, 0x20); /* READ SECTORS: three DRQ blocks, read ahead in one request */
    settle();
    CHECK_EQ(be.reads, 1);
    pio_read(P_DATA, buf, 512);
    CHECK_EQ(inb_(P_CTL), 0x58); /* the next block at once, from the bounce buffer */
    pio_read(P_DATA, buf + 512, 2 * 512);
    CHECK(matches_disk(buf, 7, 3));
    CHECK_EQ(be.reads, 1);
    CHECK_EQ(inb_(P_STATUS), 0x50);
    outb_(P_NSECT, 8);
    outb_(P_COMMAND, 0xC6); /* SET MULTIPLE 8 */
    u8 data[11 * 512];
    for (unsigned i = 0; i < sizeof(data); i++)
        data[i] = (u8)(i * 5 + 3);
    ata_lba48(100, 11, 0x39); /* WRITE MULTIPLE EXT: blocks of 8 and 3 */
    pio_write(P_DATA, data, 8 * 512);
    CHECK_EQ(be.writes, 1); /* the first block went to the backend before the next was asked for */
    settle();
    CHECK_EQ(inb_(P_STATUS), 0x58);
    pio_write(P_DATA, data + 8 * 512, 3 * 512);
    CHECK_EQ(be.writes, 2);
    settle();
    CHECK_EQ(inb_(P_STATUS), 0x50);
    CHECK(memcmp(disk_image + 100 * 512, data, sizeof(data)) == 0);
    CHECK(sector_is_pattern(99) && sector_is_pattern(111));
}

TEST(ide_backend_pio_read_past_the_bounce_buffer)
{
    /* READ MULTIPLE EXT of 200 sectors in blocks of 4: 64 KiB holds 32
     * blocks (128 sectors), then the rest (72 sectors) is read. */
    setup_backend();
    outb_(P_NSECT, 4);
    outb_(P_COMMAND, 0xC6);
    static u8 big[200 * 512];
    ata_lba48(500, 200, 0x29);
    unsigned got = 0;
    while (got < sizeof(big)) {
        settle();
        unsigned n = MIN(4u * 512, (unsigned)sizeof(big) - got);
        CHECK_EQ(inb_(P_CTL) & 0x88, 0x08);
        pio_read(P_DATA, big + got, n);
        got += n;
    }
    CHECK_EQ(be.reads, 2);
    CHECK(matches_disk(big, 500, 200));
    CHECK_EQ(inb_(P_STATUS), 0x50);
}

TEST(ide_backend_is_busy_until_the_backend_ends_the_request)
{
    /* As a drive: the command returns at once with BSY; the poll timer
     * finds the request ended, and only then DRQ (or the completion) and
     * INTRQ. A write is not reported done while the backend has it. */
    setup_backend();
    be.busy_polls = 3;
    unsigned edges = fake.edges[14];
    ata_lba28(9, 1, 0x20);
    CHECK_EQ(inb_(P_CTL), 0x80); /* BSY, nothing else valid */
    CHECK(!fake.level[14]);
    unsigned polls = be.polls; /* one look that the backend was free; nothing waited on it */
    CHECK_EQ(polls, 1);
    fake_advance(IDE_POLL_FIRST_NS - 1);
    CHECK_EQ(be.polls, polls);
    fake_advance(1);
    CHECK_EQ(be.polls, polls + 1); /* the first poll, then backing off */
    CHECK_EQ(inb_(P_CTL), 0x80);
    fake_advance(2 * IDE_POLL_FIRST_NS);
    CHECK_EQ(be.polls, polls + 2);
    settle();
    CHECK_EQ(be.polls, polls + 4);
    CHECK_EQ(inb_(P_CTL), 0x58); /* DRDY DSC DRQ */
    CHECK(fake.level[14]);
    CHECK_EQ(fake.edges[14], edges + 1);
    pio_read(P_DATA, buf, 512);
    CHECK(matches_disk(buf, 9, 1));
    CHECK_EQ(inb_(P_STATUS), 0x50);
    /* a DMA write: BSY until the backend has it, Interrupt in the bus master only then */
    for (unsigned i = 0; i < 1024; i++)
        fake.ram[0x8000 + i] = (u8)(i ^ 0x33);
    prd(0x1000, 0, 0x8000, 1024, true);
    bm_setup(0, 0x1000, false);
    ata_lba28(40, 2, 0xCA);
    bm_start(0, false);
    CHECK_EQ(inb_(P_CTL), 0x80);
    CHECK_EQ(inb_(BM + 2) & 0x05, 0x01); /* Active, no Interrupt */
    CHECK(sector_is_pattern(40)); /* the backend has not written it */
    fake_advance(IDE_POLL_FIRST_NS);
    CHECK_EQ(inb_(P_CTL), 0x80);
    settle();
    CHECK_EQ(inb_(BM + 2) & 0x05, 0x04);
    CHECK_EQ(inb_(P_STATUS), 0x50);
    CHECK(memcmp(disk_image + 40 * 512, fake.ram + 0x8000, 1024) == 0);
}

TEST(ide_backend_flush_waits_for_the_device_flush)
{
    setup_backend();
    be.busy_polls = 5;
    ata_lba28(0, 0, 0xEA); /* FLUSH CACHE EXT */
    CHECK_EQ(be.flushes, 1);
    for (unsigned i = 0; i < 5; i++) {
        fake_advance(IDE_POLL_MAX_NS);
        CHECK_EQ(inb_(P_CTL), 0x80); /* not done while the device flushes */
    }
    fake_advance(IDE_POLL_MAX_NS);
    CHECK_EQ(inb_(P_STATUS), 0x50);
}

TEST(ide_backend_reset_leaves_the_request_and_the_next_command_waits)
{
    /* SRST during a backend read: the device resets at once, but the host
     * disk may still be filling the bounce buffer, so the next command
     * waits (BSY) until that request has ended. */
    setup_backend();
    be.busy_polls = 4;
    ata_lba28(3, 1, 0x20);
    outb_(P_CTL, 0x04);
    outb_(P_CTL, 0x00);
    CHECK_EQ(inb_(P_STATUS) & 0x80, 0);
    be.busy_polls = 0;
    u8 data[512];
    memset(data, 0x77, sizeof(data));
    ata_lba28(60, 1, 0x30); /* WRITE SECTORS */
    CHECK_EQ(inb_(P_CTL), 0x80); /* waits for the old read */
    CHECK_EQ(be.writes, 0);
    settle();
    CHECK_EQ(inb_(P_CTL), 0x58); /* now it asks for the data */
    pio_write(P_DATA, data, 512);
    settle();
    CHECK_EQ(inb_(P_STATUS), 0x50);
    CHECK(memcmp(disk_image + 60 * 512, data, 512) == 0);
}

TEST(ide_backend_dma_in_pieces)
{
    /* 300 sectors (150 KiB): three pieces through the 64 KiB bounce buffer,
     * scattered over three PRD entries that do not line up with them. */
    setup_backend();
    prd(0x1000, 0, 0x10000, 0, false);      /* 64 KiB */
    prd(0x1000, 1, 0x30000, 0x2000, false); /* 8 KiB */
    prd(0x1000, 2, 0x40000, 0, false);      /* 64 KiB */
    prd(0x1000, 3, 0x60000, 14 * 1024, true); /* the last 14 KiB: 150 KiB in all */
    bm_setup(0, 0x1000, true);
    ata_lba48(1000, 300, 0x25);
    bm_start(0, true);
    settle();
    CHECK(memcmp(fake.ram + 0x10000, disk_image + 1000 * 512, 0x10000) == 0);
    CHECK(memcmp(fake.ram + 0x30000, disk_image + 1000 * 512 + 0x10000, 0x2000) == 0);
    CHECK(memcmp(fake.ram + 0x40000, disk_image + 1000 * 512 + 0x12000, 0x10000) == 0);
    CHECK(memcmp(fake.ram + 0x60000, disk_image + 1000 * 512 + 0x22000, 14 * 1024) == 0);
    CHECK_EQ(be.reads, 3);
    CHECK_EQ(inb_(BM + 2), 0x04); /* the table ended with the transfer */
    CHECK_EQ(inb_(P_STATUS), 0x50);
    /* and back: guest RAM to the backend, the same pieces */
    for (unsigned i = 0; i < 300 * 512; i++)
        fake.ram[0x10000 + i] = (u8)(i * 7);
    prd(0x1000, 0, 0x10000, 0, false);
    prd(0x1000, 1, 0x20000, 0, false);
    prd(0x1000, 2, 0x30000, 22 * 1024, true);
    bm_setup(0, 0x1000, false);
    ata_lba48(1200, 300, 0x35);
    bm_start(0, false);
    settle();
    CHECK_EQ(be.writes, 3);
    CHECK_EQ(be.sectors_written, 300);
    CHECK(memcmp(disk_image + 1200 * 512, fake.ram + 0x10000, 300 * 512) == 0);
    CHECK(sector_is_pattern(1199) && sector_is_pattern(1500));
    CHECK_EQ(inb_(P_STATUS), 0x50);
}

TEST(ide_backend_errors_reach_the_guest)
{
    setup_backend();
    be.fail_write = true;
    u8 data[512] = {1, 2, 3};
    ata_lba28(5, 1, 0x30);
    pio_write(P_DATA, data, 512);
    settle();
    CHECK_EQ(inb_(P_STATUS), 0x51); /* not done: ERR */
    CHECK_EQ(inb_(P_ERROR), 0x04);
    be.fail_write = false;
    be.fail_read = true;
    ata_lba28(5, 1, 0x20);
    settle();
    CHECK_EQ(inb_(P_STATUS), 0x51);
    CHECK_EQ(inb_(P_ERROR), 0x44); /* UNC, ABRT */
    /* DMA read failing in the backend: the device reports it, the bus master does not */
    prd(0x1000, 0, 0x2000, 512, true);
    bm_setup(0, 0x1000, true);
    ata_lba28(5, 1, 0xC8);
    bm_start(0, true);
    settle();
    CHECK_EQ(inb_(BM + 2) & 0x07, 0x04);
    CHECK_EQ(inb_(P_STATUS), 0x51);
    be.fail_read = false;
    /* a guest's flush is the backend's flush, and fails with it */
    ata_lba28(0, 0, 0xEA);
    settle();
    CHECK_EQ(be.flushes, 1);
    CHECK_EQ(inb_(P_STATUS), 0x50);
    be.fail_flush = true;
    ata_lba28(0, 0, 0xE7);
    settle();
    CHECK_EQ(be.flushes, 2);
    CHECK_EQ(inb_(P_STATUS), 0x51);
}
