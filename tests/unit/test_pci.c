/* unit-sources: devmodel/pci.c devmodel/piix.c devmodel/ide.c devmodel/bus.c devmodel/clock.c */
/* PCI configuration mechanism #1, the generic function model, and the
 * i440FX/PIIX3 functions (host bridge, ISA bridge with PIRQ routers, IDE
 * with its movable bus-master BAR). */
#include "unit.h"
#include "dm_fake.h"
#include "../../devmodel/pci.h"
#include "../../devmodel/piix.h"

static struct pci_bus pci;
static struct piix piix;
static struct ide ide;
static u8 disk_image[64 * 512];
static struct ide_disk hd;

/* What the platform heard of PAM changes, in order. */
static struct {
    unsigned count;
    unsigned segment[64];
    enum pam_access access[64];
} pam_log;

static void pam_heard(void *ctx, unsigned segment, enum pam_access access)
{
    CHECK(ctx == &pam_log);
    if (pam_log.count < 64) {
        pam_log.segment[pam_log.count] = segment;
        pam_log.access[pam_log.count] = access;
    }
    pam_log.count++;
}

static void setup(void)
{
    struct dm_env *env = fake_env_reset();
    for (unsigned i = 0; i < sizeof(disk_image); i++)
        disk_image[i] = (u8)(i * 13 + i / 512);
    hd = (struct ide_disk){.data = disk_image, .size = sizeof(disk_image)};
    struct ide_disk *disks[4] = {&hd, NULL, NULL, NULL};
    pci_init(&pci, env);
    ide_init(&ide, env, disks);
    memset(&pam_log, 0, sizeof(pam_log));
    piix_init(&piix, env, &pci, &ide, pam_heard, &pam_log);
}

static u32 cfg_addr(u8 bus, u8 dev, u8 fn, u8 reg)
{
    return 0x80000000u | (u32)bus << 16 | (u32)dev << 11 | (u32)fn << 8 | (reg & 0xFC);
}

static u32 cfg_read(u8 dev, u8 fn, u8 reg, u8 size)
{
    io_out(0xCF8, 4, cfg_addr(0, dev, fn, reg));
    return io_in((u16)(0xCFC + (reg & 3)), size);
}

static void cfg_write(u8 dev, u8 fn, u8 reg, u8 size, u32 v)
{
    io_out(0xCF8, 4, cfg_addr(0, dev, fn, reg));
    io_out((u16)(0xCFC + (reg & 3)), size, v);
}

TEST(pci_config_address_register)
{
    setup();
    io_out(0xCF8, 4, 0x80001234);
    CHECK_EQ(io_in(0xCF8, 4), 0x80001234);
    io_out(0xCF8, 4, 0xFFFFFFFF); /* reserved 30:24 and 1:0 read 0 */
    CHECK_EQ(io_in(0xCF8, 4), 0x80FFFFFC);
    outb_(0xCF8, 0x00); /* not a dword: not CONFIG_ADDRESS */
    io_out(0xCF8, 2, 0);
    io_out(0xCFA, 2, 0);
    CHECK_EQ(io_in(0xCF8, 4), 0x80FFFFFC);
    CHECK_EQ(io_in(0xCF8, 2), 0xFFFF);
}

static u8 reset_control;
static u32 rc_read(void *dev, u16 port, u8 size)
{
    (void)dev;
    (void)port;
    (void)size;
    return reset_control;
}
static void rc_write(void *dev, u16 port, u8 size, u32 v)
{
    (void)dev;
    (void)port;
    (void)size;
    reset_control = (u8)v;
}

TEST(pci_leaves_0xcf9_to_the_reset_control_register)
{
    setup();
    CHECK(bus_claim_io(&fake.bus, 0xCF9, 1, 1, rc_read, rc_write, NULL, "rc"));
    io_out(0xCF8, 4, cfg_addr(0, 1, 0, 0));
    outb_(0xCF9, 0x02);
    CHECK_EQ(reset_control, 0x02);
    CHECK_EQ(inb_(0xCF9), 0x02);
    CHECK_EQ(io_in(0xCF8, 4), cfg_addr(0, 1, 0, 0));
    CHECK_EQ(io_in(0xCFC, 4), 0x70008086);
}

