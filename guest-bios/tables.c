/* See tables.h. Table layouts: ACPI 6.4 sections 5.2.5 (RSDP), 5.2.6
 * (header), 5.2.7-5.2.8 (RSDT, XSDT), 5.2.9 (FADT), 5.2.10 (FACS), 5.2.11
 * (DSDT), 5.2.12 (MADT); E820: ACPI 6.4 ch. 15 ("System Address Map
 * Interfaces"); SMBIOS: DMTF DSP0134 2.8.0 (the entry point 5.2.1, the
 * structures 6.1 and 7.1-7.45). */
#include "tables.h"
#include "../vmm/acpi_layout.h"
#include "../vmm/string.h"

#define ACPI_OEM_ID "ZAZEN "
#define ACPI_OEM_TABLE_ID "ZAZENPC "

struct PACKED acpi_gas { /* Generic Address Structure (5.2.3.2) */
    u8 space_id;         /* 1: system I/O */
    u8 bit_width, bit_offset, access_size;
    u64 address;
};

struct PACKED acpi_fadt {
    struct acpi_header h;
    u32 firmware_ctrl, dsdt;
    u8 reserved0, preferred_pm_profile;
    u16 sci_int;
    u32 smi_cmd;
    u8 acpi_enable, acpi_disable, s4bios_req, pstate_cnt;
    u32 pm1a_evt_blk, pm1b_evt_blk, pm1a_cnt_blk, pm1b_cnt_blk, pm2_cnt_blk, pm_tmr_blk, gpe0_blk, gpe1_blk;
    u8 pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len, gpe0_blk_len, gpe1_blk_len, gpe1_base, cst_cnt;
    u16 p_lvl2_lat, p_lvl3_lat, flush_size, flush_stride;
    u8 duty_offset, duty_width, day_alrm, mon_alrm, century;
    u16 iapc_boot_arch;
    u8 reserved1;
    u32 flags;
    struct acpi_gas reset_reg;
    u8 reset_value;
    u8 reserved2[3];
    u64 x_firmware_ctrl, x_dsdt;
    struct acpi_gas x_pm1a_evt_blk, x_pm1b_evt_blk, x_pm1a_cnt_blk, x_pm1b_cnt_blk, x_pm2_cnt_blk, x_pm_tmr_blk,
        x_gpe0_blk, x_gpe1_blk;
};
_Static_assert(sizeof(struct acpi_fadt) == 244, "the ACPI 2.0 FADT is 244 bytes");

struct PACKED acpi_facs {
    char signature[4];
    u32 length;
    u32 hardware_signature, firmware_waking_vector, global_lock, flags;
    u64 x_firmware_waking_vector;
    u8 version;
    u8 reserved[31];
};
_Static_assert(sizeof(struct acpi_facs) == 64, "the FACS is 64 bytes");

/* FADT flags (Table 5.10) and IA-PC boot architecture flags (Table 5.11) */
#define FADT_WBINVD BIT(0)
#define FADT_PROC_C1 BIT(2)
#define FADT_SLP_BUTTON BIT(5) /* no fixed sleep button */
#define FADT_TMR_VAL_EXT BIT(8) /* 32-bit PM timer */
#define FADT_RESET_REG_SUP BIT(10)
#define BOOT_ARCH_LEGACY_DEVICES BIT(0)
#define BOOT_ARCH_8042 BIT(1)
#define BOOT_ARCH_NO_VGA BIT(2)
#define BOOT_ARCH_NO_CMOS_RTC BIT(5)
#define RESET_PORT 0xcf9
#define RESET_VALUE 0x06
#define CMOS_CENTURY 0x32

u8 acpi_checksum(const void *data, size_t len) { return (u8)-acpi_byte_sum(data, len); }

static void header(struct acpi_header *h, const char *sig, u32 length, u8 revision)
{
    memcpy(h->signature, sig, 4);
    h->length = length;
    h->revision = revision;
    memcpy(h->oem_id, ACPI_OEM_ID, 6);
    memcpy(h->oem_table_id, ACPI_OEM_TABLE_ID, 8);
    h->oem_revision = 1;
    memcpy(h->creator_id, "ZAZN", 4);
    h->creator_revision = 1;
    h->checksum = 0;
    h->checksum = acpi_checksum(h, length);
}

static struct acpi_gas io_gas(u16 port, u8 bits)
{
    return (struct acpi_gas){1, bits, 0, bits == 8 ? 1 : bits == 16 ? 2 : 3, port};
}

/* ---- E820 ---- */

unsigned bios_e820_build(const struct bios_platform *p, struct e820_entry *out)
{
    u64 acpi_base = p->ram_size - BIOS_ACPI_SIZE;
    unsigned n = 0;
    out[n++] = (struct e820_entry){0, BIOS_EBDA_BASE, E820_RAM};
    out[n++] = (struct e820_entry){BIOS_EBDA_BASE, 0xa0000 - BIOS_EBDA_BASE, E820_RESERVED};
    out[n++] = (struct e820_entry){0xf0000, 0x10000, E820_RESERVED}; /* the BIOS */
    out[n++] = (struct e820_entry){0x100000, acpi_base - 0x100000, E820_RAM};
    out[n++] = (struct e820_entry){acpi_base, PAGE_SIZE, E820_NVS};  /* the FACS */
    out[n++] = (struct e820_entry){acpi_base + PAGE_SIZE, BIOS_ACPI_SIZE - PAGE_SIZE, E820_ACPI};
    if (p->pci)
        out[n++] = (struct e820_entry){p->ioapic_base, PAGE_SIZE, E820_RESERVED};
    out[n++] = (struct e820_entry){p->lapic_base, PAGE_SIZE, E820_RESERVED};
    out[n++] = (struct e820_entry){0x100000000ull - BIOS_ROM_SIZE, BIOS_ROM_SIZE, E820_RESERVED};
    return n;
}

