/* fuzz-sources: vmm/xz.c vmm/inflate.c vmm/decompress.c vmm/format.c vmm/string.c */
/* The kernel payload decoders on any input: XZ (with the x86 BCJ filter
 * and LZMA2) and gzip/DEFLATE, into an output buffer of the input's
 * declared size (bounded) or a fixed one. ASan sees every read past the
 * input and write past the output; a refusal is a terminated sentence. */
#include "fuzz.h"
#include "../../vmm/decompress.h"

#define OUT_MAX (1u << 20)

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
    static u8 *out;
    if (!out)
        out = malloc(OUT_MAX);
    u8 *in = malloc(size ? size : 1); /* exactly the input's bytes */
    memcpy(in, data, size);
    char why[160];
    u64 declared = 0, got = 0;
    enum compression c = compression_of(in, size);
    if (c == COMPRESSION_NONE)
        c = size && (data[0] & 1) ? COMPRESSION_XZ : COMPRESSION_GZIP; /* the decoders' own checks too */
    u64 out_size = OUT_MAX;
    if (decompressed_size(c, in, size, &declared, why, sizeof(why)) && declared < OUT_MAX)
        out_size = declared;
    if (decompress(c, in, size, out, out_size, &got, why, sizeof(why)))
        FUZZ_CHECK(got <= out_size, "produced %llu bytes into %llu", (unsigned long long)got, (unsigned long long)out_size);
    else
        FUZZ_CHECK(strnlen(why, sizeof(why)) < sizeof(why), "unterminated refusal");
    free(in);
    return 0;
}
