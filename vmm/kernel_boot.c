/* See kernel_boot.h. The Linux side follows Documentation/x86/boot.rst
 * ("Loading the rest of the kernel", "Sample boot configuration",
 * "Running the kernel"); the Multiboot side the Multiboot Specification
 * 0.6.96 (3.2 machine state, 3.3 boot information). */
#include "kernel_boot.h"
#include "bzimage.h"
#include "config.h"
#include "format.h"
#include "multiboot.h"
#include "string.h"

#define LINUX_KERNEL_ADDR 0x100000u /* a bzImage's protected-mode code */
#define MB_CMDLINE_MAX (CONFIG_FILE_MAX + CONFIG_CMDLINE_MAX) /* the kernel's file name, a space, the config's cmdline */
#define MB_INFO_MAX 2048 /* the info structure, a 16-entry map, the strings */
_Static_assert(MBI_SIZE + 16 * 24 + MB_CMDLINE_MAX + sizeof("Zazen") + CONFIG_FILE_MAX + 16 <= MB_INFO_MAX,
               "the longest command line and module name fit in the Multiboot information area");

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

u64 kboot_ram_top(const struct e820_entry *e820, unsigned count)
{
    for (unsigned i = 0; i < count; i++)
        if (e820[i].type == E820_RAM && e820[i].base == MiB)
            return MiB + e820[i].length;
    return MiB;
}

static void format_mib(char *buf, size_t size, u64 bytes)
{
    snprintf(buf, size, "%llu.%01llu MiB", (unsigned long long)(bytes >> 20),
             (unsigned long long)(((bytes & (MiB - 1)) * 10) >> 20));
}

struct loader {
    const struct kboot_config *c;
    kboot_write_fn write;
    void *ctx;
    struct kboot_report *rep;
    char *why;
    size_t why_size;
    u64 ram_top;
};

static bool put(struct loader *l, u64 gpa, const void *data, u64 len)
{
    if (len == 0 || l->write(l->ctx, gpa, data, len))
        return true;
    snprintf(l->why, l->why_size, "cannot write %llu bytes at guest address 0x%llx", (unsigned long long)len,
             (unsigned long long)gpa);
    return false;
}

static bool put16(struct loader *l, u64 gpa, u16 v) { return put(l, gpa, &v, 2); }
static bool put32(struct loader *l, u64 gpa, u32 v) { return put(l, gpa, &v, 4); }

static bool write_handoff(struct loader *l, const struct kboot_handoff *h) { return put(l, KBOOT_HANDOFF_ADDR, h, sizeof(*h)); }

/* The ramdisk's place: as high as the kernel allows (the top of RAM below
 * the ACPI tables, and the protocol's limit), page aligned, above what
 * the kernel occupies while it starts. */
static bool place_ramdisk(struct loader *l, u64 limit, u64 kernel_end, u64 *start)
{
    const struct kboot_file *rd = &l->c->ramdisk;
    char size[24], room[24];
    if (rd->size > limit || ALIGN_DOWN(limit - rd->size, PAGE_SIZE) < kernel_end) {
        format_mib(size, sizeof(size), rd->size);
        format_mib(room, sizeof(room), limit > kernel_end ? limit - kernel_end : 0);
        return fail(l->why, l->why_size, rd->what,
                    "%s do not fit in RAM: %s are free between the kernel (up to 0x%llx) and 0x%llx; give the domain "
                    "more memory",
                    size, room, (unsigned long long)kernel_end, (unsigned long long)limit);
    }
    *start = ALIGN_DOWN(limit - rd->size, PAGE_SIZE);
    return put(l, *start, rd->data, rd->size);
}

/* ---- Linux/x86 boot protocol ---- */

