/* Host AHCI driver (ahci.h).
 *
 * One command slot per port, one command in flight (the block layer
 * queues the rest, block.h): ahci_issue starts it and returns; ahci_check
 * looks at the port's Command Issue bit and interrupt status whenever the
 * block layer is polled (a guest disk's timer), and fails the command
 * once its timeout passed. Nothing spins on the device but setup. */
#include "ahci.h"
#include "ata.h"
#include "hostpci.h"
#include "../console.h"
#include "../format.h"
#include "../hosttime.h"
#include "../mm.h"
#include "../string.h"
#include "../x86.h"

/* ---- registers (AHCI 1.3.1 chapter 3) ---- */

#define HBA_CAP 0x00
#define CAP_S64A BIT(31)
#define HBA_GHC 0x04
#define GHC_AE BIT(31)
#define GHC_IE BIT(1)
#define HBA_PI 0x0C
#define HBA_BOHC 0x28
#define BOHC_OOS BIT(1)
#define BOHC_BOS BIT(0)

#define PORT(p) (0x100 + (p) * 0x80)
#define PX_CLB 0x00
#define PX_CLBU 0x04
#define PX_FB 0x08
#define PX_FBU 0x0C
#define PX_IS 0x10
#define PX_IE 0x14
#define PX_CMD 0x18
#define CMD_ST BIT(0)
#define CMD_FRE BIT(4)
#define CMD_FR BIT(14)
#define CMD_CR BIT(15)
#define PX_TFD 0x20
#define TFD_ERR 0x01
#define TFD_DRQ 0x08
#define TFD_BSY 0x80
#define PX_SIG 0x24
#define SIG_ATA 0x00000101
#define PX_SSTS 0x28
#define SSTS_DET_PRESENT 3 /* device present, Phy communication established */
#define PX_SERR 0x30
#define PX_CI 0x38
#define IS_TFES BIT(30) /* task file error */
#define IS_FATAL (BIT(30) | BIT(29) | BIT(28) | BIT(27)) /* TFES, HBFS, HBDS, IFS (6.2.2) */

/* ATA commands (ATA8-ACS). */
#define ATA_IDENTIFY 0xEC
#define ATA_READ_DMA_EXT 0x25
#define ATA_WRITE_DMA_EXT 0x35
#define ATA_FLUSH_CACHE_EXT 0xEA
#define FIS_H2D 0x27

#define MAX_PORTS 32
#define PRDT_ENTRIES 8
#define PRD_MAX_BYTES (4 * 1024 * 1024) /* DBC is 22 bits (AHCI 4.2.3.3) */
#define IO_TIMEOUT_MS 10000
#define FLUSH_TIMEOUT_MS 30000

/* Per port, one page-aligned block: the command list (1 KiB aligned, 32
 * headers of 32 bytes), the received-FIS area (256 aligned), one command
 * table (128 aligned: 64-byte CFIS, ATAPI command, PRDT from 80h) and the
 * IDENTIFY buffer. */
struct port_mem {
    u8 cmd_list[1024];
    u8 fis[256];
    u8 pad[768];
    u8 table[0x80 + PRDT_ENTRIES * 16];
    u8 identify[512];
};

struct ahci_port {
    volatile u8 *abar;
    unsigned port;
    struct port_mem *mem;
    bool s64a;
    /* the command in flight, for its timeout and messages */
    u8 cmd;
    u64 lba, deadline, timeout_ms;
};

static u32 rd(const struct ahci_port *p, unsigned reg) { return *(volatile u32 *)(p->abar + PORT(p->port) + reg); }
static void wr(const struct ahci_port *p, unsigned reg, u32 v) { *(volatile u32 *)(p->abar + PORT(p->port) + reg) = v; }
static u32 hba_rd(volatile u8 *abar, unsigned reg) { return *(volatile u32 *)(abar + reg); }
static void hba_wr(volatile u8 *abar, unsigned reg, u32 v) { *(volatile u32 *)(abar + reg) = v; }


/* Waits until (reg & mask) == want, at most ms milliseconds. */
static bool wait_reg(const struct ahci_port *p, unsigned reg, u32 mask, u32 want, u64 ms)
{
    u64 end = host_tsc_deadline_ms(ms);
    while ((rd(p, reg) & mask) != want) {
        if (rdtsc() > end)
            return false;
        pause();
    }
    return true;
}