/* ---- ACPI ---- */

/* ---- AML (ACPI 6.4 ch. 20), written by hand: a few objects only ---- */

struct aml {
    u8 buf[1024];
    size_t len;
};

static void aml_bytes(struct aml *a, const void *data, size_t n)
{
    memcpy(a->buf + a->len, data, n);
    a->len += n;
}

static void aml_byte(struct aml *a, u8 b) { aml_bytes(a, &b, 1); }

static void aml_dword(struct aml *a, u32 v) { aml_bytes(a, &v, 4); }

/* PkgLength (20.2.4) for a body of n bytes that follows it: the length
 * counts its own encoding too. */
static void aml_pkglength(struct aml *a, size_t body)
{
    if (body + 1 < 0x40) {
        aml_byte(a, (u8)(body + 1));
    } else {
        size_t total = body + 2;
        aml_byte(a, (u8)(0x40 | (total & 0x0f)));
        aml_byte(a, (u8)(total >> 4));
    }
}

/* Name(NAME, Package(4) {0, 0, 0, 0}) for \_S5: sleep type 0 is soft-off on
 * a PIIX4-like PM block (devmodel/acpi_pm.h). */
static void aml_s5(struct aml *a)
{
    static const u8 s5[] = {0x08, '\\', '_', 'S', '5', '_', 0x12, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00};
    aml_bytes(a, s5, sizeof(s5));
}

/* A resource template (6.4) for the PCI root bridge's windows: bus 0-FFh,
 * the configuration ports CF8h-CFFh, I/O 0-CF7h and D00h-FFFFh, the VGA
 * window A0000h-BFFFFh, and memory from the end of RAM to below the I/O
 * APIC. */
static size_t pci_crs(u8 *out, u64 ram_size)
{
    struct aml a = {{0}, 0};
    static const u8 bus[] = {0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00,
                             0xff, 0x00, 0x00, 0x00, 0x00, 0x01};            /* WordBusNumber 0-FF */
    static const u8 cfg_io[] = {0x47, 0x01, 0xf8, 0x0c, 0xf8, 0x0c, 0x01, 0x08}; /* IO CF8h, 8 ports */
    static const u8 io_low[] = {0x88, 0x0d, 0x00, 0x01, 0x0c, 0x03, 0x00, 0x00, 0x00, 0x00,
                                0xf7, 0x0c, 0x00, 0x00, 0xf8, 0x0c};         /* WordIO 0-CF7h */
    static const u8 io_high[] = {0x88, 0x0d, 0x00, 0x01, 0x0c, 0x03, 0x00, 0x00, 0x00, 0x0d,
                                 0xff, 0xff, 0x00, 0x00, 0x00, 0xf3};        /* WordIO D00h-FFFFh */
    aml_bytes(&a, bus, sizeof(bus));
    aml_bytes(&a, cfg_io, sizeof(cfg_io));
    aml_bytes(&a, io_low, sizeof(io_low));
    aml_bytes(&a, io_high, sizeof(io_high));
    u32 windows[2][2] = {{0xa0000, 0xbffff}, {(u32)ALIGN_UP(ram_size, 0x10000000), 0xfebfffff}};
    for (unsigned i = 0; i < 2; i++) { /* DWordMemory, read-write, not cacheable */
        static const u8 head[] = {0x87, 0x17, 0x00, 0x00, 0x0c, 0x01};
        aml_bytes(&a, head, sizeof(head));
        aml_dword(&a, 0);                                  /* granularity */
        aml_dword(&a, windows[i][0]);                      /* minimum */
        aml_dword(&a, windows[i][1]);                      /* maximum */
        aml_dword(&a, 0);                                  /* translation */
        aml_dword(&a, windows[i][1] - windows[i][0] + 1);  /* length */
    }
    aml_byte(&a, 0x79); /* end tag, checksum 0 */
    aml_byte(&a, 0x00);
    memcpy(out, a.buf, a.len);
    return a.len;
}

/* Scope(\_SB) { Device(...) { dev } }: dev holds the device's name and
 * its objects. */
static void aml_sb_device(struct aml *a, const struct aml *dev)
{
    struct aml scope = {{0}, 0};
    aml_bytes(&scope, "\\_SB_", 5);
    aml_byte(&scope, 0x5b); /* DeviceOp */
    aml_byte(&scope, 0x82);
    aml_pkglength(&scope, dev->len);
    aml_bytes(&scope, dev->buf, dev->len);

    aml_byte(a, 0x10); /* ScopeOp */
    aml_pkglength(a, scope.len);
    aml_bytes(a, scope.buf, scope.len);
}

