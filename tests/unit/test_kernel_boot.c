/* unit-sources: vmm/kernel_boot.c vmm/bzimage.c vmm/multiboot.c vmm/elf.c guest-bios/tables.c vmm/string.c vmm/format.c */
/* Direct kernel boot: crafted Linux bzImages and Multiboot kernels (a.out
 * kludge, ELF32, ELF64) loaded into a fake guest RAM, read back as the
 * kernel and the BIOS read them, and every way an image can be refused. */
#include "unit.h"
#include "../../vmm/kernel_boot.h"
#include "../../vmm/bzimage.h"
#include "../../vmm/config.h"
#include "../../vmm/elf.h"
#include "../../vmm/multiboot.h"

#include <stdlib.h>

#define RAM_SIZE (64u << 20)
static u8 *ram;
static u64 writes_outside;

static bool write_ram(void *ctx, u64 gpa, const void *data, u64 len)
{
    (void)ctx;
    if (gpa >= RAM_SIZE || len > RAM_SIZE - gpa) {
        writes_outside++;
        return false;
    }
    if (data)
        memcpy(ram + gpa, data, len);
    else
        memset(ram + gpa, 0, len);
    return true;
}

static u16 rd16(u64 gpa) { u16 v; memcpy(&v, ram + gpa, 2); return v; }
static u32 rd32(u64 gpa) { u32 v; memcpy(&v, ram + gpa, 4); return v; }
static u64 rd64(u64 gpa) { u64 v; memcpy(&v, ram + gpa, 8); return v; }
static void wr16(u8 *p, u16 v) { memcpy(p, &v, 2); }
static void wr32(u8 *p, u32 v) { memcpy(p, &v, 4); }
static void wr64(u8 *p, u64 v) { memcpy(p, &v, 8); }

static struct e820_entry e820[BIOS_E820_MAX];
static struct kboot_config cfg;
static struct kboot_report rep;
static char why[512];

/* A fresh 64 MiB guest with the Zazen BIOS's memory map, RAM full of AAh
 * so that what the loader zeroes shows. */
static void setup(const u8 *kernel, u64 size, const char *cmdline)
{
    if (!ram)
        ram = malloc(RAM_SIZE);
    memset(ram, 0xaa, RAM_SIZE);
    writes_outside = 0;
    struct bios_platform p = {.ram_size = RAM_SIZE, .pci = true, .kernel_boot = true, .pm_base = 0xb000,
                              .sci_irq = 9, .ioapic_base = 0xfec00000, .lapic_base = 0xfee00000};
    memset(&cfg, 0, sizeof(cfg));
    cfg.kernel = (struct kboot_file){kernel, size, "vmlinuz", "kernel 'vmlinuz' (zazen.cfg:3)"};
    cfg.ramdisk = (struct kboot_file){NULL, 0, "initrd.gz", "ramdisk 'initrd.gz' (zazen.cfg:4)"};
    cfg.cmdline = cmdline;
    cfg.e820 = e820;
    cfg.e820_count = bios_e820_build(&p, e820);
    memset(why, 0, sizeof(why));
}

static bool load(void) { return kboot_load(&cfg, write_ram, NULL, &rep, why, sizeof(why)); }

/* The top of usable RAM: the Zazen BIOS keeps the last 64 KiB for ACPI. */
#define RAM_TOP (RAM_SIZE - BIOS_ACPI_SIZE)

/* ---- Linux bzImages ---- */

static u8 bz[64 * 1024];
#define BZ_KERNEL_BYTES (16 * 1024)

/* A bzImage of protocol `version`: setup_sects setup sectors (0 means 4),
 * then BZ_KERNEL_BYTES of protected-mode code filled with a pattern. */
