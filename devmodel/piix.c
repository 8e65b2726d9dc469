/* The PC chipset's PCI functions:
 *   00:00.0 82441FX (i440FX) PCI and Memory Controller, the host bridge;
 *   00:01.0 82371SB (PIIX3) PCI-to-ISA bridge, with the PIRQ routers;
 *   00:01.1 82371SB (PIIX3) IDE controller, legacy mode, bus master.
 * Datasheets: Intel 82441FX PCI and Memory Controller (PMC) and 82442FX
 * Data Bus Accelerator, "PMC register description"; Intel 82371FB (PIIX)
 * and 82371SB (PIIX3) PCI ISA IDE Xcelerator, "PCI to ISA bridge
 * configuration registers" and "IDE configuration registers". The
 * register layout of the configuration header: PCI Local Bus
 * Specification 3.0, 6.1-6.2.
 * The Programmable Attribute Map registers (82441FX "PAM[6:0]") steer the
 * segments of C0000h-FFFFFh between the shadow DRAM and PCI; a change is
 * reported to the platform, which remaps guest memory. SMRAM (72h) holds
 * what firmware writes but changes nothing (no SMM here). */
#include "piix.h"
#include "../vmm/string.h"

/* 82441FX */
#define I440FX_REVISION 0x02
#define I440FX_COMMAND_DEFAULT (PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER) /* read-only 1 */
#define I440FX_STATUS_DEFAULT (PCI_STATUS_DEVSEL_MEDIUM | PCI_STATUS_FAST_B2B)
#define I440FX_MLT_WRITABLE 0xF8 /* master latency timer, bits 7:3 */
/* PAM[6:0]: in each register bits 1:0 (RE, WE) serve the low segment and
 * bits 5:4 the high one; bits 2 and 6 (cacheability on older PCIsets) and
 * 3, 7 are reserved on the 82441FX, and PAM0's low segment does not exist:
 * those bits read 0. */
#define I440FX_PAM_WRITABLE 0x33
#define I440FX_PAM0_WRITABLE 0x30
#define PAM_RE_WE 0x3
#define PAM_HIGH_SHIFT 4
#define I440FX_SMRAM 0x72
#define I440FX_SMRAM_DEFAULT 0x02 /* C_BASE_SEG = 010b: SMRAM at A0000h */
#define I440FX_SMRAM_WRITABLE 0x78 /* D_OPEN, D_CLS, D_LCK, G_SMRAME */

/* PIIX3 function 0 */
#define PIIX3_ISA_REVISION 0x00
#define PIIX3_ISA_COMMAND_DEFAULT (PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER) /* read-only 1 */
#define PIIX3_ISA_STATUS_DEFAULT PCI_STATUS_DEVSEL_MEDIUM
#define PIIX3_PIRQRC_WRITABLE (PIIX_PIRQ_DISABLE | PIIX_PIRQ_IRQ_MASK) /* bits 6:4 reserved */

/* PIIX3 function 1 */
#define PIIX3_IDE_REVISION 0x00
#define PIIX3_IDE_PROG_IF 0x80 /* bus master; both channels fixed in compatibility mode */
#define PIIX3_IDE_COMMAND_WRITABLE (PCI_COMMAND_IO | PCI_COMMAND_MASTER) /* IOSE, BME */
#define PIIX3_IDE_STATUS_DEFAULT (PCI_STATUS_DEVSEL_MEDIUM | PCI_STATUS_FAST_B2B)
#define PIIX3_IDE_MLT_WRITABLE 0xF0 /* master latency timer, bits 7:4 */

/* PCI 3.0 appendix D class codes. */
#define CLASS_BRIDGE 0x06
#define SUBCLASS_HOST_BRIDGE 0x00
#define SUBCLASS_ISA_BRIDGE 0x01
#define CLASS_STORAGE 0x01
#define SUBCLASS_IDE 0x01

