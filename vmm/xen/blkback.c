/* The block backend (Xen public/io/blkif.h, ring.h; the xenbus handshake
 * of public/io/xenbus.h): disk0..disk3 of a pvh domain as xvda..xvdd,
 * served from the same struct ide_disk an hvm domain's IDE controller
 * reads and writes, so a disk image behaves the same whichever way it is
 * reached.
 *
 * The handshake: Zazen creates the frontend and backend nodes with the
 * backend at InitWait (2); the frontend grants its ring page, allocates
 * an unbound port, writes ring-ref and event-channel and goes to
 * Initialised (3); Zazen then connects the port, publishes sectors, info,
 * sector-size and feature-flush-cache, and goes to Connected (4). At
 * shutdown it follows the frontend into Closing (5) and Closed (6).
 *
 * Requests are decoded from a private copy (the guest may change the
 * ring under us), checked (segment count, sector ranges, grants), done
 * synchronously and answered with the request's id and operation. A
 * wild producer index ends the domain: its ring is broken for good. */
#include "blkif.h"
#include "xen.h"
#include "../console.h"
#include "../domain.h"
#include "../format.h"
#include "../string.h"
#include "../x86.h"

#define XENBUS_INITWAIT 2
#define XENBUS_INITIALISED 3
#define XENBUS_CONNECTED 4
#define XENBUS_CLOSING 5
#define XENBUS_CLOSED 6
#define VDEV_XVDA ((202 << 8) | 0) /* major 202, 16 minors a disk: xvda = 51712 */
#define VDISK_READONLY 4

static unsigned vdev_of(unsigned disk) { return VDEV_XVDA + disk * 16; }

static void frontend_path(struct xen_domain *x, unsigned disk, const char *key, char *buf, size_t size)
{
    snprintf(buf, size, "/local/domain/%u/device/vbd/%u%s%s", x->d->id, vdev_of(disk), key[0] ? "/" : "", key);
}

static void backend_path(struct xen_domain *x, unsigned disk, const char *key, char *buf, size_t size)
{
    snprintf(buf, size, "/local/domain/0/backend/vbd/%u/%u%s%s", x->d->id, vdev_of(disk), key[0] ? "/" : "", key);
}

static void backend_write(struct xen_domain *x, unsigned disk, const char *key, const char *value)
{
    char p[160];
    backend_path(x, disk, key, p, sizeof(p));
    xenstore_write(x, p, value);
}

static bool frontend_read_u32(struct xen_domain *x, unsigned disk, const char *key, u32 *value)
{
    char p[160], v[24];
    frontend_path(x, disk, key, p, sizeof(p));
    if (!xenstore_read(x, p, v, sizeof(v)) || !v[0])
        return false;
    u64 n = 0;
    for (const char *c = v; *c; c++) {
        if (*c < '0' || *c > '9' || n > 0xffffffffu)
            return false;
        n = n * 10 + (u64)(*c - '0');
    }
    if (n > 0xffffffffu)
        return false;
    *value = (u32)n;
    return true;
}

bool blkback_create(struct xen_domain *x, char *why, size_t why_size)
{
    (void)why;
    (void)why_size;
    for (unsigned i = 0; i < 4; i++) {
        if ((x->d->disks[i].data || x->d->disks[i].backend) && !x->d->disks[i].cdrom)
            x->blk[i].present = true;
    }
    return true;
}

void blkback_destroy(struct xen_domain *x) { (void)x; }

void blkback_reset(struct xen_domain *x)
{
    struct domain *d = x->d;
    for (unsigned i = 0; i < 4; i++) {
        struct blkback *b = &x->blk[i];
        bool present = b->present;
        *b = (struct blkback){.present = present};
        if (!present)
            continue;
        char p[160], v[160];
        struct { const char *key, *value; } fe[] = {{"backend-id", "0"}, {"state", "1"}, {"device-type", "disk"},
                                                     {"trusted", "1"}};
        for (unsigned k = 0; k < sizeof(fe) / sizeof(fe[0]); k++) {
            frontend_path(x, i, fe[k].key, p, sizeof(p));
            xenstore_write(x, p, fe[k].value);
        }
        frontend_path(x, i, "virtual-device", p, sizeof(p));
        snprintf(v, sizeof(v), "%u", vdev_of(i));
        xenstore_write(x, p, v);
        frontend_path(x, i, "backend", p, sizeof(p));
        backend_path(x, i, "", v, sizeof(v));
        xenstore_write(x, p, v);
        frontend_path(x, i, "", v, sizeof(v));
        backend_write(x, i, "frontend", v);
        snprintf(v, sizeof(v), "%u", d->id);
        backend_write(x, i, "frontend-id", v);
        snprintf(v, sizeof(v), "xvd%c", 'a' + i);
        backend_write(x, i, "dev", v);
        backend_write(x, i, "type", "phy");
        backend_write(x, i, "mode", d->disks[i].read_only ? "r" : "w");
        backend_write(x, i, "device-type", "disk");
        backend_write(x, i, "online", "1");
        backend_write(x, i, "state", "2"); /* InitWait: ready for the frontend */
    }
}

