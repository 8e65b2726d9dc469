/* Host legacy ATA (IDE, "parallel ATA") driver: Zazen's own access to the
 * disks on the machine's IDE controllers (a PC's PIIX/ICH function 1, or
 * Bochs's), after the firmware's boot services ended.
 * Specs: ATA/ATAPI-8 ACS (T13/1699-D: IDENTIFY DEVICE 7.16, READ SECTORS
 * (EXT) 7.36-7.37, WRITE SECTORS (EXT) 7.62-7.63, FLUSH CACHE (EXT)
 * 7.14-7.15, the signatures 9.12); ATA/ATAPI-8 Parallel Transport
 * (ATA8-APT, T13/1698-D: the registers, software reset 11.2 and the PIO
 * protocols 11.6-11.7); PCI IDE Controller Specification 1.0 (class
 * 01h/01h, compatibility vs native mode, the BARs).
 *
 * These are the HOST's ports. A guest's IDE ports (devmodel/ide.c) are
 * another world: every guest port access exits (VT-x I/O bitmaps and the
 * AMD-V IOPM are all ones, vmx/vmx.c, svm/svm.c) to the device model, and
 * no guest has the host's controller passed through. This driver runs
 * only in Zazen itself: probed once by storage_init at boot, then called
 * through the block layer. */
#ifndef ZAZEN_STORAGE_ATA_H
#define ZAZEN_STORAGE_ATA_H

#include "block.h"

/* Finds the IDE controllers on PCI (class 01h/01h, any interface),
 * resets each channel (SRST), IDENTIFYs every ATA disk on it; each
 * becomes a block device (block.h). Returns how many disks it added. */
unsigned ata_probe(void);

/* IDENTIFY DEVICE's model string (41 bytes with its NUL), as AHCI's and
 * the legacy driver's disks both report it. */
void ata_identify_model(const u8 *id, char *out);

#endif
