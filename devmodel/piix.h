/* The PC chipset's PCI functions: the i440FX host bridge and the PIIX3's
 * PCI-to-ISA bridge and IDE controller.
 * Datasheets: Intel 82441FX PCI and Memory Controller (PMC), 82371FB
 * (PIIX) and 82371SB (PIIX3) PCI ISA IDE Xcelerator, sections on the PCI
 * configuration registers of each function. */
#ifndef ZAZEN_DEVMODEL_PIIX_H
#define ZAZEN_DEVMODEL_PIIX_H

#include "devmodel.h"
#include "pci.h"
#include "ide.h"

#define PIIX_VENDOR_INTEL 0x8086
#define I440FX_DEVICE_ID 0x1237
#define PIIX3_ISA_DEVICE_ID 0x7000
#define PIIX3_IDE_DEVICE_ID 0x7010

#define PIIX_HOST_DEV 0 /* 00:00.0 */
#define PIIX_DEV 1      /* 00:01.0 ISA, 00:01.1 IDE */
#define PIIX_ISA_FN 0
#define PIIX_IDE_FN 1

/* PIRQ route control, PIRQRC[A:D] (PIIX3 ISA function 60h-63h). */
#define PIIX_PIRQRC 0x60
#define PIIX_PIRQS 4
#define PIIX_PIRQ_DISABLE 0x80 /* IRQEN#: 1 = not routed */
#define PIIX_PIRQ_IRQ_MASK 0x0F

/* IDE function: timing registers and the bus-master base (PIIX3 IDE). */
#define PIIX_IDETIM_PRIMARY 0x40
#define PIIX_IDETIM_SECONDARY 0x42
#define PIIX_IDETIM_DECODE_ENABLE 0x8000
#define PIIX_SIDETIM 0x44
#define PIIX_BMIBA PCI_BAR4

/* The i440FX's Programmable Attribute Map (82441FX PMC, PAM[6:0], 59h-5Fh):
 * thirteen segments of C0000h-FFFFFh, the BIOS area F0000h-FFFFFh (64 KiB)
 * and twelve 16 KiB ones from C0000h, each with a read enable (RE) and a
 * write enable (WE) that send the CPU's reads and writes there to DRAM
 * (the shadow RAM) or, when clear, to PCI, where the BIOS ROM answers. */
#define PAM_SEGMENTS 13
#define PAM_BIOS_SEGMENT 0 /* F0000h-FFFFFh, PAM0[5:4] */
#define PAM_REGISTER 0x59  /* PAM0 */
#define PAM_REGISTERS 7

enum pam_access {
    PAM_DISABLED = 0,   /* RE=0 WE=0: reads and writes go to PCI (the ROM) */
    PAM_READ_ONLY = 1,  /* RE=1 WE=0: reads from DRAM, writes go to PCI */
    PAM_WRITE_ONLY = 2, /* RE=0 WE=1: reads from PCI, writes to DRAM */
    PAM_READ_WRITE = 3, /* RE=1 WE=1: DRAM */
};

/* Where segment i lies: 0 is F0000h (64 KiB), 1-12 are C0000h + 16 KiB * (i-1). */
u32 pam_segment_base(unsigned segment);
u32 pam_segment_size(unsigned segment);
#define PAM_SMALL_SEGMENT_SIZE 0x4000u /* every segment but F0000h-FFFFFh */
/* The segment's attribute from the seven PAM register bytes (59h first). */
enum pam_access pam_decode(const u8 pam[PAM_REGISTERS], unsigned segment);

/* Told each time a segment's attribute changes (a guest write to a PAM
 * register, a reset), so the memory map follows. */
typedef void (*pam_changed_fn)(void *ctx, unsigned segment, enum pam_access access);

struct piix {
    struct pci_function host, isa, idefn;
    struct ide *ide;
    struct dm_env *env;
    enum pam_access pam[PAM_SEGMENTS]; /* as last reported */
    pam_changed_fn pam_changed;        /* may be NULL */
    void *pam_ctx;
};

/* Adds the three functions to bus 0 and hands the bus-master block of ide
 * to the IDE function's BAR4 (nothing decoded until the guest enables I/O
 * and sets a base). pam_changed (may be NULL) hears of every change of a
 * PAM segment's attribute; every segment starts PAM_DISABLED. */
bool piix_init(struct piix *p, struct dm_env *env, struct pci_bus *bus, struct ide *ide, pam_changed_fn pam_changed,
               void *pam_ctx);
/* The attribute a PAM segment has now. */
enum pam_access piix_pam(const struct piix *p, unsigned segment);
/* PCIRST#: the registers of the three functions to their defaults (the
 * bus-master ports go away with BAR4), and ide_reset. */
void piix_reset(struct piix *p);
/* 0-3 for PIRQA-D: the routing register value (bit 7 set = not routed,
 * bits 3:0 the ISA IRQ). */
u8 piix_pirq_route(const struct piix *p, unsigned pirq);

#endif
