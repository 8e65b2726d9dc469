/* Host NVMe driver (nvme.h).
 *
 * One admin queue pair and one I/O queue pair per controller, namespace 1
 * only, one command in flight (the block layer queues the rest, block.h):
 * nvme_issue rings the doorbell and returns, nvme_check looks for its
 * completion entry whenever the block layer is polled, and fails it once
 * its timeout passed (docs/storage.md). Only setup waits.
 * Spec: NVM Express Base Specification 1.4 (registers 3.1, queues 4,
 * admin commands 5: Identify, Create I/O Completion/Submission Queue;
 * NVM commands 6: Read, Write, Flush). */
#include "nvme.h"
#include "hostpci.h"
#include "../console.h"
#include "../format.h"
#include "../hosttime.h"
#include "../mm.h"
#include "../string.h"
#include "../x86.h"

#define REG_CAP 0x00
#define REG_CC 0x14
#define CC_EN BIT(0)
#define CC_IOSQES_64 (6u << 16)
#define CC_IOCQES_16 (4u << 20)
#define REG_CSTS 0x1C
#define CSTS_RDY BIT(0)
#define CSTS_CFS BIT(1)
#define REG_AQA 0x24
#define REG_ASQ 0x28
#define REG_ACQ 0x30
#define DOORBELLS 0x1000

#define OP_ADMIN_CREATE_SQ 0x01
#define OP_ADMIN_CREATE_CQ 0x05
#define OP_ADMIN_IDENTIFY 0x06
#define OP_FLUSH 0x00
#define OP_WRITE 0x01
#define OP_READ 0x02

#define QUEUE_ENTRIES 64 /* one 4 KiB page of submissions (64 bytes each) */
#define IO_TIMEOUT_MS 10000
#define FLUSH_TIMEOUT_MS 30000
#define NSID 1

struct queue {
    u8 *sq;  /* QUEUE_ENTRIES x 64 bytes */
    u8 *cq;  /* QUEUE_ENTRIES x 16 bytes */
    u16 qid;
    u16 tail, head;
    bool phase; /* the phase tag that marks a new completion (starts at 1) */
    u16 cid;    /* of the command issued last */
    u8 op;
    u64 deadline, timeout_ms;
};

struct nvme {
    volatile u8 *bar;
    u32 stride; /* doorbell stride in bytes */
    struct queue admin, io;
    u64 *prp_list; /* one page: the pages after the first of a transfer */
    u8 *identify;  /* one page */
    char where[32];
};

static u32 rd32(const struct nvme *c, unsigned r) { return *(volatile u32 *)(c->bar + r); }
static u64 rd64(const struct nvme *c, unsigned r) { return rd32(c, r) | (u64)rd32(c, r + 4) << 32; }
static void wr32(const struct nvme *c, unsigned r, u32 v) { *(volatile u32 *)(c->bar + r) = v; }
static void wr64(const struct nvme *c, unsigned r, u64 v)
{
    wr32(c, r, (u32)v);
    wr32(c, r + 4, (u32)(v >> 32));
}


/* Submits one command and returns (NVMe 4.1: the entry, then the
 * submission queue's tail doorbell). cmd: the 16 dwords. */
static void issue(struct nvme *c, struct queue *q, u32 *cmd, u64 timeout_ms)
{
    u16 cid = ++q->cid;
    cmd[0] = (cmd[0] & 0xFFFF) | (u32)cid << 16;
    memcpy(q->sq + q->tail * 64u, cmd, 64);
    q->tail = (u16)((q->tail + 1) % QUEUE_ENTRIES);
    q->op = (u8)cmd[0];
    q->timeout_ms = timeout_ms;
    q->deadline = host_tsc_deadline_ms(timeout_ms);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    wr32(c, DOORBELLS + (2u * q->qid) * c->stride, q->tail);
}

/* Has the command issued last ended? A new completion entry's phase tag
 * is the inverse of the last pass's (NVMe 4.6). Never waits. */
static enum block_status check(struct nvme *c, struct queue *q)
{
    volatile u32 *e = (volatile u32 *)(q->cq + q->head * 16u);
    u32 dw3 = e[3];
    if (((dw3 >> 16) & 1) == q->phase) {
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        u32 status = dw3 >> 17; /* SC, SCT, ...: 0 is success */
        q->head = (u16)((q->head + 1) % QUEUE_ENTRIES);
        if (q->head == 0)
            q->phase = !q->phase;
        wr32(c, DOORBELLS + (2u * q->qid + 1) * c->stride, q->head);
        if ((dw3 & 0xFFFF) != q->cid || (status & 0x7FFF)) {
            kprintf("zazen: %s: command %02xh failed: status %04xh\n", c->where, q->op, status & 0x7FFF);
            return BLOCK_FAILED;
        }
        return BLOCK_DONE;
    }
    if (rdtsc() > q->deadline) {
        /* The command may still complete; the queue is out of step from
         * here on, and later commands fail (cid mismatch). */
        kprintf("zazen: %s: command %02xh timed out after %llu ms\n", c->where, q->op,
                (unsigned long long)q->timeout_ms);
        return BLOCK_FAILED;
    }
    return BLOCK_PENDING;
}

