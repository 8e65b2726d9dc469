/* PCI configuration mechanism #1 and a generic model of one PCI function's
 * configuration space.
 * Spec: PCI Local Bus Specification 3.0, 3.2.2.3.2 (configuration
 * mechanism #1) and 6.1-6.2 (the type 0 configuration header). */
#ifndef ZAZEN_DEVMODEL_PCI_H
#define ZAZEN_DEVMODEL_PCI_H

#include "devmodel.h"

/* Mechanism #1 ports (PCI 3.0 3.2.2.3.2). */
#define PCI_CONFIG_ADDRESS_PORT 0xCF8
#define PCI_CONFIG_DATA_PORT 0xCFC

#define PCI_DEVICES 32
#define PCI_FUNCTIONS 8
#define PCI_CONFIG_SIZE 256

/* Type 0 header (PCI 3.0 6.1, figure 6-1). */
#define PCI_VENDOR_ID 0x00
#define PCI_DEVICE_ID 0x02
#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_REVISION_ID 0x08
#define PCI_PROG_IF 0x09
#define PCI_SUBCLASS 0x0A
#define PCI_CLASS_CODE 0x0B
#define PCI_CACHE_LINE_SIZE 0x0C
#define PCI_LATENCY_TIMER 0x0D
#define PCI_HEADER_TYPE 0x0E
#define PCI_BIST 0x0F
#define PCI_BAR0 0x10 /* six BARs, 0x10-0x27 */
#define PCI_BAR4 0x20
#define PCI_SUBSYSTEM_VENDOR_ID 0x2C
#define PCI_SUBSYSTEM_ID 0x2E
#define PCI_INTERRUPT_LINE 0x3C
#define PCI_INTERRUPT_PIN 0x3D

/* Command register bits (PCI 3.0 6.2.2). */
#define PCI_COMMAND_IO 0x0001
#define PCI_COMMAND_MEMORY 0x0002
#define PCI_COMMAND_MASTER 0x0004
#define PCI_COMMAND_SPECIAL 0x0008
#define PCI_COMMAND_PARITY 0x0040
#define PCI_COMMAND_SERR 0x0100

/* Status register bits (PCI 3.0 6.2.3). */
#define PCI_STATUS_FAST_B2B 0x0080
#define PCI_STATUS_MASTER_PARITY 0x0100
#define PCI_STATUS_DEVSEL_MEDIUM 0x0200
#define PCI_STATUS_SIG_TARGET_ABORT 0x0800
#define PCI_STATUS_RCV_TARGET_ABORT 0x1000
#define PCI_STATUS_RCV_MASTER_ABORT 0x2000
#define PCI_STATUS_SIG_SYSTEM_ERROR 0x4000
#define PCI_STATUS_DETECTED_PARITY 0x8000
/* The error bits software clears by writing 1 (PCI 3.0 6.2.3). */
#define PCI_STATUS_W1C                                                                                           \
    (PCI_STATUS_MASTER_PARITY | PCI_STATUS_SIG_TARGET_ABORT | PCI_STATUS_RCV_TARGET_ABORT |                      \
     PCI_STATUS_RCV_MASTER_ABORT | PCI_STATUS_SIG_SYSTEM_ERROR | PCI_STATUS_DETECTED_PARITY)

/* Header type: bit 7 = multi-function device (PCI 3.0 6.2.1). */
#define PCI_HEADER_TYPE_NORMAL 0x00
#define PCI_HEADER_MULTI_FUNCTION 0x80

/* I/O BARs: bit 0 is the I/O space indicator, bit 1 reserved (PCI 3.0 6.2.5.1). */
#define PCI_BAR_IO 0x1
#define PCI_BAR_IO_MASK 0xFFFFFFFCu

struct pci_function {
    u8 dev, fn;
    u8 config[PCI_CONFIG_SIZE];
    u8 wmask[PCI_CONFIG_SIZE];   /* bits the guest may write */
    u8 w1cmask[PCI_CONFIG_SIZE]; /* write-1-to-clear bits (status register) */
    /* After a guest write (BAR moves, command changes); may be NULL. */
    void (*config_written)(struct pci_function *f, u8 offset, unsigned size);
    void *owner;
};

struct pci_bus {
    u32 address; /* CONFIG_ADDRESS */
    struct pci_function *fns[PCI_DEVICES * PCI_FUNCTIONS];
    struct dm_env *env;
};

/* Claims 0xCF8 (1 port, width 4: only dword accesses there are
 * CONFIG_ADDRESS, so 0xCF9-0xCFB stay free for e.g. the reset control
 * register) and 0xCFC-0xCFF (width 4); no functions yet. */
bool pci_init(struct pci_bus *b, struct dm_env *env);
/* Power-on state of the mechanism: CONFIG_ADDRESS = 0. */
void pci_reset(struct pci_bus *b);

/* A type 0 header with nothing writable but the interrupt line and the
 * status error bits (write 1 to clear); the owner then opens what its
 * datasheet says is read/write. */
void pci_function_init(struct pci_function *f, u8 dev, u8 fn, u16 vendor, u16 device, u8 class_code, u8 subclass,
                       u8 prog_if, u8 revision, u8 header_type);
/* False if dev/fn is out of range or taken. Adding a function other than
 * 0 sets the multi-function bit of the device's function 0. */
bool pci_add_function(struct pci_bus *b, struct pci_function *f);
struct pci_function *pci_find_function(const struct pci_bus *b, u8 dev, u8 fn);

/* Owner access: no masks, no callback. size is 1, 2 or 4; offsets wrap
 * inside the 256-byte space. */
u32 pci_config_read(const struct pci_function *f, u8 offset, unsigned size);
void pci_config_set8(struct pci_function *f, u8 offset, u8 value);
void pci_config_set16(struct pci_function *f, u8 offset, u16 value);
void pci_config_set32(struct pci_function *f, u8 offset, u32 value);
/* Which bits the guest may write (mask replaces the old one). */
void pci_config_writable8(struct pci_function *f, u8 offset, u8 mask);
void pci_config_writable16(struct pci_function *f, u8 offset, u16 mask);
void pci_config_writable32(struct pci_function *f, u8 offset, u32 mask);
void pci_config_w1c16(struct pci_function *f, u8 offset, u16 mask);

/* Guest access, as through CONFIG_DATA: masks applied, then config_written. */
void pci_config_write(struct pci_function *f, u8 offset, unsigned size, u32 value);

/* An I/O BAR of `size` bytes (a power of two, 4..256): base 0, bit 0 set,
 * the base bits above log2(size) writable up to bit 31 (PCI 3.0 6.2.5.1:
 * I/O BARs are 32 bits wide; firmware such as SeaBIOS sizes them from all
 * 32). Writing all ones and reading back yields the size mask. */
void pci_function_io_bar(struct pci_function *f, u8 bar_offset, u16 size);
/* The port an I/O BAR points at (the indicator bits stripped); 0 (not
 * decoded) for a base above FFFFh, which no x86 port address reaches. */
u16 pci_io_bar_base(const struct pci_function *f, u8 bar_offset);

#endif
