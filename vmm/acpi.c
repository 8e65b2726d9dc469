/* Host ACPI: RSDP -> XSDT/RSDT -> FADT -> PM1 control blocks and DSDT,
 * whose \_S5 package gives SLP_TYP. Table layouts: ACPI 6.4 sections 5.2.5
 * (RSDP), 5.2.6 (header), 5.2.9 (FADT); AML encoding of Name/Package:
 * section 20.2. */
#include "acpi.h"
#include "acpi_layout.h"
#include "console.h"
#include "hosttime.h"
#include "string.h"
#include "x86.h"

/* FADT byte offsets (ACPI 6.4 Table 5.9) */
#define FADT_DSDT 40
#define FADT_SMI_CMD 48
#define FADT_ACPI_ENABLE 52
#define FADT_PM1A_CNT 64
#define FADT_PM1B_CNT 68
#define FADT_X_DSDT 140
#define FADT_X_PM1A_CNT 172 /* Generic Address Structure; address at +4 */
#define FADT_X_PM1B_CNT 184

#define PM1_SCI_EN BIT(0)
#define PM1_SLP_TYP_SHIFT 10
#define PM1_SLP_EN BIT(13)

/* MADT (ACPI 6.4 5.2.12): after the header, the local APIC address and
 * flags, then entries of type, length, body. */
#define MADT_ENTRIES 44
#define MADT_LOCAL_APIC 0
#define MADT_LOCAL_X2APIC 9
#define MADT_ENABLED BIT(0)

static const struct acpi_rsdp *host_rsdp;

static struct {
    bool ready;
    bool bochs; /* the firmware's tables say BOCHS (Bochs's BIOS, or QEMU's) */
    u16 pm1a_cnt, pm1b_cnt;
    u32 smi_cmd;
    u8 acpi_enable;
    u8 slp_typ_a, slp_typ_b;
} acpi;

static bool checksum_ok(const void *p, u32 len) { return acpi_byte_sum(p, len) == 0; }

static u32 rd32(const u8 *p, u32 off) { return p[off] | p[off + 1] << 8 | p[off + 2] << 16 | (u32)p[off + 3] << 24; }
static u64 rd64(const u8 *p, u32 off) { return rd32(p, off) | (u64)rd32(p, off + 4) << 32; }

static const struct acpi_header *find_table(const struct acpi_rsdp *rsdp, const char *sig)
{
    bool use_xsdt = rsdp->revision >= 2 && rsdp->xsdt;
    const struct acpi_header *root = (const void *)(uintptr_t)(use_xsdt ? rsdp->xsdt : rsdp->rsdt);
    if (!root || root->length < sizeof(*root))
        return NULL;
    u32 entry_size = use_xsdt ? 8 : 4;
    u32 count = (root->length - sizeof(*root)) / entry_size;
    const u8 *entries = (const u8 *)(root + 1);
    for (u32 i = 0; i < count; i++) {
        u64 pa = use_xsdt ? rd64(entries, i * 8) : rd32(entries, i * 4);
        const struct acpi_header *t = (const void *)(uintptr_t)pa;
        if (t && memcmp(t->signature, sig, 4) == 0 && checksum_ok(t, t->length))
            return t;
    }
    return NULL;
}

/* Reads one AML integer data object (ACPI 6.4 20.2.3): ZeroOp, OneOp,
 * OnesOp, or BytePrefix/WordPrefix + data. */
static bool aml_integer(const u8 *p, const u8 *end, u8 *value, unsigned *len)
{
    if (p >= end)
        return false;
    switch (*p) {
    case 0x00: *value = 0; *len = 1; return true;
    case 0x01: *value = 1; *len = 1; return true;
    case 0xff: *value = 0xff; *len = 1; return true;
    case 0x0a: if (p + 1 >= end) return false; *value = p[1]; *len = 2; return true;
    case 0x0b: if (p + 2 >= end) return false; *value = p[1]; *len = 3; return true;
    default: return false;
    }
}

/* Finds "Name(_S5_, Package(){a, b, ...})" in the DSDT: NameOp (08h),
 * "_S5_", PackageOp (12h), PkgLength, NumElements, then the elements. */
static bool find_s5(const struct acpi_header *dsdt)
{
    const u8 *p = (const u8 *)dsdt + sizeof(*dsdt), *end = (const u8 *)dsdt + dsdt->length;
    for (; p + 8 < end; p++) {
        if (memcmp(p, "_S5_", 4) != 0 || p[4] != 0x12)
            continue;
        if (p[-1] != 0x08 && !(p[-1] == '\\' && p[-2] == 0x08))
            continue;
        const u8 *q = p + 5;
        q += (*q >> 6) + 1; /* PkgLength: bits 7:6 count the extra bytes */
        q++;                /* NumElements */
        unsigned len;
        if (!aml_integer(q, end, &acpi.slp_typ_a, &len))
            return false;
        q += len;
        if (!aml_integer(q, end, &acpi.slp_typ_b, &len))
            acpi.slp_typ_b = acpi.slp_typ_a;
        return true;
    }
    return false;
}