/* Setup only (admin commands, before any vCPU runs): issue and wait. */
static bool submit(struct nvme *c, struct queue *q, u32 *cmd, u64 timeout_ms)
{
    issue(c, q, cmd, timeout_ms);
    enum block_status st;
    while ((st = check(c, q)) == BLOCK_PENDING)
        pause();
    return st == BLOCK_DONE;
}

/* PRP entries for buf (NVMe 4.3): PRP1 the first address (any dword
 * offset), PRP2 the second page, or a list of the pages after the
 * first. */
static bool set_prps(struct nvme *c, u32 *cmd, const void *buf, u32 bytes)
{
    u64 a = hpa_of(buf);
    if (a & 3)
        return false;
    u64 first_end = ALIGN_DOWN(a, PAGE_SIZE) + PAGE_SIZE;
    u64 pages_after = bytes <= first_end - a ? 0 : (ALIGN_UP(a + bytes, PAGE_SIZE) - first_end) / PAGE_SIZE;
    u64 prp2 = 0;
    if (pages_after == 1) {
        prp2 = first_end;
    } else if (pages_after > 1) {
        if (pages_after > PAGE_SIZE / 8)
            return false;
        for (u64 i = 0; i < pages_after; i++)
            c->prp_list[i] = first_end + i * PAGE_SIZE;
        prp2 = hpa_of(c->prp_list);
    }
    cmd[6] = (u32)a, cmd[7] = (u32)(a >> 32);
    cmd[8] = (u32)prp2, cmd[9] = (u32)(prp2 >> 32);
    return true;
}

static bool nvme_issue(struct block_device *dev, enum block_op op, u64 lba, u32 count, void *buf)
{
    struct nvme *c = dev->priv;
    u32 cmd[16] = {op == BLOCK_READ ? OP_READ : op == BLOCK_WRITE ? OP_WRITE : OP_FLUSH, NSID};
    if (op != BLOCK_FLUSH) {
        if (!set_prps(c, cmd, buf, count * BLOCK_SECTOR))
            return false;
        cmd[10] = (u32)lba, cmd[11] = (u32)(lba >> 32);
        cmd[12] = count - 1; /* NLB is zero-based */
    }
    issue(c, &c->io, cmd, op == BLOCK_FLUSH ? FLUSH_TIMEOUT_MS : IO_TIMEOUT_MS);
    return true;
}

static enum block_status nvme_check(struct block_device *dev)
{
    struct nvme *c = dev->priv;
    return check(c, &c->io);
}

static const struct block_driver nvme_driver = {nvme_issue, nvme_check};

static bool wait_ready(struct nvme *c, bool ready, u64 ms)
{
    u64 end = host_tsc_deadline_ms(ms);
    while (((rd32(c, REG_CSTS) & CSTS_RDY) != 0) != ready) {
        if (rdtsc() > end || (rd32(c, REG_CSTS) & CSTS_CFS))
            return false;
        pause();
    }
    return true;
}

static bool alloc_queue(struct queue *q, u16 qid)
{
    q->sq = page_alloc(PAGE_SIZE);
    q->cq = page_alloc(PAGE_SIZE);
    q->qid = qid;
    q->phase = true;
    return q->sq && q->cq;
}

/* Reset (CC.EN 1 -> 0), the admin queues, enable (NVMe 7.6.1). */
static bool controller_enable(struct nvme *c)
{
    u64 cap = rd64(c, REG_CAP);
    u64 timeout_ms = ((cap >> 24) & 0xFF) * 500 + 500; /* CAP.TO, in 500 ms units */
    c->stride = 4u << ((cap >> 32) & 0xF);
    if ((cap & 0xFFFF) + 1 < QUEUE_ENTRIES || ((cap >> 48) & 0xF) != 0) { /* MQES; MPSMIN must allow 4 KiB */
        kprintf("zazen: %s: queues of %u entries or 4 KiB pages not supported\n", c->where, QUEUE_ENTRIES);
        return false;
    }
    wr32(c, REG_CC, rd32(c, REG_CC) & ~CC_EN);
    if (!wait_ready(c, false, timeout_ms))
        return false;
    wr32(c, REG_AQA, (QUEUE_ENTRIES - 1) << 16 | (QUEUE_ENTRIES - 1));
    wr64(c, REG_ASQ, hpa_of(c->admin.sq));
    wr64(c, REG_ACQ, hpa_of(c->admin.cq));
    wr32(c, REG_CC, CC_EN | CC_IOSQES_64 | CC_IOCQES_16); /* NVM command set, 4 KiB pages, round robin */
    return wait_ready(c, true, timeout_ms);
}

