/* The .xz file format (version 1.0.4: stream header and footer, blocks,
 * index) with the filters a kernel payload uses: LZMA2 and the x86 BCJ
 * filter in front of it (Linux scripts/xz_wrap.sh: --x86 --lzma2). The
 * LZMA decoder follows the LZMA specification (the SDK's lzma-specification
 * text): a range decoder over adaptive bit probabilities, literals coded
 * with the previous byte as context, matches and four repeated
 * distances. The output buffer is the dictionary: the whole stream is
 * decompressed in one call, so a match reaches back into it directly.
 *
 * Every index, length and distance comes from untrusted bytes and is
 * checked before use (tests/unit/test_xz.c, tests/fuzz/fuzz_xz.c). */
#include "decompress.h"
#include "format.h"
#include "string.h"

/* ---- CRC32 (IEEE 802.3, reflected 0xEDB88320), as .xz checks it ---- */

static u32 crc32_table[256];
static bool crc32_ready;

static void crc32_init(void)
{
    for (u32 i = 0; i < 256; i++) {
        u32 c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc32_table[i] = c;
    }
    crc32_ready = true;
}

static u32 crc32(const u8 *p, u64 len)
{
    if (!crc32_ready)
        crc32_init();
    u32 c = 0xffffffffu;
    for (u64 i = 0; i < len; i++)
        c = crc32_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffu;
}

static u32 get32(const u8 *p) { return (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24; }

static bool fail(char *why, size_t why_size, const char *fmt, ...) PRINTF_LIKE(3, 4);
static bool fail(char *why, size_t why_size, const char *fmt, ...)
{
    int n = snprintf(why, why_size, "xz: ");
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < why_size)
        vsnprintf(why + n, why_size - (size_t)n, fmt, ap);
    va_end(ap);
    return false;
}

/* Multibyte integers (.xz 1.2): 7 bits a byte, at most 9 bytes. */
static bool varint(const u8 *in, u64 end, u64 *pos, u64 *value)
{
    u64 v = 0;
    for (unsigned i = 0; i < 9; i++) {
        if (*pos >= end)
            return false;
        u8 b = in[(*pos)++];
        v |= (u64)(b & 0x7f) << (7 * i);
        if (!(b & 0x80))
            return b != 0 || i == 0 ? (*value = v, true) : false;
    }
    return false;
}

/* The check field's size for check type t (.xz 2.1.1.2: 0, 4, 8, 16,
 * 32 or 64 bytes by groups of three). */
static unsigned check_size(unsigned t) { return t == 0 ? 0 : 4u << ((t - 1) / 3); }

/* ---- the LZMA decoder ---- */

#define PROB_BITS 11
#define PROB_INIT (1u << (PROB_BITS - 1))
#define MOVE_BITS 5
#define STATES 12
#define POS_STATES_MAX 16
#define LEN_TO_POS_STATES 4
#define END_POS_MODEL 14
#define FULL_DISTANCES 128
#define ALIGN_BITS 4
#define MATCH_MIN 2
#define LITERAL_CODERS_MAX 16 /* 1 << (lc + lp), lc + lp <= 4 in LZMA2 */

struct len_coder {
    u16 choice, choice2;
    u16 low[POS_STATES_MAX][8], mid[POS_STATES_MAX][8], high[256];
};

struct lzma {
    /* range decoder over [in, in_end) */
    const u8 *in;
    u64 in_pos, in_end;
    u32 range, code;
    bool corrupt;
    /* the output, which is the dictionary from dict_start on */
    u8 *out;
    u64 out_pos, out_size, dict_start;
    u32 dict_size;
    /* model */
    unsigned lc, lp, pb;
    unsigned state;
    u32 rep[4];
    bool props_set;
    u16 is_match[STATES][POS_STATES_MAX], is_rep[STATES], is_rep_g0[STATES], is_rep_g1[STATES],
        is_rep_g2[STATES], is_rep0_long[STATES][POS_STATES_MAX];
    u16 pos_slot[LEN_TO_POS_STATES][64], pos_special[1 + FULL_DISTANCES - END_POS_MODEL], align[1 << ALIGN_BITS];
    struct len_coder len, rep_len;
    u16 literal[LITERAL_CODERS_MAX][0x300];
};