/* Scope(\_SB) { Device(PCI0) { Name(_HID, EisaId("PNP0A03")) Name(_UID, 0)
 * Name(_CRS, ResourceTemplate() {...}) } }: without a root bridge in the
 * namespace an ACPI OS does not scan PCI at all. The IDE function uses the
 * legacy ISA IRQs 14 and 15, so no _PRT is needed. */
static void aml_pci_root(struct aml *a, u64 ram_size)
{
    u8 crs[128];
    size_t crs_len = pci_crs(crs, ram_size);
    struct aml dev = {{0}, 0};
    static const u8 hid[] = {0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0a, 0x03}; /* EisaId("PNP0A03"): 030AD041h */
    static const u8 uid[] = {0x08, '_', 'U', 'I', 'D', 0x00};
    aml_bytes(&dev, "PCI0", 4);
    aml_bytes(&dev, hid, sizeof(hid));
    aml_bytes(&dev, uid, sizeof(uid));
    static const u8 crs_name[] = {0x08, '_', 'C', 'R', 'S', 0x11}; /* NameOp _CRS BufferOp */
    aml_bytes(&dev, crs_name, sizeof(crs_name));
    aml_pkglength(&dev, 2 + crs_len);
    aml_byte(&dev, 0x0a); /* BytePrefix: the buffer size */
    aml_byte(&dev, (u8)crs_len);
    aml_bytes(&dev, crs, crs_len);

    aml_sb_device(a, &dev);
}

/* Scope(\_SB) { Device(KBD_) { Name(_HID, EisaId("PNP0303"))
 * Name(_CRS, ResourceTemplate() { IO(Decode16, 0x60, 0x60, 1, 1)
 * IO(Decode16, 0x64, 0x64, 1, 1) IRQNoFlags() {1} }) } }: the 8042
 * (devmodel/kbc.c) with its keyboard port, and no PS/2 mouse device
 * (PNP0F13), as the controller has no aux port. An OS then finds the
 * controller in the namespace: Linux's i8042 takes the missing mouse
 * device as "AUX port disabled" and leaves the aux side alone. Without
 * the device it probes the ports itself, and its aux loopback test
 * (command D3h, which this controller drops, having no aux port) waits
 * out its 500 ms timeout: 58 M of a 6.6 G-tick boot to userspace on
 * Bochs (docs/exit-paths.md, "Whole-guest boot"). */
static void aml_kbd(struct aml *a)
{
    static const u8 hid[] = {0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x03, 0x03}; /* EisaId("PNP0303"): 0303D041h */
    static const u8 crs[] = {0x47, 0x01, 0x60, 0x00, 0x60, 0x00, 0x01, 0x01, /* IO 60h, 1 port (6.4.2.5) */
                             0x47, 0x01, 0x64, 0x00, 0x64, 0x00, 0x01, 0x01, /* IO 64h, 1 port */
                             0x22, 0x02, 0x00,                               /* IRQNoFlags {1} (6.4.2.1) */
                             0x79, 0x00};                                    /* end tag, checksum 0 */
    static const u8 crs_name[] = {0x08, '_', 'C', 'R', 'S', 0x11}; /* NameOp _CRS BufferOp */
    struct aml dev = {{0}, 0};
    aml_bytes(&dev, "KBD_", 4);
    aml_bytes(&dev, hid, sizeof(hid));
    aml_bytes(&dev, crs_name, sizeof(crs_name));
    aml_pkglength(&dev, 2 + sizeof(crs));
    aml_byte(&dev, 0x0a); /* BytePrefix: the buffer size */
    aml_byte(&dev, (u8)sizeof(crs));
    aml_bytes(&dev, crs, sizeof(crs));
    aml_sb_device(a, &dev);
}

struct acpi_area {
    u8 buf[BIOS_ACPI_SIZE];
    u64 base; /* guest-physical address of buf[0] */
    size_t used;
};

/* Reserves len bytes, 16-byte aligned, and returns their guest address. */
static u64 place(struct acpi_area *a, size_t len, void **ptr)
{
    a->used = ALIGN_UP(a->used, 16);
    *ptr = a->buf + a->used;
    u64 gpa = a->base + a->used;
    a->used += len;
    return gpa;
}

static u64 build_facs(struct acpi_area *a)
{
    struct acpi_facs *f;
    a->used = 0; /* first, on its own NVS page */
    u64 gpa = place(a, sizeof(*f), (void **)&f);
    memcpy(f->signature, "FACS", 4);
    f->length = sizeof(*f);
    f->version = 1;
    a->used = PAGE_SIZE; /* the rest lives in the ACPI reclaimable part */
    return gpa;
}

/* The DSDT describes \_S5, on the PCI PC the PCI root bridge, and, but
 * for PVH domains (no legacy devices), the keyboard controller. Nothing
 * else: no device that is not emulated. */
static u64 build_dsdt(struct acpi_area *a, const struct bios_platform *p)
{
    struct aml aml = {{0}, 0};
    aml_s5(&aml);
    if (p->pci)
        aml_pci_root(&aml, p->ram_size);
    if (!p->pvh)
        aml_kbd(&aml);
    struct acpi_header *h;
    size_t len = sizeof(*h) + aml.len;
    u64 gpa = place(a, len, (void **)&h);
    memcpy(h + 1, aml.buf, aml.len);
    header(h, "DSDT", (u32)len, 2);
    return gpa;
}

