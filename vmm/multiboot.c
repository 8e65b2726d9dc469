/* See multiboot.h. Section numbers are the Multiboot Specification
 * 0.6.96's. */
#include "multiboot.h"
#include "elf.h"
#include "format.h"
#include "string.h"

static u32 get32(const u8 *p) { return (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24; }
static void put32(u8 *p, u32 v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (u8)(v >> (8 * i));
}
static void put64(u8 *p, u64 v)
{
    put32(p, (u32)v);
    put32(p + 4, (u32)(v >> 32));
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

bool multiboot_find_header(const u8 *image, u64 size, struct multiboot_header *out)
{
    u64 limit = MIN(size, (u64)MB_SEARCH_BYTES);
    for (u64 off = 0; off + 12 <= limit; off += 4) {
        const u8 *p = image + off;
        if (get32(p) != MB_HEADER_MAGIC || (u32)(get32(p) + get32(p + 4) + get32(p + 8)) != 0)
            continue;
        memset(out, 0, sizeof(*out));
        out->offset = off;
        out->flags = get32(p + 4);
        /* The address fields (offsets 12-28) follow when bit 16 is set;
         * a header cut off by the end of the file leaves them 0. */
        if (off + 32 <= size) {
            out->header_addr = get32(p + 12);
            out->load_addr = get32(p + 16);
            out->load_end_addr = get32(p + 20);
            out->bss_end_addr = get32(p + 24);
            out->entry_addr = get32(p + 28);
        }
        return true;
    }
    return false;
}

/* 3.1.3, the address fields: header_addr is where the magic lands, so
 * the text starts header.offset - (header_addr - load_addr) into the
 * file; load_end_addr 0 means "to the end of the file", bss_end_addr 0
 * "no bss". */
static bool plan_aout(u64 size, const struct multiboot_header *h, struct multiboot_kernel *k, char *why,
                      size_t why_size)
{
    if (h->offset + 32 > size)
        return fail(why, why_size, "truncated: the Multiboot header's address fields end past the file");
    if (h->load_addr > h->header_addr || h->header_addr - h->load_addr > h->offset)
        return fail(why, why_size, "Multiboot header: load_addr 0x%x and header_addr 0x%x put the text before the file",
                    h->load_addr, h->header_addr);
    u64 file_start = h->offset - (h->header_addr - h->load_addr);
    u64 load_size = h->load_end_addr ? (u64)h->load_end_addr - h->load_addr : size - file_start;
    if (h->load_end_addr && h->load_end_addr < h->load_addr)
        return fail(why, why_size, "Multiboot header: load_end_addr 0x%x below load_addr 0x%x", h->load_end_addr,
                    h->load_addr);
    if (file_start + load_size > size)
        return fail(why, why_size, "truncated: %llu bytes, but its Multiboot header loads %llu from offset %llu",
                    (unsigned long long)size, (unsigned long long)load_size, (unsigned long long)file_start);
    u64 mem_end = (u64)h->load_addr + load_size;
    if (h->bss_end_addr) {
        if (h->bss_end_addr < mem_end)
            return fail(why, why_size, "Multiboot header: bss_end_addr 0x%x below the loaded text's end 0x%llx",
                        h->bss_end_addr, (unsigned long long)mem_end);
        mem_end = h->bss_end_addr;
    }
    k->seg[0] = (struct multiboot_segment){h->load_addr, file_start, load_size, mem_end - h->load_addr};
    k->seg_count = 1;
    k->entry = h->entry_addr;
    return true;
}

/* ELF: each PT_LOAD segment at its physical address. The entry point is a
 * virtual address; inside a segment whose virtual and physical addresses
 * differ it is moved with it, as GRUB does. */
static bool plan_elf(const u8 *image, u64 size, struct multiboot_kernel *k, char *why, size_t why_size)
{
    struct elf_image elf;
    if (!elf_parse(image, size, &elf, why, why_size))
        return false;
    u64 entry = elf.entry;
    for (unsigned i = 0; i < elf.phnum; i++) {
        struct elf_segment s;
        if (!elf_segment(&elf, i, &s, why, why_size))
            return false;
        if (s.type != ELF_PT_LOAD || s.memsz == 0)
            continue;
        if (k->seg_count == MB_MAX_SEGMENTS)
            return fail(why, why_size, "more than %d loadable ELF segments", MB_MAX_SEGMENTS);
        if (s.paddr + s.memsz < s.paddr || s.paddr + s.memsz > 0x100000000ull)
            return fail(why, why_size, "ELF segment %u (0x%llx, %llu bytes) is not below 4 GiB", i,
                        (unsigned long long)s.paddr, (unsigned long long)s.memsz);
        k->seg[k->seg_count++] = (struct multiboot_segment){s.paddr, s.offset, s.filesz, s.memsz};
        if (elf.entry >= s.vaddr && elf.entry - s.vaddr < s.memsz)
            entry = elf.entry - s.vaddr + s.paddr;
    }
    if (!k->seg_count)
        return fail(why, why_size, "ELF has no loadable segment");
    if (entry >= 0x100000000ull)
        return fail(why, why_size, "ELF entry point 0x%llx is not below 4 GiB", (unsigned long long)entry);
    k->entry = (u32)entry;
    k->elf = true;
    return true;
}

bool multiboot_plan(const u8 *image, u64 size, const struct multiboot_header *h, struct multiboot_kernel *out,
                    char *why, size_t why_size)
{
    memset(out, 0, sizeof(*out));
    out->header = *h;
    u32 required = h->flags & 0xffff;
    if (required & ~MB_FLAGS_UNDERSTOOD)
        return fail(why, why_size, "its Multiboot header requires features Zazen does not know (flags bits 0x%x)",
                    required & ~MB_FLAGS_UNDERSTOOD);
    bool ok = (h->flags & MB_FLAG_AOUT_KLUDGE) ? plan_aout(size, h, out, why, why_size)
                                                : plan_elf(image, size, out, why, why_size);
    if (!ok)
        return false;
    out->start = ~0ull;
    bool entry_loaded = false;
    for (unsigned i = 0; i < out->seg_count; i++) {
        const struct multiboot_segment *s = &out->seg[i];
        out->start = MIN(out->start, s->dest);
        out->end = MAX(out->end, s->dest + s->mem_size);
        if (out->entry >= s->dest && out->entry - s->dest < s->mem_size)
            entry_loaded = true;
    }
    if (!entry_loaded)
        return fail(why, why_size, "entry point 0x%x is outside what it loads (0x%llx-0x%llx)", out->entry,
                    (unsigned long long)out->start, (unsigned long long)out->end);
    return true;
}

/* The info structure (3.3), then what it points to, in one buffer. */
struct info_builder {
    u8 *buf;
    size_t size, used;
    u32 base;
};

static u8 *take(struct info_builder *b, size_t len, u32 *gpa)
{
    size_t at = ALIGN_UP(b->used, 4);
    if (at > b->size || len > b->size - at)
        return NULL;
    b->used = at + len;
    *gpa = b->base + (u32)at;
    memset(b->buf + at, 0, len);
    return b->buf + at;
}

static bool add_string(struct info_builder *b, const char *s, u32 *gpa)
{
    size_t len = strlen(s) + 1;
    u8 *p = take(b, len, gpa);
    if (p)
        memcpy(p, s, len);
    return p != NULL;
}

/* mem_lower and mem_upper (3.3): KiB of RAM from 0, and from 1 MiB, up to
 * the first hole. */
static void memory_sizes(const struct multiboot_info_input *in, u32 *lower, u32 *upper)
{
    *lower = *upper = 0;
    for (unsigned i = 0; i < in->e820_count; i++) {
        const struct e820_entry *e = &in->e820[i];
        if (e->type != E820_RAM)
            continue;
        if (e->base == 0)
            *lower = (u32)(MIN(e->length, 640 * KiB) >> 10);
        if (e->base == MiB)
            *upper = (u32)(MIN(e->length, 0xffffffffull * KiB) >> 10);
    }
}

size_t multiboot_build_info(const struct multiboot_info_input *in, u8 *buf, size_t buf_size)
{
    struct info_builder b = {buf, buf_size, 0, in->base};
    u32 at;
    u8 *mbi = take(&b, MBI_SIZE, &at);
    if (!mbi)
        return 0;
    u32 flags = MBI_MEMORY | MBI_MMAP | MBI_CMDLINE | MBI_LOADER_NAME;
    u32 lower, upper;
    memory_sizes(in, &lower, &upper);
    put32(mbi + 4, lower);
    put32(mbi + 8, upper);
    /* The memory map (3.3): entries of size (20, not counting itself),
     * base_addr, length, type; the types are E820's. */
    u8 *map = take(&b, (size_t)in->e820_count * 24, &at);
    if (!map)
        return 0;
    for (unsigned i = 0; i < in->e820_count; i++) {
        u8 *e = map + i * 24;
        put32(e, 20);
        put64(e + 4, in->e820[i].base);
        put64(e + 12, in->e820[i].length);
        put32(e + 20, in->e820[i].type);
    }
    put32(mbi + 44, in->e820_count * 24);
    put32(mbi + 48, at);
    if (!add_string(&b, in->cmdline, &at))
        return 0;
    put32(mbi + 16, at);
    if (!add_string(&b, in->loader_name, &at))
        return 0;
    put32(mbi + 64, at);
    if (in->module) {
        /* Modules (3.3): mod_start, mod_end (past the last byte), string, reserved. */
        u32 string;
        if (!add_string(&b, in->mod_string, &string))
            return 0;
        u8 *mod = take(&b, 16, &at);
        if (!mod)
            return 0;
        put32(mod, in->mod_start);
        put32(mod + 4, in->mod_end);
        put32(mod + 8, string);
        put32(mbi + 20, 1);
        put32(mbi + 24, at);
        flags |= MBI_MODS;
    }
    if (in->text_mode) {
        /* The framebuffer fields (3.3, flags bit 12): type 2 is EGA text,
         * width and height in characters, pitch in bytes, 16 bits a cell. */
        put64(mbi + 88, 0xb8000);
        put32(mbi + 96, 160);
        put32(mbi + 100, 80);
        put32(mbi + 104, 25);
        mbi[108] = 16;
        mbi[109] = 2;
        flags |= MBI_FRAMEBUFFER;
    }
    put32(mbi, flags);
    return b.used;
}
