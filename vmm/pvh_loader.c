/* See pvh_loader.h. */
#include "pvh_loader.h"
#include "bzimage.h"
#include "decompress.h"
#include "elf.h"
#include "format.h"
#include "string.h"

#define ELF_PT_NOTE 4
#define BZ_PAYLOAD_OFFSET 0x248 /* boot protocol 2.08+ (boot.rst) */
#define BZ_PAYLOAD_LENGTH 0x24c
#define PVH_KERNEL_MIN MiB
/* A decompressed kernel larger than this is refused (Debian's is ~60 MiB). */
#define PVH_MAX_VMLINUX (512 * MiB)

static u32 get32(const u8 *p) { return (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24; }
static u64 get64(const u8 *p) { return get32(p) | (u64)get32(p + 4) << 32; }

static bool fail(char *why, size_t why_size, const char *what, const char *fmt, ...) PRINTF_LIKE(4, 5);
static bool fail(char *why, size_t why_size, const char *what, const char *fmt, ...)
{
    int n = snprintf(why, why_size, "%s: ", what);
    if (n < 0 || (size_t)n >= why_size)
        return false;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why + n, why_size - (size_t)n, fmt, ap);
    va_end(ap);
    return false;
}

/* ELF notes (gABI "Note Section"): namesz, descsz, type, then the name
 * and the descriptor, each padded to 4 bytes. */
static bool scan_notes(const u8 *p, u64 len, u32 *entry, bool *found, char *why, size_t why_size)
{
    u64 off = 0;
    while (len - off >= 12) {
        u32 namesz = get32(p + off), descsz = get32(p + off + 4), type = get32(p + off + 8);
        u64 name_off = off + 12, desc_off = name_off + ALIGN_UP((u64)namesz, 4);
        u64 end = desc_off + ALIGN_UP((u64)descsz, 4);
        if (namesz > len || descsz > len || end > len) {
            snprintf(why, why_size, "an ELF note runs past its segment");
            return false;
        }
        if (namesz == 4 && memcmp(p + name_off, "Xen", 4) == 0 && type == XEN_ELFNOTE_PHYS32_ENTRY) {
            if (descsz != 4 && descsz != 8) {
                snprintf(why, why_size, "the Xen PVH entry note has %u bytes (4 or 8 expected)", descsz);
                return false;
            }
            u64 value = descsz == 8 ? get64(p + desc_off) : get32(p + desc_off);
            if (value >> 32) {
                snprintf(why, why_size, "the Xen PVH entry point 0x%llx is not below 4 GiB", (unsigned long long)value);
                return false;
            }
            *entry = (u32)value;
            *found = true;
            return true;
        }
        off = end;
    }
    return true;
}

bool pvh_find_entry(const u8 *data, u64 size, u32 *entry, char *why, size_t why_size)
{
    struct elf_image elf;
    if (!elf_parse(data, size, &elf, why, why_size))
        return false;
    bool found = false;
    for (unsigned i = 0; i < elf.phnum && !found; i++) {
        struct elf_segment s;
        if (!elf_segment(&elf, i, &s, why, why_size))
            return false;
        if (s.type == ELF_PT_NOTE && !scan_notes(data + s.offset, s.filesz, entry, &found, why, why_size))
            return false;
    }
    if (!found) {
        snprintf(why, why_size, "no Xen PVH entry point (ELF note XEN_ELFNOTE_PHYS32_ENTRY): not a PVH kernel");
        return false;
    }
    return true;
}

struct loader {
    const struct pvh_config *c;
    pvh_write_fn write;
    void *ctx;
    struct pvh_report *rep;
    char *why;
    size_t why_size;
};

static bool put(struct loader *l, u64 gpa, const void *data, u64 len, const char *what)
{
    if (len == 0 || l->write(l->ctx, gpa, data, len))
        return true;
    return fail(l->why, l->why_size, what, "cannot write %llu bytes at guest address 0x%llx", (unsigned long long)len,
                (unsigned long long)gpa);
}

/* Each PT_LOAD at its p_paddr (6.1's PVH entry is not relocatable: it
 * uses absolute physical addresses), in RAM from 1 MiB to usable_top. */