static u64 build_fadt(struct acpi_area *a, const struct bios_platform *p, u64 facs, u64 dsdt)
{
    struct acpi_fadt *f;
    u64 gpa = place(a, sizeof(*f), (void **)&f);
    f->firmware_ctrl = (u32)facs;
    f->dsdt = (u32)dsdt;
    f->sci_int = p->sci_irq;
    f->smi_cmd = 0; /* ACPI mode is on from reset: SCI_EN is set (acpi_pm.c) */
    f->pm1a_evt_blk = p->pm_base;
    f->pm1a_cnt_blk = p->pm_base + 4u;
    f->pm_tmr_blk = p->pm_base + 8u;
    f->pm1_evt_len = 4;
    f->pm1_cnt_len = 2;
    f->pm_tmr_len = 4;
    f->p_lvl2_lat = 101;  /* > 100: no C2 */
    f->p_lvl3_lat = 1001; /* > 1000: no C3 */
    f->century = CMOS_CENTURY;
    f->iapc_boot_arch = BOOT_ARCH_LEGACY_DEVICES | BOOT_ARCH_8042;
    if (p->pvh) /* as Xen's PVH tables: no ISA devices, no VGA, no CMOS clock (Xen libacpi) */
        f->iapc_boot_arch = BOOT_ARCH_NO_VGA | BOOT_ARCH_NO_CMOS_RTC;
    /* The power button is the fixed-feature one of the PM block
     * (PWRBTN_STS/EN, 4.8.2.2.1.1): PWR_BUTTON clear says so, and the
     * host's shutdown verb presses it. There is no sleep button. */
    f->flags = FADT_WBINVD | FADT_PROC_C1 | FADT_SLP_BUTTON | FADT_TMR_VAL_EXT | FADT_RESET_REG_SUP;
    f->reset_reg = io_gas(RESET_PORT, 8);
    f->reset_value = RESET_VALUE;
    f->x_firmware_ctrl = facs;
    f->x_dsdt = dsdt;
    f->x_pm1a_evt_blk = io_gas(p->pm_base, 32);
    f->x_pm1a_cnt_blk = io_gas(p->pm_base + 4u, 16);
    f->x_pm_tmr_blk = io_gas(p->pm_base + 8u, 32);
    header(&f->h, "FACP", sizeof(*f), 4);
    return gpa;
}

/* MADT (5.2.12): one processor local APIC per vCPU (ACPI processor UID
 * and APIC ID both the vCPU's number, enabled), the I/O APIC, ISA IRQ0 on
 * GSI 2, the SCI level-triggered active-high, LINT1 as NMI on all. */
#define MADT_LAPIC_ENTRY 8
static u64 build_madt(struct acpi_area *a, const struct bios_platform *p)
{
    static const u8 entries_template[] = {
        1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,     /* I/O APIC: ID 0, address (below), GSI base 0 */
        2, 10, 0, 0, 2, 0, 0, 0, 0, 0,           /* override: ISA IRQ0 -> GSI 2, conforming */
        2, 10, 0, 0, 0, 0, 0, 0, 0x0d, 0,        /* override: ISA IRQ(SCI) -> GSI, high, level */
        4, 6, 0xff, 0, 0, 1,                     /* local APIC NMI: all processors, LINT1 */
    };
    unsigned cpus = p->vcpus ? p->vcpus : 1;
    u8 *t;
    size_t lapics = cpus * MADT_LAPIC_ENTRY;
    size_t len = sizeof(struct acpi_header) + 8 + lapics + sizeof(entries_template);
    u64 gpa = place(a, len, (void **)&t);
    u8 *e = t + sizeof(struct acpi_header) + 8;
    u32 lapic = (u32)p->lapic_base, ioapic = (u32)p->ioapic_base, sci = p->sci_irq;
    memcpy(t + sizeof(struct acpi_header), &lapic, 4);
    u32 pcat_compat = 1; /* dual 8259s present */
    memcpy(t + sizeof(struct acpi_header) + 4, &pcat_compat, 4);
    for (unsigned i = 0; i < cpus; i++) {
        u8 entry[MADT_LAPIC_ENTRY] = {0, MADT_LAPIC_ENTRY, (u8)i, (u8)i, 1, 0, 0, 0};
        memcpy(e + i * MADT_LAPIC_ENTRY, entry, sizeof(entry));
    }
    e += lapics;
    memcpy(e, entries_template, sizeof(entries_template));
    memcpy(e + 4, &ioapic, 4);
    e[12 + 10 + 3] = (u8)sci;                /* source IRQ */
    memcpy(e + 12 + 10 + 4, &sci, 4);        /* GSI */
    if (p->pvh) { /* Xen's PVH MADT: the local APICs and their NMI, no I/O APIC, no 8259s */
        pcat_compat = 0;
        memcpy(t + sizeof(struct acpi_header) + 4, &pcat_compat, 4);
        memmove(e, e + 12 + 10 + 10, 6);
        len = sizeof(struct acpi_header) + 8 + lapics + 6;
    }
    header((struct acpi_header *)t, "APIC", (u32)len, 3);
    return gpa;
}