TEST(pci_reads_of_every_size)
{
    setup();
    CHECK_EQ(cfg_read(0, 0, 0x00, 4), 0x12378086);
    CHECK_EQ(cfg_read(0, 0, 0x00, 2), 0x8086);
    CHECK_EQ(cfg_read(0, 0, 0x02, 2), 0x1237);
    CHECK_EQ(cfg_read(0, 0, 0x00, 1), 0x86);
    CHECK_EQ(cfg_read(0, 0, 0x01, 1), 0x80);
    CHECK_EQ(cfg_read(0, 0, 0x02, 1), 0x37);
    CHECK_EQ(cfg_read(0, 0, 0x03, 1), 0x12);
    /* the register number's low bits come from the port */
    io_out(0xCF8, 4, cfg_addr(0, 1, 0, 0x00));
    CHECK_EQ(io_in(0xCFE, 2), 0x7000);
    CHECK_EQ(inb_(0xCFF), 0x70);
}

TEST(pci_absent_functions_read_all_ones)
{
    setup();
    CHECK_EQ(cfg_read(5, 0, 0x00, 4), 0xFFFFFFFF);
    CHECK_EQ(cfg_read(1, 2, 0x00, 2), 0xFFFF);
    CHECK_EQ(cfg_read(0, 1, 0x00, 1), 0xFF);
    io_out(0xCF8, 4, cfg_addr(1, 0, 0, 0)); /* bus 1: no bridges */
    CHECK_EQ(io_in(0xCFC, 4), 0xFFFFFFFF);
    io_out(0xCF8, 4, 0x00000000); /* enable clear */
    CHECK_EQ(io_in(0xCFC, 4), 0xFFFFFFFF);
    io_out(0xCFC, 4, 0); /* goes nowhere */
    CHECK_EQ(cfg_read(0, 0, 0x00, 4), 0x12378086);
}

TEST(pci_chipset_identity)
{
    setup();
    /* 00:00.0 host bridge */
    CHECK_EQ(cfg_read(0, 0, 0x08, 4) >> 8, 0x060000);
    CHECK_EQ(cfg_read(0, 0, 0x0E, 1), 0x00);
    /* 00:01.0 ISA bridge, multi-function */
    CHECK_EQ(cfg_read(1, 0, 0x00, 4), 0x70008086);
    CHECK_EQ(cfg_read(1, 0, 0x08, 4) >> 8, 0x060100);
    CHECK_EQ(cfg_read(1, 0, 0x0E, 1), 0x80);
    /* 00:01.1 IDE: legacy mode, bus master */
    CHECK_EQ(cfg_read(1, 1, 0x00, 4), 0x70108086);
    CHECK_EQ(cfg_read(1, 1, 0x08, 4) >> 8, 0x010180);
    CHECK_EQ(cfg_read(1, 1, 0x0E, 1), 0x00);
    CHECK_EQ(cfg_read(1, 1, 0x20, 4), 0x00000001);
    CHECK_EQ(cfg_read(1, 1, 0x10, 4), 0); /* no native-mode BARs */
}

TEST(pci_command_register_masks)
{
    setup();
    CHECK_EQ(cfg_read(1, 1, 0x04, 2), 0x0000);
    cfg_write(1, 1, 0x04, 2, 0xFFFF);
    CHECK_EQ(cfg_read(1, 1, 0x04, 2), 0x0005); /* only IOSE and BME */
    cfg_write(1, 1, 0x04, 1, 0x00);
    CHECK_EQ(cfg_read(1, 1, 0x04, 2), 0x0000);
    cfg_write(0, 0, 0x04, 2, 0x0000); /* the host bridge's are read-only */
    CHECK_EQ(cfg_read(0, 0, 0x04, 2), 0x0006);
    cfg_write(0, 0, 0x00, 4, 0); /* IDs are read-only */
    CHECK_EQ(cfg_read(0, 0, 0x00, 4), 0x12378086);
    cfg_write(1, 1, 0x3C, 1, 0x0E); /* interrupt line: scratch */
    CHECK_EQ(cfg_read(1, 1, 0x3C, 1), 0x0E);
}

static unsigned written_calls;
static u8 written_offset;
static unsigned written_size;
static void on_written(struct pci_function *f, u8 offset, unsigned size)
{
    (void)f;
    written_calls++;
    written_offset = offset;
    written_size = size;
}