static u8 next_in(struct lzma *z)
{
    if (z->in_pos >= z->in_end) {
        z->corrupt = true; /* past the chunk: the data lies about its size */
        return 0;
    }
    return z->in[z->in_pos++];
}

static bool rc_init(struct lzma *z)
{
    z->range = 0xffffffffu;
    z->code = 0;
    u8 first = next_in(z);
    for (int i = 0; i < 4; i++)
        z->code = z->code << 8 | next_in(z);
    return first == 0 && z->code != z->range && !z->corrupt;
}

static void rc_normalize(struct lzma *z)
{
    if (z->range < (1u << 24)) {
        z->range <<= 8;
        z->code = z->code << 8 | next_in(z);
    }
}

static unsigned bit(struct lzma *z, u16 *p)
{
    u32 bound = (z->range >> PROB_BITS) * *p;
    unsigned b;
    if (z->code < bound) {
        z->range = bound;
        *p = (u16)(*p + (((1u << PROB_BITS) - *p) >> MOVE_BITS));
        b = 0;
    } else {
        z->range -= bound;
        z->code -= bound;
        *p = (u16)(*p - (*p >> MOVE_BITS));
        b = 1;
    }
    rc_normalize(z);
    return b;
}

static u32 direct_bits(struct lzma *z, unsigned n)
{
    u32 v = 0;
    while (n--) {
        z->range >>= 1;
        u32 b = z->code >= z->range;
        if (b)
            z->code -= z->range;
        rc_normalize(z);
        v = v << 1 | b;
    }
    return v;
}

static unsigned tree(struct lzma *z, u16 *probs, unsigned bits)
{
    unsigned m = 1;
    for (unsigned i = 0; i < bits; i++)
        m = m << 1 | bit(z, &probs[m]);
    return m - (1u << bits);
}

static unsigned reverse_tree(struct lzma *z, u16 *probs, unsigned bits)
{
    unsigned m = 1, v = 0;
    for (unsigned i = 0; i < bits; i++) {
        unsigned b = bit(z, &probs[m]);
        m = m << 1 | b;
        v |= b << i;
    }
    return v;
}

static void probs_init(u16 *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = PROB_INIT;
}

/* A state reset (LZMA2 control 0xA0 and up): probabilities, state, reps. */
static void lzma_reset_state(struct lzma *z)
{
    probs_init(&z->is_match[0][0], sizeof(z->is_match) / 2);
    probs_init(z->is_rep, STATES);
    probs_init(z->is_rep_g0, STATES);
    probs_init(z->is_rep_g1, STATES);
    probs_init(z->is_rep_g2, STATES);
    probs_init(&z->is_rep0_long[0][0], sizeof(z->is_rep0_long) / 2);
    probs_init(&z->pos_slot[0][0], sizeof(z->pos_slot) / 2);
    probs_init(z->pos_special, sizeof(z->pos_special) / 2);
    probs_init(z->align, sizeof(z->align) / 2);
    probs_init((u16 *)&z->len, sizeof(z->len) / 2);
    probs_init((u16 *)&z->rep_len, sizeof(z->rep_len) / 2);
    probs_init(&z->literal[0][0], sizeof(z->literal) / 2);
    z->state = 0;
    memset(z->rep, 0, sizeof(z->rep));
}

static unsigned decode_len(struct lzma *z, struct len_coder *c, unsigned pos_state)
{
    if (!bit(z, &c->choice))
        return tree(z, c->low[pos_state], 3);
    if (!bit(z, &c->choice2))
        return 8 + tree(z, c->mid[pos_state], 3);
    return 16 + tree(z, c->high, 8);
}

static u32 decode_distance(struct lzma *z, unsigned len)
{
    unsigned slot = tree(z, z->pos_slot[MIN(len, LEN_TO_POS_STATES - 1)], 6);
    if (slot < 4)
        return slot;
    unsigned direct = (slot >> 1) - 1;
    u32 dist = (2 | (slot & 1)) << direct;
    if (slot < END_POS_MODEL)
        return dist + reverse_tree(z, z->pos_special + dist - slot, direct);
    dist += direct_bits(z, direct - ALIGN_BITS) << ALIGN_BITS;
    return dist + reverse_tree(z, z->align, ALIGN_BITS);
}