/* ---- MultiProcessor Specification 1.4 (chapter 4) ---- */

#define MP_IOAPIC_ID 0 /* as the MADT has it */
#define MP_BUS_PCI 0
#define MP_BUS_ISA 1

static void mp_entry(u8 **e, const u8 *bytes, size_t len)
{
    memcpy(*e, bytes, len);
    *e += len;
}

/* I/O interrupt assignment (4.3.4): ISA IRQ irq on I/O APIC pin pin. */
static void mp_io_interrupt(u8 **e, u8 type, u16 flags, u8 irq, u8 pin)
{
    u8 entry[8] = {3, type, (u8)flags, (u8)(flags >> 8), MP_BUS_ISA, irq, MP_IOAPIC_ID, pin};
    mp_entry(e, entry, sizeof(entry));
}

/* The configuration table (4.2, 4.3) in the ACPI area: a processor entry
 * per vCPU (APIC ID = its number, the first the BSP), the PCI and ISA
 * buses, the I/O APIC, the ISA IRQs on their pins as the MADT has them
 * (IRQ0 on pin 2, the SCI level-triggered active-high, the 8259s' ExtINT
 * on pin 0), and LINT0 ExtINT / LINT1 NMI on every local APIC; the
 * floating pointer (4.1) in the EBDA's first KiB. No IMCR: virtual wire
 * mode (feature byte 2 bit 7 clear). Older OSes read it; ACPI OSes read
 * the MADT. */
static void build_mptable(struct acpi_area *a, const struct bios_platform *p, bios_write_fn write, void *ctx)
{
    unsigned cpus = p->vcpus ? p->vcpus : 1;
    size_t len = 44 + cpus * 20 + 2 * 8 + 8 + 16 * 8 + 2 * 8;
    u8 *t;
    u64 gpa = place(a, len, (void **)&t);
    u8 *e = t + 44;
    for (unsigned i = 0; i < cpus; i++) {
        u8 cpu[20] = {0, (u8)i, 0x14, (u8)(1 | (i == 0 ? 2 : 0))}; /* enabled; BP */
        memcpy(cpu + 4, &p->cpu_signature, 4);
        memcpy(cpu + 8, &p->cpu_features, 4);
        mp_entry(&e, cpu, sizeof(cpu));
    }
    static const u8 buses[] = {1, MP_BUS_PCI, 'P', 'C', 'I', ' ', ' ', ' ', 1, MP_BUS_ISA, 'I', 'S', 'A', ' ', ' ', ' '};
    mp_entry(&e, buses, sizeof(buses));
    u8 ioapic[8] = {2, MP_IOAPIC_ID, 0x11, 1};
    u32 ioapic_base = (u32)p->ioapic_base;
    memcpy(ioapic + 4, &ioapic_base, 4);
    mp_entry(&e, ioapic, sizeof(ioapic));
    mp_io_interrupt(&e, 3, 0, 0, 0); /* ExtINT: the 8259s on pin 0 */
    for (u8 irq = 0; irq < 16; irq++) {
        if (irq == 2)
            continue; /* the cascade */
        u16 flags = irq == p->sci_irq ? 0x0d : 0; /* SCI: active high (01), level (11); else conforming */
        mp_io_interrupt(&e, 0, flags, irq, irq == 0 ? 2 : irq);
    }
    static const u8 lints[] = {4, 3, 0, 0, MP_BUS_ISA, 0, 0xff, 0,  /* ExtINT -> LINT0 of every local APIC */
                               4, 1, 0, 0, MP_BUS_ISA, 0, 0xff, 1}; /* NMI -> LINT1 of every local APIC */
    mp_entry(&e, lints, sizeof(lints));
    u16 count = (u16)(cpus + 2 + 1 + 16 + 2);
    u16 length = (u16)len;
    u32 lapic = (u32)p->lapic_base;
    memcpy(t, "PCMP", 4);
    memcpy(t + 4, &length, 2);
    t[6] = 4; /* spec revision 1.4 */
    memcpy(t + 8, "ZAZEN   ", 8);
    memcpy(t + 16, "Zazen VM    ", 12);
    memcpy(t + 34, &count, 2);
    memcpy(t + 36, &lapic, 4);
    t[7] = acpi_checksum(t, len);

    u8 fp[16] = {'_', 'M', 'P', '_'};
    u32 table = (u32)gpa;
    memcpy(fp + 4, &table, 4);
    fp[8] = 1; /* length in 16-byte paragraphs */
    fp[9] = 4; /* spec revision 1.4 */
    fp[10] = acpi_checksum(fp, sizeof(fp));
    write(ctx, BIOS_MP_FLOATING_ADDR, fp, sizeof(fp));
}

static u64 build_root(struct acpi_area *a, const char *sig, const u64 *tables, unsigned n, unsigned entry_size)
{
    u8 *t;
    size_t len = sizeof(struct acpi_header) + n * entry_size;
    u64 gpa = place(a, len, (void **)&t);
    for (unsigned i = 0; i < n; i++)
        memcpy(t + sizeof(struct acpi_header) + i * entry_size, &tables[i], entry_size);
    header((struct acpi_header *)t, sig, (u32)len, 1);
    return gpa;
}

