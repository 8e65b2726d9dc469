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

static const struct bios_platform pc = {.ram_size = RAM, .pci = true, .pm_base = 0xb000, .sci_irq = 9,
                                       .ioapic_base = 0xfec00000, .lapic_base = 0xfee00000, .name = "web",
                                       .vcpus = 1, .cpu_vendor = "AuthenticAMD", .cpu_signature = 0x00a50f00,
                                       .cpu_features = 0x178bfbff, .cpu_mhz = 2733};

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

/* vcpus = 4: one enabled local APIC per vCPU, IDs and UIDs 0-3 in order. */
TEST(tables_madt_lists_each_vcpu)
{
    struct bios_platform smp = pc;
    smp.vcpus = 4;
    memset(ram, 0, sizeof(ram));
    bios_tables_build(&smp, write_ram, NULL);
    u64 m = find("APIC");
    CHECK(m != 0);
    CHECK(sum_ok(m, rd32(m + 4)));
    u64 e = m + 44, end = m + rd32(m + 4);
    unsigned lapics = 0, ioapics = 0;
    while (e < end) {
        u8 type = ram[e], len = ram[e + 1];
        CHECK(len >= 2);
        if (type == 0) {
            CHECK_EQ(ram[e + 2], lapics); /* ACPI processor UID */
            CHECK_EQ(ram[e + 3], lapics); /* APIC ID */
            CHECK_EQ(ram[e + 4] & 1, 1);  /* enabled */
            lapics++;
        }
        ioapics += type == 1;
        e += len;
    }
    CHECK_EQ(e, end);
    CHECK_EQ(lapics, 4);
    CHECK_EQ(ioapics, 1);
}

/* MP spec 1.4: the floating pointer in the EBDA's first KiB leads to a
 * configuration table with a processor entry per vCPU (the first the
 * BSP), the I/O APIC, and ISA IRQ0 on pin 2. */
