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

/* An interrupt message on the APIC bus. dest is the destination field,
 * an APIC ID (logical = false) or a logical destination matched against
 * each local APIC's LDR (and DFR in xAPIC mode) (logical = true). From an
 * xAPIC's ICR or an I/O APIC it has 8 bits (wide = false) and FFh is the
 * broadcast; from an x2APIC's ICR it has 32 (wide = true, SDM 3A 11.12.9)
 * and FFFF_FFFFh is the broadcast. */
struct apic_message {
    u8 vector;
    u8 delivery_mode; /* enum apic_delivery */
    bool logical;
    bool wide;
    u32 dest;
    bool level_triggered;
};

#define APIC_BROADCAST_8 0xffu
#define APIC_BROADCAST_32 0xffffffffu

#endif
