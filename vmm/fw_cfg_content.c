/* See fw_cfg_content.h. ACPI layouts: ACPI 6.4 5.2.5.3 (RSDP: RSDT address
 * at 16, XSDT at 24, checksums at 8 over 20 bytes and at 32 over 36),
 * 5.2.7-5.2.8 (RSDT/XSDT: 4- and 8-byte entries after the 36-byte
 * header), 5.2.9 (FADT: FIRMWARE_CTRL at 36, DSDT at 40, X_FIRMWARE_CTRL
 * at 132, X_DSDT at 140). */
#include "fw_cfg_content.h"
#include "acpi_layout.h"
#include "string.h"

#define TABLES_FILE "etc/acpi/tables"
#define RSDP_FILE "etc/acpi/rsdp"
#define HEADER_SIZE 36
#define CHECKSUM_AT 9
#define LENGTH_AT 4

struct capture {
    struct fw_cfg_content *c;
    u64 base; /* guest-physical address the builder gave the tables */
    bool rsdp_seen;
};

/* The builder writes into what would be guest RAM: keep the ACPI area and
 * the RSDP (wherever it goes), drop the rest (the Zazen BIOS's own data). */
static void capture_write(void *ctx, u64 gpa, const void *data, size_t len)
{
    struct capture *cap = ctx;
    struct fw_cfg_content *c = cap->c;
    if (len == sizeof(c->rsdp) && memcmp(data, "RSD PTR ", 8) == 0) {
        memcpy(c->rsdp, data, len);
        cap->rsdp_seen = true;
        return;
    }
    if (gpa < cap->base || gpa - cap->base > BIOS_ACPI_SIZE || len > BIOS_ACPI_SIZE - (gpa - cap->base))
        return;
    memcpy(c->acpi + (gpa - cap->base), data, len);
    c->acpi_size = (u32)MAX((u64)c->acpi_size, gpa - cap->base + len);
}

static u64 get_le(const u8 *p, unsigned size)
{
    u64 v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (u64)p[i] << (8 * i);
    return v;
}

static void put_le(u8 *p, u64 v, unsigned size)
{
    for (unsigned i = 0; i < size; i++)
        p[i] = (u8)(v >> (8 * i));
}

/* ---- the loader script ---- */

struct script {
    struct fw_cfg_content *c;
    bool ok;
};

static u8 *next_command(struct script *s, u32 command)
{
    struct fw_cfg_content *c = s->c;
    if (c->loader_size + FW_CFG_LOADER_ENTRY > sizeof(c->loader)) {
        s->ok = false;
        return NULL;
    }
    u8 *e = c->loader + c->loader_size;
    memset(e, 0, FW_CFG_LOADER_ENTRY);
    put_le(e, command, 4);
    c->loader_size += FW_CFG_LOADER_ENTRY;
    return e;
}

/* ALLOCATE: file[56] at 4, align at 60, zone at 64. */
static void allocate(struct script *s, const char *file, u32 align, u8 zone)
{
    u8 *e = next_command(s, LOADER_ALLOCATE);
    if (!e)
        return;
    memcpy(e + 4, file, strlen(file));
    put_le(e + 60, align, 4);
    e[64] = zone;
}

/* ADD_POINTER: dest_file[56] at 4, src_file[56] at 60, offset at 116,
 * size at 120; the loader adds src's address to the value there. */
static void add_pointer(struct script *s, const char *dest, const char *src, u32 offset, u8 size)
{
    u8 *e = next_command(s, LOADER_ADD_POINTER);
    if (!e)
        return;
    memcpy(e + 4, dest, strlen(dest));
    memcpy(e + 60, src, strlen(src));
    put_le(e + 116, offset, 4);
    e[120] = size;
}

/* ADD_CHECKSUM: file[56] at 4, offset at 60, start at 64, length at 68. */
static void add_checksum(struct script *s, const char *file, u32 offset, u32 start, u32 length)
{
    u8 *e = next_command(s, LOADER_ADD_CHECKSUM);
    if (!e)
        return;
    memcpy(e + 4, file, strlen(file));
    put_le(e + 60, offset, 4);
    put_le(e + 64, start, 4);
    put_le(e + 68, length, 4);
}

