/* unit-sources: vmm/fw_cfg_content.c guest-bios/tables.c devmodel/fw_cfg.c devmodel/bus.c devmodel/clock.c vmm/string.c */
/* What a domain hands firmware through fw_cfg: the ACPI tables' linker/
 * loader script is carried out here the way SeaBIOS's romfile_loader
 * does (allocate, add pointers, fix checksums), and the tables it leaves
 * are read back as an OS reads them. */
#include "unit.h"
#include "../../vmm/acpi_layout.h"
#include "../../vmm/fw_cfg_content.h"
#include <stdlib.h>

static struct fw_cfg_content content;

static const struct bios_platform pc = {
    .ram_size = 256u << 20, .pci = true, .pm_base = 0xb000, .sci_irq = 9,
    .ioapic_base = 0xfec00000, .lapic_base = 0xfee00000,
};

static u64 le(const u8 *p, unsigned n)
{
    u64 v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (u64)p[i] << (8 * i);
    return v;
}

/* Where the loader put each blob: a fake RAM of 1 MiB at TABLES_AT. */
#define TABLES_AT 0x7f00000u
#define RSDP_AT 0xf5a00u
static u8 tables[BIOS_ACPI_SIZE], rsdp[36];

static u8 *blob(const char *name, u64 *addr)
{
    if (strcmp(name, "etc/acpi/tables") == 0) {
        *addr = TABLES_AT;
        return tables;
    }
    *addr = RSDP_AT;
    return strcmp(name, "etc/acpi/rsdp") == 0 ? rsdp : NULL;
}

/* SeaBIOS's romfile_loader_execute, for the commands we emit. False: a
 * command it would refuse. */
static bool run_loader(void)
{
    memcpy(tables, content.acpi, content.acpi_size);
    memcpy(rsdp, content.rsdp, sizeof(rsdp));
    for (u32 at = 0; at < content.loader_size; at += FW_CFG_LOADER_ENTRY) {
        const u8 *e = content.loader + at;
        u64 addr;
        switch (le(e, 4)) {
        case LOADER_ALLOCATE:
            if (!blob((const char *)e + 4, &addr) || (le(e + 60, 4) != 64 && le(e + 60, 4) != 16))
                return false;
            break;
        case LOADER_ADD_POINTER: {
            u64 src;
            u8 *dest = blob((const char *)e + 4, &addr);
            if (!dest || !blob((const char *)e + 60, &src))
                return false;
            u32 off = (u32)le(e + 116, 4);
            u8 size = e[120];
            u64 v = le(dest + off, size) + src;
            for (unsigned i = 0; i < size; i++)
                dest[off + i] = (u8)(v >> (8 * i));
            break;
        }
        case LOADER_ADD_CHECKSUM: {
            u8 *data = blob((const char *)e + 4, &addr);
            if (!data)
                return false;
            u32 off = (u32)le(e + 60, 4), start = (u32)le(e + 64, 4), len = (u32)le(e + 68, 4);
            data[off] = (u8)(data[off] - acpi_byte_sum(data + start, len));
            break;
        }
        default:
            return false;
        }
    }
    return true;
}

/* The table at a guest address the loader produced, if it is in the blob
 * and its checksum holds. */
static const u8 *table_at(u64 addr)
{
    if (addr < TABLES_AT || addr >= TABLES_AT + content.acpi_size)
        return NULL;
    const u8 *t = tables + (addr - TABLES_AT);
    return acpi_byte_sum(t, (size_t)le(t + 4, 4)) == 0 ? t : NULL;
}

