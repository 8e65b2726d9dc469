#include "decompress.h"
#include "format.h"
bool gzip_decompress(const u8 *in, u64 len, u8 *out, u64 out_size, u64 *out_len, char *why, size_t why_size) { (void)in; (void)len; (void)out; (void)out_size; (void)out_len; snprintf(why, why_size, "gzip: not yet"); return false; }
