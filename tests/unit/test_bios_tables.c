/* unit-sources: guest-bios/tables.c vmm/string.c */
/* The guest BIOS's platform tables, written into a fake guest RAM and read
 * back the way an OS reads them. */
#define _GNU_SOURCE
#include "unit.h"
#include "../../guest-bios/tables.h"

#define RAM (16u << 20)
static unsigned char ram[RAM];

static void write_ram(void *ctx, u64 gpa, const void *data, size_t len)
{
    (void)ctx;
    if (gpa + len <= RAM)
        memcpy(ram + gpa, data, len);
}

static u32 rd32(u64 gpa) { u32 v; memcpy(&v, ram + gpa, 4); return v; }
static u64 rd64(u64 gpa) { u64 v; memcpy(&v, ram + gpa, 8); return v; }
static u16 rd16(u64 gpa) { u16 v; memcpy(&v, ram + gpa, 2); return v; }

static const struct bios_platform pc = {.ram_size = RAM, .pci = true, .pm_base = 0xb000, .sci_irq = 9, .ioapic_base = 0xfec00000, .lapic_base = 0xfee00000};

static bool sum_ok(u64 gpa, size_t len) { return acpi_checksum(ram + gpa, len) == 0; }

/* Finds a table by signature through the XSDT. */
static u64 find(const char *sig)
{
    u64 xsdt = rd64(0x9f010 + 24);
    u32 n = (rd32(xsdt + 4) - 36) / 8;
    for (u32 i = 0; i < n; i++) {
        u64 t = rd64(xsdt + 36 + i * 8);
        if (memcmp(ram + t, sig, 4) == 0)
            return t;
    }
    return 0;
}

TEST(tables_rsdp_and_roots)
{
    memset(ram, 0, sizeof(ram));
    bios_tables_build(&pc, write_ram, NULL);
    CHECK(memcmp(ram + 0x9f010, "RSD PTR ", 8) == 0);
    CHECK(sum_ok(0x9f010, 20));
    CHECK(sum_ok(0x9f010, 36));
    CHECK_EQ(ram[0x9f010 + 15], 2); /* revision */
    CHECK_EQ(ram[0x9f000], 4);      /* EBDA size in KiB */
    u32 rsdt = rd32(0x9f010 + 16);
    u64 xsdt = rd64(0x9f010 + 24);
    CHECK(rsdt >= RAM - 0x10000 && rsdt < RAM);
    CHECK(sum_ok(rsdt, rd32(rsdt + 4)));
    CHECK(sum_ok(xsdt, rd32(xsdt + 4)));
    CHECK_EQ(rd32(xsdt + 4), 36 + 16); /* FADT and MADT */
}

TEST(tables_fadt)
{
    memset(ram, 0, sizeof(ram));
    bios_tables_build(&pc, write_ram, NULL);
    u64 f = find("FACP");
    CHECK(f != 0);
    CHECK_EQ(rd32(f + 4), 244);
    CHECK(sum_ok(f, 244));
    CHECK_EQ(rd16(f + 46), 9);          /* SCI */
    CHECK_EQ(rd32(f + 48), 0);          /* no SMI_CMD: ACPI mode from reset */
    CHECK_EQ(rd32(f + 56), 0xb000);     /* PM1a_EVT */
    CHECK_EQ(rd32(f + 64), 0xb004);     /* PM1a_CNT */
    CHECK_EQ(rd32(f + 76), 0xb008);     /* PM_TMR */
    CHECK_EQ(ram[f + 108], 0x32);       /* century */
    CHECK(rd32(f + 112) & (1u << 8));   /* 32-bit PM timer */
    CHECK(rd32(f + 112) & (1u << 10));  /* reset register supported */
    CHECK(!(rd32(f + 112) & (1u << 4))); /* a fixed-feature power button */
    CHECK(rd32(f + 112) & (1u << 5));   /* no sleep button */
    CHECK_EQ(rd64(f + 116 + 4), 0xcf9); /* RESET_REG address */
    CHECK_EQ(ram[f + 128], 6);
    u64 dsdt = rd64(f + 140);
    CHECK_EQ(rd32(f + 40), dsdt);
    CHECK(memcmp(ram + dsdt, "DSDT", 4) == 0);
    CHECK(sum_ok(dsdt, rd32(dsdt + 4)));
    static const u8 s5[] = {0x08, '\\', '_', 'S', '5', '_', 0x12, 0x06, 0x04, 0, 0, 0, 0};
    CHECK(memcmp(ram + dsdt + 36, s5, sizeof(s5)) == 0);
    u64 facs = rd64(f + 132);
    CHECK(memcmp(ram + facs, "FACS", 4) == 0);
    CHECK_EQ(facs, RAM - 0x10000); /* its own NVS page */
}