static u64 make_bzimage(u16 version, u8 setup_sects)
{
    memset(bz, 0, sizeof(bz));
    unsigned sects = setup_sects ? setup_sects : 4;
    u64 setup = (sects + 1) * 512ull;
    bz[BZ_SETUP_SECTS] = setup_sects;
    wr32(bz + BZ_SYSSIZE, BZ_KERNEL_BYTES / 16);
    wr16(bz + BZ_BOOT_FLAG, 0xaa55);
    wr32(bz + BZ_HEADER, BZ_HDRS_MAGIC);
    wr16(bz + BZ_VERSION, version);
    bz[BZ_LOADFLAGS] = BZ_LOADED_HIGH;
    wr32(bz + BZ_INITRD_ADDR_MAX, 0x7fffffff);
    wr32(bz + BZ_CMDLINE_SIZE, 2047);
    wr32(bz + BZ_KERNEL_ALIGNMENT, 0x200000);
    bz[BZ_RELOCATABLE] = 1;
    wr64(bz + BZ_PREF_ADDRESS, 0x1000000);
    wr32(bz + BZ_INIT_SIZE, 0x800000);
    for (u64 i = 0; i < BZ_KERNEL_BYTES; i++)
        bz[setup + i] = (u8)(i * 7 + 1);
    bz[setup - 1] = 0x5e; /* the setup's last byte */
    return setup + BZ_KERNEL_BYTES;
}

static u8 initrd[3 * 4096 + 123];

TEST(linux_bzimage_modern)
{
    u64 size = make_bzimage(0x20f, 0);
    for (unsigned i = 0; i < sizeof(initrd); i++)
        initrd[i] = (u8)(i ^ 0x5a);
    setup(bz, size, "console=ttyS0 root=/dev/ram0");
    cfg.ramdisk.data = initrd;
    cfg.ramdisk.size = sizeof(initrd);
    CHECK(load());
    CHECK_EQ(writes_outside, 0);
    /* setup_sects 0 means 4: five sectors of real-mode code at 10000h */
    CHECK_EQ(ram[0x10000 + 5 * 512 - 1], 0x5e);
    CHECK_EQ(rd32(0x10000 + BZ_HEADER), BZ_HDRS_MAGIC);
    CHECK(memcmp(ram + 0x100000, bz + 5 * 512, BZ_KERNEL_BYTES) == 0);
    /* the fields a boot loader fills (boot.rst) */
    CHECK_EQ(ram[0x10000 + BZ_TYPE_OF_LOADER], 0xff);
    CHECK_EQ(ram[0x10000 + BZ_LOADFLAGS], BZ_LOADED_HIGH | BZ_CAN_USE_HEAP);
    CHECK_EQ(rd16(0x10000 + BZ_HEAP_END_PTR), 0xe000 - 0x200);
    CHECK_EQ(rd32(0x10000 + BZ_CMD_LINE_PTR), 0x1e000);
    CHECK_STR((const char *)ram + 0x1e000, "console=ttyS0 root=/dev/ram0");
    /* the initrd: page aligned, as high as it goes below the ACPI tables */
    u64 rd = (RAM_TOP - sizeof(initrd)) & ~0xfffull;
    CHECK_EQ(rd32(0x10000 + BZ_RAMDISK_IMAGE), rd);
    CHECK_EQ(rd32(0x10000 + BZ_RAMDISK_SIZE), sizeof(initrd));
    CHECK(memcmp(ram + rd, initrd, sizeof(initrd)) == 0);
    /* the hand-off block the BIOS reads */
    CHECK_EQ(rd32(KBOOT_HANDOFF_ADDR), KBOOT_MAGIC);
    CHECK_EQ(rd16(KBOOT_HANDOFF_ADDR + 4), KBOOT_LINUX);
    CHECK_EQ(rd16(KBOOT_HANDOFF_ADDR + 6), 0x1000);
    CHECK_EQ(rd16(KBOOT_HANDOFF_ADDR + 8), 0xe000);
    CHECK_EQ(rep.kind, KBOOT_LINUX);
    CHECK_EQ(rep.protocol, 0x20f);
    CHECK_EQ(rep.kernel_start, 0x100000);
    CHECK_EQ(rep.kernel_end, 0x100000 + BZ_KERNEL_BYTES);
    CHECK_EQ(rep.ramdisk_start, rd);
    CHECK_EQ(rep.ramdisk_end, rd + sizeof(initrd));
}

