/* See elf.h. Layouts: System V ABI, "ELF Header" (e_ident, e_type,
 * e_machine, e_entry, e_phoff, e_phentsize, e_phnum) and "Program Header"
 * (Elf32_Phdr and Elf64_Phdr differ in field order). */
#include "elf.h"
#include "format.h"
#include "string.h"

#define EI_CLASS 4
#define EI_DATA 5
#define ELFCLASS32 1
#define ELFCLASS64 2
#define ELFDATA2LSB 1
#define ET_EXEC 2
#define EM_386 3
#define EM_X86_64 62

static u16 get16(const u8 *p) { return (u16)(p[0] | p[1] << 8); }
static u32 get32(const u8 *p) { return get16(p) | (u32)get16(p + 2) << 16; }
static u64 get64(const u8 *p) { return get32(p) | (u64)get32(p + 4) << 32; }

static bool fail(char *why, size_t why_size, const char *fmt, ...) PRINTF_LIKE(3, 4);
static bool fail(char *why, size_t why_size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, why_size, fmt, ap);
    va_end(ap);
    return false;
}

bool elf_is_elf(const u8 *data, u64 size)
{
    return size >= 4 && data[0] == 0x7f && data[1] == 'E' && data[2] == 'L' && data[3] == 'F';
}

bool elf_parse(const u8 *data, u64 size, struct elf_image *out, char *why, size_t why_size)
{
    memset(out, 0, sizeof(*out));
    if (!elf_is_elf(data, size))
        return fail(why, why_size, "not an ELF file");
    if (size < 52 || (data[EI_CLASS] == ELFCLASS64 && size < 64))
        return fail(why, why_size, "ELF truncated: %llu bytes, shorter than its header", (unsigned long long)size);
    if (data[EI_CLASS] != ELFCLASS32 && data[EI_CLASS] != ELFCLASS64)
        return fail(why, why_size, "ELF class %u: neither 32- nor 64-bit", data[EI_CLASS]);
    if (data[EI_DATA] != ELFDATA2LSB)
        return fail(why, why_size, "big-endian ELF: not an x86 executable");
    out->data = data;
    out->size = size;
    out->is64 = data[EI_CLASS] == ELFCLASS64;
    u16 type = get16(data + 16), machine = get16(data + 18);
    if (type != ET_EXEC)
        return fail(why, why_size, "ELF type %u: not an executable (ET_EXEC)", type);
    if (machine != EM_386 && machine != EM_X86_64)
        return fail(why, why_size, "ELF machine %u: not x86", machine);
    if (out->is64) {
        out->entry = get64(data + 24);
        out->phoff = get64(data + 32);
        out->phentsize = get16(data + 54);
        out->phnum = get16(data + 56);
    } else {
        out->entry = get32(data + 24);
        out->phoff = get32(data + 28);
        out->phentsize = get16(data + 42);
        out->phnum = get16(data + 44);
    }
    unsigned min_entsize = out->is64 ? 56 : 32;
    if (out->phnum == 0)
        return fail(why, why_size, "ELF has no program headers");
    if (out->phentsize < min_entsize)
        return fail(why, why_size, "ELF program header size %u: at least %u expected", out->phentsize, min_entsize);
    if (out->phoff > size || (u64)out->phnum * out->phentsize > size - out->phoff)
        return fail(why, why_size, "ELF truncated: its program headers (%u at offset %llu) end past its %llu bytes",
                    out->phnum, (unsigned long long)out->phoff, (unsigned long long)size);
    return true;
}

bool elf_segment(const struct elf_image *elf, unsigned i, struct elf_segment *seg, char *why, size_t why_size)
{
    const u8 *p = elf->data + elf->phoff + (u64)i * elf->phentsize;
    seg->type = get32(p);
    if (elf->is64) {
        seg->offset = get64(p + 8);
        seg->vaddr = get64(p + 16);
        seg->paddr = get64(p + 24);
        seg->filesz = get64(p + 32);
        seg->memsz = get64(p + 40);
    } else {
        seg->offset = get32(p + 4);
        seg->vaddr = get32(p + 8);
        seg->paddr = get32(p + 12);
        seg->filesz = get32(p + 16);
        seg->memsz = get32(p + 20);
    }
    if (seg->type != ELF_PT_LOAD)
        return true;
    if (seg->offset > elf->size || seg->filesz > elf->size - seg->offset)
        return fail(why, why_size, "ELF truncated: segment %u (%llu bytes at offset %llu) ends past its %llu bytes", i,
                    (unsigned long long)seg->filesz, (unsigned long long)seg->offset, (unsigned long long)elf->size);
    if (seg->filesz > seg->memsz)
        return fail(why, why_size, "ELF segment %u has more bytes in the file (%llu) than in memory (%llu)", i,
                    (unsigned long long)seg->filesz, (unsigned long long)seg->memsz);
    return true;
}
