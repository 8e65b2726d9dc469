/* fuzz-sources: vmm/kernel_boot.c vmm/bzimage.c vmm/multiboot.c vmm/elf.c guest-bios/tables.c vmm/format.c vmm/string.c */
/* Direct kernel boot on any kernel image (exactly its bytes: ASan sees a
 * read past its end) and ramdisk size, with a command line from the
 * input, into a 16 MiB domain. Checks: every write the loader makes lies
 * in the guest's RAM where a kernel may go (conventional memory from
 * 7000h to the EBDA, or from 1 MiB to the ACPI tables) or is the hand-off
 * block in the EBDA; a
 * success leaves the hand-off block the BIOS looks for; a refusal names
 * the kernel or ramdisk and is a terminated string. */
#include "fuzz.h"
#include "../../vmm/config.h"
#include "../../vmm/kernel_boot.h"

#define RAM_SIZE (16u << 20)
static u8 *ram;
static u64 ram_top;

static bool write_ram(void *ctx, u64 gpa, const void *data, u64 len)
{
    (void)ctx;
    bool low = gpa >= KBOOT_LOW_START && gpa < BIOS_EBDA_BASE && len <= BIOS_EBDA_BASE - gpa;
    bool handoff = gpa == KBOOT_HANDOFF_ADDR && len == sizeof(struct kboot_handoff);
    bool high = gpa >= MiB && gpa < ram_top && len <= ram_top - gpa;
    FUZZ_CHECK(low || handoff || high, "write of %llu bytes at 0x%llx", (unsigned long long)len, (unsigned long long)gpa);
    if (data)
        memcpy(ram + gpa, data, len);
    else
        memset(ram + gpa, 0, len);
    return true;
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
    if (!ram)
        ram = malloc(RAM_SIZE);
    /* The first bytes: the ramdisk's size and the command line's length;
     * the rest is the kernel. */
    struct prog g = {data, size < 4 ? size : 4};
    u64 ramdisk_size = (u64)take16(&g) << (take8(&g) % 12);
    size_t cmdline_len = (size_t)take8(&g) * 4; /* 0-1020: a config's cmdline is below CONFIG_CMDLINE_MAX */
    size_t kernel_size = size - (size < 4 ? size : 4);
    u8 *kernel = malloc(kernel_size ? kernel_size : 1);
    memcpy(kernel, data + (size - kernel_size), kernel_size);
    char cmdline[CONFIG_CMDLINE_MAX];
    for (size_t i = 0; i < cmdline_len; i++)
        cmdline[i] = (char)('a' + i % 26);
    cmdline[cmdline_len] = 0;
    static u8 ramdisk[(1u << 16) << 11];

    struct bios_platform p = {.ram_size = RAM_SIZE, .pci = true, .kernel_boot = true, .pm_base = 0xb000,
                              .sci_irq = 9, .ioapic_base = 0xfec00000, .lapic_base = 0xfee00000};
    struct e820_entry e820[BIOS_E820_MAX];
    struct kboot_config c = {
        .kernel = {kernel, kernel_size, "k", "kernel 'k' (zazen.cfg:2)"},
        .ramdisk = {ramdisk_size ? ramdisk : NULL, ramdisk_size, "r", "ramdisk 'r' (zazen.cfg:3)"},
        .cmdline = cmdline,
        .e820 = e820,
        .e820_count = bios_e820_build(&p, e820),
    };
    ram_top = kboot_ram_top(e820, c.e820_count);
    memset(ram + KBOOT_HANDOFF_ADDR, 0, 4);
    struct kboot_report rep;
    char why[300];
    memset(why, 0xee, sizeof(why));
    if (kboot_load(&c, write_ram, NULL, &rep, why, sizeof(why))) {
        u32 magic;
        memcpy(&magic, ram + KBOOT_HANDOFF_ADDR, 4);
        FUZZ_CHECK(magic == KBOOT_MAGIC, "loaded without a hand-off block");
        FUZZ_CHECK(rep.kernel_start >= MiB && rep.kernel_end <= ram_top, "kernel at 0x%llx-0x%llx",
                   (unsigned long long)rep.kernel_start, (unsigned long long)rep.kernel_end);
    } else {
        FUZZ_CHECK(memchr(why, 0, sizeof(why)) != NULL, "refusal not terminated");
        FUZZ_CHECK(strncmp(why, "kernel 'k' (zazen.cfg:2): ", 26) == 0 || strncmp(why, "ramdisk 'r' (zazen.cfg:3): ", 27) == 0,
                   "refusal names no file: %s", why);
    }
    free(kernel);
    return 0;
}
