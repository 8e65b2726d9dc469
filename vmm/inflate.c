/* gzip (RFC 1952) around DEFLATE (RFC 1951): stored, fixed-Huffman and
 * dynamic-Huffman blocks, decoded a bit at a time from canonical code
 * tables (RFC 1951 3.2.2). Every length, distance and code comes from
 * untrusted bytes: an over-subscribed or incomplete table, a distance
 * before the output's start or output past the buffer is an error. The
 * member's CRC32 and ISIZE are checked at the end. */
#include "decompress.h"
#include "format.h"
#include "string.h"

#define MAX_BITS 15
#define MAX_LITLEN 286
#define MAX_DIST 30

struct bits {
    const u8 *in;
    u64 len, pos; /* pos in bits */
    bool overrun;
};

static unsigned getbits(struct bits *b, unsigned n)
{
    unsigned v = 0;
    for (unsigned i = 0; i < n; i++) {
        if (b->pos >= b->len * 8) {
            b->overrun = true;
            return 0;
        }
        v |= (unsigned)((b->in[b->pos >> 3] >> (b->pos & 7)) & 1) << i;
        b->pos++;
    }
    return v;
}

struct huffman {
    u16 count[MAX_BITS + 1];
    u16 symbol[MAX_LITLEN];
};

/* Canonical codes from lengths; false if over-subscribed. An incomplete
 * code is allowed only for a single-code distance table (RFC 1951
 * 3.2.7), and a missing symbol then never decodes. */
static bool build(struct huffman *h, const u8 *lengths, unsigned n)
{
    memset(h->count, 0, sizeof(h->count));
    for (unsigned s = 0; s < n; s++)
        h->count[lengths[s]]++;
    int left = 1;
    for (unsigned len = 1; len <= MAX_BITS; len++) {
        left <<= 1;
        left -= h->count[len];
        if (left < 0)
            return false;
    }
    u16 offs[MAX_BITS + 2];
    offs[1] = 0;
    for (unsigned len = 1; len <= MAX_BITS; len++)
        offs[len + 1] = (u16)(offs[len] + h->count[len]);
    for (unsigned s = 0; s < n; s++)
        if (lengths[s])
            h->symbol[offs[lengths[s]]++] = (u16)s;
    return true;
}

static int decode(struct bits *b, const struct huffman *h)
{
    int code = 0, first = 0, index = 0;
    for (unsigned len = 1; len <= MAX_BITS; len++) {
        code |= (int)getbits(b, 1);
        int count = h->count[len];
        if (code - count < first)
            return h->symbol[index + (code - first)];
        index += count;
        first += count;
        first <<= 1;
        code <<= 1;
        if (b->overrun)
            return -1;
    }
    return -1;
}

static const u16 len_base[29] = {3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115,
                                 131, 163, 195, 227, 258};
