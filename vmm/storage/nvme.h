/* Host NVMe driver: Zazen's own access to NVM Express namespaces, after
 * the firmware's boot services ended (NVMe Base Specification 1.4). */
#ifndef ZAZEN_STORAGE_NVME_H
#define ZAZEN_STORAGE_NVME_H

#include "block.h"

/* Finds the NVMe controllers on PCI, resets and enables each, and adds
 * namespace 1 of each as a block device (block.h). Returns how many. */
unsigned nvme_probe(void);

#endif