/* The frontend published its ring: connect, then say what the disk is,
 * then Connected (blkif.h: properties before the state). */
static void connect(struct xen_domain *x, unsigned disk)
{
    struct blkback *b = &x->blk[disk];
    u32 ring_ref, port;
    if (!frontend_read_u32(x, disk, "ring-ref", &ring_ref) || !frontend_read_u32(x, disk, "event-channel", &port)) {
        kprintf("zazen: domain %s (id %u): xvd%c: the frontend gave no ring-ref or event-channel\n", x->d->name,
                x->d->id, 'a' + disk);
        backend_write(x, disk, "state", "6");
        return;
    }
    if (port == 0 || port >= XEN_MAX_PORTS || x->ports[port].type != PORT_UNBOUND || !xen_grant_page(x, ring_ref, true)) {
        kprintf("zazen: domain %s (id %u): xvd%c: bad ring (grant %u, port %u)\n", x->d->name, x->d->id, 'a' + disk,
                ring_ref, port);
        backend_write(x, disk, "state", "6");
        return;
    }
    x->ports[port].type = PORT_BACKEND;
    x->ports[port].backend = BACKEND_BLK;
    x->ports[port].backend_index = disk;
    b->ring_ref = ring_ref;
    b->port = port;
    b->req_cons = b->rsp_prod_pvt = 0;
    b->connected = true;
    const struct ide_disk *id = &x->d->disks[disk];
    char v[32];
    snprintf(v, sizeof(v), "%llu", (unsigned long long)(id->size / 512));
    backend_write(x, disk, "sectors", v);
    backend_write(x, disk, "info", id->read_only ? "4" : "0");
    backend_write(x, disk, "sector-size", "512");
    backend_write(x, disk, "physical-sector-size", "512");
    backend_write(x, disk, "feature-flush-cache", "1");
    backend_write(x, disk, "feature-barrier", "0");
    backend_write(x, disk, "state", "4");
    blkback_kick(x, disk);
}

static void disconnect(struct xen_domain *x, unsigned disk)
{
    struct blkback *b = &x->blk[disk];
    if (b->connected && b->port < XEN_MAX_PORTS && x->ports[b->port].backend == BACKEND_BLK)
        x->ports[b->port] = (struct xen_port){.type = PORT_UNBOUND};
    b->connected = false;
}

void blkback_frontend_changed(struct xen_domain *x, const char *path)
{
    for (unsigned i = 0; i < 4; i++) {
        char state_path[160];
        frontend_path(x, i, "state", state_path, sizeof(state_path));
        if (!x->blk[i].present || strcmp(path, state_path) != 0)
            continue;
        u32 state;
        if (!frontend_read_u32(x, i, "state", &state))
            continue;
        char p[160], cur[8] = "";
        backend_path(x, i, "state", p, sizeof(p));
        xenstore_read(x, p, cur, sizeof(cur));
        if (state == XENBUS_INITIALISED && !x->blk[i].connected)
            connect(x, i);
        else if (state == XENBUS_CLOSING && strcmp(cur, "5") != 0) {
            disconnect(x, i);
            backend_write(x, i, "state", "5");
        } else if (state == XENBUS_CLOSED) {
            disconnect(x, i);
            backend_write(x, i, "state", "6");
        } else if (state == 1 && (strcmp(cur, "6") == 0 || strcmp(cur, "5") == 0)) { /* the frontend starts over */
            disconnect(x, i);
            backend_write(x, i, "state", "2");
        }
    }
}

/* A disk in place on a host disk (docs/storage.md): one piece through
 * the store's backend, the same the IDE device uses, waited for here.
 * The vCPU that sent the ring's event waits on its host CPU for the
 * host disk (within the driver's timeout); the IDE device, which has
 * BSY to show, lets it run meanwhile. */
static bool store_io(const struct ide_backend *be, enum ide_io_op op, u64 lba, u32 count)
{
    if (!be->submit(be->ctx, op, lba, count, be->bounce))
        return false;
    enum ide_io_status st;
    while ((st = be->poll(be->ctx)) == IDE_IO_PENDING)
        pause();
    return st == IDE_IO_DONE;
}