static void setup_host_bridge(struct pci_function *f)
{
    pci_function_init(f, PIIX_HOST_DEV, 0, PIIX_VENDOR_INTEL, I440FX_DEVICE_ID, CLASS_BRIDGE, SUBCLASS_HOST_BRIDGE, 0,
                      I440FX_REVISION, PCI_HEADER_TYPE_NORMAL);
    pci_config_set16(f, PCI_COMMAND, I440FX_COMMAND_DEFAULT);
    pci_config_set16(f, PCI_STATUS, I440FX_STATUS_DEFAULT);
    pci_config_writable8(f, PCI_LATENCY_TIMER, I440FX_MLT_WRITABLE);
    for (u8 i = 0; i < PAM_REGISTERS; i++)
        pci_config_writable8(f, (u8)(PAM_REGISTER + i), i == 0 ? I440FX_PAM0_WRITABLE : I440FX_PAM_WRITABLE);
    pci_config_set8(f, I440FX_SMRAM, I440FX_SMRAM_DEFAULT);
    pci_config_writable8(f, I440FX_SMRAM, I440FX_SMRAM_WRITABLE);
}

/* ---- PAM ---- */

u32 pam_segment_base(unsigned segment)
{
    return segment == PAM_BIOS_SEGMENT ? 0xF0000u : 0xC0000u + (segment - 1) * 0x4000u;
}

u32 pam_segment_size(unsigned segment) { return segment == PAM_BIOS_SEGMENT ? 0x10000u : PAM_SMALL_SEGMENT_SIZE; }

/* Segment 0 is PAM0[5:4]; segment 2k+1 is PAM(k+1)[1:0] and 2k+2 is
 * PAM(k+1)[5:4] (82441FX "PAM[6:0]" table: C0000h in PAM1 low, C4000h in
 * PAM1 high, ... EC000h in PAM6 high). */
enum pam_access pam_decode(const u8 pam[PAM_REGISTERS], unsigned segment)
{
    if (segment >= PAM_SEGMENTS)
        return PAM_DISABLED;
    if (segment == PAM_BIOS_SEGMENT)
        return (enum pam_access)((pam[0] >> PAM_HIGH_SHIFT) & PAM_RE_WE);
    u8 reg = pam[1 + (segment - 1) / 2];
    unsigned shift = (segment - 1) % 2 ? PAM_HIGH_SHIFT : 0;
    return (enum pam_access)((reg >> shift) & PAM_RE_WE);
}

enum pam_access piix_pam(const struct piix *p, unsigned segment)
{
    return segment < PAM_SEGMENTS ? p->pam[segment] : PAM_DISABLED;
}

/* Tells the platform of each segment whose attribute the registers now
 * change. */
static void update_pam(struct piix *p)
{
    u8 regs[PAM_REGISTERS];
    for (unsigned i = 0; i < PAM_REGISTERS; i++)
        regs[i] = (u8)pci_config_read(&p->host, (u8)(PAM_REGISTER + i), 1);
    for (unsigned s = 0; s < PAM_SEGMENTS; s++) {
        enum pam_access a = pam_decode(regs, s);
        if (a == p->pam[s])
            continue;
        p->pam[s] = a;
        if (p->pam_changed)
            p->pam_changed(p->pam_ctx, s, a);
    }
}

static void host_config_written(struct pci_function *f, u8 offset, unsigned size)
{
    if (offset < PAM_REGISTER + PAM_REGISTERS && offset + size > PAM_REGISTER)
        update_pam(f->owner);
}

/* PIRQRC[A:D] reset to 80h: routing disabled (PIIX3, "PIRQRC"). */
static void setup_isa_bridge(struct pci_function *f)
{
    pci_function_init(f, PIIX_DEV, PIIX_ISA_FN, PIIX_VENDOR_INTEL, PIIX3_ISA_DEVICE_ID, CLASS_BRIDGE,
                      SUBCLASS_ISA_BRIDGE, 0, PIIX3_ISA_REVISION, PCI_HEADER_MULTI_FUNCTION);
    pci_config_set16(f, PCI_COMMAND, PIIX3_ISA_COMMAND_DEFAULT);
    pci_config_set16(f, PCI_STATUS, PIIX3_ISA_STATUS_DEFAULT);
    for (u8 i = 0; i < PIIX_PIRQS; i++) {
        pci_config_set8(f, (u8)(PIIX_PIRQRC + i), PIIX_PIRQ_DISABLE);
        pci_config_writable8(f, (u8)(PIIX_PIRQRC + i), PIIX3_PIRQRC_WRITABLE);
    }
}

