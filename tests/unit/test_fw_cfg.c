/* unit-sources: devmodel/fw_cfg.c devmodel/bus.c devmodel/clock.c */
/* The QEMU fw_cfg device: signature and ID through the data port, the
 * file directory, reads past an item's end, and the DMA interface
 * (QEMU docs/specs/fw_cfg.rst). */
#include "unit.h"
#include "dm_fake.h"
#include "../../devmodel/fw_cfg.h"

static struct fw_cfg cfg;

static void setup(void) { CHECK(fw_cfg_init(&cfg, fake_env_reset())); }

static void select_key(u16 key) { io_out(0x510, 2, key); }

static void read_bytes(void *buf, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        ((u8 *)buf)[i] = inb_(0x511);
}

static u32 be32(const u8 *p) { return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | p[3]; }

static void put_be32(u8 *p, u32 v)
{
    p[0] = (u8)(v >> 24);
    p[1] = (u8)(v >> 16);
    p[2] = (u8)(v >> 8);
    p[3] = (u8)v;
}

/* A FWCfgDmaAccess at `at` in fake RAM, started as SeaBIOS does: one
 * 32-bit OUT of the big-endian low half to 518h. Returns the control word
 * the device left there. */
static u32 dma(u32 at, u32 control, u32 length, u32 address)
{
    put_be32(fake.ram + at, control);
    put_be32(fake.ram + at + 4, length);
    put_be32(fake.ram + at + 8, 0);
    put_be32(fake.ram + at + 12, address);
    u8 be[4];
    put_be32(be, at);
    u32 le;
    memcpy(&le, be, 4);
    io_out(0x518, 4, le);
    return be32(fake.ram + at);
}

TEST(fw_cfg_signature_and_id)
{
    setup();
    char sig[5] = {0};
    read_bytes(sig, 4); /* selector 0 after reset */
    CHECK_STR(sig, "QEMU");
    CHECK_EQ(inb_(0x511), 0); /* past the end */
    select_key(FW_CFG_ID);
    u8 id[4];
    read_bytes(id, 4);
    CHECK_EQ(id[0], FW_CFG_VERSION | FW_CFG_VERSION_DMA);
    select_key(FW_CFG_SIGNATURE); /* selecting again starts from offset 0 */
    CHECK_EQ(inb_(0x511), 'Q');
    select_key(0x1234); /* no such item: zeros */
    CHECK_EQ(inb_(0x511), 0);
}

TEST(fw_cfg_dma_register_reads_the_signature)
{
    setup();
    /* "QEMU CFG" big-endian: the bytes at 514h.. are 'Q' 'E' 'M' 'U' ' ' 'C' 'F' 'G' */
    CHECK_EQ(inb_(0x514), 'Q');
    CHECK_EQ(inb_(0x51B), 'G');
    CHECK_EQ(io_in(0x518, 4), 0x47464320u); /* " CFG" as a little-endian dword */
}

TEST(fw_cfg_legacy_items_and_files)
{
    setup();
    static const u16 cpus = 1;
    static const char order[] = "/pci@i0cf8/*@1,1/drive@0/disk@0\n";
    static const u8 e820[20] = {0};
    CHECK(fw_cfg_add(&cfg, FW_CFG_NB_CPUS, &cpus, 2));
    CHECK(!fw_cfg_add(&cfg, FW_CFG_NB_CPUS, &cpus, 2)); /* taken */
    CHECK(fw_cfg_add_file(&cfg, "bootorder", order, sizeof(order) - 1));
    CHECK(fw_cfg_add_file(&cfg, "etc/e820", e820, sizeof(e820)));
    CHECK(!fw_cfg_add_file(&cfg, "etc/e820", e820, sizeof(e820)));
    CHECK(!fw_cfg_add_file(&cfg, "a-name-that-is-far-too-long-for-the-fifty-six-byte-field-x", e820, 1));

    select_key(FW_CFG_NB_CPUS);
    u16 n;
    read_bytes(&n, 2);
    CHECK_EQ(n, 1);

    select_key(FW_CFG_FILE_DIR);
    u8 count[4];
    read_bytes(count, 4);
    CHECK_EQ(be32(count), 2u);
    u8 entry[64];
    read_bytes(entry, 64);
    CHECK_EQ(be32(entry), sizeof(order) - 1);
    CHECK_EQ(entry[4] << 8 | entry[5], 0x20);
    CHECK_STR((char *)entry + 8, "bootorder");
    read_bytes(entry, 64);
    CHECK_EQ(be32(entry), 20u);
    CHECK_EQ(entry[4] << 8 | entry[5], 0x21);
    CHECK_STR((char *)entry + 8, "etc/e820");
    CHECK_EQ(inb_(0x511), 0); /* the directory ends there */

    select_key(0x20);
    char text[sizeof(order)] = {0};
    read_bytes(text, sizeof(order) - 1);
    CHECK_STR(text, order);
}

