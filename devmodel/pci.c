/* PCI configuration mechanism #1 on bus 0, and the generic configuration
 * space of a function.
 * Spec: PCI Local Bus Specification 3.0, 3.2.2.3.2 (mechanism #1),
 * 6.1 (configuration space organization), 6.2 (header registers). */
#include "pci.h"
#include "../vmm/string.h"

/* CONFIG_ADDRESS layout (PCI 3.0 3.2.2.3.2, figure 3-2). */
#define CFG_ADDR_ENABLE 0x80000000u
#define CFG_ADDR_WRITABLE 0x80FFFFFCu /* 30:24 reserved (read 0), 1:0 read 0 */
#define CFG_ADDR_BUS(a) (((a) >> 16) & 0xFF)
#define CFG_ADDR_DEV(a) (((a) >> 11) & 0x1F)
#define CFG_ADDR_FN(a) (((a) >> 8) & 0x7)
#define CFG_ADDR_REG(a) ((a) & 0xFC)
#define CFG_DATA_PORTS 4
/* CONFIG_ADDRESS is claimed as the one port 0xCF8, 32 bits wide: a dword
 * access there reaches it whole, and byte/word accesses to 0xCF9-0xCFB
 * stay ordinary I/O for other devices (the reset control register at
 * 0xCF9). */
#define CFG_ADDRESS_PORTS 1

static unsigned fn_index(u8 dev, u8 fn) { return (unsigned)dev * PCI_FUNCTIONS + fn; }

/* ---- one function's configuration space ---- */

void pci_function_init(struct pci_function *f, u8 dev, u8 fn, u16 vendor, u16 device, u8 class_code, u8 subclass,
                       u8 prog_if, u8 revision, u8 header_type)
{
    memset(f, 0, sizeof(*f));
    f->dev = dev;
    f->fn = fn;
    pci_config_set16(f, PCI_VENDOR_ID, vendor);
    pci_config_set16(f, PCI_DEVICE_ID, device);
    pci_config_set8(f, PCI_REVISION_ID, revision);
    pci_config_set8(f, PCI_PROG_IF, prog_if);
    pci_config_set8(f, PCI_SUBCLASS, subclass);
    pci_config_set8(f, PCI_CLASS_CODE, class_code);
    pci_config_set8(f, PCI_HEADER_TYPE, header_type);
    /* Interrupt Line is read/write scratch for system software (6.2.4). */
    pci_config_writable8(f, PCI_INTERRUPT_LINE, 0xFF);
    /* Status error bits are "write 1 to clear" (6.2.3). */
    pci_config_w1c16(f, PCI_STATUS, PCI_STATUS_W1C);
}

u32 pci_config_read(const struct pci_function *f, u8 offset, unsigned size)
{
    u32 v = 0;
    for (unsigned i = 0; i < size && i < 4; i++)
        v |= (u32)f->config[(u8)(offset + i)] << (8 * i);
    return v;
}

static void set_bytes(u8 *space, u8 offset, unsigned size, u32 value)
{
    for (unsigned i = 0; i < size; i++)
        space[(u8)(offset + i)] = (u8)(value >> (8 * i));
}

void pci_config_set8(struct pci_function *f, u8 offset, u8 value) { set_bytes(f->config, offset, 1, value); }
void pci_config_set16(struct pci_function *f, u8 offset, u16 value) { set_bytes(f->config, offset, 2, value); }
void pci_config_set32(struct pci_function *f, u8 offset, u32 value) { set_bytes(f->config, offset, 4, value); }
void pci_config_writable8(struct pci_function *f, u8 offset, u8 mask) { set_bytes(f->wmask, offset, 1, mask); }
void pci_config_writable16(struct pci_function *f, u8 offset, u16 mask) { set_bytes(f->wmask, offset, 2, mask); }
void pci_config_writable32(struct pci_function *f, u8 offset, u32 mask) { set_bytes(f->wmask, offset, 4, mask); }
void pci_config_w1c16(struct pci_function *f, u8 offset, u16 mask) { set_bytes(f->w1cmask, offset, 2, mask); }

/* Per byte: read/write bits take the new value, write-1-to-clear bits are
 * cleared where the guest wrote 1, read-only bits keep theirs. */
void pci_config_write(struct pci_function *f, u8 offset, unsigned size, u32 value)
{
    for (unsigned i = 0; i < size && i < 4; i++) {
        u8 at = (u8)(offset + i);
        u8 v = (u8)(value >> (8 * i));
        u8 old = f->config[at];
        u8 next = (u8)((old & ~f->wmask[at]) | (v & f->wmask[at]));
        next = (u8)(next & ~(v & f->w1cmask[at]));
        f->config[at] = next;
    }
    if (f->config_written)
        f->config_written(f, offset, size);
}

/* PCI 3.0 6.2.5.1: the device hardwires the low bits of a BAR so that
 * software writing all ones reads back the size; bit 0 = 1 marks I/O. */
void pci_function_io_bar(struct pci_function *f, u8 bar_offset, u16 size)
{
    u32 mask = ~((u32)size - 1) & PCI_BAR_IO_MASK;
    pci_config_set32(f, bar_offset, PCI_BAR_IO);
    pci_config_writable32(f, bar_offset, mask);
}

