/* ELF executables (System V gABI, "ELF Header" and "Program Header"), 32
 * and 64 bits, little endian: the loadable segments a boot loader copies.
 * Pure: Multiboot kernels use it (vmm/multiboot.c), and so can any other
 * loader of ELF images. */
#ifndef ZAZEN_ELF_H
#define ZAZEN_ELF_H

#include "types.h"

#define ELF_PT_LOAD 1

struct elf_image {
    const u8 *data;
    u64 size;
    bool is64;
    u64 entry;
    u64 phoff;
    unsigned phnum, phentsize;
};

struct elf_segment {
    u32 type;
    u64 offset, vaddr, paddr, filesz, memsz;
};

/* Whether the image starts with the ELF magic (7Fh 'E' 'L' 'F'). */
bool elf_is_elf(const u8 *data, u64 size);

/* Checks the header of an x86 executable (EM_386 or EM_X86_64, ET_EXEC)
 * and that its program headers lie in the file. */
bool elf_parse(const u8 *data, u64 size, struct elf_image *out, char *why, size_t why_size);

/* Program header i (i < phnum). False, with why, if a PT_LOAD segment's
 * bytes lie outside the file or its file size exceeds its memory size. */
bool elf_segment(const struct elf_image *elf, unsigned i, struct elf_segment *seg, char *why, size_t why_size);

#endif