/* Stops the command engine and FIS receive (AHCI 10.1.2: clear ST, wait
 * for CR; clear FRE, wait for FR; each within 500 ms). */
static bool port_stop(struct ahci_port *p)
{
    wr(p, PX_CMD, rd(p, PX_CMD) & ~CMD_ST);
    if (!wait_reg(p, PX_CMD, CMD_CR, 0, 500))
        return false;
    wr(p, PX_CMD, rd(p, PX_CMD) & ~CMD_FRE);
    return wait_reg(p, PX_CMD, CMD_FR, 0, 500);
}

static void port_start(struct ahci_port *p)
{
    wr(p, PX_CMD, rd(p, PX_CMD) | CMD_FRE);
    wr(p, PX_CMD, rd(p, PX_CMD) | CMD_ST);
}

/* After an error (AHCI 6.2.2.1, non-queued error recovery): stop the
 * engine, clear the errors, start again; the failed command is gone. */
static void port_recover(struct ahci_port *p)
{
    port_stop(p);
    wr(p, PX_SERR, 0xFFFFFFFF);
    wr(p, PX_IS, 0xFFFFFFFF);
    port_start(p);
}

/* Issues one command in slot 0 and returns at once; port_check says when
 * it ended. buf may be NULL (no data). */
static bool port_issue(struct ahci_port *p, u8 cmd, u64 lba, u32 count, void *buf, u32 bytes, bool write,
                       u64 timeout_ms)
{
    struct port_mem *m = p->mem;
    u8 *fis = m->table;
    memset(m->table, 0, sizeof(m->table));
    fis[0] = FIS_H2D;
    fis[1] = 0x80; /* C: a command */
    fis[2] = cmd;
    fis[4] = (u8)lba;
    fis[5] = (u8)(lba >> 8);
    fis[6] = (u8)(lba >> 16);
    fis[7] = 0x40; /* Device: LBA */
    fis[8] = (u8)(lba >> 24);
    fis[9] = (u8)(lba >> 32);
    fis[10] = (u8)(lba >> 40);
    fis[12] = (u8)count;
    fis[13] = (u8)(count >> 8);
    unsigned prds = 0;
    u64 addr = hpa_of(buf);
    if (bytes && (!p->s64a && addr + bytes > 4 * GiB))
        return false;
    for (u32 done = 0; done < bytes; prds++) {
        if (prds == PRDT_ENTRIES)
            return false;
        u32 n = MIN(bytes - done, (u32)PRD_MAX_BYTES);
        u8 *e = m->table + 0x80 + prds * 16;
        u64 a = addr + done;
        *(u32 *)e = (u32)a;
        *(u32 *)(e + 4) = (u32)(a >> 32);
        *(u32 *)(e + 12) = n - 1; /* DBC: bytes - 1 */
        done += n;
    }
    u32 *hdr = (u32 *)m->cmd_list;
    /* DW0: CFL = 5 dwords, W, PRDTL; DW1: PRDBC; DW2/3: the table. */
    hdr[0] = 5 | (write ? BIT(6) : 0) | (u32)prds << 16;
    hdr[1] = 0;
    hdr[2] = (u32)hpa_of(m->table);
    hdr[3] = (u32)(hpa_of(m->table) >> 32);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    wr(p, PX_IS, 0xFFFFFFFF);
    p->cmd = cmd;
    p->lba = lba;
    p->timeout_ms = timeout_ms;
    p->deadline = host_tsc_deadline_ms(timeout_ms);
    wr(p, PX_CI, 1);
    return true;
}

/* Has the command in slot 0 ended? PxCI's bit clears when the HBA has the
 * device's final status (AHCI 5.3.2.x, 5.6.2); PxIS's error bits mean it
 * failed (6.2.2). An error or the timeout recovers the port. Never waits. */
