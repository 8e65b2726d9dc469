/* Decompressors for kernel payloads (bzImage: Documentation/x86/boot.rst,
 * payload_offset): XZ (the .xz file format 1.0.4 and LZMA2, vmm/xz.c) and
 * gzip (RFC 1952 around RFC 1951 DEFLATE, vmm/inflate.c). Pure, no
 * allocation: the caller asks the size, provides the buffer. Every input
 * byte is untrusted: a malformed stream is an error with a sentence,
 * never a read or write out of bounds (tests/unit, tests/fuzz). */
#ifndef ZAZEN_DECOMPRESS_H
#define ZAZEN_DECOMPRESS_H

#include "types.h"

enum compression { COMPRESSION_NONE, COMPRESSION_XZ, COMPRESSION_GZIP };

/* From the first bytes: XZ (FD 37 7A 58 5A 00), gzip (1F 8B 08). */
enum compression compression_of(const u8 *in, u64 len);
const char *compression_name(enum compression c);

/* The decompressed size the stream declares (XZ: its index; gzip: ISIZE,
 * the size modulo 2^32, so the caller bounds it). False with why. */
bool decompressed_size(enum compression c, const u8 *in, u64 len, u64 *size, char *why, size_t why_size);

/* Decompresses into out[0, out_size); *out_len is what was produced.
 * False with why for a malformed, truncated or oversized stream. */
bool decompress(enum compression c, const u8 *in, u64 len, u8 *out, u64 out_size, u64 *out_len, char *why,
                size_t why_size);

bool xz_size(const u8 *in, u64 len, u64 *size, char *why, size_t why_size);
bool xz_decompress(const u8 *in, u64 len, u8 *out, u64 out_size, u64 *out_len, char *why, size_t why_size);
bool gzip_decompress(const u8 *in, u64 len, u8 *out, u64 out_size, u64 *out_len, char *why, size_t why_size);

#endif