u16 pci_io_bar_base(const struct pci_function *f, u8 bar_offset)
{
    u32 base = pci_config_read(f, bar_offset, 4) & PCI_BAR_IO_MASK;
    return base > 0xFFFF ? 0 : (u16)base; /* x86 ports are 16 bits: nothing decodes a base above */
}

/* ---- the bus ---- */

bool pci_add_function(struct pci_bus *b, struct pci_function *f)
{
    if (f->dev >= PCI_DEVICES || f->fn >= PCI_FUNCTIONS || b->fns[fn_index(f->dev, f->fn)])
        return false;
    b->fns[fn_index(f->dev, f->fn)] = f;
    /* Software scans functions 1-7 only when function 0 says the device
     * is multi-function (PCI 3.0 6.2.1, Header Type bit 7). */
    struct pci_function *f0 = b->fns[fn_index(f->dev, 0)];
    bool multi = false;
    for (u8 fn = 1; fn < PCI_FUNCTIONS; fn++)
        multi |= b->fns[fn_index(f->dev, fn)] != NULL;
    if (f0 && multi)
        f0->config[PCI_HEADER_TYPE] |= PCI_HEADER_MULTI_FUNCTION;
    return true;
}

struct pci_function *pci_find_function(const struct pci_bus *b, u8 dev, u8 fn)
{
    if (dev >= PCI_DEVICES || fn >= PCI_FUNCTIONS)
        return NULL;
    return b->fns[fn_index(dev, fn)];
}

/* The function CONFIG_ADDRESS designates, or NULL: translation disabled,
 * a bus other than 0 (there are no bridges), or nothing there. */
static struct pci_function *addressed_function(const struct pci_bus *b)
{
    u32 a = b->address;
    if (!(a & CFG_ADDR_ENABLE) || CFG_ADDR_BUS(a) != 0)
        return NULL;
    return pci_find_function(b, (u8)CFG_ADDR_DEV(a), (u8)CFG_ADDR_FN(a));
}

/* 3.2.2.3.2: only a full dword access to 0xCF8 reaches CONFIG_ADDRESS; other
 * accesses there are ordinary I/O, which nothing else here decodes. */
static u32 config_address_read(void *dev, u16 port, u8 size)
{
    struct pci_bus *b = dev;
    if (port == PCI_CONFIG_ADDRESS_PORT && size == 4)
        return b->address;
    return (u32)bus_all_ones(size);
}

static void config_address_write(void *dev, u16 port, u8 size, u32 value)
{
    struct pci_bus *b = dev;
    if (port == PCI_CONFIG_ADDRESS_PORT && size == 4)
        b->address = value & CFG_ADDR_WRITABLE;
}

/* CONFIG_DATA: byte n of the dword at CONFIG_ADDRESS's register is port
 * 0xCFC + n. An absent function reads as all ones (master abort, 3.2.2.3.2)
 * and ignores writes. Bytes past 0xCFF are not ours: all ones. */
static u32 config_data_read(void *dev, u16 port, u8 size)
{
    struct pci_bus *b = dev;
    struct pci_function *f = addressed_function(b);
    unsigned first = port - PCI_CONFIG_DATA_PORT;
    u32 v = (u32)bus_all_ones(size);
    if (!f)
        return v;
    unsigned inside = MIN((unsigned)size, CFG_DATA_PORTS - first);
    u32 ours = (u32)bus_all_ones((u8)inside);
    return (v & ~ours) | pci_config_read(f, (u8)(CFG_ADDR_REG(b->address) + first), inside);
}

static void config_data_write(void *dev, u16 port, u8 size, u32 value)
{
    struct pci_bus *b = dev;
    struct pci_function *f = addressed_function(b);
    unsigned first = port - PCI_CONFIG_DATA_PORT;
    if (!f)
        return;
    if (first + size > CFG_DATA_PORTS)
        size = (u8)(CFG_DATA_PORTS - first);
    pci_config_write(f, (u8)(CFG_ADDR_REG(b->address) + first), size, value);
}

void pci_reset(struct pci_bus *b) { b->address = 0; }

/* For the hypervisor's fast way (bus.h): reading either port changes
 * nothing and does not depend on time (a function's configuration space
 * is read as stored: no register here has a read side effect or counts),
 * and a write of CONFIG_ADDRESS
 * only latches the address; a write of CONFIG_DATA may move a BAR, the
 * PAM registers' shadow RAM or an interrupt route, and stays a full
 * write. OSes read configuration space by the thousand at boot (Linux on
 * an AMD family 0Fh CPU scans all 256 buses twice for an AGP aperture:
 * 32,768 exits), two exits a read. */
bool pci_init(struct pci_bus *b, struct dm_env *env)
{
    memset(b, 0, sizeof(*b));
    b->env = env;
    return bus_claim_io(env->bus, PCI_CONFIG_ADDRESS_PORT, CFG_ADDRESS_PORTS, 4, config_address_read,
                        config_address_write, b, "pci-config-address") &&
           bus_set_timeless_reads(env->bus, PCI_CONFIG_ADDRESS_PORT) &&
           bus_set_writes(env->bus, PCI_CONFIG_ADDRESS_PORT, BUS_WRITES_QUIET) &&
           bus_claim_io(env->bus, PCI_CONFIG_DATA_PORT, CFG_DATA_PORTS, 4, config_data_read, config_data_write, b,
                        "pci-config-data") &&
           bus_set_timeless_reads(env->bus, PCI_CONFIG_DATA_PORT);
}