static bool identify(struct nvme *c, u32 cns, u32 nsid)
{
    u32 cmd[16] = {OP_ADMIN_IDENTIFY, nsid};
    set_prps(c, cmd, c->identify, (u32)PAGE_SIZE);
    cmd[10] = cns;
    return submit(c, &c->admin, cmd, IO_TIMEOUT_MS);
}

static bool create_io_queues(struct nvme *c)
{
    u32 cq[16] = {OP_ADMIN_CREATE_CQ};
    set_prps(c, cq, c->io.cq, (u32)PAGE_SIZE);
    cq[10] = (QUEUE_ENTRIES - 1) << 16 | c->io.qid;
    cq[11] = 1; /* physically contiguous, interrupts off (polled) */
    u32 sq[16] = {OP_ADMIN_CREATE_SQ};
    set_prps(c, sq, c->io.sq, (u32)PAGE_SIZE);
    sq[10] = (QUEUE_ENTRIES - 1) << 16 | c->io.qid;
    sq[11] = (u32)c->io.qid << 16 | 1; /* its completion queue; physically contiguous */
    return submit(c, &c->admin, cq, IO_TIMEOUT_MS) && submit(c, &c->admin, sq, IO_TIMEOUT_MS);
}

static unsigned controller_setup(unsigned bus, unsigned dev, unsigned fn)
{
    struct nvme *c = page_alloc(sizeof(*c));
    if (!c)
        return 0;
    snprintf(c->where, sizeof(c->where), "nvme %02x:%02x.%x", bus, dev, fn);
    u64 base = hostpci_mem_bar(bus, dev, fn, 0x10);
    if (!base) { /* mapped by storage_map_registers */
        kprintf("zazen: %s: BAR0 %llx is not usable\n", c->where, (unsigned long long)base);
        return 0;
    }
    u32 cmd = hostpci_read32(bus, dev, fn, 0x04);
    hostpci_write32(bus, dev, fn, 0x04, (cmd & 0xFFFF) | BIT(1) | BIT(2) | BIT(10)); /* memory, bus master, no INTx */
    c->bar = hva_of(base);
    c->prp_list = page_alloc(PAGE_SIZE);
    c->identify = page_alloc(PAGE_SIZE);
    if (!c->prp_list || !c->identify || !alloc_queue(&c->admin, 0) || !alloc_queue(&c->io, 1))
        return 0;
    if (!controller_enable(c)) {
        kprintf("zazen: %s: the controller does not become ready\n", c->where);
        return 0;
    }
    if (!identify(c, 1, 0) || !create_io_queues(c)) {
        kprintf("zazen: %s: cannot identify it or create its I/O queues\n", c->where);
        return 0;
    }
    char model[41];
    memcpy(model, c->identify + 24, 40); /* MN, ASCII, space padded */
    model[40] = 0;
    for (int i = 39; i >= 0 && model[i] == ' '; i--)
        model[i] = 0;
    u8 mdts = c->identify[77];
    if (mdts && (PAGE_SIZE << mdts) < BLOCK_MAX_REQUEST * BLOCK_SECTOR) {
        kprintf("zazen: %s: transfers of at most %llu bytes\n", c->where, (unsigned long long)(PAGE_SIZE << mdts));
        return 0;
    }
    if (!identify(c, 0, NSID)) {
        kprintf("zazen: %s: no namespace 1\n", c->where);
        return 0;
    }
    u64 sectors = *(u64 *)c->identify; /* NSZE */
    u8 format = c->identify[26] & 0xF;
    u32 lbaf = *(u32 *)(c->identify + 128 + 4 * format);
    if (((lbaf >> 16) & 0xFF) != 9) { /* LBADS: 2^9 = 512-byte blocks */
        kprintf("zazen: %s: namespace 1 has %u-byte blocks, not 512\n", c->where, 1u << ((lbaf >> 16) & 0xFF));
        return 0;
    }
    char name[48];
    snprintf(name, sizeof(name), "%s namespace 1", c->where);
    if (!block_device_add(&nvme_driver, c, sectors, name, model))
        return 0;
    kprintf("zazen: storage: %s: %s, %llu sectors (%llu MiB)\n", name, model, (unsigned long long)sectors,
            (unsigned long long)(sectors >> 11));
    return 1;
}

/* Class 01h (mass storage), subclass 08h (non-volatile memory), interface 02h (NVM Express). */
unsigned nvme_probe(void) { return hostpci_for_class(0x010802, controller_setup); }