static enum block_status port_check(struct ahci_port *p)
{
    u32 is = rd(p, PX_IS);
    if (is & IS_FATAL) {
        kprintf("zazen: ahci port %u: command %02xh at sector %llu failed: status %02xh error %02xh\n", p->port,
                p->cmd, (unsigned long long)p->lba, rd(p, PX_TFD) & 0xFF, (rd(p, PX_TFD) >> 8) & 0xFF);
        port_recover(p);
        return BLOCK_FAILED;
    }
    if (!(rd(p, PX_CI) & 1)) {
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        return (rd(p, PX_TFD) & (TFD_ERR | TFD_BSY | TFD_DRQ)) ? BLOCK_FAILED : BLOCK_DONE;
    }
    if (rdtsc() > p->deadline) {
        kprintf("zazen: ahci port %u: command %02xh at sector %llu timed out after %llu ms\n", p->port, p->cmd,
                (unsigned long long)p->lba, (unsigned long long)p->timeout_ms);
        port_recover(p);
        return BLOCK_FAILED;
    }
    return BLOCK_PENDING;
}

/* Setup only (IDENTIFY, before any vCPU runs): issue and wait. */
static bool port_command(struct ahci_port *p, u8 cmd, u64 lba, u32 count, void *buf, u32 bytes, bool write,
                         u64 timeout_ms)
{
    if (!port_issue(p, cmd, lba, count, buf, bytes, write, timeout_ms))
        return false;
    enum block_status st;
    while ((st = port_check(p)) == BLOCK_PENDING)
        pause();
    return st == BLOCK_DONE;
}

static bool ahci_issue(struct block_device *dev, enum block_op op, u64 lba, u32 count, void *buf)
{
    switch (op) {
    case BLOCK_READ:
        return port_issue(dev->priv, ATA_READ_DMA_EXT, lba, count, buf, count * BLOCK_SECTOR, false, IO_TIMEOUT_MS);
    case BLOCK_WRITE:
        return port_issue(dev->priv, ATA_WRITE_DMA_EXT, lba, count, buf, count * BLOCK_SECTOR, true, IO_TIMEOUT_MS);
    case BLOCK_FLUSH:
        return port_issue(dev->priv, ATA_FLUSH_CACHE_EXT, 0, 0, NULL, 0, false, FLUSH_TIMEOUT_MS);
    }
    return false;
}

static enum block_status ahci_check(struct block_device *dev) { return port_check(dev->priv); }

static const struct block_driver ahci_driver = {ahci_issue, ahci_check};


/* A port Zazen does not drive is stopped all the same: the firmware may
 * have left its engine or FIS receive running with the command list and
 * FIS area in its boot-services memory, which Zazen hands out after
 * ExitBootServices (UEFI 2.10 7.4: the memory becomes free), and an HBA
 * that still owns it writes received FISes there by DMA, past any page
 * protection. */
static void port_quiesce(volatile u8 *abar, unsigned n, const char *where)
{
    struct ahci_port q = {.abar = abar, .port = n};
    if ((rd(&q, PX_CMD) & (CMD_ST | CMD_CR | CMD_FRE | CMD_FR)) && !port_stop(&q))
        kprintf("zazen: %s port %u: the command engine does not stop\n", where, n);
}