static void build_rsdp(struct acpi_rsdp *r, u64 rsdt, u64 xsdt)
{
    memset(r, 0, sizeof(*r));
    memcpy(r->signature, "RSD PTR ", 8);
    memcpy(r->oem_id, ACPI_OEM_ID, 6);
    r->revision = 2;
    r->rsdt = (u32)rsdt;
    r->length = sizeof(*r);
    r->xsdt = xsdt;
    r->checksum = acpi_checksum(r, 20);
    r->extended_checksum = acpi_checksum(r, sizeof(*r));
}

/* ---- SMBIOS 2.8 ---- */

#define SMBIOS_VENDOR "Zazen"
#define SMBIOS_PRODUCT "Zazen virtual machine"
#define SMBIOS_VERSION "0.1"
#define SMBIOS_BIOS_DATE "11/26/2026" /* mm/dd/yyyy (7.1); the ROM's says 11/26/26 */

/* A structure being built: its formatted area, then its strings (6.1.3),
 * numbered from 1 in the order they are added; 0 is "no string". */
struct smbios_writer {
    u8 *out;
    size_t max, len;
    size_t start;         /* where the structure being built begins */
    u8 strings;           /* strings added to it so far */
    u16 handle;
    unsigned count, largest;
    bool overflow;
};

static void sm_bytes(struct smbios_writer *w, const void *data, size_t n)
{
    if (w->len + n > w->max) {
        w->overflow = true;
        return;
    }
    memcpy(w->out + w->len, data, n);
    w->len += n;
}

/* Begins a structure of the given type whose formatted area is `length`
 * bytes (zero-filled; the caller fills it with sm_set). */
static u16 sm_begin(struct smbios_writer *w, u8 type, u8 length)
{
    static const u8 zeros[0x40];
    w->start = w->len;
    w->strings = 0;
    sm_bytes(w, zeros, length);
    if (!w->overflow) {
        w->out[w->start] = type;
        w->out[w->start + 1] = length;
        memcpy(w->out + w->start + 2, &w->handle, 2);
    }
    return w->handle++;
}

static void sm_set(struct smbios_writer *w, size_t offset, const void *data, size_t n)
{
    if (!w->overflow)
        memcpy(w->out + w->start + offset, data, n);
}

static void sm_set8(struct smbios_writer *w, size_t offset, u8 v) { sm_set(w, offset, &v, 1); }
static void sm_set16(struct smbios_writer *w, size_t offset, u16 v) { sm_set(w, offset, &v, 2); }
static void sm_set32(struct smbios_writer *w, size_t offset, u32 v) { sm_set(w, offset, &v, 4); }
static void sm_set64(struct smbios_writer *w, size_t offset, u64 v) { sm_set(w, offset, &v, 8); }

/* Adds string s to the structure and puts its number at `offset`. */
static void sm_string(struct smbios_writer *w, size_t offset, const char *s)
{
    if (!s || !s[0])
        return; /* 0: none */
    sm_bytes(w, s, strlen(s) + 1);
    sm_set8(w, offset, ++w->strings);
}

/* Ends the structure: the string set ends with a second NUL; a structure
 * without strings has two (6.1.3). */
static void sm_end(struct smbios_writer *w)
{
    static const u8 nul[2];
    sm_bytes(w, nul, w->strings ? 1 : 2);
    if (!w->overflow) {
        w->count++;
        w->largest = MAX(w->largest, (unsigned)(w->len - w->start));
    }
}

/* Type 0 (7.1): the BIOS. */
static void smbios_bios(struct smbios_writer *w, const struct bios_platform *p)
{
    sm_begin(w, 0, 0x18);
    sm_string(w, 0x04, SMBIOS_VENDOR);
    sm_string(w, 0x05, SMBIOS_VERSION);
    sm_set16(w, 0x06, 0xf000);              /* starting segment */
    sm_string(w, 0x08, SMBIOS_BIOS_DATE);
    sm_set8(w, 0x09, 0);                    /* ROM size: 64 KiB * (n + 1) */
    /* characteristics (7.1.1): ISA, PCI, boot from CD, selectable boot,
     * El Torito, EDD, INT 13h 1.44 MB floppy, INT 5h print screen no,
     * INT 9h keyboard, INT 14h no, INT 10h CGA/mono video */
    u64 chars = BIT(4) | BIT(15) | BIT(16) | BIT(17) | BIT(19) | BIT(24) | BIT(26) | BIT(27);
    if (p->pci)
        chars |= BIT(7);
    sm_set64(w, 0x0a, chars);
    sm_set8(w, 0x12, BIT(0));               /* extension byte 1 (7.1.2.1): ACPI */
    sm_set8(w, 0x13, BIT(4));               /* extension byte 2 (7.1.2.2): a virtual machine */
    sm_set8(w, 0x14, 0);                    /* BIOS release 0.1 */
    sm_set8(w, 0x15, 1);
    sm_set8(w, 0x16, 0xff);                 /* no embedded controller */
    sm_set8(w, 0x17, 0xff);
    sm_end(w);
}

/* A UUID (7.2.1) that stays the same for a domain: its name, hashed (FNV-1a,
 * spread over 16 bytes), marked as an RFC 4122 version 4 (random) UUID. */