TEST(linux_initrd_below_initrd_addr_max)
{
    u64 size = make_bzimage(0x20f, 4);
    wr32(bz + BZ_INITRD_ADDR_MAX, 0x1ffffff); /* its last byte at or below 32 MiB */
    setup(bz, size, "");
    cfg.ramdisk.data = initrd;
    cfg.ramdisk.size = sizeof(initrd);
    CHECK(load());
    CHECK_EQ(rd32(0x10000 + BZ_RAMDISK_IMAGE), (0x2000000 - sizeof(initrd)) & ~0xfffull);
    /* without a ramdisk, both fields say so */
    setup(bz, size, "");
    CHECK(load());
    CHECK_EQ(rd32(0x10000 + BZ_RAMDISK_IMAGE), 0);
    CHECK_EQ(rd32(0x10000 + BZ_RAMDISK_SIZE), 0);
    CHECK_EQ(rep.ramdisk_end, 0);
}

TEST(linux_old_protocol_command_line)
{
    /* 2.01: setup at 90000h, heap to 9800h, the command line by magic and offset */
    u64 size = make_bzimage(0x201, 4);
    setup(bz, size, "quiet");
    CHECK(load());
    CHECK_EQ(rd32(0x90000 + BZ_HEADER), BZ_HDRS_MAGIC);
    CHECK_EQ(rd16(0x90000 + BZ_CMD_LINE_MAGIC), 0xa33f);
    CHECK_EQ(rd16(0x90000 + BZ_CMD_LINE_OFFSET), 0x9800);
    CHECK_EQ(rd16(0x90000 + BZ_SETUP_MOVE_SIZE), 0x9800 + 6);
    CHECK_EQ(rd16(0x90000 + BZ_HEAP_END_PTR), 0x9600);
    CHECK_STR((const char *)ram + 0x99800, "quiet");
    CHECK_EQ(rd32(0x90000 + BZ_CMD_LINE_PTR), 0); /* not a 2.01 field: as the image has it */
    CHECK_EQ(rd16(KBOOT_HANDOFF_ADDR + 6), 0x9000);
    CHECK_EQ(rd16(KBOOT_HANDOFF_ADDR + 8), 0x9800);
    /* 2.00 has no heap: CAN_USE_HEAP stays clear */
    size = make_bzimage(0x200, 4);
    setup(bz, size, "");
    CHECK(load());
    CHECK_EQ(ram[0x90000 + BZ_LOADFLAGS], BZ_LOADED_HIGH);
}

TEST(bzimage_parse_fields)
{
    struct bzimage b;
    u64 size = make_bzimage(0x20c, 2);
    CHECK(bzimage_parse(bz, size, &b, why, sizeof(why)));
    CHECK_EQ(b.version, 0x20c);
    CHECK_EQ(b.setup_sects, 2);
    CHECK_EQ(b.setup_size, 3 * 512);
    CHECK_EQ(b.kernel_size, BZ_KERNEL_BYTES);
    CHECK_EQ(b.initrd_addr_max, 0x7fffffff);
    CHECK_EQ(b.cmdline_size, 2047);
    CHECK(b.relocatable);
    CHECK_EQ(b.pref_address, 0x1000000);
    CHECK_EQ(b.init_size, 0x800000);
    /* a relocatable kernel moves to pref_address to decompress */
    CHECK_EQ(bzimage_footprint_end(&b, 0x100000), 0x1800000);
    /* before 2.10 neither field exists */
    size = make_bzimage(0x207, 2);
    CHECK(bzimage_parse(bz, size, &b, why, sizeof(why)));
    CHECK_EQ(b.pref_address, 0);
    CHECK_EQ(bzimage_footprint_end(&b, 0x100000), 0x100000 + BZ_KERNEL_BYTES);
    /* syssize counts 16-byte paragraphs rounded up: a file up to 15 bytes short is whole */
    CHECK(bzimage_parse(bz, size - 15, &b, why, sizeof(why)));
    CHECK(!bzimage_parse(bz, size - 16, &b, why, sizeof(why)));
}

#define CHECK_REFUSED(want)           \
    do {                              \
        CHECK(!load());               \
        CHECK_STR(why, want);         \
    } while (0)