static bool load_segments(struct loader *l, const u8 *data, u64 size)
{
    const char *what = l->c->kernel.what;
    char why[160];
    struct elf_image elf;
    if (!elf_parse(data, size, &elf, why, sizeof(why)))
        return fail(l->why, l->why_size, what, "%s", why);
    if (!pvh_find_entry(data, size, &l->rep->entry, why, sizeof(why)))
        return fail(l->why, l->why_size, what, "%s", why);
    u64 start = ~0ull, end = 0;
    for (unsigned i = 0; i < elf.phnum; i++) {
        struct elf_segment s;
        if (!elf_segment(&elf, i, &s, why, sizeof(why)))
            return fail(l->why, l->why_size, what, "%s", why);
        if (s.type != ELF_PT_LOAD || s.memsz == 0)
            continue;
        if (s.paddr < PVH_KERNEL_MIN || s.memsz > l->c->usable_top || s.paddr > l->c->usable_top - s.memsz)
            return fail(l->why, l->why_size, what,
                        "ELF segment %u (0x%llx-0x%llx) is outside the domain's RAM (1 MiB-0x%llx)", i,
                        (unsigned long long)s.paddr, (unsigned long long)(s.paddr + s.memsz),
                        (unsigned long long)l->c->usable_top);
        if (!put(l, s.paddr, data + s.offset, s.filesz, what) ||
            !put(l, s.paddr + s.filesz, NULL, s.memsz - s.filesz, what))
            return false;
        start = MIN(start, s.paddr);
        end = MAX(end, s.paddr + s.memsz);
    }
    if (!end)
        return fail(l->why, l->why_size, what, "the ELF image has no loadable segment");
    if (l->rep->entry < start || l->rep->entry >= end)
        return fail(l->why, l->why_size, what, "the PVH entry point 0x%x is outside the loaded segments",
                    l->rep->entry);
    l->rep->kernel_start = start;
    l->rep->kernel_end = end;
    return true;
}

/* A bzImage: the payload is a compressed vmlinux (boot.rst: "payload_offset
 * ... from the beginning of the protected-mode code"). */
static bool load_bzimage(struct loader *l)
{
    const struct pvh_file *k = &l->c->kernel;
    char why[160];
    struct bzimage bz;
    if (!bzimage_parse(k->data, k->size, &bz, why, sizeof(why)))
        return fail(l->why, l->why_size, k->what, "%s", why);
    if (bz.version < 0x208)
        return fail(l->why, l->why_size, k->what, "Linux boot protocol %u.%02u has no payload fields (2.08+)",
                    bz.version >> 8, bz.version & 0xff);
    u64 off = bz.setup_size + get32(k->data + BZ_PAYLOAD_OFFSET), len = get32(k->data + BZ_PAYLOAD_LENGTH);
    if (off > k->size || len > k->size - off || len == 0)
        return fail(l->why, l->why_size, k->what, "the payload (%llu bytes at %llu) lies outside the file (%llu bytes)",
                    (unsigned long long)len, (unsigned long long)off, (unsigned long long)k->size);
    const u8 *payload = k->data + off;
    if (elf_is_elf(payload, len)) {
        l->rep->format = "ELF";
        return load_segments(l, payload, len);
    }
    enum compression c = compression_of(payload, len);
    if (c == COMPRESSION_NONE)
        return fail(l->why, l->why_size, k->what, "the payload is neither ELF, XZ nor gzip");
    l->rep->format = compression_name(c);
    l->rep->compressed = true;
    /* The kernel's build appends the decompressed size, 4 bytes little
     * endian, to every compressed payload (scripts/Makefile.lib
     * size_append): the stream proper ends before it. */
    if (len < 8)
        return fail(l->why, l->why_size, k->what, "the payload is only %llu bytes", (unsigned long long)len);
    u32 appended = get32(payload + len - 4);
    len -= 4;
    u64 size;
    if (!decompressed_size(c, payload, len, &size, why, sizeof(why)))
        return fail(l->why, l->why_size, k->what, "%s", why);
    if (c == COMPRESSION_GZIP)
        size = appended; /* ISIZE is the size modulo 2^32: the appended one is the same, and exact */
    if (size != appended)
        return fail(l->why, l->why_size, k->what, "the payload declares %llu bytes, its appended size %u",
                    (unsigned long long)size, appended);
    if (size == 0 || size > PVH_MAX_VMLINUX)
        return fail(l->why, l->why_size, k->what, "the payload says it holds %llu bytes (at most %llu)",
                    (unsigned long long)size, (unsigned long long)PVH_MAX_VMLINUX);
    u8 *out = l->c->alloc(size);
    if (!out)
        return fail(l->why, l->why_size, k->what, "no host memory to decompress %llu bytes", (unsigned long long)size);
    u64 got = 0;
    bool ok = decompress(c, payload, len, out, size, &got, why, sizeof(why));
    if (!ok)
        fail(l->why, l->why_size, k->what, "%s", why);
    else if (got != size)
        ok = fail(l->why, l->why_size, k->what, "the payload decompressed to %llu bytes, not the %llu it declares",
                  (unsigned long long)got, (unsigned long long)size);
    l->rep->payload_size = got;
    ok = ok && load_segments(l, out, got);
    l->c->free(out, size);
    return ok;
}