static void domain_uuid(const char *name, u8 uuid[16])
{
    u64 h = 0xcbf29ce484222325ull;
    for (unsigned i = 0; i < 16; i++) {
        for (const char *c = name ? name : ""; *c; c++)
            h = (h ^ (u8)*c) * 0x100000001b3ull;
        h = (h ^ i) * 0x100000001b3ull;
        uuid[i] = (u8)(h >> 32);
    }
    uuid[7] = (u8)((uuid[7] & 0x0f) | 0x40);   /* version 4: byte 7 of the SMBIOS order */
    uuid[8] = (u8)((uuid[8] & 0x3f) | 0x80);   /* variant 10b */
}

/* Type 1 (7.2): the system. */
static void smbios_system(struct smbios_writer *w, const struct bios_platform *p)
{
    u8 uuid[16];
    sm_begin(w, 1, 0x1b);
    sm_string(w, 0x04, SMBIOS_VENDOR);
    sm_string(w, 0x05, SMBIOS_PRODUCT);
    sm_string(w, 0x06, SMBIOS_VERSION);
    sm_string(w, 0x07, p->name);            /* serial number: the domain's name */
    domain_uuid(p->name, uuid);
    sm_set(w, 0x08, uuid, 16);
    sm_set8(w, 0x18, 0x06);                 /* woken by the power switch */
    sm_string(w, 0x1a, SMBIOS_VENDOR);      /* family */
    sm_end(w);
}

/* Type 3 (7.4): the enclosure, an "other" one with nothing in it. */
static void smbios_chassis(struct smbios_writer *w)
{
    sm_begin(w, 3, 0x16);
    sm_string(w, 0x04, SMBIOS_VENDOR);
    sm_set8(w, 0x05, 0x01);                 /* type: other */
    sm_string(w, 0x06, SMBIOS_VERSION);
    sm_set8(w, 0x09, 0x03);                 /* boot-up, power supply, thermal: safe */
    sm_set8(w, 0x0a, 0x03);
    sm_set8(w, 0x0b, 0x03);
    sm_set8(w, 0x0c, 0x03);                 /* security: none */
    sm_end(w);
}

/* Type 4 (7.5): the processor, one socket with the domain's vCPUs as cores. */
static void smbios_processor(struct smbios_writer *w, const struct bios_platform *p)
{
    sm_begin(w, 4, 0x2a);
    sm_string(w, 0x04, "CPU 0");
    sm_set8(w, 0x05, 0x03);                 /* central processor */
    sm_set8(w, 0x06, 0xfe);                 /* family: see family 2 */
    sm_string(w, 0x07, p->cpu_vendor);
    sm_set32(w, 0x08, p->cpu_signature);    /* processor ID: CPUID 1 EAX, EDX (7.5.3) */
    sm_set32(w, 0x0c, p->cpu_features);
    sm_string(w, 0x10, "Zazen virtual CPU");
    sm_set16(w, 0x14, (u16)p->cpu_mhz);     /* max speed */
    sm_set16(w, 0x16, (u16)p->cpu_mhz);     /* current speed */
    sm_set8(w, 0x18, 0x41);                 /* socket populated, CPU enabled */
    sm_set8(w, 0x19, 0x01);                 /* upgrade: other */
    sm_set16(w, 0x1a, 0xffff);              /* no cache information */
    sm_set16(w, 0x1c, 0xffff);
    sm_set16(w, 0x1e, 0xffff);
    unsigned cores = p->vcpus ? p->vcpus : 1;
    sm_set8(w, 0x23, (u8)cores);            /* cores, enabled, threads */
    sm_set8(w, 0x24, (u8)cores);
    sm_set8(w, 0x25, (u8)cores);
    sm_set16(w, 0x26, BIT(2));              /* 64-bit capable */
    sm_set16(w, 0x28, 0x0001);              /* family 2: other */
    sm_end(w);
}

/* Types 16, 17 and 19 (7.17, 7.18, 7.20): the RAM, one device, mapped from 0. */
static void smbios_memory(struct smbios_writer *w, const struct bios_platform *p)
{
    u64 kib = p->ram_size >> 10, mib = p->ram_size >> 20;
    u16 array = sm_begin(w, 16, 0x17);
    sm_set8(w, 0x04, 0x03);                 /* location: system board */
    sm_set8(w, 0x05, 0x03);                 /* use: system memory */
    sm_set8(w, 0x06, 0x03);                 /* error correction: none */
    sm_set32(w, 0x07, (u32)kib);            /* maximum capacity, KiB */
    sm_set16(w, 0x0b, 0xfffe);              /* no error information */
    sm_set16(w, 0x0d, 1);                   /* one memory device */
    sm_end(w);

    sm_begin(w, 17, 0x28);
    sm_set16(w, 0x04, array);
    sm_set16(w, 0x06, 0xfffe);
    sm_set16(w, 0x08, 64);                  /* total and data width, bits */
    sm_set16(w, 0x0a, 64);
    sm_set16(w, 0x0c, (u16)mib);            /* size in MiB (bit 15 clear) */
    sm_set8(w, 0x0e, 0x09);                 /* form factor: DIMM */
    sm_string(w, 0x10, "DIMM 0");
    sm_set8(w, 0x12, 0x07);                 /* type: RAM */
    sm_set16(w, 0x13, BIT(1));              /* type detail: other */
    sm_string(w, 0x17, SMBIOS_VENDOR);
    sm_end(w);

    sm_begin(w, 19, 0x1f);
    sm_set32(w, 0x04, 0);                   /* starting address, KiB */
    sm_set32(w, 0x08, (u32)(kib - 1));      /* ending address, KiB */
    sm_set16(w, 0x0c, array);
    sm_set8(w, 0x0e, 1);                    /* partition width */
    sm_end(w);
}