TEST(linux_refused)
{
    u64 size = make_bzimage(0x20f, 4);
    setup(bz, size - 100, "");
    CHECK_REFUSED("kernel 'vmlinuz' (zazen.cfg:3): truncated: 18844 bytes, but its header says 18944 (2560 of setup, "
                  "16384 of kernel)");
    setup(bz, 1000, "");
    CHECK_REFUSED("kernel 'vmlinuz' (zazen.cfg:3): truncated: 1000 bytes, but its header says 18944 (2560 of setup, "
                  "16384 of kernel)");
    /* the magic is there but the version field is not (the fuzzer's find):
     * what lies past the end (here an old version) is never read */
    make_bzimage(0x105, 4);
    setup(bz, BZ_HEADER + 4, "");
    CHECK_REFUSED("kernel 'vmlinuz' (zazen.cfg:3): truncated: 518 bytes, shorter than its setup header");
    make_bzimage(0x20f, 4);
    wr16(bz + BZ_BOOT_FLAG, 0);
    setup(bz, size, "");
    CHECK_REFUSED("kernel 'vmlinuz' (zazen.cfg:3): not a Linux kernel: no AA55h boot flag at offset 1FEh");
    make_bzimage(0x20f, 4);
    bz[BZ_LOADFLAGS] = 0;
    setup(bz, size, "");
    CHECK_REFUSED("kernel 'vmlinuz' (zazen.cfg:3): a zImage (loadflags bit 0 clear): only bzImages are booted, at 1 MiB");
    make_bzimage(0x105, 4);
    setup(bz, size, "");
    CHECK_REFUSED("kernel 'vmlinuz' (zazen.cfg:3): Linux boot protocol 1.05: too old (a bzImage has 2.00 or later)");
    make_bzimage(0x20f, 80);
    setup(bz, sizeof(bz), "");
    CHECK_REFUSED("kernel 'vmlinuz' (zazen.cfg:3): 80 setup sectors: more than the 32 KiB of real-mode code the "
                  "protocol allows");
    make_bzimage(0x20f, 4);
    wr32(bz + BZ_CMDLINE_SIZE, 4);
    setup(bz, size, "quiet");
    CHECK_REFUSED("kernel 'vmlinuz' (zazen.cfg:3): the command line has 5 characters; this kernel takes 4");
    CHECK_EQ(rd32(KBOOT_HANDOFF_ADDR), 0xaaaaaaaa); /* refused: no hand-off for the BIOS */
}

TEST(linux_too_big_for_ram)
{
    /* 16 MiB + 60 MiB of init_size does not fit below 64 MiB */
    u64 size = make_bzimage(0x20f, 4);
    wr32(bz + BZ_INIT_SIZE, 60u << 20);
    setup(bz, size, "");
    CHECK_REFUSED("kernel 'vmlinuz' (zazen.cfg:3): too big for RAM: it needs RAM up to 76.0 MiB while it starts, and "
                  "the domain's usable RAM ends at 63.9 MiB");
    /* the kernel fits, its initrd does not: the ramdisk is named */
    make_bzimage(0x20f, 4);
    wr32(bz + BZ_INIT_SIZE, 40u << 20);
    setup(bz, size, "");
    static u8 big[8 << 20];
    cfg.ramdisk.data = big;
    cfg.ramdisk.size = sizeof(big);
    CHECK_REFUSED("ramdisk 'initrd.gz' (zazen.cfg:4): 8.0 MiB do not fit in RAM: 7.9 MiB are free between the kernel "
                  "(up to 0x3800000) and 0x3ff0000; give the domain more memory");
}

/* ---- Multiboot ---- */

static u8 mb[16 * 1024];

static void put_mb_header(u64 off, u32 flags)
{
    wr32(mb + off, MB_HEADER_MAGIC);
    wr32(mb + off + 4, flags);
    wr32(mb + off + 8, -(MB_HEADER_MAGIC + flags));
}

/* An a.out-kludge kernel: the header 64 bytes into a text that loads at
 * 200000h, the whole 8 KiB file, then 4 KiB of bss; entry at +100h. */