/* ---- turning the tables' addresses into offsets ---- */

struct relink {
    struct script *s;
    u64 base;
    u32 patched[16]; /* offsets of tables whose pointers are done */
    unsigned patched_count;
};

/* The table at guest address addr, as an offset into the blob, if a whole
 * header fits there. */
static bool table_offset(const struct relink *r, u64 addr, u32 *off)
{
    const struct fw_cfg_content *c = r->s->c;
    if (addr < r->base || addr - r->base + HEADER_SIZE > c->acpi_size)
        return false;
    *off = (u32)(addr - r->base);
    u32 len = (u32)get_le(c->acpi + *off + LENGTH_AT, 4);
    return len >= HEADER_SIZE && len <= c->acpi_size - *off;
}

/* A pointer field at `at` in dest (the tables blob or the RSDP) to an
 * address in the tables: made an offset, and an ADD_POINTER for it. */
static void relink_pointer(struct relink *r, u8 *blob, const char *dest, u32 at, u8 size)
{
    u64 addr = get_le(blob + at, size);
    if (!addr)
        return; /* absent (a zero X_ field) */
    if (addr < r->base || addr - r->base >= r->s->c->acpi_size) {
        r->s->ok = false;
        return;
    }
    put_le(blob + at, addr - r->base, size);
    add_pointer(r->s, dest, TABLES_FILE, at, size);
}

static bool already_patched(struct relink *r, u32 off)
{
    for (unsigned i = 0; i < r->patched_count; i++)
        if (r->patched[i] == off)
            return true;
    if (r->patched_count == ARRAY_SIZE(r->patched)) {
        r->s->ok = false;
        return true;
    }
    r->patched[r->patched_count++] = off;
    return false;
}

static void checksum_table(struct relink *r, u32 off)
{
    u32 len = (u32)get_le(r->s->c->acpi + off + LENGTH_AT, 4);
    add_checksum(r->s, TABLES_FILE, off + CHECKSUM_AT, off, len);
}

/* The FADT points at the FACS and the DSDT (32- and 64-bit fields). */
static void relink_fadt(struct relink *r, u32 off)
{
    u8 *acpi = r->s->c->acpi;
    u32 len = (u32)get_le(acpi + off + LENGTH_AT, 4);
    relink_pointer(r, acpi, TABLES_FILE, off + 36, 4);
    relink_pointer(r, acpi, TABLES_FILE, off + 40, 4);
    if (len >= 148) {
        relink_pointer(r, acpi, TABLES_FILE, off + 132, 8);
        relink_pointer(r, acpi, TABLES_FILE, off + 140, 8);
    }
    checksum_table(r, off);
}

/* An RSDT (entry 4) or XSDT (entry 8): each entry, and the FADT it lists. */
static void relink_root(struct relink *r, u32 off, unsigned entry)
{
    u8 *acpi = r->s->c->acpi;
    u32 len = (u32)get_le(acpi + off + LENGTH_AT, 4);
    for (u32 at = off + HEADER_SIZE; at + entry <= off + len; at += entry) {
        u32 table;
        if (!table_offset(r, get_le(acpi + at, entry), &table)) {
            r->s->ok = false;
            return;
        }
        if (memcmp(acpi + table, "FACP", 4) == 0 && !already_patched(r, table))
            relink_fadt(r, table);
        relink_pointer(r, acpi, TABLES_FILE, at, (u8)entry);
    }
    checksum_table(r, off);
}