/* The initrd at the top of the usable RAM, page aligned, above the kernel
 * (Linux reads only modlist[0], as the initrd: init_pvh_bootparams). */
static bool load_ramdisk(struct loader *l, struct hvm_modlist_entry *mod)
{
    const struct pvh_file *r = &l->c->ramdisk;
    if (!r->data)
        return true;
    u64 top = l->c->usable_top & ~(u64)(PAGE_SIZE - 1);
    if (r->size > top || ALIGN_DOWN(top - r->size, PAGE_SIZE) < ALIGN_UP(l->rep->kernel_end, PAGE_SIZE))
        return fail(l->why, l->why_size, r->what, "%llu bytes do not fit in RAM above the kernel (0x%llx-0x%llx)",
                    (unsigned long long)r->size, (unsigned long long)l->rep->kernel_end, (unsigned long long)top);
    u64 at = ALIGN_DOWN(top - r->size, PAGE_SIZE);
    if (!put(l, at, r->data, r->size, r->what))
        return false;
    l->rep->ramdisk_start = at;
    l->rep->ramdisk_end = at + r->size;
    *mod = (struct hvm_modlist_entry){.paddr = at, .size = r->size};
    return true;
}

bool pvh_load(const struct pvh_config *c, pvh_write_fn write, void *ctx, struct pvh_report *rep, char *why,
              size_t why_size)
{
    memset(rep, 0, sizeof(*rep));
    struct loader l = {c, write, ctx, rep, why, why_size};
    const struct pvh_file *k = &c->kernel;
    bool ok;
    if (elf_is_elf(k->data, k->size)) {
        rep->format = "ELF";
        ok = load_segments(&l, k->data, k->size);
    } else if (bzimage_has_header(k->data, k->size)) {
        ok = load_bzimage(&l);
    } else {
        return fail(why, why_size, k->what, "neither an ELF vmlinux nor a bzImage");
    }
    struct hvm_modlist_entry mod = {0};
    if (!ok || !load_ramdisk(&l, &mod))
        return false;
    size_t cmdline_len = c->cmdline ? strlen(c->cmdline) : 0;
    if (cmdline_len >= PVH_CMDLINE_MAX)
        return fail(why, why_size, k->what, "command line of %zu bytes (at most %u)", cmdline_len, PVH_CMDLINE_MAX - 1);
    if (c->memmap_count > PVH_MEMMAP_MAX)
        return fail(why, why_size, k->what, "%u memory map entries (at most %u)", c->memmap_count, PVH_MEMMAP_MAX);
    struct hvm_start_info si = {
        .magic = XEN_HVM_START_MAGIC,
        .version = 1, /* with the memory map */
        .flags = 0,   /* never SIF_INITDOMAIN or SIF_PRIVILEGED: a domU */
        .nr_modules = c->ramdisk.data ? 1 : 0,
        .modlist_paddr = c->ramdisk.data ? PVH_MODLIST_ADDR : 0,
        .cmdline_paddr = PVH_CMDLINE_ADDR,
        .rsdp_paddr = c->rsdp,
        .memmap_paddr = PVH_MEMMAP_ADDR,
        .memmap_entries = c->memmap_count,
    };
    return put(&l, PVH_CMDLINE_ADDR, c->cmdline ? c->cmdline : "", cmdline_len, "command line") &&
           put(&l, PVH_CMDLINE_ADDR + cmdline_len, NULL, 1, "command line") &&
           put(&l, PVH_MODLIST_ADDR, &mod, sizeof(mod), "module list") &&
           put(&l, PVH_MEMMAP_ADDR, c->memmap, (u64)c->memmap_count * sizeof(*c->memmap), "memory map") &&
           put(&l, PVH_START_INFO_ADDR, &si, sizeof(si), "start info");
}
