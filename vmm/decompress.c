/* See decompress.h. */
#include "decompress.h"
#include "format.h"

enum compression compression_of(const u8 *in, u64 len)
{
    static const u8 xz_magic[6] = {0xfd, '7', 'z', 'X', 'Z', 0};
    if (len >= 6) {
        bool xz = true;
        for (unsigned i = 0; i < 6; i++)
            xz = xz && in[i] == xz_magic[i];
        if (xz)
            return COMPRESSION_XZ;
    }
    if (len >= 3 && in[0] == 0x1f && in[1] == 0x8b && in[2] == 8)
        return COMPRESSION_GZIP;
    return COMPRESSION_NONE;
}

const char *compression_name(enum compression c)
{
    return c == COMPRESSION_XZ ? "xz" : c == COMPRESSION_GZIP ? "gzip" : "none";
}

bool decompressed_size(enum compression c, const u8 *in, u64 len, u64 *size, char *why, size_t why_size)
{
    if (c == COMPRESSION_XZ)
        return xz_size(in, len, size, why, why_size);
    if (c == COMPRESSION_GZIP) {
        /* RFC 1952 2.3.1: the member ends with CRC32 and ISIZE (the input's size modulo 2^32). */
        if (len < 18) {
            snprintf(why, why_size, "gzip: truncated (%llu bytes)", (unsigned long long)len);
            return false;
        }
        const u8 *p = in + len - 4;
        *size = (u64)p[0] | (u64)p[1] << 8 | (u64)p[2] << 16 | (u64)p[3] << 24;
        return true;
    }
    snprintf(why, why_size, "not XZ or gzip data");
    return false;
}

bool decompress(enum compression c, const u8 *in, u64 len, u8 *out, u64 out_size, u64 *out_len, char *why,
                size_t why_size)
{
    if (c == COMPRESSION_XZ)
        return xz_decompress(in, len, out, out_size, out_len, why, why_size);
    if (c == COMPRESSION_GZIP)
        return gzip_decompress(in, len, out, out_size, out_len, why, why_size);
    snprintf(why, why_size, "not XZ or gzip data");
    return false;
}