static const u8 len_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const u16 dist_base[30] = {1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025,
                                  1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
static const u8 dist_extra[30] = {0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12,
                                  13, 13};

struct out {
    u8 *buf;
    u64 size, pos;
};

static bool codes(struct bits *b, struct out *o, const struct huffman *lit, const struct huffman *dist)
{
    for (;;) {
        int sym = decode(b, lit);
        if (sym < 0 || b->overrun)
            return false;
        if (sym < 256) {
            if (o->pos >= o->size)
                return false;
            o->buf[o->pos++] = (u8)sym;
        } else if (sym == 256) {
            return true;
        } else {
            sym -= 257;
            if (sym >= 29)
                return false;
            unsigned len = len_base[sym] + getbits(b, len_extra[sym]);
            int d = decode(b, dist);
            if (d < 0 || d >= 30)
                return false;
            u64 distance = dist_base[d] + getbits(b, dist_extra[d]);
            if (b->overrun || distance > o->pos || len > o->size - o->pos)
                return false;
            for (unsigned i = 0; i < len; i++, o->pos++)
                o->buf[o->pos] = o->buf[o->pos - distance];
        }
    }
}

static bool fixed_block(struct bits *b, struct out *o)
{
    static struct huffman lit, dist;
    static bool built;
    if (!built) {
        u8 l[288];
        for (unsigned s = 0; s < 288; s++)
            l[s] = s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8;
        build(&lit, l, MAX_LITLEN); /* 286 and 287 never occur */
        for (unsigned s = 0; s < 30; s++)
            l[s] = 5;
        build(&dist, l, MAX_DIST);
        built = true;
    }
    return codes(b, o, &lit, &dist);
}

static bool dynamic_block(struct bits *b, struct out *o)
{
    static const u8 order[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};
    unsigned nlen = getbits(b, 5) + 257, ndist = getbits(b, 5) + 1, ncode = getbits(b, 4) + 4;
    if (nlen > MAX_LITLEN || ndist > MAX_DIST)
        return false;
    u8 lengths[MAX_LITLEN + MAX_DIST] = {0};
    for (unsigned i = 0; i < ncode; i++)
        lengths[order[i]] = (u8)getbits(b, 3);
    struct huffman lencode, lit, dist;
    if (!build(&lencode, lengths, 19))
        return false;
    for (unsigned i = 0; i < nlen + ndist;) {
        int sym = decode(b, &lencode);
        if (sym < 0 || b->overrun)
            return false;
        if (sym < 16) {
            lengths[i++] = (u8)sym;
            continue;
        }
        unsigned repeat, value = 0;
        if (sym == 16) {
            if (i == 0)
                return false;
            value = lengths[i - 1];
            repeat = 3 + getbits(b, 2);
        } else if (sym == 17) {
            repeat = 3 + getbits(b, 3);
        } else {
            repeat = 11 + getbits(b, 7);
        }
        if (i + repeat > nlen + ndist)
            return false;
        while (repeat--)
            lengths[i++] = (u8)value;
    }
    if (lengths[256] == 0) /* no end-of-block code */
        return false;
    if (!build(&lit, lengths, nlen) || !build(&dist, lengths + nlen, ndist))
        return false;
    return codes(b, o, &lit, &dist);
}

static bool stored_block(struct bits *b, struct out *o)
{
    b->pos = ALIGN_UP(b->pos, 8);
    u64 at = b->pos / 8;
    if (at + 4 > b->len)
        return false;
    unsigned len = b->in[at] | b->in[at + 1] << 8, nlen = b->in[at + 2] | b->in[at + 3] << 8;
    if (len != (~nlen & 0xffff) || at + 4 + len > b->len || len > o->size - o->pos)
        return false;
    memcpy(o->buf + o->pos, b->in + at + 4, len);
    o->pos += len;
    b->pos = (at + 4 + len) * 8;
    return true;
}

static u32 crc32_of(const u8 *p, u64 len)
{
    u32 c = 0xffffffffu;
    for (u64 i = 0; i < len; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
    }
    return c ^ 0xffffffffu;
}

static bool fail(char *why, size_t why_size, const char *what)
{
    snprintf(why, why_size, "gzip: %s", what);
    return false;
}

bool gzip_decompress(const u8 *in, u64 len, u8 *out, u64 out_size, u64 *out_len, char *why, size_t why_size)
{
    *out_len = 0;
    if (len < 18 || in[0] != 0x1f || in[1] != 0x8b || in[2] != 8)
        return fail(why, why_size, "not a gzip member");
    u8 flags = in[3];
    if (flags & 0xe0)
        return fail(why, why_size, "reserved header flags set");
    u64 pos = 10;
    if (flags & 4) { /* FEXTRA */
        if (pos + 2 > len)
            return fail(why, why_size, "truncated header");
        pos += 2 + (u64)(in[pos] | in[pos + 1] << 8);
    }
    for (u8 f = 8; f <= 16; f <<= 1) /* FNAME, FCOMMENT: NUL-terminated */
        if (flags & f) {
            while (pos < len && in[pos])
                pos++;
            pos++;
        }
    if (flags & 2) /* FHCRC */
        pos += 2;
    if (pos + 8 > len)
        return fail(why, why_size, "truncated header");
    struct bits b = {in + pos, len - 8 - pos, 0, false};
    struct out o = {out, out_size, 0};
    bool last = false;
    while (!last) {
        last = getbits(&b, 1);
        unsigned type = getbits(&b, 2);
        bool ok = type == 0 ? stored_block(&b, &o) : type == 1 ? fixed_block(&b, &o) : type == 2 && dynamic_block(&b, &o);
        if (!ok || b.overrun)
            return fail(why, why_size, type == 3 ? "reserved block type" : "corrupt or truncated DEFLATE data");
    }
    const u8 *trailer = in + len - 8;
    u32 crc = trailer[0] | trailer[1] << 8 | trailer[2] << 16 | (u32)trailer[3] << 24;
    u32 isize = trailer[4] | trailer[5] << 8 | trailer[6] << 16 | (u32)trailer[7] << 24;
    if (isize != (u32)o.pos)
        return fail(why, why_size, "ISIZE does not match the data");
    if (crc != crc32_of(out, o.pos))
        return fail(why, why_size, "CRC32 mismatch: the data is corrupt");
    *out_len = o.pos;
    return true;
}