static u8 dict_byte(const struct lzma *z, u32 back) { return z->out[z->out_pos - back]; }

static void literal(struct lzma *z)
{
    u64 pos = z->out_pos - z->dict_start;
    u8 prev = pos ? dict_byte(z, 1) : 0;
    unsigned lit_state = (unsigned)((pos & ((1u << z->lp) - 1)) << z->lc) + (prev >> (8 - z->lc));
    u16 *probs = z->literal[lit_state];
    unsigned sym = 1;
    if (z->state >= 7 && z->rep[0] < pos) { /* after a match: the byte at rep0 guides the first bits */
        unsigned match_byte = dict_byte(z, z->rep[0] + 1);
        while (sym < 0x100) {
            unsigned match_bit = (match_byte >> 7) & 1;
            match_byte <<= 1;
            unsigned b = bit(z, &probs[((1 + match_bit) << 8) + sym]);
            sym = sym << 1 | b;
            if (match_bit != b)
                break;
        }
    }
    while (sym < 0x100)
        sym = sym << 1 | bit(z, &probs[sym]);
    z->out[z->out_pos++] = (u8)sym;
    z->state = z->state < 4 ? 0 : z->state < 10 ? z->state - 3 : z->state - 6;
}

/* One LZMA2 chunk: exactly `unpacked` bytes from [in_pos, in_end). */
static bool lzma_chunk(struct lzma *z, u64 unpacked, char *why, size_t why_size)
{
    if (!rc_init(z))
        return fail(why, why_size, "bad range coder start in an LZMA2 chunk");
    u64 end = z->out_pos + unpacked;
    unsigned pb_mask = (1u << z->pb) - 1;
    while (z->out_pos < end) {
        if (z->corrupt)
            return fail(why, why_size, "an LZMA2 chunk reads past its compressed size");
        u64 pos = z->out_pos - z->dict_start;
        unsigned ps = (unsigned)pos & pb_mask;
        if (!bit(z, &z->is_match[z->state][ps])) {
            literal(z);
            continue;
        }
        unsigned len;
        if (bit(z, &z->is_rep[z->state])) {
            if (pos == 0)
                return fail(why, why_size, "a repeated match before any data");
            if (!bit(z, &z->is_rep_g0[z->state])) {
                if (!bit(z, &z->is_rep0_long[z->state][ps])) { /* a short rep: one byte at rep0 */
                    if (z->rep[0] >= pos)
                        return fail(why, why_size, "a match distance beyond the data");
                    z->state = z->state < 7 ? 9 : 11;
                    z->out[z->out_pos] = dict_byte(z, z->rep[0] + 1);
                    z->out_pos++;
                    continue;
                }
            } else {
                u32 dist;
                if (!bit(z, &z->is_rep_g1[z->state])) {
                    dist = z->rep[1];
                } else {
                    if (!bit(z, &z->is_rep_g2[z->state])) {
                        dist = z->rep[2];
                    } else {
                        dist = z->rep[3];
                        z->rep[3] = z->rep[2];
                    }
                    z->rep[2] = z->rep[1];
                }
                z->rep[1] = z->rep[0];
                z->rep[0] = dist;
            }
            len = decode_len(z, &z->rep_len, ps);
            z->state = z->state < 7 ? 8 : 11;
        } else {
            z->rep[3] = z->rep[2];
            z->rep[2] = z->rep[1];
            z->rep[1] = z->rep[0];
            len = decode_len(z, &z->len, ps);
            z->state = z->state < 7 ? 7 : 10;
            z->rep[0] = decode_distance(z, len);
            if (z->rep[0] == 0xffffffffu)
                return fail(why, why_size, "an end marker inside an LZMA2 chunk");
        }
        len += MATCH_MIN;
        if (z->rep[0] >= pos || z->rep[0] >= z->dict_size)
            return fail(why, why_size, "a match distance beyond the data");
        if (len > end - z->out_pos)
            return fail(why, why_size, "a match runs past its chunk");
        u64 from = z->out_pos - z->rep[0] - 1;
        for (unsigned i = 0; i < len; i++) /* overlapping copies repeat: byte by byte */
            z->out[z->out_pos + i] = z->out[from + i];
        z->out_pos += len;
    }
    if (z->corrupt || z->code != 0)
        return fail(why, why_size, "an LZMA2 chunk does not end where its size says");
    return true;
}

