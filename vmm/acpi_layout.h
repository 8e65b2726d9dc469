/* ACPI structures as the specification lays them out (ACPI 6.4, 5.2.5
 * RSDP and 5.2.6 the header every description table starts with), shared
 * by the parser of the host's tables (vmm/acpi.c) and the builder of the
 * guests' (guest-bios/tables.c). */
#ifndef ZAZEN_ACPI_LAYOUT_H
#define ZAZEN_ACPI_LAYOUT_H

#include "types.h"

struct PACKED acpi_rsdp {
    char signature[8]; /* "RSD PTR " */
    u8 checksum;       /* over the first 20 bytes (the ACPI 1.0 part) */
    char oem_id[6];
    u8 revision;       /* 2: ACPI 2.0 and later */
    u32 rsdt;
    u32 length;
    u64 xsdt;
    u8 extended_checksum; /* over the whole structure */
    u8 reserved[3];
};

struct PACKED acpi_header {
    char signature[4];
    u32 length;
    u8 revision;
    u8 checksum; /* the table's bytes sum to 0 (5.2.6) */
    char oem_id[6];
    char oem_table_id[8];
    u32 oem_revision;
    char creator_id[4];
    u32 creator_revision;
};

/* The byte sum ACPI checksums are taken over: a valid structure sums to 0. */
static inline u8 acpi_byte_sum(const void *data, size_t len)
{
    u8 sum = 0;
    for (size_t i = 0; i < len; i++)
        sum = (u8)(sum + ((const u8 *)data)[i]);
    return sum;
}

#endif
