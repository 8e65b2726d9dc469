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

struct piix {
    struct pci_function host, isa, idefn;
    struct ide *ide;
    struct dm_env *env;
};

/* Adds the three functions to bus 0 and hands the bus-master block of ide
 * to the IDE function's BAR4 (nothing decoded until the guest enables I/O
 * and sets a base). */
bool piix_init(struct piix *p, struct dm_env *env, struct pci_bus *bus, struct ide *ide);
/* PCIRST#: the registers of the three functions to their defaults (the
 * bus-master ports go away with BAR4), and ide_reset. */
void piix_reset(struct piix *p);
/* 0-3 for PIRQA-D: the routing register value (bit 7 set = not routed,
 * bits 3:0 the ISA IRQ). */
u8 piix_pirq_route(const struct piix *p, unsigned pirq);

#endif