static bool load_linux(struct loader *l)
{
    const struct kboot_config *c = l->c;
    const u8 *img = c->kernel.data;
    struct bzimage bz;
    char msg[160];
    if (!bzimage_parse(img, c->kernel.size, &bz, msg, sizeof(msg)))
        return fail(l->why, l->why_size, c->kernel.what, "%s", msg);
    /* "Sample boot configuration": a modern bzImage (2.02+, loaded high)
     * gets its setup at 10000h with the heap up to E000h and the command
     * line right after; older ones at 90000h with the heap to 9800h. */
    bool modern = bz.version >= 0x202;
    u32 base = modern ? 0x10000 : 0x90000;
    u16 heap_end = modern ? 0xe000 : 0x9800;
    size_t cmdline_len = strlen(c->cmdline);
    if (cmdline_len > bz.cmdline_size)
        return fail(l->why, l->why_size, c->kernel.what, "the command line has %zu characters; this kernel takes %u",
                    cmdline_len, bz.cmdline_size);
    u64 kernel_end = bzimage_footprint_end(&bz, LINUX_KERNEL_ADDR);
    if (kernel_end > l->ram_top) {
        char need[24], have[24];
        format_mib(need, sizeof(need), kernel_end);
        format_mib(have, sizeof(have), l->ram_top);
        return fail(l->why, l->why_size, c->kernel.what,
                    "too big for RAM: it needs RAM up to %s while it starts, and the domain's usable RAM ends at %s",
                    need, have);
    }
    if (!put(l, base, img, bz.setup_size) || !put(l, LINUX_KERNEL_ADDR, img + bz.setup_size, bz.kernel_size) ||
        !put(l, base + heap_end, c->cmdline, cmdline_len + 1))
        return false;
    u64 rd_start = 0;
    if (c->ramdisk.data) {
        /* initrd_addr_max is the highest address of the initrd's last byte. */
        u64 limit = MIN(l->ram_top, (u64)bz.initrd_addr_max + 1);
        if (!place_ramdisk(l, limit, kernel_end, &rd_start))
            return false;
    }
    /* The header fields a boot loader writes (boot.rst, "Details of header fields"). */
    u8 loader = BZ_LOADER_UNDEFINED;
    u8 loadflags = bz.loadflags | (bz.version >= 0x201 ? BZ_CAN_USE_HEAP : 0);
    if (!put(l, base + BZ_TYPE_OF_LOADER, &loader, 1) || !put(l, base + BZ_LOADFLAGS, &loadflags, 1) ||
        !put32(l, base + BZ_RAMDISK_IMAGE, (u32)rd_start) ||
        !put32(l, base + BZ_RAMDISK_SIZE, c->ramdisk.data ? (u32)c->ramdisk.size : 0))
        return false;
    if (bz.version >= 0x201 && !put16(l, base + BZ_HEAP_END_PTR, heap_end - 0x200))
        return false;
    if (modern) {
        if (!put32(l, base + BZ_CMD_LINE_PTR, base + heap_end))
            return false;
    } else if (!put16(l, base + BZ_CMD_LINE_MAGIC, 0xa33f) || !put16(l, base + BZ_CMD_LINE_OFFSET, heap_end) ||
               !put16(l, base + BZ_SETUP_MOVE_SIZE, (u16)(heap_end + cmdline_len + 1))) {
        return false;
    }
    /* "Running the kernel": SS = DS = ES = FS = GS = the setup's segment,
     * SP = the heap's end, a far jump to seg+20h:0, interrupts off. */
    struct kboot_handoff h = {KBOOT_MAGIC, KBOOT_LINUX, (u16)(base >> 4), heap_end, 0, 0, 0, 0};
    *l->rep = (struct kboot_report){.kind = KBOOT_LINUX,
                                    .protocol = bz.version,
                                    .kernel_start = LINUX_KERNEL_ADDR,
                                    .kernel_end = LINUX_KERNEL_ADDR + bz.kernel_size,
                                    .ramdisk_start = rd_start,
                                    .ramdisk_end = rd_start ? rd_start + c->ramdisk.size : 0};
    return write_handoff(l, &h);
}

/* ---- Multiboot ---- */

/* [start, end) in RAM a Multiboot kernel or module may take: the
 * conventional memory the BIOS leaves (KBOOT_LOW_START to the EBDA), or
 * from 1 MiB to the ACPI tables at the top. */
static bool multiboot_fits(const struct loader *l, u64 start, u64 end)
{
    return (start >= KBOOT_LOW_START && end <= BIOS_EBDA_BASE) || (start >= MiB && end <= l->ram_top);
}

static bool load_multiboot_segments(struct loader *l, const struct multiboot_kernel *k)
{
    const struct kboot_file *kf = &l->c->kernel;
    /* Below 7000h are the IVT, the BDA and the BIOS's stack; from the
     * EBDA to 1 MiB its data, video memory and the ROM; from the top of
     * RAM on, the ACPI tables. */
    if (!multiboot_fits(l, k->start, k->end))
        return fail(l->why, l->why_size, kf->what,
                    "it loads at 0x%llx-0x%llx, outside the domain's RAM (0x%x-0x%x and 0x100000-0x%llx)%s",
                    (unsigned long long)k->start, (unsigned long long)k->end, KBOOT_LOW_START, BIOS_EBDA_BASE,
                    (unsigned long long)l->ram_top,
                    k->end > l->ram_top && k->start >= MiB ? ": too big for RAM" : "");
    for (unsigned i = 0; i < k->seg_count; i++) {
        const struct multiboot_segment *s = &k->seg[i];
        if (!put(l, s->dest, kf->data + s->file_offset, s->file_size) ||
            !put(l, s->dest + s->file_size, NULL, s->mem_size - s->file_size))
            return false;
    }
    return true;
}