TEST(tables_madt)
{
    memset(ram, 0, sizeof(ram));
    bios_tables_build(&pc, write_ram, NULL);
    u64 m = find("APIC");
    CHECK(m != 0);
    CHECK(sum_ok(m, rd32(m + 4)));
    CHECK_EQ(rd32(m + 36), 0xfee00000);
    u64 e = m + 44, end = m + rd32(m + 4);
    int lapics = 0, ioapics = 0, irq0_to_2 = 0, sci_level = 0;
    while (e < end) {
        u8 type = ram[e], len = ram[e + 1];
        CHECK(len >= 2);
        if (type == 0 && (ram[e + 4] & 1))
            lapics++;
        if (type == 1 && rd32(e + 4) == 0xfec00000 && rd32(e + 8) == 0)
            ioapics++;
        if (type == 2 && ram[e + 3] == 0 && rd32(e + 4) == 2)
            irq0_to_2++;
        if (type == 2 && ram[e + 3] == 9 && rd32(e + 4) == 9 && rd16(e + 8) == 0x0d)
            sci_level++;
        e += len;
    }
    CHECK_EQ(e, end);
    CHECK_EQ(lapics, 1);
    CHECK_EQ(ioapics, 1);
    CHECK_EQ(irq0_to_2, 1);
    CHECK_EQ(sci_level, 1);
}

TEST(tables_isa_pc_describes_no_apics)
{
    struct bios_platform isa = pc;
    isa.pci = false;
    memset(ram, 0, sizeof(ram));
    bios_tables_build(&isa, write_ram, NULL);
    CHECK(find("FACP") != 0);
    CHECK_EQ(find("APIC"), 0);
    struct e820_entry e[BIOS_E820_MAX];
    unsigned n = bios_e820_build(&isa, e);
    for (unsigned i = 0; i < n; i++)
        CHECK(e[i].base != 0xfec00000);
}

TEST(tables_e820_covers_ram_in_order)
{
    struct e820_entry e[BIOS_E820_MAX];
    unsigned n = bios_e820_build(&pc, e);
    u64 ram_total = 0, prev_end = 0;
    for (unsigned i = 0; i < n; i++) {
        CHECK(e[i].base >= prev_end); /* sorted, no overlap */
        prev_end = e[i].base + e[i].length;
        if (e[i].type == E820_RAM)
            ram_total += e[i].length;
    }
    CHECK_EQ(e[0].base, 0);
    CHECK_EQ(e[0].length, 0x9f000);
    CHECK_EQ(ram_total, 0x9f000 + (RAM - 0x10000 - 0x100000));
    /* the info block the ROM reads carries the same map */
    memset(ram, 0, sizeof(ram));
    bios_tables_build(&pc, write_ram, NULL);
    CHECK_EQ(rd32(0x9f100), 0x4f49425a);
    CHECK_EQ(rd16(0x9f104), n);
    CHECK(memcmp(ram + 0x9f100 + 12, e, n * sizeof(e[0])) == 0);
}

TEST(tables_dsdt_describes_the_pci_root_bridge_on_the_pc_only)
{
    static const u8 pnp0a03[] = {0x0c, 0x41, 0xd0, 0x0a, 0x03}; /* DWordConst EisaId("PNP0A03") */
    memset(ram, 0, sizeof(ram));
    bios_tables_build(&pc, write_ram, NULL);
    u64 dsdt = rd64(find("FACP") + 140);
    u32 len = rd32(dsdt + 4);
    bool found = false;
    for (u32 i = 36; i + sizeof(pnp0a03) <= len; i++)
        found |= memcmp(ram + dsdt + i, pnp0a03, sizeof(pnp0a03)) == 0;
    CHECK(found);
    CHECK(memmem(ram + dsdt, len, "PCI0", 4) != NULL);
    CHECK(memmem(ram + dsdt, len, "_CRS", 4) != NULL);
    CHECK(sum_ok(dsdt, len));

    struct bios_platform isa = pc;
    isa.pci = false;
    memset(ram, 0, sizeof(ram));
    bios_tables_build(&isa, write_ram, NULL);
    dsdt = rd64(find("FACP") + 140);
    CHECK(memmem(ram + dsdt, rd32(dsdt + 4), "PCI0", 4) == NULL);
}

TEST(tables_info_flags)
{
    /* the ROM's INT 19h reads these: PCI services, boot order, direct kernel boot */
    struct bios_platform p = pc;
    bios_tables_build(&p, write_ram, NULL);
    CHECK_EQ(rd32(BIOS_INFO_ADDR), BIOS_INFO_MAGIC);
    CHECK_EQ(rd16(BIOS_INFO_ADDR + 6), BIOS_INFO_PCI);
    p.boot_cd_first = true;
    p.kernel_boot = true;
    bios_tables_build(&p, write_ram, NULL);
    CHECK_EQ(rd16(BIOS_INFO_ADDR + 6), BIOS_INFO_PCI | BIOS_INFO_BOOT_CD_FIRST | BIOS_INFO_KERNEL_BOOT);
}
