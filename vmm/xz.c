#include "decompress.h"
#include "format.h"
bool xz_size(const u8 *in, u64 len, u64 *size, char *why, size_t why_size) { (void)in; (void)len; (void)size; snprintf(why, why_size, "xz: not yet"); return false; }
bool xz_decompress(const u8 *in, u64 len, u8 *out, u64 out_size, u64 *out_len, char *why, size_t why_size) { (void)in; (void)len; (void)out; (void)out_size; (void)out_len; snprintf(why, why_size, "xz: not yet"); return false; }