static bool load_multiboot(struct loader *l, const struct multiboot_header *h)
{
    const struct kboot_config *c = l->c;
    struct multiboot_kernel k;
    char msg[160];
    if (!multiboot_plan(c->kernel.data, c->kernel.size, h, &k, msg, sizeof(msg)))
        return fail(l->why, l->why_size, c->kernel.what, "%s", msg);
    if (!load_multiboot_segments(l, &k))
        return false;
    /* The module goes on the page after the kernel (page aligned whether
     * or not the header's bit 0 asks). */
    u64 mod_start = ALIGN_UP(k.end, PAGE_SIZE), mod_end = mod_start;
    u64 region_top = k.start < MiB ? BIOS_EBDA_BASE : l->ram_top; /* the kernel's region */
    if (c->ramdisk.data) {
        if (c->ramdisk.size > region_top || mod_start > region_top - c->ramdisk.size) {
            char size[24];
            format_mib(size, sizeof(size), c->ramdisk.size);
            return fail(l->why, l->why_size, c->ramdisk.what,
                        "%s do not fit in RAM after the kernel (from 0x%llx to 0x%llx); give the domain more memory",
                        size, (unsigned long long)mod_start, (unsigned long long)region_top);
        }
        mod_end = mod_start + c->ramdisk.size;
        if (!put(l, mod_start, c->ramdisk.data, c->ramdisk.size))
            return false;
    }
    /* The command line starts with the kernel's own name, as GRUB Legacy
     * and QEMU pass it (kernels such as Xen skip that first word). */
    char cmdline[MB_CMDLINE_MAX];
    snprintf(cmdline, sizeof(cmdline), "%s%s%s", c->kernel.name, c->cmdline[0] ? " " : "", c->cmdline);
    /* The information structure in the boot area, or after the module if
     * the kernel or module is there (GRUB and QEMU place it where it is
     * free, spec 3.3). */
    u64 info_addr = KBOOT_INFO_ADDR;
    if (k.start < KBOOT_INFO_ADDR + MB_INFO_MAX && mod_end > KBOOT_INFO_ADDR) {
        info_addr = ALIGN_UP(mod_end, PAGE_SIZE);
        if (!multiboot_fits(l, info_addr, info_addr + MB_INFO_MAX))
            return fail(l->why, l->why_size, c->kernel.what,
                        "no room for the Multiboot information after it (0x%llx-0x%llx)",
                        (unsigned long long)info_addr, (unsigned long long)(info_addr + MB_INFO_MAX));
    }
    struct multiboot_info_input in = {
        .base = (u32)info_addr,
        .e820 = c->e820,
        .e820_count = c->e820_count,
        .cmdline = cmdline,
        .loader_name = "Zazen",
        .module = c->ramdisk.data != NULL,
        .mod_start = (u32)mod_start,
        .mod_end = (u32)mod_end,
        .mod_string = c->ramdisk.name ? c->ramdisk.name : "",
        .text_mode = (h->flags & MB_FLAG_VIDEO_MODE) != 0,
    };
    u8 info[MB_INFO_MAX];
    _Static_assert(KBOOT_INFO_ADDR + MB_INFO_MAX <= KBOOT_AREA_END, "the info structure fits in the boot area");
    size_t info_size = multiboot_build_info(&in, info, sizeof(info));
    if (!info_size)
        return fail(l->why, l->why_size, c->kernel.what, "the Multiboot information does not fit in %d bytes",
                    MB_INFO_MAX);
    if (!put(l, info_addr, info, info_size))
        return false;
    struct kboot_handoff hand = {KBOOT_MAGIC, KBOOT_MULTIBOOT, 0, 0, 0, k.entry, MB_BOOT_MAGIC, (u32)info_addr};
    *l->rep = (struct kboot_report){.kind = KBOOT_MULTIBOOT,
                                    .elf = k.elf,
                                    .kernel_start = k.start,
                                    .kernel_end = k.end,
                                    .ramdisk_start = c->ramdisk.data ? mod_start : 0,
                                    .ramdisk_end = c->ramdisk.data ? mod_end : 0,
                                    .entry = k.entry};
    return write_handoff(l, &hand);
}

bool kboot_load(const struct kboot_config *c, kboot_write_fn write, void *ctx, struct kboot_report *rep, char *why,
                size_t why_size)
{
    struct loader l = {c, write, ctx, rep, why, why_size, kboot_ram_top(c->e820, c->e820_count)};
    memset(rep, 0, sizeof(*rep));
    if (bzimage_has_header(c->kernel.data, c->kernel.size))
        return load_linux(&l);
    struct multiboot_header h;
    if (multiboot_find_header(c->kernel.data, c->kernel.size, &h))
        return load_multiboot(&l, &h);
    return fail(why, why_size, c->kernel.what,
                "neither a Linux bzImage (no 'HdrS' boot protocol header at offset 202h) nor a Multiboot kernel "
                "(no Multiboot header in its first 8 KiB)");
}