TEST(tables_mp_table_lists_each_vcpu)
{
    struct bios_platform smp = pc;
    smp.vcpus = 3;
    memset(ram, 0, sizeof(ram));
    bios_tables_build(&smp, write_ram, NULL);
    u64 fp = 0;
    for (u64 a = 0x9f000; a < 0x9f400; a += 16)
        if (memcmp(ram + a, "_MP_", 4) == 0)
            fp = a;
    CHECK(fp != 0);
    CHECK(sum_ok(fp, 16));
    CHECK_EQ(ram[fp + 9], 4);
    u64 t = rd32(fp + 4);
    CHECK(memcmp(ram + t, "PCMP", 4) == 0);
    CHECK(sum_ok(t, rd16(t + 4)));
    CHECK_EQ(rd32(t + 36), 0xfee00000);
    u64 e = t + 44, end = t + rd16(t + 4);
    unsigned cpus = 0, bsps = 0, ioapics = 0, irq0_on_2 = 0, entries = 0;
    while (e < end) {
        u8 type = ram[e];
        entries++;
        if (type == 0) {
            CHECK_EQ(ram[e + 1], cpus);
            bsps += (ram[e + 3] & 2) != 0;
            cpus++;
            e += 20;
            continue;
        }
        ioapics += type == 2 && rd32(e + 4) == 0xfec00000;
        irq0_on_2 += type == 3 && ram[e + 1] == 0 && ram[e + 5] == 0 && ram[e + 7] == 2;
        e += 8;
    }
    CHECK_EQ(e, end);
    CHECK_EQ(entries, rd16(t + 34));
    CHECK_EQ(cpus, 3);
    CHECK_EQ(bsps, 1);
    CHECK_EQ(ioapics, 1);
    CHECK_EQ(irq0_on_2, 1);
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

/* Whether the DSDT at FACP's pointer holds these bytes. */
static bool dsdt_has(const u8 *bytes, size_t n)
{
    u64 dsdt = rd64(find("FACP") + 140);
    u32 len = rd32(dsdt + 4);
    for (u32 i = 36; i + n <= len; i++)
        if (memcmp(ram + dsdt + i, bytes, n) == 0)
            return true;
    return false;
}

TEST(tables_dsdt_describes_the_keyboard_controller_without_a_mouse)
{
    static const u8 pnp0303[] = {0x0c, 0x41, 0xd0, 0x03, 0x03}; /* DWordConst EisaId("PNP0303") */
    static const u8 pnp0f13[] = {0x0c, 0x41, 0xd0, 0x0f, 0x13}; /* EisaId("PNP0F13"): a PS/2 mouse */
    /* its _CRS: IO 60h and 64h, one port each, IRQ 1 */
    static const u8 crs[] = {0x47, 0x01, 0x60, 0x00, 0x60, 0x00, 0x01, 0x01, 0x47, 0x01, 0x64, 0x00,
                             0x64, 0x00, 0x01, 0x01, 0x22, 0x02, 0x00, 0x79, 0x00};
    struct bios_platform isa = pc;
    isa.pci = false;
    const struct bios_platform *with[] = {&pc, &isa};
    for (unsigned i = 0; i < 2; i++) {
        memset(ram, 0, sizeof(ram));
        bios_tables_build(with[i], write_ram, NULL);
        CHECK(dsdt_has(pnp0303, sizeof(pnp0303)));
        CHECK(dsdt_has((const u8 *)"KBD_", 4));
        CHECK(dsdt_has(crs, sizeof(crs)));
        CHECK(!dsdt_has(pnp0f13, sizeof(pnp0f13)));
        u64 dsdt = rd64(find("FACP") + 140);
        CHECK(sum_ok(dsdt, rd32(dsdt + 4)));
    }
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

/* Where an OS that does not look in the EBDA searches for the RSDP: 16-byte
 * boundaries of E0000h-FFFFFh (ACPI 6.4 5.2.5.1). */
TEST(tables_rsdp_also_in_the_f_segment)
{
    memset(ram, 0, sizeof(ram));
    bios_tables_build(&pc, write_ram, NULL);
    u64 found = 0;
    for (u64 a = 0xe0000; a < 0x100000 && !found; a += 16)
        if (memcmp(ram + a, "RSD PTR ", 8) == 0 && sum_ok(a, 20) && sum_ok(a, 36))
            found = a;
    CHECK(found >= 0xf0000);
    CHECK(memcmp(ram + found, ram + 0x9f010, 36) == 0);
}

/* The SMBIOS 2.8 entry point as dmidecode and Linux find it: "_SM_" on a
 * 16-byte boundary of F0000h-FFFFFh, both checksums, then the table. */
static u64 smbios_entry(void)
{
    for (u64 a = 0xf0000; a < 0x100000; a += 16)
        if (memcmp(ram + a, "_SM_", 4) == 0 && sum_ok(a, ram[a + 5]) && memcmp(ram + a + 0x10, "_DMI_", 5) == 0 &&
            sum_ok(a + 0x10, 0x0f))
            return a;
    return 0;
}

/* The structure of type `type` (the nth of it), walking the table as 6.1.3
 * says: the formatted area's length, then strings up to a double NUL. */
static u64 smbios_find(u8 type, unsigned nth)
{
    u64 ep = smbios_entry(), t = rd32(ep + 0x18), end = t + rd16(ep + 0x16);
    while (t < end) {
        if (ram[t] == type && nth-- == 0)
            return t;
        u64 s = t + ram[t + 1];
        while (ram[s] || ram[s + 1])
            s++;
        t = s + 2;
    }
    return 0;
}

/* String number n of the structure at t ("" for 0). */
static const char *smbios_string(u64 t, u8 n)
{
    const char *s = (const char *)ram + t + ram[t + 1];
    if (!n)
        return "";
    while (--n)
        s += strlen(s) + 1;
    return s;
}

TEST(tables_smbios_entry_point_and_table)
{
    memset(ram, 0, sizeof(ram));
    bios_tables_build(&pc, write_ram, NULL);
    u64 ep = smbios_entry();
    CHECK(ep >= 0xf0000);
    CHECK_EQ(ram[ep + 5], 0x1f);
    CHECK_EQ(ram[ep + 6], 2);
    CHECK_EQ(ram[ep + 7], 8);
    CHECK_EQ(ram[ep + 0x1e], 0x28);
    u32 table = rd32(ep + 0x18);
    u16 len = rd16(ep + 0x16);
    CHECK(table >= 0xf0000 && table + len <= 0x100000); /* in the reserved F segment */
    /* every structure in order, the count and the largest as the entry point says */
    static const u8 types[] = {0, 1, 3, 4, 16, 17, 19, 32, 127};
    u64 t = table;
    unsigned n = 0, largest = 0;
    while (t < table + len) {
        CHECK(n < sizeof(types));
        CHECK_EQ(ram[t], types[n]);
        CHECK_EQ(rd16(t + 2), n); /* handles 0, 1, 2, ... */
        u64 s = t + ram[t + 1];
        while (ram[s] || ram[s + 1])
            s++;
        s += 2;
        largest = s - t > largest ? (unsigned)(s - t) : largest;
        t = s;
        n++;
    }
    CHECK_EQ(t, table + len);
    CHECK_EQ(n, sizeof(types));
    CHECK_EQ(rd16(ep + 0x1c), n);
    CHECK_EQ(rd16(ep + 8), largest);
}

TEST(tables_smbios_describes_the_domain)
{
    memset(ram, 0, sizeof(ram));
    bios_tables_build(&pc, write_ram, NULL);
    u64 bios = smbios_find(0, 0), sys = smbios_find(1, 0), cpu = smbios_find(4, 0);
    CHECK_STR(smbios_string(bios, ram[bios + 4]), "Zazen");
    CHECK_EQ(rd16(bios + 6), 0xf000);
    CHECK(rd64(bios + 0x0a) & (1u << 7));  /* PCI supported */
    CHECK(ram[bios + 0x13] & (1u << 4));   /* a virtual machine */
    CHECK_STR(smbios_string(sys, ram[sys + 4]), "Zazen");
    CHECK_STR(smbios_string(sys, ram[sys + 5]), "Zazen virtual machine");
    CHECK_STR(smbios_string(sys, ram[sys + 7]), "web"); /* serial number: the domain */
    CHECK_EQ(ram[sys + 8 + 7] >> 4, 4);    /* a version 4 UUID */
    CHECK_STR(smbios_string(cpu, ram[cpu + 7]), "AuthenticAMD");
    CHECK_EQ(rd32(cpu + 8), 0x00a50f00);
    CHECK_EQ(rd16(cpu + 0x16), 2733);
    CHECK_EQ(ram[cpu + 0x23], 1);          /* cores */
    u64 dimm = smbios_find(17, 0), map = smbios_find(19, 0), array = smbios_find(16, 0);
    CHECK_EQ(rd16(dimm + 0x0c), RAM >> 20); /* MiB */
    CHECK_EQ(rd16(dimm + 4), rd16(array + 2));
    CHECK_EQ(rd32(array + 7), RAM >> 10);
    CHECK_EQ(rd32(map + 4), 0);
    CHECK_EQ(rd32(map + 8), (RAM >> 10) - 1);
    CHECK_EQ(rd16(map + 0x0c), rd16(array + 2));
    CHECK(smbios_find(127, 0) != 0);

    /* another domain: another UUID; no PCI: not claimed */
    u8 uuid[16];
    memcpy(uuid, ram + sys + 8, 16);
    struct bios_platform other = pc;
    other.name = "mail";
    other.pci = false;
    memset(ram, 0, sizeof(ram));
    bios_tables_build(&other, write_ram, NULL);
    sys = smbios_find(1, 0);
    CHECK(memcmp(uuid, ram + sys + 8, 16) != 0);
    CHECK_STR(smbios_string(sys, ram[sys + 7]), "mail");
    CHECK(!(rd64(smbios_find(0, 0) + 0x0a) & (1u << 7)));
}

TEST(tables_smbios_too_small_a_buffer_gives_nothing)
{
    u8 buf[64];
    unsigned count = 0, largest = 0;
    CHECK_EQ(bios_smbios_build(&pc, buf, sizeof(buf), &count, &largest), 0);
    u8 big[BIOS_FSEG_TABLES_SIZE];
    size_t len = bios_smbios_build(&pc, big, sizeof(big), &count, &largest);
    CHECK(len > 0 && len <= BIOS_FSEG_TABLES_SIZE - (BIOS_FSEG_SMBIOS_TABLE - BIOS_FSEG_TABLES));
    CHECK_EQ(count, 9);
}