/* The IDE function decodes the bus-master block at BMIBA while I/O Space
 * Enable is set, and masters the bus while Bus Master Enable is set. The
 * legacy command/control ports are always decoded (IDETIM's decode enable
 * bits reset set and are not consulted). */
static void update_bus_master(struct piix *p)
{
    u32 command = pci_config_read(&p->idefn, PCI_COMMAND, 2);
    u16 base = (command & PCI_COMMAND_IO) ? pci_io_bar_base(&p->idefn, PIIX_BMIBA) : 0;
    ide_set_bmdma_base(p->ide, base);
    ide_set_bus_master(p->ide, command & PCI_COMMAND_MASTER);
}

static void ide_config_written(struct pci_function *f, u8 offset, unsigned size)
{
    (void)offset;
    (void)size;
    update_bus_master(f->owner);
}

static void setup_ide_function(struct piix *p)
{
    struct pci_function *f = &p->idefn;
    pci_function_init(f, PIIX_DEV, PIIX_IDE_FN, PIIX_VENDOR_INTEL, PIIX3_IDE_DEVICE_ID, CLASS_STORAGE, SUBCLASS_IDE,
                      PIIX3_IDE_PROG_IF, PIIX3_IDE_REVISION, PCI_HEADER_TYPE_NORMAL);
    pci_config_writable16(f, PCI_COMMAND, PIIX3_IDE_COMMAND_WRITABLE);
    pci_config_set16(f, PCI_STATUS, PIIX3_IDE_STATUS_DEFAULT);
    pci_config_writable8(f, PCI_LATENCY_TIMER, PIIX3_IDE_MLT_WRITABLE);
    pci_function_io_bar(f, PIIX_BMIBA, IDE_BM_PORTS);
    /* IDETIM: read/write for the drivers that program PIO/DMA timings;
     * reset with the channels' decode enabled. SIDETIM likewise. */
    pci_config_set16(f, PIIX_IDETIM_PRIMARY, PIIX_IDETIM_DECODE_ENABLE);
    pci_config_set16(f, PIIX_IDETIM_SECONDARY, PIIX_IDETIM_DECODE_ENABLE);
    pci_config_writable16(f, PIIX_IDETIM_PRIMARY, 0xFFFF);
    pci_config_writable16(f, PIIX_IDETIM_SECONDARY, 0xFFFF);
    pci_config_writable8(f, PIIX_SIDETIM, 0xFF);
    f->config_written = ide_config_written;
    f->owner = p;
}

static void setup_functions(struct piix *p)
{
    setup_host_bridge(&p->host);
    setup_isa_bridge(&p->isa);
    setup_ide_function(p);
    p->host.config_written = host_config_written;
    p->host.owner = p;
    p->isa.owner = p;
}

bool piix_init(struct piix *p, struct dm_env *env, struct pci_bus *bus, struct ide *ide, pam_changed_fn pam_changed,
               void *pam_ctx)
{
    memset(p, 0, sizeof(*p));
    p->env = env;
    p->ide = ide;
    p->pam_changed = pam_changed;
    p->pam_ctx = pam_ctx;
    setup_functions(p);
    update_bus_master(p); /* PAM[6:0] start at 00h: p->pam is all PAM_DISABLED */
    return pci_add_function(bus, &p->host) && pci_add_function(bus, &p->isa) && pci_add_function(bus, &p->idefn);
}

void piix_reset(struct piix *p)
{
    setup_functions(p);
    update_bus_master(p);
    update_pam(p); /* PAM[6:0] reset to 00h: every segment back to PCI */
    ide_reset(p->ide);
}

u8 piix_pirq_route(const struct piix *p, unsigned pirq)
{
    if (pirq >= PIIX_PIRQS)
        return PIIX_PIRQ_DISABLE;
    return (u8)pci_config_read(&p->isa, (u8)(PIIX_PIRQRC + pirq), 1);
}