static bool port_setup(volatile u8 *abar, unsigned n, bool s64a, const char *where)
{
    struct ahci_port probe = {.abar = abar, .port = n, .s64a = s64a};
    if ((rd(&probe, PX_SSTS) & 0xF) != SSTS_DET_PRESENT || rd(&probe, PX_SIG) != SIG_ATA) {
        port_quiesce(abar, n, where); /* nothing attached, or not an ATA disk (ATAPI, port multiplier) */
        return false;
    }
    struct ahci_port *p = page_alloc(sizeof(*p));
    struct port_mem *m = page_alloc(sizeof(*m));
    if (!p || !m)
        return false;
    *p = (struct ahci_port){.abar = abar, .port = n, .mem = m, .s64a = s64a};
    if (!s64a && hpa_of(m) + sizeof(*m) > 4 * GiB)
        return false;
    if (!port_stop(p)) {
        kprintf("zazen: %s port %u: the command engine does not stop\n", where, n);
        return false;
    }
    wr(p, PX_CLB, (u32)hpa_of(m->cmd_list));
    wr(p, PX_CLBU, (u32)(hpa_of(m->cmd_list) >> 32));
    wr(p, PX_FB, (u32)hpa_of(m->fis));
    wr(p, PX_FBU, (u32)(hpa_of(m->fis) >> 32));
    wr(p, PX_IE, 0); /* polled */
    wr(p, PX_SERR, 0xFFFFFFFF);
    wr(p, PX_IS, 0xFFFFFFFF);
    port_start(p);
    if (!wait_reg(p, PX_TFD, TFD_BSY | TFD_DRQ, 0, 1000)) {
        kprintf("zazen: %s port %u: the disk stays busy\n", where, n);
        return false;
    }
    if (!port_command(p, ATA_IDENTIFY, 0, 0, m->identify, 512, false, IO_TIMEOUT_MS)) {
        kprintf("zazen: %s port %u: IDENTIFY failed\n", where, n);
        return false;
    }
    const u8 *id = m->identify;
    u16 w83 = (u16)(id[166] | id[167] << 8), w106 = (u16)(id[212] | id[213] << 8);
    if (!(w83 & BIT(10))) { /* 48-bit Address feature set: READ/WRITE DMA EXT */
        kprintf("zazen: %s port %u: the disk lacks 48-bit addressing\n", where, n);
        return false;
    }
    if ((w106 & 0xC000) == 0x4000 && (w106 & BIT(12))) { /* words 117-118 hold a logical sector size */
        kprintf("zazen: %s port %u: logical sectors are not 512 bytes\n", where, n);
        return false;
    }
    u64 sectors = 0;
    for (unsigned i = 0; i < 4; i++)
        sectors |= (u64)(id[200 + 2 * i] | id[201 + 2 * i] << 8) << (16 * i);
    char name[48], model[41];
    snprintf(name, sizeof(name), "%s port %u", where, n);
    ata_identify_model(id, model);
    if (!block_device_add(&ahci_driver, p, sectors, name, model))
        return false;
    kprintf("zazen: storage: %s: %s, %llu sectors (%llu MiB)\n", name, model, (unsigned long long)sectors,
            (unsigned long long)(sectors >> 11));
    return true;
}

static unsigned controller_setup(unsigned bus, unsigned dev, unsigned fn)
{
    char where[32];
    snprintf(where, sizeof(where), "ahci %02x:%02x.%x", bus, dev, fn);
    u64 base = hostpci_mem_bar(bus, dev, fn, 0x24); /* BAR5: ABAR (AHCI 2.1.11) */
    if (!base) { /* mapped by storage_map_registers */
        kprintf("zazen: %s: ABAR %llx is not usable\n", where, (unsigned long long)base);
        return 0;
    }
    /* Memory space and bus mastering on, INTx off: the driver polls. */
    u32 cmd = hostpci_read32(bus, dev, fn, 0x04);
    hostpci_write32(bus, dev, fn, 0x04, (cmd & 0xFFFF) | BIT(1) | BIT(2) | BIT(10));
    volatile u8 *abar = hva_of(base);
    hba_wr(abar, HBA_GHC, hba_rd(abar, HBA_GHC) | GHC_AE);
    /* Take the HBA from the firmware if it claims it (AHCI 10.6.3). */
    if (hba_rd(abar, 0x24) & BIT(0)) {
        hba_wr(abar, HBA_BOHC, hba_rd(abar, HBA_BOHC) | BOHC_OOS);
        u64 end = host_tsc_deadline_ms(2000);
        while ((hba_rd(abar, HBA_BOHC) & BOHC_BOS) && rdtsc() < end)
            pause();
    }
    hba_wr(abar, HBA_GHC, hba_rd(abar, HBA_GHC) & ~GHC_IE);
    bool s64a = hba_rd(abar, HBA_CAP) & CAP_S64A;
    u32 pi = hba_rd(abar, HBA_PI);
    unsigned found = 0;
    for (unsigned n = 0; n < MAX_PORTS; n++)
        if (pi & BIT(n))
            found += port_setup(abar, n, s64a, where);
    return found;
}

/* Class 01h (mass storage), subclass 06h (SATA), interface 01h (AHCI 1.0). */
unsigned ahci_probe(void) { return hostpci_for_class(0x010601, controller_setup); }