static u64 make_aout(u32 flags)
{
    memset(mb, 0, sizeof(mb));
    for (unsigned i = 0; i < 8192; i++)
        mb[i] = (u8)(i * 3 + 2);
    put_mb_header(64, flags | MB_FLAG_AOUT_KLUDGE);
    wr32(mb + 64 + 12, 0x200040); /* header_addr */
    wr32(mb + 64 + 16, 0x200000); /* load_addr */
    wr32(mb + 64 + 20, 0);        /* load_end_addr: the whole file */
    wr32(mb + 64 + 24, 0x203000); /* bss_end_addr */
    wr32(mb + 64 + 28, 0x200100); /* entry_addr */
    return 8192;
}

TEST(multiboot_aout_kludge)
{
    u64 size = make_aout(MB_FLAG_PAGE_ALIGN | MB_FLAG_MEMORY_INFO);
    static u8 module[5000];
    memset(module, 0x3c, sizeof(module));
    setup(mb, size, "console=com1 loglvl=all");
    cfg.kernel.name = "xen.gz";
    cfg.ramdisk.data = module;
    cfg.ramdisk.size = sizeof(module);
    cfg.ramdisk.name = "dom0.img";
    CHECK(load());
    CHECK_EQ(writes_outside, 0);
    CHECK(memcmp(ram + 0x200000, mb, 8192) == 0);
    CHECK_EQ(ram[0x202000], 0); /* bss zeroed up to bss_end_addr */
    CHECK_EQ(ram[0x202fff], 0);
    /* the hand-off: flat 32-bit entry with EAX = 2BADB002h, EBX = the info */
    CHECK_EQ(rd32(KBOOT_HANDOFF_ADDR), KBOOT_MAGIC);
    CHECK_EQ(rd16(KBOOT_HANDOFF_ADDR + 4), KBOOT_MULTIBOOT);
    CHECK_EQ(rd32(KBOOT_HANDOFF_ADDR + 12), 0x200100);
    CHECK_EQ(rd32(KBOOT_HANDOFF_ADDR + 16), MB_BOOT_MAGIC);
    CHECK_EQ(rd32(KBOOT_HANDOFF_ADDR + 20), KBOOT_INFO_ADDR);
    /* the information structure (spec 3.3) */
    u32 mbi = KBOOT_INFO_ADDR;
    CHECK_EQ(rd32(mbi), MBI_MEMORY | MBI_CMDLINE | MBI_MODS | MBI_MMAP | MBI_LOADER_NAME);
    CHECK_EQ(rd32(mbi + 4), 636);                           /* KiB below the EBDA */
    CHECK_EQ(rd32(mbi + 8), (RAM_TOP - 0x100000) >> 10);   /* KiB from 1 MiB to the ACPI tables */
    CHECK_STR((const char *)ram + rd32(mbi + 16), "xen.gz console=com1 loglvl=all");
    CHECK_STR((const char *)ram + rd32(mbi + 64), "Zazen");
    CHECK_EQ(rd32(mbi + 20), 1);
    u32 mod = rd32(mbi + 24);
    CHECK_EQ(rd32(mod), 0x203000); /* the page after the bss */
    CHECK_EQ(rd32(mod + 4), 0x203000 + sizeof(module));
    CHECK_STR((const char *)ram + rd32(mod + 8), "dom0.img");
    CHECK(memcmp(ram + 0x203000, module, sizeof(module)) == 0);
    /* the memory map: the BIOS's E820 entries, each with its size field */
    CHECK_EQ(rd32(mbi + 44), cfg.e820_count * 24);
    u32 map = rd32(mbi + 48);
    for (unsigned i = 0; i < cfg.e820_count; i++) {
        CHECK_EQ(rd32(map + i * 24), 20);
        CHECK_EQ(rd64(map + i * 24 + 4), e820[i].base);
        CHECK_EQ(rd64(map + i * 24 + 12), e820[i].length);
        CHECK_EQ(rd32(map + i * 24 + 20), e820[i].type);
    }
    /* everything stays inside the boot area */
    CHECK(map + cfg.e820_count * 24 <= KBOOT_AREA_END && mod + 16 <= KBOOT_AREA_END);
    CHECK_EQ(rep.kind, KBOOT_MULTIBOOT);
    CHECK(!rep.elf);
    CHECK_EQ(rep.kernel_start, 0x200000);
    CHECK_EQ(rep.kernel_end, 0x203000);
    CHECK_EQ(rep.entry, 0x200100);
}