TEST(fw_cfg_dma_select_read_skip)
{
    setup();
    static const u8 blob[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    CHECK(fw_cfg_add_file(&cfg, "etc/blob", blob, sizeof(blob)));
    memset(fake.ram + 0x2000, 0xAA, 32);
    /* select 20h and read 4 bytes */
    CHECK_EQ(dma(0x1000, 0x20u << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_READ, 4, 0x2000), 0u);
    CHECK_EQ(fake.ram[0x2000], 1);
    CHECK_EQ(fake.ram[0x2003], 4);
    CHECK_EQ(fake.ram[0x2004], 0xAA);
    /* skip 2, then read the rest and past the end: zeros */
    CHECK_EQ(dma(0x1000, FW_CFG_DMA_SKIP, 2, 0), 0u);
    CHECK_EQ(dma(0x1000, FW_CFG_DMA_READ, 8, 0x2010), 0u);
    CHECK_EQ(fake.ram[0x2010], 7);
    CHECK_EQ(fake.ram[0x2013], 10);
    CHECK_EQ(fake.ram[0x2014], 0);
    CHECK_EQ(fake.ram[0x2017], 0);
    /* the data port goes on from the same offset */
    CHECK_EQ(inb_(0x511), 0);
    select_key(0x20);
    CHECK_EQ(inb_(0x511), 1);
}

TEST(fw_cfg_dma_errors)
{
    setup();
    static const u8 blob[4] = {1, 2, 3, 4};
    CHECK(fw_cfg_add_file(&cfg, "etc/blob", blob, sizeof(blob)));
    /* a target outside guest RAM */
    CHECK_EQ(dma(0x1000, 0x20u << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_READ, 4, 0xFFFFF000u), FW_CFG_DMA_ERROR);
    /* nothing is writable */
    CHECK_EQ(dma(0x1000, 0x20u << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_WRITE, 4, 0x2000), FW_CFG_DMA_ERROR);
    CHECK_EQ(blob[0], 1);
    /* a 64-bit address: high half first, then the low half starts it */
    u8 be[4];
    put_be32(be, 1);
    u32 le;
    memcpy(&le, be, 4);
    io_out(0x514, 4, le); /* 1_0000_1000h: not RAM, the access cannot even be read */
    put_be32(fake.ram + 0x1000, FW_CFG_DMA_READ);
    put_be32(be, 0x1000);
    memcpy(&le, be, 4);
    io_out(0x518, 4, le);
    CHECK_EQ(be32(fake.ram + 0x1000), FW_CFG_DMA_READ); /* untouched */
    /* the high half was used once: the next low write alone is below 4 GiB */
    CHECK_EQ(dma(0x1000, 0x20u << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_READ, 4, 0x2000), 0u);
    CHECK_EQ(fake.ram[0x2000], 1);
}

TEST(fw_cfg_reset_selects_the_signature)
{
    setup();
    select_key(FW_CFG_ID);
    fw_cfg_reset(&cfg);
    CHECK_EQ(inb_(0x511), 'Q');
}