/* LZMA2 (xz-file-format 5.3.1 and the LZMA2 chunk headers): control
 * byte 0 ends, 1 and 2 are stored chunks (1 resets the dictionary), 80h
 * and up are LZMA chunks whose bits 5-6 say what they reset. */
static bool lzma2(struct lzma *z, char *why, size_t why_size)
{
    bool need_dict_reset = true;
    for (;;) {
        if (z->in_pos >= z->in_end)
            return fail(why, why_size, "LZMA2 data ends without its end marker");
        u8 control = z->in[z->in_pos++];
        if (control == 0)
            return true;
        if (control >= 3 && control < 0x80)
            return fail(why, why_size, "bad LZMA2 control byte %02x", control);
        if (control == 1 || (control >= 0xe0)) {
            z->dict_start = z->out_pos;
            need_dict_reset = false;
        } else if (need_dict_reset) {
            return fail(why, why_size, "the first LZMA2 chunk does not reset the dictionary");
        }
        if (control < 0x80) {
            if (z->in_end - z->in_pos < 2)
                return fail(why, why_size, "truncated LZMA2 chunk header");
            u64 size = ((u64)z->in[z->in_pos] << 8 | z->in[z->in_pos + 1]) + 1;
            z->in_pos += 2;
            if (size > z->in_end - z->in_pos || size > z->out_size - z->out_pos)
                return fail(why, why_size, "a stored LZMA2 chunk runs past the data");
            memcpy(z->out + z->out_pos, z->in + z->in_pos, size);
            z->in_pos += size;
            z->out_pos += size;
            continue;
        }
        if (z->in_end - z->in_pos < 4)
            return fail(why, why_size, "truncated LZMA2 chunk header");
        const u8 *h = z->in + z->in_pos;
        u64 unpacked = ((u64)(control & 0x1f) << 16 | (u64)h[0] << 8 | h[1]) + 1;
        u64 packed = ((u64)h[2] << 8 | h[3]) + 1;
        z->in_pos += 4;
        unsigned reset = (control >> 5) & 3;
        if (reset >= 2) {
            if (z->in_pos >= z->in_end)
                return fail(why, why_size, "truncated LZMA2 chunk header");
            unsigned props = z->in[z->in_pos++];
            if (props >= 9 * 5 * 5)
                return fail(why, why_size, "bad LZMA properties byte %02x", props);
            z->lc = props % 9;
            z->lp = (props / 9) % 5;
            z->pb = props / 45;
            if (z->lc + z->lp > 4)
                return fail(why, why_size, "LZMA2 allows lc + lp <= 4, not %u", z->lc + z->lp);
            z->props_set = true;
        } else if (!z->props_set) {
            return fail(why, why_size, "an LZMA2 chunk before any properties");
        }
        if (reset >= 1)
            lzma_reset_state(z);
        if (packed > z->in_end - z->in_pos || unpacked > z->out_size - z->out_pos)
            return fail(why, why_size, "an LZMA2 chunk runs past the data");
        u64 saved_end = z->in_end;
        z->in_end = z->in_pos + packed;
        bool ok = lzma_chunk(z, unpacked, why, why_size);
        if (ok && z->in_pos != z->in_end)
            ok = fail(why, why_size, "an LZMA2 chunk's compressed size is wrong");
        z->in_end = saved_end;
        if (!ok)
            return false;
    }
}

/* ---- the x86 BCJ filter (branch converter), decoding direction ----
 * The encoder turned the relative targets of E8 (CALL) and E9 (JMP)
 * rel32 into absolute ones where the target's top byte looks like an
 * address (00h or FFh); decoding subtracts the position again. A mask of
 * the last three bytes that were E8/E9 decides which candidates count,
 * exactly as the encoder decided. */