static void build_loader(struct fw_cfg_content *c, u64 base, struct script *s)
{
    struct relink r = {s, base, {0}, 0};
    allocate(s, TABLES_FILE, 64, LOADER_ZONE_HIGH); /* the FACS at offset 0 wants 64-byte alignment */
    allocate(s, RSDP_FILE, 16, LOADER_ZONE_FSEG);   /* found by a scan of E0000h-FFFFFh */
    u32 rsdt, xsdt;
    if (!table_offset(&r, get_le(c->rsdp + 16, 4), &rsdt) || !table_offset(&r, get_le(c->rsdp + 24, 8), &xsdt)) {
        s->ok = false;
        return;
    }
    relink_root(&r, rsdt, 4);
    relink_root(&r, xsdt, 8);
    relink_pointer(&r, c->rsdp, RSDP_FILE, 16, 4);
    relink_pointer(&r, c->rsdp, RSDP_FILE, 24, 8);
    add_checksum(s, RSDP_FILE, 8, 0, 20);
    add_checksum(s, RSDP_FILE, 32, 0, sizeof(c->rsdp));
}

/* ---- the rest ---- */

/* SeaBIOS's names for the PIIX IDE drives (its bootorder search strings,
 * a glob over "/pci@i0cf8/ide@1,1/drive@C/disk@U"), as QEMU writes them. */
static void build_bootorder(struct fw_cfg_content *c, const struct fw_cfg_boot_disk *boot, unsigned count)
{
    size_t len = 0;
    for (unsigned i = 0; i < count && len + 48 < sizeof(c->bootorder); i++) {
        static const char path[] = "/pci@i0cf8/ide@1,1/drive@0/disk@0\n";
        memcpy(c->bootorder + len, path, sizeof(path) - 1);
        c->bootorder[len + 25] = (char)('0' + boot[i].channel);
        c->bootorder[len + 32] = (char)('0' + boot[i].unit);
        len += sizeof(path) - 1;
    }
    c->bootorder[len] = 0;
}

bool fw_cfg_content_build(struct fw_cfg_content *c, const struct bios_platform *p, unsigned cpus,
                          const struct fw_cfg_boot_disk *boot, unsigned boot_count)
{
    memset(c, 0, sizeof(*c));
    c->cpus = (u16)cpus;
    c->ram_size = p->ram_size;
    c->nographic = 1;
    c->irq0_override = p->pci;
    /* All RAM below 4 GiB, as QEMU gives it: the firmware carves out the
     * holes it makes itself (EBDA, VGA, its ROM). */
    c->e820[0] = (struct e820_entry){0, p->ram_size, E820_RAM};
    if (p->pci)
        build_bootorder(c, boot, boot_count);
    struct capture cap = {c, p->ram_size - BIOS_ACPI_SIZE, false};
    bios_tables_build(p, capture_write, &cap);
    struct script s = {c, cap.rsdp_seen && c->acpi_size};
    if (s.ok)
        build_loader(c, cap.base, &s);
    return s.ok;
}

bool fw_cfg_content_install(const struct fw_cfg_content *c, struct fw_cfg *f)
{
    return fw_cfg_add(f, FW_CFG_NB_CPUS, &c->cpus, sizeof(c->cpus)) &&
           fw_cfg_add(f, FW_CFG_MAX_CPUS, &c->cpus, sizeof(c->cpus)) &&
           fw_cfg_add(f, FW_CFG_RAM_SIZE, &c->ram_size, sizeof(c->ram_size)) &&
           fw_cfg_add(f, FW_CFG_NOGRAPHIC, &c->nographic, sizeof(c->nographic)) &&
           fw_cfg_add(f, FW_CFG_IRQ0_OVERRIDE, &c->irq0_override, sizeof(c->irq0_override)) &&
           fw_cfg_add_file(f, "etc/e820", c->e820, sizeof(c->e820)) &&
           (!c->bootorder[0] || fw_cfg_add_file(f, "bootorder", c->bootorder, (u32)strlen(c->bootorder))) &&
           fw_cfg_add_file(f, TABLES_FILE, c->acpi, c->acpi_size) &&
           fw_cfg_add_file(f, RSDP_FILE, c->rsdp, sizeof(c->rsdp)) &&
           fw_cfg_add_file(f, "etc/table-loader", c->loader, c->loader_size);
}
