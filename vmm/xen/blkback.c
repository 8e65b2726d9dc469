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
 * ring under us), checked (segment count, sector ranges, grants) and
 * answered with the request's id and operation. A disk image in RAM
 * answers at once. A disk in place on a host disk (docs/storage.md)
 * answers later: the kick starts the request's first segment on the
 * store and returns, so the vCPU that sent the event goes back to its
 * guest (or blocks, and other vCPUs run) while the host disk works; a
 * timer of the domain's device clock polls the store, as the IDE device's
 * does, moves the request on segment by segment and at the end sends the
 * response and the event, then takes the ring's next request. A wild
 * producer index ends the domain: its ring is broken for good. */
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

static void poll_fired(void *dev, u64 now);

bool blkback_create(struct xen_domain *x, char *why, size_t why_size)
{
    (void)why;
    (void)why_size;
    for (unsigned i = 0; i < 4; i++) {
        struct blkback *b = &x->blk[i];
        b->x = x;
        b->disk = i;
        timer_init(&b->poll, poll_fired, b);
        if ((x->d->disks[i].data || x->d->disks[i].backend) && !x->d->disks[i].cdrom)
            b->present = true;
    }
    return true;
}

/* The domain ends: what each disk's ring carried. */
void blkback_destroy(struct xen_domain *x)
{
    for (unsigned i = 0; i < 4; i++) {
        struct blkback *b = &x->blk[i];
        timer_cancel(&x->d->pc.clock, &b->poll);
        if (!b->requests)
            continue;
        kprintf("zazen: domain %s (id %u): xvd%c: %llu requests, %llu sectors read, %llu written, %llu answered "
                "after the kick returned\n", x->d->name, x->d->id, 'a' + i, (unsigned long long)b->requests,
                (unsigned long long)b->sectors_read, (unsigned long long)b->sectors_written,
                (unsigned long long)b->deferred);
    }
}

