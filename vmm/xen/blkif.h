/* The blkif ring (Xen public/io/blkif.h, ring.h), x86_64 layout, and the
 * checks a request must pass before the backend touches anything. Pure:
 * the fuzzer and the unit tests decode hostile requests with it. */
#ifndef ZAZEN_BLKIF_H
#define ZAZEN_BLKIF_H

#include "../types.h"

#define BLKIF_OP_READ 0
#define BLKIF_OP_WRITE 1
#define BLKIF_OP_WRITE_BARRIER 2
#define BLKIF_OP_FLUSH_DISKCACHE 3
#define BLKIF_OP_DISCARD 5
#define BLKIF_OP_INDIRECT 6
#define BLKIF_MAX_SEGMENTS_PER_REQUEST 11
#define BLKIF_RSP_EOPNOTSUPP (-2)
#define BLKIF_RSP_ERROR (-1)
#define BLKIF_RSP_OKAY 0
#define BLKIF_RING_SIZE 32 /* __RING_SIZE for 112-byte entries in one page */

struct PACKED blkif_segment {
    u32 gref;
    u8 first_sect, last_sect; /* 512-byte sectors within the page, 0-7 */
    u16 pad;
};

struct PACKED blkif_request {
    u8 operation;
    u8 nr_segments;
    u16 handle;
    u32 pad;
    u64 id;
    u64 sector_number;
    struct blkif_segment seg[BLKIF_MAX_SEGMENTS_PER_REQUEST];
};

struct PACKED blkif_response {
    u64 id;
    u8 operation;
    u8 pad;
    s16 status;
    u32 pad2;
};

union blkif_entry {
    struct blkif_request req;
    struct blkif_response rsp;
};

struct blkif_sring {
    u32 req_prod, req_event, rsp_prod, rsp_event;
    u8 pad[48];
    union blkif_entry ring[BLKIF_RING_SIZE];
};

_Static_assert(sizeof(struct blkif_request) == 112, "blkif request size");
_Static_assert(sizeof(struct blkif_sring) <= 4096, "blkif ring fits a page");

struct blkif_check {
    bool ok;
    u64 sectors; /* what the segments cover */
};

/* Segment count (1-11 for reads and writes, 0-11 for a flush), each
 * segment's sectors (first <= last <= 7), and the whole range inside a
 * disk of disk_sectors. */
struct blkif_check blkif_check_request(const struct blkif_request *rq, u64 disk_sectors);


#endif
