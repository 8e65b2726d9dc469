/* The host's PCI configuration space, by configuration mechanism #1
 * (PCI Local Bus 3.0 3.2.2.3.2: address at CF8h, data at CFCh), for the
 * storage drivers' enumeration after boot services end. */
#ifndef ZAZEN_STORAGE_HOSTPCI_H
#define ZAZEN_STORAGE_HOSTPCI_H

#include "../types.h"
#include "../x86.h"

static inline u32 hostpci_read32(unsigned bus, unsigned dev, unsigned fn, unsigned off)
{
    outl(0xCF8, 0x80000000u | bus << 16 | dev << 11 | fn << 8 | (off & 0xFC));
    return inl(0xCFC);
}

static inline void hostpci_write32(unsigned bus, unsigned dev, unsigned fn, unsigned off, u32 v)
{
    outl(0xCF8, 0x80000000u | bus << 16 | dev << 11 | fn << 8 | (off & 0xFC));
    outl(0xCFC, v);
}

/* Calls fn for every function whose class code (base, sub, interface),
 * masked by mask, is class24; returns the sum of what fn returned. */
static inline unsigned hostpci_for_class_masked(u32 class24, u32 mask,
                                                unsigned (*fn)(unsigned bus, unsigned dev, unsigned f))
{
    unsigned found = 0;
    for (unsigned bus = 0; bus < 256; bus++)
        for (unsigned dev = 0; dev < 32; dev++) {
            if ((hostpci_read32(bus, dev, 0, 0) & 0xFFFF) == 0xFFFF)
                continue;
            bool multi = hostpci_read32(bus, dev, 0, 0x0C) & BIT(23); /* header type bit 7 */
            for (unsigned f = 0; f < (multi ? 8u : 1u); f++) {
                if ((hostpci_read32(bus, dev, f, 0) & 0xFFFF) == 0xFFFF)
                    continue;
                if (((hostpci_read32(bus, dev, f, 0x08) >> 8) & mask) == class24)
                    found += fn(bus, dev, f);
            }
        }
    return found;
}

/* The same for one exact class code. */
static inline unsigned hostpci_for_class(u32 class24, unsigned (*fn)(unsigned bus, unsigned dev, unsigned f))
{
    return hostpci_for_class_masked(class24, 0xFFFFFF, fn);
}

/* A memory BAR's address (64-bit BARs take the next one too); 0 if it is
 * an I/O BAR or unset. */
static inline u64 hostpci_mem_bar(unsigned bus, unsigned dev, unsigned fn, unsigned off)
{
    u32 bar = hostpci_read32(bus, dev, fn, off);
    if (bar & 1)
        return 0;
    u64 base = bar & ~0xFu;
    if ((bar & 6) == 4)
        base |= (u64)hostpci_read32(bus, dev, fn, off + 4) << 32;
    return base;
}

#endif