bool acpi_init(u64 rsdp_pa)
{
    const struct acpi_rsdp *rsdp = (const void *)(uintptr_t)rsdp_pa;
    if (!rsdp || memcmp(rsdp->signature, "RSD PTR ", 8) != 0 || !checksum_ok(rsdp, 20))
        return false;
    host_rsdp = rsdp;
    const struct acpi_header *fadt = find_table(rsdp, "FACP");
    if (!fadt)
        return false;
    /* Noted before anything else can fail, for the Bochs fallback. */
    const u8 *f = (const u8 *)fadt;
    acpi.bochs = memcmp(fadt->oem_id, "BOCHS ", 6) == 0;
    acpi.pm1a_cnt = (u16)rd32(f, FADT_PM1A_CNT);
    acpi.pm1b_cnt = (u16)rd32(f, FADT_PM1B_CNT);
    if (!acpi.pm1a_cnt && fadt->length >= FADT_X_PM1A_CNT + 12)
        acpi.pm1a_cnt = (u16)rd64(f, FADT_X_PM1A_CNT + 4);
    if (!acpi.pm1b_cnt && fadt->length >= FADT_X_PM1B_CNT + 12)
        acpi.pm1b_cnt = (u16)rd64(f, FADT_X_PM1B_CNT + 4);
    acpi.smi_cmd = rd32(f, FADT_SMI_CMD);
    acpi.acpi_enable = f[FADT_ACPI_ENABLE];
    u64 dsdt_pa = fadt->length >= FADT_X_DSDT + 8 ? rd64(f, FADT_X_DSDT) : 0;
    if (!dsdt_pa)
        dsdt_pa = rd32(f, FADT_DSDT);
    const struct acpi_header *dsdt = (const void *)(uintptr_t)dsdt_pa;
    if (!acpi.pm1a_cnt || !dsdt || memcmp(dsdt->signature, "DSDT", 4) != 0 || !find_s5(dsdt))
        return false;
    acpi.ready = true;
    return true;
}

static bool already_listed(const u32 *ids, unsigned n, u32 id)
{
    for (unsigned i = 0; i < n; i++)
        if (ids[i] == id)
            return true;
    return false;
}

unsigned acpi_cpu_apic_ids(u32 *ids, unsigned max)
{
    const struct acpi_header *madt = host_rsdp ? find_table(host_rsdp, "APIC") : NULL;
    if (!madt)
        return 0;
    const u8 *p = (const u8 *)madt + MADT_ENTRIES, *end = (const u8 *)madt + madt->length;
    unsigned n = 0;
    for (; p + 2 <= end && p[1] >= 2 && p + p[1] <= end && n < max; p += p[1]) {
        u32 id, flags;
        if (p[0] == MADT_LOCAL_APIC && p[1] >= 8) {
            id = p[3];
            flags = rd32(p, 4);
        } else if (p[0] == MADT_LOCAL_X2APIC && p[1] >= 16) {
            id = rd32(p, 4);
            flags = rd32(p, 8);
        } else {
            continue;
        }
        /* A processor that is not enabled is not there to start (online-
         * capable ones could be hot-added: Zazen does not). */
        if ((flags & MADT_ENABLED) && !already_listed(ids, n, id))
            ids[n++] = id;
    }
    return n;
}

/* Bochs ends the simulation when "Shutdown" is written to port 8900h
 * (Bochs user manual, "port 0x8900"). Only tried where the ACPI tables
 * were written by Bochs's (or QEMU's, which ignores the port) firmware:
 * on other machines the port may belong to something. */
static void bochs_shutdown_port(void)
{
    if (!acpi.bochs)
        return;
    for (const char *s = "Shutdown"; *s; s++)
        outb(0x8900, (u8)*s);
}

/* Waits for the power to go. No PAUSE in the loop: under QEMU's
 * multi-threaded TCG a PAUSE leaves the translated code, and the vCPU
 * thread then drops and takes QEMU's big lock again (QEMU 7.2,
 * accel/tcg/tcg-accel-ops-mttcg.c), so a PAUSE loop starves the main
 * loop that carries the power-off out: a machine stayed up for 110 s
 * after Zazen's power-off on a loaded host (and CI's tasks-faults ran
 * into its 120 s timeout so). */
static void wait_for_power_off(u64 ms)
{
    u64 until = host_tsc_deadline_ms(ms);
    while (rdtsc() < until)
        ;
}

void acpi_poweroff(void)
{
    if (acpi.ready) {
        /* Before the OS enables ACPI mode, SLP_EN may be ignored (4.8.2.1). */
        if (!(inw(acpi.pm1a_cnt) & PM1_SCI_EN) && acpi.smi_cmd && acpi.acpi_enable) {
            outb((u16)acpi.smi_cmd, acpi.acpi_enable);
            u64 until = host_tsc_deadline_ms(100);
            while (!(inw(acpi.pm1a_cnt) & PM1_SCI_EN) && rdtsc() < until)
                ;
        }
        outw(acpi.pm1a_cnt, (u16)(acpi.slp_typ_a << PM1_SLP_TYP_SHIFT | PM1_SLP_EN));
        if (acpi.pm1b_cnt)
            outw(acpi.pm1b_cnt, (u16)(acpi.slp_typ_b << PM1_SLP_TYP_SHIFT | PM1_SLP_EN));
        wait_for_power_off(2000);
    }
    bochs_shutdown_port();
}