/* The longest command line a config takes reaches the kernel whole, with
 * its module, inside the information area. */
TEST(multiboot_longest_cmdline)
{
    u64 size = make_aout(MB_FLAG_PAGE_ALIGN | MB_FLAG_MEMORY_INFO);
    static char cmdline[CONFIG_CMDLINE_MAX], name[CONFIG_FILE_MAX], want[CONFIG_FILE_MAX + CONFIG_CMDLINE_MAX];
    memset(cmdline, 'c', sizeof(cmdline) - 1);
    memset(name, 'k', sizeof(name) - 1);
    static u8 module[100];
    setup(mb, size, cmdline);
    cfg.kernel.name = name;
    cfg.ramdisk.data = module;
    cfg.ramdisk.size = sizeof(module);
    cfg.ramdisk.name = name;
    CHECK(load());
    u32 mbi = KBOOT_INFO_ADDR;
    snprintf(want, sizeof(want), "%s %s", name, cmdline);
    CHECK_EQ(strlen(want), sizeof(want) - 1);
    CHECK_STR((const char *)ram + rd32(mbi + 16), want);
    CHECK_STR((const char *)ram + rd32(rd32(mbi + 24) + 8), name);
}

/* A kernel in conventional memory, as kvm-unit-tests' realmode.flat
 * (8000h): it loads there, its module follows it, and the information
 * structure goes after the module instead of the boot area it covers;
 * the hand-off in the EBDA says where. */
TEST(multiboot_low_kernel)
{
    make_aout(0);
    wr32(mb + 64 + 12, 0x8040), wr32(mb + 64 + 16, 0x8000), wr32(mb + 64 + 24, 0xb000);
    wr32(mb + 64 + 28, 0x8100);
    static u8 module[5000];
    memset(module, 0x5a, sizeof(module));
    setup(mb, 8192, "");
    cfg.ramdisk.data = module;
    cfg.ramdisk.size = sizeof(module);
    cfg.ramdisk.name = "env";
    CHECK(load());
    CHECK_EQ(writes_outside, 0);
    CHECK(memcmp(ram + 0x8000, mb, 8192) == 0);
    CHECK(memcmp(ram + 0xb000, module, sizeof(module)) == 0);
    CHECK_EQ(rd32(KBOOT_HANDOFF_ADDR), KBOOT_MAGIC);
    CHECK_EQ(rd32(KBOOT_HANDOFF_ADDR + 12), 0x8100);
    CHECK_EQ(rd32(KBOOT_HANDOFF_ADDR + 20), 0xd000); /* the page after the module */
    CHECK_EQ(rd32(0xd000 + 20), 1);                  /* one module */
    CHECK_EQ(rd32(rd32(0xd000 + 24)), 0xb000);
    /* in the EBDA, past the BIOS information block */
    CHECK(KBOOT_HANDOFF_ADDR >= BIOS_INFO_ADDR + sizeof(struct bios_info) && KBOOT_HANDOFF_ADDR < BIOS_EBDA_BASE + 0x400);
}

TEST(multiboot_video_mode_gets_text_screen)
{
    u64 size = make_aout(MB_FLAG_VIDEO_MODE);
    setup(mb, size, "");
    CHECK(load());
    u32 mbi = KBOOT_INFO_ADDR;
    CHECK(rd32(mbi) & MBI_FRAMEBUFFER);
    CHECK(!(rd32(mbi) & MBI_MODS));
    CHECK_EQ(rd64(mbi + 88), 0xb8000);
    CHECK_EQ(rd32(mbi + 100), 80);
    CHECK_EQ(rd32(mbi + 104), 25);
    CHECK_EQ(ram[mbi + 109], 2); /* EGA text */
    CHECK_STR((const char *)ram + rd32(mbi + 16), "vmlinuz");
}

/* An ELF executable: two PT_LOAD segments of a higher-half kernel (virtual
 * C0000000h + physical), a PT_NOTE, the Multiboot header in the first
 * segment, the entry virtual. */
