/* fuzz-sources: vmm/xen/xs_store.c vmm/xen/blkif.c vmm/format.c vmm/string.c */
/* The xenstore server's wire protocol on any byte stream from a guest,
 * in pieces of any size, with the responses read or left unread; and
 * the blkif request checks on any request. Checks: the response queue
 * never passes its bound, every queued message is whole (header length
 * fits), the tree keeps its limits, and a request the checks pass lies
 * inside its disk. */
#include "fuzz.h"
#include "../../vmm/xen/blkif.h"
#include "../../vmm/xen/xs_store.h"

static struct xs_store s;

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
    struct prog g = {data, size};
    xs_init(&s, 1 + take8(&g) % 4);
    xs_write(&s, "/local/domain/1/device/vbd/51712/state", "1");
    while (g.left) {
        unsigned piece = 1 + take8(&g) % 64;
        bool read = take8(&g) & 1;
        if (piece > g.left)
            piece = (unsigned)g.left;
        xs_input(&s, g.p, piece);
        g.p += piece;
        g.left -= piece;
        FUZZ_CHECK(s.out_len <= XS_OUT_MAX, "response queue at %u bytes", s.out_len);
        if (read) {
            u8 h[16];
            while (s.out_len >= 16) {
                xs_output(&s, h, 16);
                u32 len = (u32)h[12] | (u32)h[13] << 8 | (u32)h[14] << 16 | (u32)h[15] << 24;
                FUZZ_CHECK(len <= XS_PAYLOAD_MAX && len <= s.out_len, "message of %u bytes, %u queued", len, s.out_len);
                static u8 payload[XS_PAYLOAD_MAX];
                xs_output(&s, payload, len);
            }
        }
    }
    if (size >= sizeof(struct blkif_request)) {
        struct blkif_request rq;
        memcpy(&rq, data + size - sizeof(rq), sizeof(rq));
        struct blkif_check c = blkif_check_request(&rq, 1000);
        /* A request that moves sectors stays inside the disk; an empty
         * flush moves none, and its sector number means nothing. */
        if (c.ok)
            FUZZ_CHECK((c.sectors == 0 || rq.sector_number + c.sectors <= 1000) && rq.nr_segments <= 11,
                       "request passes outside the disk");
    }
    return 0;
}