static bool msbyte_ok(u8 b) { return b == 0x00 || b == 0xff; }

static void bcj_x86_decode(u8 *buf, u64 size)
{
    static const bool allowed[8] = {true, true, true, false, true, false, false, false};
    static const unsigned bit_num[8] = {0, 1, 2, 2, 3, 3, 3, 3};
    if (size <= 4)
        return;
    u64 limit = size - 4, prev_pos = (u64)-1;
    u32 prev_mask = 0;
    for (u64 i = 0; i < limit; i++) {
        if ((buf[i] & 0xfe) != 0xe8)
            continue;
        u64 gap = i - prev_pos;
        if (gap > 3) {
            prev_mask = 0;
        } else {
            prev_mask = (prev_mask << (gap - 1)) & 7;
            if (prev_mask && (!allowed[prev_mask] || msbyte_ok(buf[i + 4 - bit_num[prev_mask]]))) {
                prev_pos = i;
                prev_mask = prev_mask << 1 | 1;
                continue;
            }
        }
        prev_pos = i;
        if (!msbyte_ok(buf[i + 4])) {
            prev_mask = prev_mask << 1 | 1;
            continue;
        }
        u32 src = get32(buf + i + 1), dest;
        for (;;) {
            dest = src - (u32)(i + 5);
            if (!prev_mask)
                break;
            unsigned j = bit_num[prev_mask] * 8;
            if (!msbyte_ok((u8)(dest >> (24 - j))))
                break;
            src = dest ^ ((1u << (32 - j)) - 1);
        }
        dest &= 0x01ffffff;
        dest |= 0u - (dest & 0x01000000);
        buf[i + 1] = (u8)dest;
        buf[i + 2] = (u8)(dest >> 8);
        buf[i + 3] = (u8)(dest >> 16);
        buf[i + 4] = (u8)(dest >> 24);
        i += 4;
    }
}

/* ---- the container ---- */

#define FILTER_X86 0x04
#define FILTER_LZMA2 0x21
#define STREAM_HEADER 12

static bool stream_header(const u8 *in, u64 len, unsigned *check, char *why, size_t why_size)
{
    static const u8 magic[6] = {0xfd, '7', 'z', 'X', 'Z', 0};
    if (len < 2 * STREAM_HEADER || memcmp(in, magic, 6) != 0)
        return fail(why, why_size, "not an .xz stream");
    if (in[6] != 0 || in[7] > 0x0f || crc32(in + 6, 2) != get32(in + 8))
        return fail(why, why_size, "bad stream header");
    *check = in[7];
    const u8 *f = in + len - STREAM_HEADER;
    if (f[10] != 'Y' || f[11] != 'Z' || f[8] != in[6] || f[9] != in[7] || crc32(f + 4, 6) != get32(f))
        return fail(why, why_size, "bad stream footer (truncated, or data after the stream)");
    return true;
}

bool xz_size(const u8 *in, u64 len, u64 *size, char *why, size_t why_size)
{
    unsigned check;
    if (!stream_header(in, len, &check, why, why_size))
        return false;
    u64 backward = ((u64)get32(in + len - 8) + 1) * 4;
    if (backward > len - 2 * STREAM_HEADER)
        return fail(why, why_size, "the index lies outside the stream");
    u64 pos = len - STREAM_HEADER - backward, end = len - STREAM_HEADER - 4;
    if (in[pos++] != 0)
        return fail(why, why_size, "no index where the footer says");
    if (crc32(in + pos - 1, backward - 4) != get32(in + end))
        return fail(why, why_size, "bad index CRC32");
    u64 records, total = 0;
    if (!varint(in, end, &pos, &records))
        return fail(why, why_size, "bad index");
    for (u64 r = 0; r < records; r++) {
        u64 unpadded, uncompressed;
        if (!varint(in, end, &pos, &unpadded) || !varint(in, end, &pos, &uncompressed) || uncompressed > (1ull << 40))
            return fail(why, why_size, "bad index record");
        total += uncompressed;
    }
    *size = total;
    return true;
}