TEST(pci_generic_function_masks_and_callback)
{
    static struct pci_function f;
    setup();
    pci_function_init(&f, 3, 0, 0x1234, 0x5678, 0x02, 0x00, 0x00, 0x01, 0);
    f.config_written = on_written;
    pci_config_set16(&f, PCI_STATUS, 0x2200); /* received master abort, DEVSEL medium */
    pci_config_writable32(&f, 0x40, 0x00FF00FF);
    CHECK(pci_add_function(&pci, &f));
    CHECK(!pci_add_function(&pci, &f)); /* taken */
    cfg_write(3, 0, 0x40, 4, 0x12345678);
    CHECK_EQ(cfg_read(3, 0, 0x40, 4), 0x00340078);
    CHECK_EQ(written_calls, 1);
    CHECK_EQ(written_offset, 0x40);
    CHECK_EQ(written_size, 4);
    cfg_write(3, 0, 0x42, 1, 0xAB);
    CHECK_EQ(written_offset, 0x42);
    CHECK_EQ(written_size, 1);
    CHECK_EQ(pci_config_read(&f, 0x40, 4), 0x00AB0078);
    /* status: write 1 to clear; 0 leaves it; read-only bits stay */
    cfg_write(3, 0, 0x06, 2, 0x0000);
    CHECK_EQ(cfg_read(3, 0, 0x06, 2), 0x2200);
    cfg_write(3, 0, 0x06, 2, 0xFFFF);
    CHECK_EQ(cfg_read(3, 0, 0x06, 2), 0x0200);
    /* a function 2 makes function 0 multi-function */
    static struct pci_function g;
    pci_function_init(&g, 3, 2, 0x1234, 0x5679, 0x02, 0x00, 0x00, 0x01, 0);
    CHECK_EQ(cfg_read(3, 0, 0x0E, 1), 0x00);
    CHECK(pci_add_function(&pci, &g));
    CHECK_EQ(cfg_read(3, 0, 0x0E, 1), 0x80);
    CHECK_EQ(cfg_read(3, 2, 0x00, 4), 0x56791234);
}

TEST(pci_ide_bar4_sizing_and_moving)
{
    setup();
    cfg_write(1, 1, 0x20, 4, 0xFFFFFFFF);
    CHECK_EQ(cfg_read(1, 1, 0x20, 4), 0xFFFFFFF1); /* 16 bytes of I/O, 32 address bits (SeaBIOS sizes all 32) */
    cfg_write(1, 1, 0x20, 4, 0xC000);
    CHECK_EQ(cfg_read(1, 1, 0x20, 4), 0xC001);
    CHECK_EQ(io_in(0xC004, 4), 0xFFFFFFFF); /* I/O space not enabled yet */
    cfg_write(1, 1, 0x04, 2, 0x0001);
    io_out(0xC004, 4, 0x00012340);
    CHECK_EQ(io_in(0xC004, 4), 0x00012340);
    /* move it */
    cfg_write(1, 1, 0x20, 4, 0xD010);
    CHECK_EQ(io_in(0xC004, 4), 0xFFFFFFFF);
    CHECK_EQ(io_in(0xD014, 4), 0x00012340);
    CHECK_EQ(ide.bm_base, 0xD010);
    /* disable I/O decoding */
    cfg_write(1, 1, 0x04, 2, 0x0000);
    CHECK_EQ(io_in(0xD014, 4), 0xFFFFFFFF);
    CHECK_EQ(ide.bm_base, 0);
    cfg_write(1, 1, 0x04, 2, 0x0001);
    CHECK_EQ(io_in(0xD014, 4), 0x00012340);
    /* a base no port address reaches: nothing decodes */
    cfg_write(1, 1, 0x20, 4, 0x1D010);
    CHECK_EQ(cfg_read(1, 1, 0x20, 4), 0x1D011);
    CHECK_EQ(ide.bm_base, 0);
    CHECK_EQ(io_in(0xD014, 4), 0xFFFFFFFF);
}

