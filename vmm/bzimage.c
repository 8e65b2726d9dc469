/* See bzimage.h. Field meanings: Documentation/x86/boot.rst. */
#include "bzimage.h"
#include "format.h"
#include "string.h"

static u16 get16(const u8 *p) { return (u16)(p[0] | p[1] << 8); }
static u32 get32(const u8 *p) { return get16(p) | (u32)get16(p + 2) << 16; }
static u64 get64(const u8 *p) { return get32(p) | (u64)get32(p + 4) << 32; }

bool bzimage_has_header(const u8 *image, u64 size)
{
    return size >= BZ_HEADER + 4 && get32(image + BZ_HEADER) == BZ_HDRS_MAGIC;
}

static bool fail(char *why, size_t why_size, const char *fmt, ...) PRINTF_LIKE(3, 4);
static bool fail(char *why, size_t why_size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, why_size, fmt, ap);
    va_end(ap);
    return false;
}

bool bzimage_parse(const u8 *image, u64 size, struct bzimage *out, char *why, size_t why_size)
{
    memset(out, 0, sizeof(*out));
    if (!bzimage_has_header(image, size))
        return fail(why, why_size, "not a Linux kernel: no boot protocol header ('HdrS' at offset 202h)");
    /* Every field read below lies in the setup header: the image must hold
     * it whole before any is read (the fuzzer's 206h-byte image read the
     * version past its end). */
    if (size < BZ_HEADER_END)
        return fail(why, why_size, "truncated: %llu bytes, shorter than its setup header", (unsigned long long)size);
    out->version = get16(image + BZ_VERSION);
    if (out->version < 0x200)
        return fail(why, why_size, "Linux boot protocol %u.%02u: too old (a bzImage has 2.00 or later)",
                    out->version >> 8, out->version & 0xff);
    if (get16(image + BZ_BOOT_FLAG) != 0xaa55)
        return fail(why, why_size, "not a Linux kernel: no AA55h boot flag at offset 1FEh");
    out->loadflags = image[BZ_LOADFLAGS];
    if (!(out->loadflags & BZ_LOADED_HIGH))
        return fail(why, why_size, "a zImage (loadflags bit 0 clear): only bzImages are booted, at 1 MiB");
    /* "If this field is 0, the real value is 4." */
    out->setup_sects = image[BZ_SETUP_SECTS] ? image[BZ_SETUP_SECTS] : 4;
    out->setup_size = (u64)(out->setup_sects + 1) * 512;
    /* The real-mode code, its heap and stack share one 64 KiB segment
     * below the command line (boot.rst, "Loading the rest of the kernel"). */
    if (out->setup_size > 0x8000)
        return fail(why, why_size, "%u setup sectors: more than the 32 KiB of real-mode code the protocol allows",
                    out->setup_sects);
    /* syssize: the protected-mode code in 16-byte paragraphs (32 bits
     * since 2.04), rounded up. */
    u64 syssize = (u64)(out->version >= 0x204 ? get32(image + BZ_SYSSIZE) : get16(image + BZ_SYSSIZE)) * 16;
    if (size <= out->setup_size || (syssize && size + 15 < out->setup_size + syssize))
        return fail(why, why_size, "truncated: %llu bytes, but its header says %llu (%llu of setup, %llu of kernel)",
                    (unsigned long long)size, (unsigned long long)(out->setup_size + syssize),
                    (unsigned long long)out->setup_size, (unsigned long long)syssize);
    out->kernel_size = size - out->setup_size;
    /* Before 2.03 the initrd had to end below 38000000h. */
    out->initrd_addr_max = out->version >= 0x203 ? get32(image + BZ_INITRD_ADDR_MAX) : 0x37ffffff;
    out->cmdline_size = out->version >= 0x206 ? get32(image + BZ_CMDLINE_SIZE) : 255;
    if (out->version >= 0x205) {
        out->kernel_alignment = get32(image + BZ_KERNEL_ALIGNMENT);
        out->relocatable = image[BZ_RELOCATABLE] != 0;
    }
    if (out->version >= 0x20a) {
        out->pref_address = get64(image + BZ_PREF_ADDRESS);
        out->init_size = get32(image + BZ_INIT_SIZE);
    }
    return true;
}

u64 bzimage_footprint_end(const struct bzimage *bz, u64 load)
{
    u64 end = load + bz->kernel_size;
    if (bz->version >= 0x20a) {
        /* A kernel below its preferred address moves there to decompress
         * (relocatable ones, to the next kernel_alignment boundary at or
         * above it); either way pref_address + init_size bounds it. */
        u64 run = MAX(load, bz->pref_address);
        end = MAX(end, run + bz->init_size);
    }
    return end;
}