TEST(fw_cfg_acpi_tables_are_relinked_by_the_loader)
{
    struct fw_cfg_boot_disk boot[] = {{0, 0}, {1, 0}};
    CHECK(fw_cfg_content_build(&content, &pc, 1, boot, 2));
    CHECK(run_loader());
    CHECK(memcmp(rsdp, "RSD PTR ", 8) == 0);
    CHECK_EQ(acpi_byte_sum(rsdp, 20), 0);
    CHECK_EQ(acpi_byte_sum(rsdp, 36), 0);
    const u8 *rsdt = table_at(le(rsdp + 16, 4));
    const u8 *xsdt = table_at(le(rsdp + 24, 8));
    CHECK(rsdt && xsdt);
    CHECK(memcmp(rsdt, "RSDT", 4) == 0);
    CHECK(memcmp(xsdt, "XSDT", 4) == 0);
    unsigned n = (unsigned)(le(rsdt + 4, 4) - 36) / 4;
    CHECK_EQ(n, 2u); /* FADT and MADT on the PCI PC */
    CHECK_EQ((le(xsdt + 4, 4) - 36) / 8, n);
    bool fadt_seen = false;
    for (unsigned i = 0; i < n; i++) {
        const u8 *t = table_at(le(rsdt + 36 + 4 * i, 4));
        CHECK(t);
        CHECK_EQ(le(xsdt + 36 + 8 * i, 8), le(rsdt + 36 + 4 * i, 4));
        if (memcmp(t, "FACP", 4) != 0)
            continue;
        fadt_seen = true;
        const u8 *facs = tables + (le(t + 36, 4) - TABLES_AT);
        CHECK(memcmp(facs, "FACS", 4) == 0);
        CHECK_EQ(le(t + 36, 4) % 64, 0u); /* the FACS is 64-byte aligned */
        const u8 *dsdt = table_at(le(t + 40, 4));
        CHECK(dsdt && memcmp(dsdt, "DSDT", 4) == 0);
        CHECK_EQ(le(t + 132, 8), le(t + 36, 4));
        CHECK_EQ(le(t + 140, 8), le(t + 40, 4));
        CHECK_EQ(le(t + 76, 4), 0xb008u); /* PM timer block: hardware, untouched */
    }
    CHECK(fadt_seen);
}

TEST(fw_cfg_items_for_seabios)
{
    struct fw_cfg_boot_disk boot[] = {{1, 0}, {0, 0}};
    CHECK(fw_cfg_content_build(&content, &pc, 1, boot, 2));
    CHECK_STR(content.bootorder, "/pci@i0cf8/ide@1,1/drive@1/disk@0\n/pci@i0cf8/ide@1,1/drive@0/disk@0\n");
    CHECK_EQ(content.e820[0].base, 0u);
    CHECK_EQ(content.e820[0].length, 256u << 20);
    CHECK_EQ(content.e820[0].type, (u32)E820_RAM);
    CHECK_EQ(content.irq0_override, 1);
    CHECK_EQ(content.cpus, 1);
    CHECK_EQ(content.nographic, 1);

    static struct fw_cfg dev;
    static struct io_bus bus;
    static struct dm_clock clock;
    static struct dm_env env;
    bus_init(&bus);
    clock_init(&clock);
    env = (struct dm_env){&bus, &clock, NULL, NULL};
    CHECK(fw_cfg_init(&dev, &env));
    CHECK(fw_cfg_content_install(&content, &dev));
    CHECK_EQ(dev.file_count, 5u); /* etc/e820, bootorder, etc/acpi/tables, etc/acpi/rsdp, etc/table-loader */
    CHECK_STR((const char *)dev.dir + 4 + 4 * FW_CFG_FILE_ENTRY + 8, "etc/table-loader");
}

TEST(fw_cfg_isa_pc_has_no_bootorder_and_no_irq0_override)
{
    struct bios_platform isa = pc;
    isa.pci = false;
    CHECK(fw_cfg_content_build(&content, &isa, 1, NULL, 0));
    CHECK_STR(content.bootorder, "");
    CHECK_EQ(content.irq0_override, 0);
    CHECK(run_loader());
    const u8 *rsdt = table_at(le(rsdp + 16, 4));
    CHECK(rsdt);
    CHECK_EQ((le(rsdt + 4, 4) - 36) / 4, 1u); /* the FADT alone */
}