TEST(pci_ide_bus_master_enable_gates_dma)
{
    setup();
    cfg_write(1, 1, 0x20, 4, 0xC000);
    cfg_write(1, 1, 0x04, 2, 0x0001); /* I/O, no bus master */
    /* PRD: 512 bytes to 0x3000 */
    u32 table = 0x1000, addr = 0x3000;
    memcpy(fake.ram + table, &addr, 4);
    fake.ram[table + 4] = 0x00;
    fake.ram[table + 5] = 0x02;
    fake.ram[table + 7] = 0x80;
    io_out(0xC004, 4, table);
    outb_(0x1F2, 1);
    outb_(0x1F3, 4);
    outb_(0x1F4, 0);
    outb_(0x1F5, 0);
    outb_(0x1F6, 0xE0);
    outb_(0x1F7, 0xC8); /* READ DMA */
    outb_(0xC000, 0x09);
    CHECK_EQ(fake.ram[addr], 0);
    CHECK_EQ(inb_(0x3F6) & 0x08, 0x08);
    cfg_write(1, 1, 0x04, 2, 0x0005);
    CHECK(memcmp(fake.ram + addr, disk_image + 4 * 512, 512) == 0);
    CHECK_EQ(inb_(0xC002), 0x04);
    CHECK_EQ(inb_(0x1F7), 0x50);
}

TEST(pci_ide_timing_registers)
{
    setup();
    CHECK_EQ(cfg_read(1, 1, 0x40, 4), 0x80008000);
    cfg_write(1, 1, 0x40, 2, 0xA307);
    CHECK_EQ(cfg_read(1, 1, 0x40, 2), 0xA307);
    cfg_write(1, 1, 0x43, 1, 0xC0);
    CHECK_EQ(cfg_read(1, 1, 0x40, 4), 0xC000A307);
    cfg_write(1, 1, 0x44, 1, 0x33);
    CHECK_EQ(cfg_read(1, 1, 0x44, 1), 0x33);
}

TEST(pci_piix_pirq_routing)
{
    setup();
    CHECK_EQ(cfg_read(1, 0, 0x60, 4), 0x80808080);
    for (unsigned i = 0; i < 4; i++)
        CHECK_EQ(piix_pirq_route(&piix, i), 0x80);
    cfg_write(1, 0, 0x61, 1, 0x0B);
    CHECK_EQ(piix_pirq_route(&piix, 1), 0x0B);
    cfg_write(1, 0, 0x60, 4, 0x0A0B0C0D);
    CHECK_EQ(piix_pirq_route(&piix, 0), 0x0D);
    CHECK_EQ(piix_pirq_route(&piix, 3), 0x0A);
    cfg_write(1, 0, 0x62, 1, 0xFF); /* bits 6:4 are reserved */
    CHECK_EQ(piix_pirq_route(&piix, 2), 0x8F);
    CHECK_EQ(piix_pirq_route(&piix, 4), 0x80);
    piix_reset(&piix);
    CHECK_EQ(cfg_read(1, 0, 0x60, 4), 0x80808080);
}

TEST(pci_reset_restores_defaults_and_releases_bm_ports)
{
    setup();
    cfg_write(1, 1, 0x20, 4, 0xC000);
    cfg_write(1, 1, 0x04, 2, 0x0005);
    CHECK_EQ(ide.bm_base, 0xC000);
    cfg_write(0, 0, 0x59, 1, 0x30); /* PAM0 holds what firmware writes */
    CHECK_EQ(cfg_read(0, 0, 0x59, 1), 0x30);
    piix_reset(&piix);
    CHECK_EQ(ide.bm_base, 0);
    CHECK_EQ(io_in(0xC000, 1), 0xFF);
    CHECK_EQ(cfg_read(1, 1, 0x20, 4), 0x00000001);
    CHECK_EQ(cfg_read(0, 0, 0x59, 1), 0x00);
    CHECK_EQ(cfg_read(1, 0, 0x0E, 1), 0x80);
}

/* ---- the i440FX PAM registers (82441FX "PAM[6:0]") ---- */

TEST(pam_segments_cover_c0000_to_fffff)
{
    CHECK_EQ(pam_segment_base(PAM_BIOS_SEGMENT), 0xF0000);
    CHECK_EQ(pam_segment_size(PAM_BIOS_SEGMENT), 0x10000);
    for (unsigned s = 1; s < PAM_SEGMENTS; s++) {
        CHECK_EQ(pam_segment_base(s), 0xC0000 + (s - 1) * 0x4000);
        CHECK_EQ(pam_segment_size(s), 0x4000);
    }
    CHECK_EQ(pam_segment_base(12) + pam_segment_size(12), 0xF0000); /* EC000h-EFFFFh: PAM6 high */
}