static u64 make_elf(bool is64)
{
    memset(mb, 0, sizeof(mb));
    u64 phoff = is64 ? 64 : 52, phsz = is64 ? 56 : 32;
    mb[0] = 0x7f, mb[1] = 'E', mb[2] = 'L', mb[3] = 'F';
    mb[4] = is64 ? 2 : 1;
    mb[5] = 1;
    mb[6] = 1;
    wr16(mb + 16, 2);              /* ET_EXEC */
    wr16(mb + 18, is64 ? 62 : 3); /* EM_X86_64, EM_386 */
    struct { u32 type; u64 off, vaddr, paddr, filesz, memsz; } ph[3] = {
        {1, 0x1000, 0xc0100000, 0x100000, 0x1000, 0x1000},
        {4, 0x300, 0, 0, 16, 16},
        {1, 0x2000, 0xc0110000, 0x110000, 0x800, 0x3000},
    };
    if (is64) {
        wr64(mb + 24, 0xc0100010);
        wr64(mb + 32, phoff);
        wr16(mb + 54, (u16)phsz);
        wr16(mb + 56, 3);
    } else {
        wr32(mb + 24, 0xc0100010);
        wr32(mb + 28, (u32)phoff);
        wr16(mb + 42, (u16)phsz);
        wr16(mb + 44, 3);
    }
    for (unsigned i = 0; i < 3; i++) {
        u8 *p = mb + phoff + i * phsz;
        wr32(p, ph[i].type);
        if (is64) {
            wr64(p + 8, ph[i].off), wr64(p + 16, ph[i].vaddr), wr64(p + 24, ph[i].paddr);
            wr64(p + 32, ph[i].filesz), wr64(p + 40, ph[i].memsz);
        } else {
            wr32(p + 4, (u32)ph[i].off), wr32(p + 8, (u32)ph[i].vaddr), wr32(p + 12, (u32)ph[i].paddr);
            wr32(p + 16, (u32)ph[i].filesz), wr32(p + 20, (u32)ph[i].memsz);
        }
    }
    for (unsigned i = 0x1000; i < 0x2800; i++)
        mb[i] = (u8)(i + 9);
    put_mb_header(0x1000, MB_FLAG_PAGE_ALIGN | MB_FLAG_MEMORY_INFO);
    return 0x2800;
}

TEST(multiboot_elf32_and_elf64)
{
    for (int is64 = 0; is64 < 2; is64++) {
        u64 size = make_elf(is64);
        setup(mb, size, "");
        CHECK(load());
        CHECK(memcmp(ram + 0x100000, mb + 0x1000, 0x1000) == 0);
        CHECK(memcmp(ram + 0x110000, mb + 0x2000, 0x800) == 0);
        CHECK_EQ(ram[0x110800], 0); /* the second segment's bss */
        CHECK_EQ(ram[0x112fff], 0);
        CHECK_EQ(ram[0x101000], 0xaa); /* between the segments: untouched */
        /* the virtual entry moved to where its segment was loaded */
        CHECK_EQ(rd32(KBOOT_HANDOFF_ADDR + 12), 0x100010);
        CHECK(rep.elf);
        CHECK_EQ(rep.kernel_start, 0x100000);
        CHECK_EQ(rep.kernel_end, 0x113000);
    }
}

TEST(multiboot_header_search)
{
    struct multiboot_header h;
    make_aout(0);
    CHECK(multiboot_find_header(mb, 8192, &h));
    CHECK_EQ(h.offset, 64);
    CHECK_EQ(h.load_addr, 0x200000);
    /* a wrong checksum is no header; nor is one past the first 8 KiB, or unaligned */
    wr32(mb + 64 + 8, 0);
    CHECK(!multiboot_find_header(mb, 8192, &h));
    memset(mb, 0, sizeof(mb));
    put_mb_header(8192, 0);
    CHECK(!multiboot_find_header(mb, sizeof(mb), &h));
    memset(mb, 0, sizeof(mb));
    put_mb_header(8180, 0); /* the last place where it lies wholly in the first 8 KiB */
    CHECK(multiboot_find_header(mb, sizeof(mb), &h));
    memset(mb, 0, sizeof(mb));
    put_mb_header(8184, 0);
    CHECK(!multiboot_find_header(mb, sizeof(mb), &h));
    memset(mb, 0, sizeof(mb));
    put_mb_header(66, 0);
    CHECK(!multiboot_find_header(mb, sizeof(mb), &h));
}

