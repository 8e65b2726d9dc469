/* What the I/O APIC, the local APICs and the platform between them pass
 * around: an interrupt message as it would travel on the APIC bus (or, on
 * later chips, the system bus). SDM 3A 11.6.1 (ICR fields) and the 82093AA
 * datasheet 3.2.4 (redirection entry fields) describe the same fields. */
#ifndef ZAZEN_DEVMODEL_APIC_H
#define ZAZEN_DEVMODEL_APIC_H

#include "../vmm/types.h"

/* Delivery modes, encoded as in ICR bits 10:8, LVT bits 10:8 and
 * redirection entry bits 10:8. 3 is reserved everywhere. */
enum apic_delivery {
    APIC_DM_FIXED = 0,
    APIC_DM_LOWEST = 1,
    APIC_DM_SMI = 2,
    APIC_DM_NMI = 4,
    APIC_DM_INIT = 5,
    APIC_DM_STARTUP = 6,
    APIC_DM_EXTINT = 7
};

/* An interrupt message on the APIC bus. dest is the 8-bit destination
 * field, an APIC ID (logical = false) or a logical destination matched
 * against each local APIC's LDR/DFR (logical = true); 0xFF is a broadcast
 * in both. */
struct apic_message {
    u8 vector;
    u8 delivery_mode; /* enum apic_delivery */
    bool logical;
    u8 dest;
    bool level_triggered;
};

#endif