TEST(pam_decode_low_and_high_nibbles)
{
    u8 regs[PAM_REGISTERS] = {0};
    regs[0] = 0x10;            /* PAM0 5:4 = RE: F segment read only */
    regs[1] = 0x21;            /* PAM1: C0000h RE, C4000h WE */
    regs[6] = 0x03;            /* PAM6: E8000h RE+WE, EC000h off */
    CHECK_EQ(pam_decode(regs, 0), PAM_READ_ONLY);
    CHECK_EQ(pam_decode(regs, 1), PAM_READ_ONLY);
    CHECK_EQ(pam_decode(regs, 2), PAM_WRITE_ONLY);
    CHECK_EQ(pam_decode(regs, 3), PAM_DISABLED);
    CHECK_EQ(pam_decode(regs, 11), PAM_READ_WRITE);
    CHECK_EQ(pam_decode(regs, 12), PAM_DISABLED);
    regs[0] = 0x0f; /* PAM0's low nibble is reserved: no segment */
    CHECK_EQ(pam_decode(regs, 0), PAM_DISABLED);
    CHECK_EQ(pam_decode(regs, PAM_SEGMENTS), PAM_DISABLED);
}

TEST(pam_registers_reset_to_zero_with_reserved_bits_read_only)
{
    setup();
    for (u8 r = 0x59; r <= 0x5F; r++)
        CHECK_EQ(cfg_read(0, 0, r, 1), 0x00);
    cfg_write(0, 0, 0x59, 1, 0xFF);
    CHECK_EQ(cfg_read(0, 0, 0x59, 1), 0x30); /* HIENABLE only */
    cfg_write(0, 0, 0x5A, 1, 0xFF);
    CHECK_EQ(cfg_read(0, 0, 0x5A, 1), 0x33); /* bits 7:6 and 3:2 reserved */
}

TEST(pam_write_reports_each_changed_segment)
{
    setup();
    CHECK_EQ(pam_log.count, 0u); /* every segment starts on PCI: nothing to say */
    cfg_write(0, 0, 0x59, 1, 0x30);
    CHECK_EQ(pam_log.count, 1u);
    CHECK_EQ(pam_log.segment[0], 0u);
    CHECK_EQ(pam_log.access[0], PAM_READ_WRITE);
    CHECK_EQ(piix_pam(&piix, 0), PAM_READ_WRITE);
    cfg_write(0, 0, 0x59, 1, 0x30); /* no change, no report */
    CHECK_EQ(pam_log.count, 1u);
    /* SeaBIOS's style: a dword write to 58h-5Bh sets PAM0-2 at once. */
    cfg_write(0, 0, 0x58, 4, 0x33331000);
    CHECK_EQ(pam_log.count, 6u); /* F segment to read only, C0000h-CFFFFh to read/write */
    CHECK_EQ(pam_log.segment[1], 0u);
    CHECK_EQ(pam_log.access[1], PAM_READ_ONLY);
    for (unsigned i = 2; i < 6; i++) {
        CHECK_EQ(pam_log.segment[i], i - 1);
        CHECK_EQ(pam_log.access[i], PAM_READ_WRITE);
    }
    cfg_write(0, 0, 0x5F, 1, 0x20); /* EC000h write only */
    CHECK_EQ(pam_log.segment[6], 12u);
    CHECK_EQ(pam_log.access[6], PAM_WRITE_ONLY);
    cfg_write(0, 0, 0x40, 4, 0xFFFFFFFF); /* other registers: nothing */
    CHECK_EQ(pam_log.count, 7u);
}

TEST(pam_reset_gives_every_segment_back_to_pci)
{
    setup();
    cfg_write(0, 0, 0x59, 1, 0x10);
    cfg_write(0, 0, 0x5E, 1, 0x33);
    unsigned before = pam_log.count;
    piix_reset(&piix);
    CHECK_EQ(pam_log.count, before + 3); /* F segment, E0000h, E4000h */
    for (unsigned s = 0; s < PAM_SEGMENTS; s++)
        CHECK_EQ(piix_pam(&piix, s), PAM_DISABLED);
    CHECK_EQ(cfg_read(0, 0, 0x59, 1), 0x00);
}