size_t bios_smbios_build(const struct bios_platform *p, u8 *out, size_t max, unsigned *count, unsigned *largest)
{
    struct smbios_writer w = {.out = out, .max = max};
    smbios_bios(&w, p);
    smbios_system(&w, p);
    smbios_chassis(&w);
    smbios_processor(&w, p);
    smbios_memory(&w, p);
    sm_begin(&w, 32, 0x0b);                 /* system boot (7.33): no errors */
    sm_end(&w);
    sm_begin(&w, 127, 0x04);                /* end of table (7.45) */
    sm_end(&w);
    if (w.overflow)
        return 0;
    *count = w.count;
    *largest = w.largest;
    return w.len;
}

/* The 2.8 entry point (5.2.1): "_SM_", its checksum and length, version
 * 2.8, the largest structure, then the "_DMI_" part with its own checksum
 * and the table's length, address and number of structures. */
struct PACKED smbios_entry_point {
    char anchor[4];
    u8 checksum, length, major, minor;
    u16 max_structure;
    u8 revision;
    u8 formatted[5];
    char intermediate_anchor[5];
    u8 intermediate_checksum;
    u16 table_length;
    u32 table_address;
    u16 structures;
    u8 bcd_revision;
};
_Static_assert(sizeof(struct smbios_entry_point) == 0x1f, "the SMBIOS 2.x entry point is 31 bytes");

static void build_smbios(const struct bios_platform *p, bios_write_fn write, void *ctx)
{
    static u8 table[BIOS_FSEG_TABLES_SIZE - (BIOS_FSEG_SMBIOS_TABLE - BIOS_FSEG_TABLES)];
    unsigned count = 0, largest = 0;
    size_t len = bios_smbios_build(p, table, sizeof(table), &count, &largest);
    if (!len)
        return; /* cannot happen with the strings above: no SMBIOS rather than a broken one */
    struct smbios_entry_point ep = {
        .anchor = {'_', 'S', 'M', '_'},
        .length = sizeof(ep),
        .major = 2,
        .minor = 8,
        .max_structure = (u16)largest,
        .intermediate_anchor = {'_', 'D', 'M', 'I', '_'},
        .table_length = (u16)len,
        .table_address = BIOS_FSEG_SMBIOS_TABLE,
        .structures = (u16)count,
        .bcd_revision = 0x28,
    };
    ep.intermediate_checksum = acpi_checksum(&ep.intermediate_anchor, 0x0f);
    ep.checksum = acpi_checksum(&ep, sizeof(ep));
    write(ctx, BIOS_FSEG_SMBIOS_TABLE, table, len);
    write(ctx, BIOS_FSEG_SMBIOS_EP, &ep, sizeof(ep));
}

static struct acpi_area area; /* 64 KiB: static, not on a small stack */

void bios_tables_build(const struct bios_platform *p, bios_write_fn write, void *ctx)
{
    struct bios_info info;
    memset(&info, 0, sizeof(info));
    info.magic = BIOS_INFO_MAGIC;
    info.flags = (p->pci ? BIOS_INFO_PCI : 0) | (p->boot_cd_first ? BIOS_INFO_BOOT_CD_FIRST : 0) |
                 (p->kernel_boot ? BIOS_INFO_KERNEL_BOOT : 0);
    info.ram_below_4g = (u32)p->ram_size;
    info.e820_count = (u16)bios_e820_build(p, info.e820);
    write(ctx, BIOS_INFO_ADDR, &info, sizeof(info));

    memset(&area, 0, sizeof(area));
    area.base = p->ram_size - BIOS_ACPI_SIZE;
    u64 facs = build_facs(&area);
    u64 dsdt = build_dsdt(&area, p);
    u64 tables[2];
    unsigned n = 0;
    tables[n++] = build_fadt(&area, p, facs, dsdt);
    if (p->pci || p->pvh)
        tables[n++] = build_madt(&area, p); /* an ISA PC describes no APICs */
    u64 rsdt = build_root(&area, "RSDT", tables, n, 4);
    u64 xsdt = build_root(&area, "XSDT", tables, n, 8);
    if (p->pci)
        build_mptable(&area, p, write, ctx); /* an ISA PC describes no APICs */
    write(ctx, area.base, area.buf, area.used);

    struct acpi_rsdp rsdp;
    build_rsdp(&rsdp, rsdt, xsdt);
    write(ctx, BIOS_RSDP_ADDR, &rsdp, sizeof(rsdp));
    write(ctx, BIOS_FSEG_RSDP, &rsdp, sizeof(rsdp)); /* for scanners of E0000h-FFFFFh */
    build_smbios(p, write, ctx);
    u8 ebda_kib = BIOS_EBDA_KIB; /* first byte of the EBDA: its size in KiB */
    write(ctx, BIOS_EBDA_BASE, &ebda_kib, 1);
}
