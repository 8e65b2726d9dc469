/* The host's ACPI, read only as far as Zazen needs it: powering the
 * machine off at the end. */
#ifndef ZAZEN_ACPI_H
#define ZAZEN_ACPI_H

#include "types.h"

/* Finds the FADT and the \_S5 sleep type from the RSDP; false if absent. */
bool acpi_init(u64 rsdp);
/* Enters S5 (ACPI 6.4, 16.1.7 "Transitioning to S5"); returns only if
 * that did not work. */
void acpi_poweroff(void);

#endif