TEST(multiboot_refused)
{
    memset(mb, 0x90, sizeof(mb));
    setup(mb, sizeof(mb), "");
    CHECK_REFUSED("kernel 'vmlinuz' (zazen.cfg:3): neither a Linux bzImage (no 'HdrS' boot protocol header at offset "
                  "202h) nor a Multiboot kernel (no Multiboot header in its first 8 KiB)");
    make_aout(1u << 3);
    setup(mb, 8192, "");
    CHECK_REFUSED("kernel 'vmlinuz' (zazen.cfg:3): its Multiboot header requires features Zazen does not know (flags "
                  "bits 0x8)");
    /* the a.out addresses promise more than the file has */
    make_aout(0);
    wr32(mb + 64 + 20, 0x204000);
    setup(mb, 8192, "");
    CHECK_REFUSED("kernel 'vmlinuz' (zazen.cfg:3): truncated: 8192 bytes, but its Multiboot header loads 16384 from "
                  "offset 0");
    /* loading below 7000h would overwrite the BIOS's data and stack */
    make_aout(0);
    wr32(mb + 64 + 12, 0x1040), wr32(mb + 64 + 16, 0x1000), wr32(mb + 64 + 24, 0);
    wr32(mb + 64 + 28, 0x1100);
    setup(mb, 8192, "");
    CHECK_REFUSED("kernel 'vmlinuz' (zazen.cfg:3): it loads at 0x1000-0x3000, outside the domain's RAM (0x7000-0x9f000 "
                  "and 0x100000-0x3ff0000)");
    /* ...and into the EBDA */
    make_aout(0);
    wr32(mb + 64 + 12, 0x9e040), wr32(mb + 64 + 16, 0x9e000), wr32(mb + 64 + 24, 0);
    wr32(mb + 64 + 28, 0x9e100);
    setup(mb, 8192, "");
    CHECK_REFUSED("kernel 'vmlinuz' (zazen.cfg:3): it loads at 0x9e000-0xa0000, outside the domain's RAM "
                  "(0x7000-0x9f000 and 0x100000-0x3ff0000)");
    make_aout(0);
    wr32(mb + 64 + 24, 0x8000000); /* 128 MiB of bss */
    setup(mb, 8192, "");
    CHECK_REFUSED("kernel 'vmlinuz' (zazen.cfg:3): it loads at 0x200000-0x8000000, outside the domain's RAM "
                  "(0x7000-0x9f000 and 0x100000-0x3ff0000): too big for RAM");
    make_aout(0);
    wr32(mb + 64 + 28, 0x100000);
    setup(mb, 8192, "");
    CHECK_REFUSED("kernel 'vmlinuz' (zazen.cfg:3): entry point 0x100000 is outside what it loads (0x200000-0x203000)");
    /* ELF cut short: the second segment's bytes are missing */
    u64 size = make_elf(false);
    setup(mb, size - 1, "");
    CHECK_REFUSED("kernel 'vmlinuz' (zazen.cfg:3): ELF truncated: segment 2 (2048 bytes at offset 8192) ends past its "
                  "10239 bytes");
    make_elf(false);
    wr16(mb + 16, 3); /* ET_DYN */
    setup(mb, size, "");
    CHECK_REFUSED("kernel 'vmlinuz' (zazen.cfg:3): ELF type 3: not an executable (ET_EXEC)");
    /* the module does not fit after the kernel */
    make_aout(0);
    setup(mb, 8192, "");
    static u8 big[62 << 20];
    cfg.ramdisk.data = big;
    cfg.ramdisk.size = sizeof(big);
    CHECK_REFUSED("ramdisk 'initrd.gz' (zazen.cfg:4): 62.0 MiB do not fit in RAM after the kernel (from 0x203000 to "
                  "0x3ff0000); give the domain more memory");
    CHECK_EQ(writes_outside, 0);
}