/* One segment: the guest's granted page to or from the disk. */
static bool segment_io(struct xen_domain *x, const struct ide_disk *id, const struct blkif_segment *seg, u64 sector,
                       bool write)
{
    unsigned n = seg->last_sect - seg->first_sect + 1, offset = seg->first_sect * 512u;
    if (id->data)
        return xen_grant_copy(x, seg->gref, offset, id->data + sector * 512, n * 512, !write);
    const struct ide_backend *be = id->backend;
    if (write)
        return xen_grant_copy(x, seg->gref, offset, be->bounce, n * 512, false) &&
               store_io(be, IDE_IO_WRITE, sector, n);
    return store_io(be, IDE_IO_READ, sector, n) && xen_grant_copy(x, seg->gref, offset, be->bounce, n * 512, true);
}

/* One request; the response's status (blkif.h BLKIF_RSP_*). */
static s16 do_request(struct xen_domain *x, unsigned disk, const struct blkif_request *rq)
{
    struct ide_disk *id = &x->d->disks[disk];
    struct blkback *b = &x->blk[disk];
    bool write = rq->operation == BLKIF_OP_WRITE || rq->operation == BLKIF_OP_WRITE_BARRIER ||
                 rq->operation == BLKIF_OP_FLUSH_DISKCACHE;
    if (rq->operation != BLKIF_OP_READ && !write)
        return BLKIF_RSP_EOPNOTSUPP;
    struct blkif_check c = blkif_check_request(rq, id->size / 512);
    if (!c.ok)
        return BLKIF_RSP_ERROR;
    if (write && rq->nr_segments && id->read_only)
        return BLKIF_RSP_ERROR;
    u64 sector = rq->sector_number;
    for (unsigned s = 0; s < rq->nr_segments; s++) {
        const struct blkif_segment *seg = &rq->seg[s];
        unsigned n = seg->last_sect - seg->first_sect + 1;
        if (!segment_io(x, id, seg, sector, write))
            return BLKIF_RSP_ERROR;
        sector += n;
        if (write)
            b->sectors_written += n;
        else
            b->sectors_read += n;
    }
    /* A RAM image has every write at once; a host disk's cache is flushed
     * for a flush or a barrier, as the IDE device's FLUSH CACHE is. */
    bool flush = rq->operation == BLKIF_OP_FLUSH_DISKCACHE || rq->operation == BLKIF_OP_WRITE_BARRIER;
    if (flush && !id->data && !store_io(id->backend, IDE_IO_FLUSH, 0, 0))
        return BLKIF_RSP_ERROR;
    return BLKIF_RSP_OKAY;
}

void blkback_kick(struct xen_domain *x, unsigned disk)
{
    if (disk >= 4 || !x->blk[disk].connected)
        return;
    struct blkback *b = &x->blk[disk];
    u8 *ring = xen_grant_page(x, b->ring_ref, true);
    if (!ring) { /* the frontend revoked its ring under us */
        disconnect(x, disk);
        return;
    }
    struct blkif_sring *sr = (struct blkif_sring *)ring;
    bool notify = false;
    for (;;) {
        u32 prod = __atomic_load_n(&sr->req_prod, __ATOMIC_ACQUIRE);
        if (prod - b->req_cons > BLKIF_RING_SIZE) {
            domain_end(x->d, "xvd%c: blkif request ring producer index %u is %u entries ahead of the consumer "
                             "(the ring holds %u)", 'a' + disk, prod, prod - b->req_cons, BLKIF_RING_SIZE);
            return;
        }
        while (b->req_cons != prod) {
            struct blkif_request rq;
            memcpy(&rq, &sr->ring[b->req_cons % BLKIF_RING_SIZE], sizeof(rq));
            b->req_cons++;
            b->requests++;
            struct blkif_response rsp = {.id = rq.id, .operation = rq.operation, .status = do_request(x, disk, &rq)};
            memcpy(&sr->ring[b->rsp_prod_pvt % BLKIF_RING_SIZE], &rsp, sizeof(rsp));
            b->rsp_prod_pvt++;
        }
        /* RING_PUSH_RESPONSES_AND_CHECK_NOTIFY */
        u32 old = sr->rsp_prod, now = b->rsp_prod_pvt;
        __atomic_store_n(&sr->rsp_prod, now, __ATOMIC_RELEASE);
        u32 event = __atomic_load_n(&sr->rsp_event, __ATOMIC_ACQUIRE);
        if ((u32)(now - event) < (u32)(now - old))
            notify = true;
        /* RING_FINAL_CHECK_FOR_REQUESTS: re-arm, then look once more */
        __atomic_store_n(&sr->req_event, b->req_cons + 1, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(&sr->req_prod, __ATOMIC_SEQ_CST) == b->req_cons)
            break;
    }
    if (notify)
        xen_evtchn_set_pending(x, b->port);
}
