/* The multiboot2 entry's C half: turns the multiboot2 boot information
 * (Multiboot2 specification 1.0, section 3.6) into the struct bootinfo the
 * UEFI entry also makes, then hands over to core_main. GRUB has already
 * loaded zazen.cfg and the files it names as modules; each module's
 * command line is its file name. */
#include "../vmm/bootinfo.h"
#include "../vmm/string.h"

#define MB2_TAG_END 0
#define MB2_TAG_CMDLINE 1
#define MB2_TAG_MODULE 3
#define MB2_TAG_MMAP 6
#define MB2_TAG_ACPI_OLD 14
#define MB2_TAG_ACPI_NEW 15

#define MB2_MEMORY_AVAILABLE 1
#define MB2_MEMORY_ACPI_RECLAIMABLE 3
#define MB2_MEMORY_NVS 4
#define MB2_MEMORY_BADRAM 5

#define CONFIG_MODULE_NAME "zazen.cfg"

struct mb2_tag {
    u32 type;
    u32 size;
};

struct mb2_module {
    struct mb2_tag tag;
    u32 mod_start, mod_end;
    char name[]; /* the module's command line */
};

struct mb2_mmap {
    struct mb2_tag tag;
    u32 entry_size, entry_version;
};

struct mb2_mmap_entry {
    u64 base, length;
    u32 type, reserved;
};

extern const char ImageBase[], ImageEnd[];
static struct bootinfo bootinfo;

static void add_mem(struct bootinfo *bi, u64 base, u64 size, u32 type)
{
    if (size && bi->mem_count < BOOTINFO_MAX_MEM)
        bi->mem[bi->mem_count++] = (struct bootinfo_mem){base, size, type};
}

static u32 mem_type_of(u32 mb2_type)
{
    switch (mb2_type) {
    case MB2_MEMORY_AVAILABLE: return MEM_USABLE;
    case MB2_MEMORY_ACPI_RECLAIMABLE: return MEM_ACPI_RECLAIM;
    case MB2_MEMORY_NVS: return MEM_ACPI_NVS;
    case MB2_MEMORY_BADRAM: return MEM_UNUSABLE;
    default: return MEM_RESERVED;
    }
}

static void read_mmap(struct bootinfo *bi, const struct mb2_mmap *m)
{
    const u8 *p = (const u8 *)(m + 1), *end = (const u8 *)m + m->tag.size;
    for (; p + m->entry_size <= end; p += m->entry_size) {
        const struct mb2_mmap_entry *e = (const void *)p;
        add_mem(bi, e->base, e->length, mem_type_of(e->type));
    }
}

/* Module names are the first word of the module's command line. */
static void read_module(struct bootinfo *bi, const struct mb2_module *m)
{
    char name[BOOTINFO_NAME_MAX];
    size_t n = 0;
    while (m->name[n] && m->name[n] != ' ' && n + 1 < sizeof(name)) {
        name[n] = m->name[n];
        n++;
    }
    name[n] = 0;
    u64 size = m->mod_end - m->mod_start;
    add_mem(bi, m->mod_start, ALIGN_UP(size, PAGE_SIZE), MEM_ZAZEN);
    if (strcmp(name, CONFIG_MODULE_NAME) == 0) {
        bi->config_text = (const char *)(uintptr_t)m->mod_start;
        bi->config_size = size;
        return;
    }
    if (bi->file_count < BOOTINFO_MAX_FILES) {
        struct bootinfo_file *f = &bi->files[bi->file_count++];
        strlcpy(f->name, name, sizeof(f->name));
        f->data = (const u8 *)(uintptr_t)m->mod_start;
        f->size = size;
        f->head = f->data; /* GRUB loads every module whole */
        f->tail = size >= 512 ? f->data + size - 512 : f->data;
    }
}

void mb2_main(const u8 *info);
void mb2_main(const u8 *info)
{
    struct bootinfo *bi = &bootinfo;
    u32 total = *(const u32 *)info;
    bi->magic = BOOTINFO_MAGIC;
    bi->entry = "multiboot2";
    strlcpy(bi->config_name, CONFIG_MODULE_NAME, sizeof(bi->config_name));
    for (const u8 *p = info + 8; p + sizeof(struct mb2_tag) <= info + total;) {
        const struct mb2_tag *tag = (const void *)p;
        if (tag->type == MB2_TAG_END || tag->size < sizeof(*tag))
            break;
        switch (tag->type) {
        case MB2_TAG_CMDLINE: strlcpy(bi->cmdline, (const char *)(tag + 1), sizeof(bi->cmdline)); break;
        case MB2_TAG_MODULE: read_module(bi, (const void *)tag); break;
        case MB2_TAG_MMAP: read_mmap(bi, (const void *)tag); break;
        case MB2_TAG_ACPI_NEW:
            bi->acpi_rsdp = (u64)(uintptr_t)(tag + 1); /* a copy of the RSDP, kept in place */
            break;
        case MB2_TAG_ACPI_OLD:
            if (!bi->acpi_rsdp)
                bi->acpi_rsdp = (u64)(uintptr_t)(tag + 1);
            break;
        }
        p += ALIGN_UP(tag->size, 8);
    }
    /* What Zazen must keep: its image (stack and boot page tables are in
     * its .bss) and the boot information, which holds the RSDP copy. */
    add_mem(bi, (u64)(uintptr_t)ImageBase, (u64)(ImageEnd - ImageBase), MEM_ZAZEN);
    u64 info_start = ALIGN_DOWN((u64)(uintptr_t)info, PAGE_SIZE);
    u64 info_end = ALIGN_UP((u64)(uintptr_t)info + total, PAGE_SIZE);
    add_mem(bi, info_start, info_end - info_start, MEM_ZAZEN);
    bi->core_bytes = (u64)(ImageEnd - ImageBase) + (info_end - info_start);
    core_main(bi);
}