void blkback_reset(struct xen_domain *x)
{
    struct domain *d = x->d;
    for (unsigned i = 0; i < 4; i++) {
        struct blkback *b = &x->blk[i];
        /* A request under way is dropped with the ring; the store's own
         * request ends on its own, and the next one waits for it
         * (STEP_START) before it touches the bounce buffer. */
        timer_cancel(&d->pc.clock, &b->poll);
        *b = (struct blkback){.present = b->present, .poll = b->poll, .x = x, .disk = i};
        if (!b->present)
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
    timer_cancel(&x->d->pc.clock, &b->poll);
    b->busy = false;
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

static bool is_write(const struct blkif_request *rq)
{
    return rq->operation == BLKIF_OP_WRITE || rq->operation == BLKIF_OP_WRITE_BARRIER ||
           rq->operation == BLKIF_OP_FLUSH_DISKCACHE;
}

/* A RAM image has every write at once; a host disk's cache is flushed for
 * a flush or a barrier, as the IDE device's FLUSH CACHE is. */
static bool wants_flush(const struct blkif_request *rq)
{
    return rq->operation == BLKIF_OP_FLUSH_DISKCACHE || rq->operation == BLKIF_OP_WRITE_BARRIER;
}

/* The checks every request passes before anything is read or written;
 * BLKIF_RSP_OKAY if it may go on. */
static s16 check_request(const struct ide_disk *id, const struct blkif_request *rq)
{
    if (rq->operation != BLKIF_OP_READ && !is_write(rq))
        return BLKIF_RSP_EOPNOTSUPP;
    if (!blkif_check_request(rq, id->size / 512).ok)
        return BLKIF_RSP_ERROR;
    if (is_write(rq) && rq->nr_segments && id->read_only)
        return BLKIF_RSP_ERROR;
    return BLKIF_RSP_OKAY;
}

static unsigned segment_sectors(const struct blkif_segment *seg) { return seg->last_sect - seg->first_sect + 1u; }

static void count_segment(struct blkback *b, const struct blkif_request *rq, unsigned n)
{
    if (is_write(rq))
        b->sectors_written += n;
    else
        b->sectors_read += n;
}

/* A disk image in RAM: the whole request at once. */
static s16 ram_request(struct xen_domain *x, unsigned disk, const struct blkif_request *rq)
{
    struct ide_disk *id = &x->d->disks[disk];
    u64 sector = rq->sector_number;
    for (unsigned s = 0; s < rq->nr_segments; s++) {
        const struct blkif_segment *seg = &rq->seg[s];
        unsigned n = segment_sectors(seg);
        if (!xen_grant_copy(x, seg->gref, seg->first_sect * 512u, id->data + sector * 512, n * 512,
                            !is_write(rq)))
            return BLKIF_RSP_ERROR;
        sector += n;
        count_segment(&x->blk[disk], rq, n);
    }
    return BLKIF_RSP_OKAY;
}

/* Writes one response into the ring and publishes it
 * (RING_PUSH_RESPONSES_AND_CHECK_NOTIFY); true if the frontend asked for
 * an event. */
static bool push_response(struct blkback *b, struct blkif_sring *sr, const struct blkif_request *rq, s16 status)
{
    struct blkif_response rsp = {.id = rq->id, .operation = rq->operation, .status = status};
    memcpy(&sr->ring[b->rsp_prod_pvt % BLKIF_RING_SIZE], &rsp, sizeof(rsp));
    b->rsp_prod_pvt++;
    u32 old = sr->rsp_prod, now = b->rsp_prod_pvt;
    __atomic_store_n(&sr->rsp_prod, now, __ATOMIC_RELEASE);
    u32 event = __atomic_load_n(&sr->rsp_event, __ATOMIC_ACQUIRE);
    return (u32)(now - event) < (u32)(now - old);
}

/* The ring page, or NULL (and the disk disconnected) if the frontend
 * revoked its grant under us. */
static struct blkif_sring *ring_of(struct xen_domain *x, unsigned disk)
{
    struct blkif_sring *sr = (struct blkif_sring *)xen_grant_page(x, x->blk[disk].ring_ref, true);
    if (!sr)
        disconnect(x, disk);
    return sr;
}

static void arm_poll(struct blkback *b)
{
    struct dm_clock *c = &b->x->d->pc.clock;
    timer_arm(c, &b->poll, clock_now(c) + b->poll_ns);
}

/* What the store does for the request under way. */
enum blk_step {
    STEP_START, /* nothing yet (or waiting for a request a reset left on the store to end) */
    STEP_DATA,  /* the segments' sectors are being read or written, as one store request */
    STEP_FLUSH, /* the host disk's cache is being flushed */
};

/* Starts what the request under way needs next on the store: its data
 * (a write's copied in from its grants first; the segments of a request
 * are consecutive sectors, at most 11 pages, which the bounce buffer
 * holds), else the flush. True while the store works on it, false when
 * the request has ended (*status says how). */
static bool start_next(struct blkback *b, s16 *status)
{
    struct xen_domain *x = b->x;
    const struct ide_backend *be = x->d->disks[b->disk].backend;
    const struct blkif_request *rq = &b->cur;
    _Static_assert(BLKIF_MAX_SEGMENTS_PER_REQUEST * 4096 <= IDE_BOUNCE_BYTES, "a request fits the bounce buffer");
    if (b->step == STEP_START && rq->nr_segments) {
        unsigned total = 0;
        for (unsigned s = 0; s < rq->nr_segments; s++) {
            const struct blkif_segment *seg = &rq->seg[s];
            unsigned n = segment_sectors(seg);
            if (is_write(rq) &&
                !xen_grant_copy(x, seg->gref, seg->first_sect * 512u, be->bounce + total * 512, n * 512, false)) {
                *status = BLKIF_RSP_ERROR;
                return false;
            }
            total += n;
        }
        b->step = STEP_DATA;
        if (be->submit(be->ctx, is_write(rq) ? IDE_IO_WRITE : IDE_IO_READ, rq->sector_number, total, be->bounce))
            return true;
        *status = BLKIF_RSP_ERROR;
        return false;
    }
    if (wants_flush(rq) && b->step != STEP_FLUSH) {
        b->step = STEP_FLUSH;
        if (be->submit(be->ctx, IDE_IO_FLUSH, 0, 0, be->bounce))
            return true;
        *status = BLKIF_RSP_ERROR;
        return false;
    }
    *status = BLKIF_RSP_OKAY;
    return false;
}

/* The store ended what it did for the request under way (ok or not): a
 * read's data goes out to its grants, and the request moves on. False
 * when the request has ended (*status says how). */
static bool step_ended(struct blkback *b, bool ok, s16 *status)
{
    struct xen_domain *x = b->x;
    const struct ide_backend *be = x->d->disks[b->disk].backend;
    const struct blkif_request *rq = &b->cur;
    if (!ok) {
        *status = BLKIF_RSP_ERROR;
        return false;
    }
    if (b->step == STEP_DATA) {
        unsigned done = 0;
        for (unsigned s = 0; s < rq->nr_segments; s++) {
            const struct blkif_segment *seg = &rq->seg[s];
            unsigned n = segment_sectors(seg);
            if (!is_write(rq) &&
                !xen_grant_copy(x, seg->gref, seg->first_sect * 512u, be->bounce + done * 512, n * 512, true)) {
                *status = BLKIF_RSP_ERROR;
                return false;
            }
            count_segment(b, rq, n);
            done += n;
        }
    }
    return start_next(b, status);
}

/* A request for a disk in place starts; false if it ended at once. The
 * store may still hold a request from before a reset (its DMA may still
 * write the bounce buffer): then the request waits for that first. */
static bool begin_store_request(struct blkback *b, const struct blkif_request *rq, s16 *status)
{
    const struct ide_backend *be = b->x->d->disks[b->disk].backend;
    b->cur = *rq;
    b->poll_ns = IDE_POLL_FIRST_NS;
    b->step = STEP_START;
    if (be->poll(be->ctx) == IDE_IO_PENDING)
        return true;
    return start_next(b, status);
}

/* Takes the ring's requests until it is empty or one has to wait for the
 * host disk; answers the others. */
static void serve_ring(struct xen_domain *x, unsigned disk)
{
    struct blkback *b = &x->blk[disk];
    struct blkif_sring *sr = ring_of(x, disk);
    if (!sr)
        return;
    const struct ide_disk *id = &x->d->disks[disk];
    bool notify = false;
    while (!b->busy) {
        u32 prod = __atomic_load_n(&sr->req_prod, __ATOMIC_ACQUIRE);
        if (prod - b->req_cons > BLKIF_RING_SIZE) {
            domain_end(x->d, "xvd%c: blkif request ring producer index %u is %u entries ahead of the consumer "
                             "(the ring holds %u)", 'a' + disk, prod, prod - b->req_cons, BLKIF_RING_SIZE);
            return;
        }
        if (b->req_cons == prod) {
            /* RING_FINAL_CHECK_FOR_REQUESTS: re-arm, then look once more */
            __atomic_store_n(&sr->req_event, b->req_cons + 1, __ATOMIC_SEQ_CST);
            if (__atomic_load_n(&sr->req_prod, __ATOMIC_SEQ_CST) == b->req_cons)
                break;
            continue;
        }
        struct blkif_request rq;
        memcpy(&rq, &sr->ring[b->req_cons % BLKIF_RING_SIZE], sizeof(rq));
        b->req_cons++;
        b->requests++;
        s16 status = check_request(id, &rq);
        if (status == BLKIF_RSP_OKAY) {
            if (id->data)
                status = ram_request(x, disk, &rq);
            else if (begin_store_request(b, &rq, &status)) {
                b->busy = true;
                arm_poll(b);
                break;
            }
        }
        notify |= push_response(b, sr, &rq, status);
    }
    if (notify)
        xen_evtchn_set_pending(x, b->port);
}

/* The poll timer: has the store ended the step under way? Polls back off
 * while it runs, as the IDE device's do. */
static void poll_fired(void *dev, u64 now)
{
    (void)now;
    struct blkback *b = dev;
    struct xen_domain *x = b->x;
    if (!b->busy || !b->connected)
        return;
    const struct ide_backend *be = x->d->disks[b->disk].backend;
    enum ide_io_status st = be->poll(be->ctx);
    s16 status = BLKIF_RSP_OKAY;
    bool going;
    if (st == IDE_IO_PENDING)
        going = true;
    else if (b->step == STEP_START)
        going = start_next(b, &status);
    else
        going = step_ended(b, st == IDE_IO_DONE, &status);
    if (going) {
        b->poll_ns = st == IDE_IO_PENDING ? MIN(b->poll_ns * 2, IDE_POLL_MAX_NS) : IDE_POLL_FIRST_NS;
        arm_poll(b);
        return;
    }
    b->busy = false;
    b->deferred++;
    struct blkif_sring *sr = ring_of(x, b->disk);
    if (!sr)
        return;
    if (push_response(b, sr, &b->cur, status))
        xen_evtchn_set_pending(x, b->port);
    serve_ring(x, b->disk);
}

void blkback_kick(struct xen_domain *x, unsigned disk)
{
    if (disk >= 4 || !x->blk[disk].connected)
        return;
    serve_ring(x, disk); /* a request under way takes the rest when it ends */
}
