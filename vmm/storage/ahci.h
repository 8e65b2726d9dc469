/* Host AHCI (SATA) driver: Zazen's own access to the disks of the
 * machine's AHCI controllers, after the firmware's boot services ended.
 * Spec: Serial ATA AHCI 1.3.1 (registers, command list, FIS, error
 * recovery 6.2.2); ATA8-ACS (IDENTIFY DEVICE, READ/WRITE DMA EXT,
 * FLUSH CACHE EXT). */
#ifndef ZAZEN_STORAGE_AHCI_H
#define ZAZEN_STORAGE_AHCI_H

#include "block.h"

/* Finds the AHCI controllers on PCI, resets their ports' command engines
 * and IDENTIFYs every ATA disk; each becomes a block device (block.h).
 * Returns how many disks it added. */
unsigned ahci_probe(void);

#endif
