/* The host's ACPI, read only as far as Zazen needs it: the CPUs (MADT) and
 * powering the machine off at the end. */
#ifndef ZAZEN_ACPI_H
#define ZAZEN_ACPI_H

#include "types.h"

/* Finds the FADT and the \_S5 sleep type from the RSDP; false if absent. */
bool acpi_init(u64 rsdp);
/* The APIC IDs of the enabled processors the MADT lists (ACPI 6.4
 * 5.2.12.2 Processor Local APIC, 5.2.12.12 Processor Local x2APIC), in
 * table order, at most max; 0 if there is no MADT. Call after acpi_init. */
unsigned acpi_cpu_apic_ids(u32 *ids, unsigned max);
/* Enters S5 (ACPI 6.4, 16.1.7 "Transitioning to S5"); returns only if
 * that did not work. */
void acpi_poweroff(void);

#endif
