/* See blkif.h. */
#include "blkif.h"

struct blkif_check blkif_check_request(const struct blkif_request *rq, u64 disk_sectors)
{
    struct blkif_check c = {false, 0};
    unsigned n = rq->nr_segments;
    bool flush = rq->operation == BLKIF_OP_FLUSH_DISKCACHE || rq->operation == BLKIF_OP_WRITE_BARRIER;
    if (n > BLKIF_MAX_SEGMENTS_PER_REQUEST || (n == 0 && !flush))
        return c;
    for (unsigned i = 0; i < n; i++) {
        const struct blkif_segment *s = &rq->seg[i];
        if (s->first_sect > s->last_sect || s->last_sect > 7)
            return c;
        c.sectors += (u64)(s->last_sect - s->first_sect + 1);
    }
    /* An empty flush names no sectors: its sector_number is whatever the
     * frontend left there (Xen's blkback ignores it too). */
    if (n && (rq->sector_number > disk_sectors || c.sectors > disk_sectors - rq->sector_number))
        return c;
    c.ok = true;
    return c;
}