/* A block header (.xz 3.1): its filters must be [x86 BCJ,] LZMA2. */
static bool block_header(const u8 *in, u64 len, u64 *pos, bool *x86, u32 *dict_size, u64 *unpacked_size,
                         char *why, size_t why_size)
{
    u64 hsize = ((u64)in[*pos] + 1) * 4, start = *pos;
    if (hsize > len - *pos || crc32(in + start, hsize - 4) != get32(in + start + hsize - 4))
        return fail(why, why_size, "bad block header");
    u64 p = start + 1, end = start + hsize - 4;
    u8 flags = in[p++];
    unsigned filters = (flags & 3) + 1;
    if (flags & 0x3c)
        return fail(why, why_size, "unsupported block flags %02x", flags);
    u64 v;
    *unpacked_size = ~0ull;
    if ((flags & 0x40) && !varint(in, end, &p, &v))
        return fail(why, why_size, "bad block header");
    if ((flags & 0x80) && !varint(in, end, &p, unpacked_size))
        return fail(why, why_size, "bad block header");
    *x86 = false;
    for (unsigned f = 0; f < filters; f++) {
        u64 id, props;
        if (!varint(in, end, &p, &id) || !varint(in, end, &p, &props) || props > end - p)
            return fail(why, why_size, "bad filter flags");
        bool last = f + 1 == filters;
        if (id == FILTER_X86 && !last && (props == 0 || (props == 4 && get32(in + p) == 0))) {
            *x86 = true;
        } else if (id == FILTER_LZMA2 && last && props == 1) {
            u8 d = in[p];
            if (d > 40)
                return fail(why, why_size, "bad LZMA2 dictionary size");
            *dict_size = d == 40 ? 0xffffffffu : (2u | (d & 1)) << (d / 2 + 11);
        } else {
            return fail(why, why_size, "unsupported filter %llx (only x86 BCJ and LZMA2)", (unsigned long long)id);
        }
        p += props;
    }
    *pos = start + hsize;
    return true;
}

bool xz_decompress(const u8 *in, u64 len, u8 *out, u64 out_size, u64 *out_len, char *why, size_t why_size)
{
    unsigned check;
    *out_len = 0;
    u64 declared;
    /* the footer and the index first (CRC32-checked): what the blocks must add up to */
    if (!stream_header(in, len, &check, why, why_size) || !xz_size(in, len, &declared, why, why_size))
        return false;
    u64 index_at = len - STREAM_HEADER - ((u64)get32(in + len - 8) + 1) * 4;
    static struct lzma z; /* 30 KiB of probabilities: off the stack; one decompression at a time (boot) */
    u64 pos = STREAM_HEADER;
    while (pos < index_at && in[pos] != 0) { /* blocks, until the index indicator 00h */
        bool x86 = false;
        u32 dict_size = 0;
        u64 unpacked_size;
        if (!block_header(in, index_at, &pos, &x86, &dict_size, &unpacked_size, why, why_size))
            return false;
        memset(&z, 0, sizeof(z));
        z.in = in;
        z.in_pos = pos;
        z.in_end = index_at;
        z.out = out;
        z.out_pos = *out_len;
        z.out_size = out_size;
        z.dict_size = dict_size;
        u64 block_start = *out_len;
        if (!lzma2(&z, why, why_size))
            return false;
        u64 produced = z.out_pos - block_start;
        if (unpacked_size != ~0ull && unpacked_size != produced)
            return fail(why, why_size, "a block's size differs from its header's");
        if (x86)
            bcj_x86_decode(out + block_start, produced);
        pos = ALIGN_UP(z.in_pos, 4);
        unsigned cs = check_size(check);
        if (pos > index_at || cs > index_at - pos)
            return fail(why, why_size, "truncated block");
        if (check == 1 && crc32(out + block_start, produced) != get32(in + pos))
            return fail(why, why_size, "CRC32 mismatch: the data is corrupt");
        pos += cs;
        *out_len = z.out_pos;
    }
    if (pos != index_at)
        return fail(why, why_size, "the blocks do not end where the index starts");
    if (*out_len != declared)
        return fail(why, why_size, "the blocks hold %llu bytes, the index says %llu", (unsigned long long)*out_len,
                    (unsigned long long)declared);
    return true;
}
