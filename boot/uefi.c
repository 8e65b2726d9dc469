/* The UEFI entry: zazen.efi, a PE32+ application built with GNU-EFI.
 *
 * Everything that needs the firmware happens here, before ExitBootServices:
 * read zazen.cfg from the folder this image was loaded from, load every file
 * it names, check the CPU can virtualize, find the ACPI RSDP, take the memory
 * map. Any error is printed with the file, line and reason and returned to
 * the firmware as an error status. After ExitBootServices nothing calls UEFI
 * again: the core gets a struct bootinfo and owns the machine. */
#include <efi.h>
#include <efilib.h>

#include "../vmm/bootinfo.h"
#include "../vmm/config.h"
#include "../vmm/format.h"
#include "../vmm/string.h"
#include "../vmm/virt_detect.h"

#define CONFIG_FILE_NAME "zazen.cfg"
#define CORE_STACK_SIZE (256 * 1024)

static EFI_SYSTEM_TABLE *st;
static EFI_BOOT_SERVICES *bs;

/* Prints an ASCII message on the firmware console, "\n" as CR LF. */
static void say(const char *fmt, ...) PRINTF_LIKE(1, 2);
static void say(const char *fmt, ...)
{
    char msg[512];
    CHAR16 wide[2 * sizeof(msg) + 1];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    size_t n = 0;
    for (const char *p = msg; *p; p++) {
        if (*p == '\n')
            wide[n++] = L'\r';
        wide[n++] = (CHAR16)(u8)*p;
    }
    wide[n] = 0;
    uefi_call_wrapper(st->ConOut->OutputString, 2, st->ConOut, wide);
}

static const char *status_text(EFI_STATUS s)
{
    switch (s) {
    case EFI_NOT_FOUND: return "Not Found";
    case EFI_OUT_OF_RESOURCES: return "Out of Resources";
    case EFI_DEVICE_ERROR: return "Device Error";
    case EFI_VOLUME_CORRUPTED: return "Volume Corrupted";
    case EFI_ACCESS_DENIED: return "Access Denied";
    case EFI_INVALID_PARAMETER: return "Invalid Parameter";
    case EFI_UNSUPPORTED: return "Unsupported";
    default: return "error";
    }
}

static void to_wide(CHAR16 *dst, size_t size, const char *src)
{
    size_t i = 0;
    for (; src[i] && i + 1 < size; i++)
        dst[i] = (CHAR16)(u8)src[i];
    dst[i] = 0;
}

static void to_narrow(char *dst, size_t size, const CHAR16 *src)
{
    size_t i = 0;
    for (; src[i] && i + 1 < size; i++)
        dst[i] = src[i] < 0x80 ? (char)src[i] : '?';
    dst[i] = 0;
}

/* The folder this image was loaded from, as "\EFI\BOOT\" (with the
 * trailing backslash), from the loaded image's file path. */
static void image_folder(EFI_LOADED_IMAGE *li, char *out, size_t size)
{
    CHAR16 *path = DevicePathToStr(li->FilePath);
    to_narrow(out, size, path ? path : L"\\");
    if (path)
        FreePool(path);
    size_t n = strlen(out), cut = 0;
    for (size_t i = 0; i < n; i++)
        if (out[i] == '\\' || out[i] == '/')
            cut = i + 1;
    out[cut] = 0;
    if (cut == 0)
        strlcpy(out, "\\", size);
}

struct loader {
    EFI_FILE_HANDLE folder;
    const char *reachable; /* the boot disk's kind when a host driver of Zazen's reaches it ("SATA"), else NULL */
    char folder_name[256];
    char config_path[256]; /* folder + "zazen.cfg", for messages */
    struct bootinfo *bi;
    u64 image_size; /* zazen.efi as loaded, from EFI_LOADED_IMAGE */
};

/* Opens a file of the folder; EFI_NOT_FOUND for a directory. */
static EFI_STATUS open_in_folder(struct loader *ld, const char *name, EFI_FILE_HANDLE *f, u64 *bytes)
{
    CHAR16 wname[CONFIG_FILE_MAX];
    to_wide(wname, ARRAY_SIZE(wname), name);
    EFI_STATUS s = uefi_call_wrapper(ld->folder->Open, 5, ld->folder, f, wname, EFI_FILE_MODE_READ, 0ull);
    if (EFI_ERROR(s))
        return s;
    EFI_FILE_INFO *info = LibFileInfo(*f);
    if (!info) {
        uefi_call_wrapper((*f)->Close, 1, *f);
        return EFI_DEVICE_ERROR;
    }
    *bytes = info->FileSize;
    bool is_dir = (info->Attribute & EFI_FILE_DIRECTORY) != 0;
    FreePool(info);
    if (is_dir) {
        uefi_call_wrapper((*f)->Close, 1, *f);
        return EFI_NOT_FOUND;
    }
    return EFI_SUCCESS;
}

static EFI_STATUS read_at(EFI_FILE_HANDLE f, u64 pos, u64 bytes, u8 *buf)
{
    EFI_STATUS s = uefi_call_wrapper(f->SetPosition, 2, f, pos);
    UINTN n = bytes;
    if (!EFI_ERROR(s))
        s = uefi_call_wrapper(f->Read, 3, f, &n, buf);
    return !EFI_ERROR(s) && n != bytes ? EFI_DEVICE_ERROR : s;
}

/* Reads a whole file of the folder into fresh EfiLoaderData pages, which
 * the core's allocator will never hand out. */
static EFI_STATUS load_file(struct loader *ld, const char *name, const u8 **data, u64 *size)
{
    EFI_FILE_HANDLE f;
    u64 bytes;
    EFI_STATUS s = open_in_folder(ld, name, &f, &bytes);
    if (EFI_ERROR(s))
        return s;
    EFI_PHYSICAL_ADDRESS addr = 0;
    UINTN pages = (bytes + 1 + EFI_PAGE_SIZE - 1) / EFI_PAGE_SIZE; /* +1: room for a NUL after text */
    s = uefi_call_wrapper(bs->AllocatePages, 4, AllocateAnyPages, EfiLoaderData, pages, &addr);
    if (!EFI_ERROR(s)) {
        UINTN n = bytes;
        s = uefi_call_wrapper(f->Read, 3, f, &n, (void *)(uintptr_t)addr);
        if (!EFI_ERROR(s) && n != bytes)
            s = EFI_DEVICE_ERROR;
        ((u8 *)(uintptr_t)addr)[bytes] = 0;
    }
    uefi_call_wrapper(f->Close, 1, f);
    *data = (const u8 *)(uintptr_t)addr;
    *size = bytes;
    return s;
}

/* A disk file Zazen will find in place on the boot disk (docs/storage.md):
 * only what identifies it is read, its first BOOTINFO_HEAD_BYTES and its
 * last sector, so a disk need not fit in RAM. A size that is not whole
 * sectors is left to config_check_file_size. */
static EFI_STATUS load_file_ends(struct loader *ld, const char *name, struct bootinfo_file *bf)
{
    EFI_FILE_HANDLE f;
    u64 bytes;
    EFI_STATUS s = open_in_folder(ld, name, &f, &bytes);
    if (EFI_ERROR(s))
        return s;
    u64 head = MIN(bytes, (u64)BOOTINFO_HEAD_BYTES);
    EFI_PHYSICAL_ADDRESS addr = 0;
    s = uefi_call_wrapper(bs->AllocatePages, 4, AllocateAnyPages, EfiLoaderData,
                          (BOOTINFO_HEAD_BYTES + 512) / EFI_PAGE_SIZE + 1, &addr);
    u8 *buf = (u8 *)(uintptr_t)addr;
    if (!EFI_ERROR(s) && head)
        s = read_at(f, 0, head, buf);
    if (!EFI_ERROR(s) && bytes >= 512)
        s = read_at(f, bytes - 512, 512, buf + BOOTINFO_HEAD_BYTES);
    uefi_call_wrapper(f->Close, 1, f);
    bf->data = NULL;
    bf->size = bytes;
    bf->head = buf;
    bf->tail = buf + BOOTINFO_HEAD_BYTES;
    bf->in_place_only = true;
    return s;
}

/* Zazen's host drivers (vmm/storage/) reach a disk the firmware names by
 * a SATA (AHCI), NVMe namespace or ATA node in the boot volume's device
 * path (UEFI 2.10 10.3.4: Messaging subtypes 12h, 17h, 01h). Behind
 * anything else (virtio-blk, USB, SCSI) they find no disk, so the files
 * must be loaded whole. */
static const char *boot_disk_reachable(EFI_HANDLE device)
{
    EFI_DEVICE_PATH *dp = DevicePathFromHandle(device);
    for (; dp && !IsDevicePathEnd(dp); dp = NextDevicePathNode(dp)) {
        if (DevicePathType(dp) != MESSAGING_DEVICE_PATH)
            continue;
        switch (DevicePathSubType(dp)) {
        case MSG_SATA_DP: return "SATA";
        case 0x17: return "NVMe"; /* NVM Express Namespace */
        case MSG_ATAPI_DP: return "ATA";
        default: return NULL;
        }
    }
    return NULL;
}

static EFI_STATUS open_folder(EFI_HANDLE image, struct loader *ld)
{
    EFI_LOADED_IMAGE *li;
    EFI_STATUS s = uefi_call_wrapper(bs->HandleProtocol, 3, image, &LoadedImageProtocol, (void **)&li);
    if (EFI_ERROR(s))
        return s;
    image_folder(li, ld->folder_name, sizeof(ld->folder_name));
    ld->reachable = boot_disk_reachable(li->DeviceHandle);
    ld->image_size = li->ImageSize;
    snprintf(ld->config_path, sizeof(ld->config_path), "%s%s", ld->folder_name, CONFIG_FILE_NAME);
    EFI_FILE_HANDLE root = LibOpenRoot(li->DeviceHandle);
    if (!root)
        return EFI_NOT_FOUND;
    CHAR16 wfolder[256];
    to_wide(wfolder, ARRAY_SIZE(wfolder), ld->folder_name);
    s = uefi_call_wrapper(root->Open, 5, root, &ld->folder, wfolder, EFI_FILE_MODE_READ, 0ull);
    uefi_call_wrapper(root->Close, 1, root);
    return s;
}

struct file_job {
    struct loader *ld;
    EFI_STATUS status;
};

/* A disk (disk0-3) on a boot disk a host driver reaches is found in place
 * by storage_init, so only its ends are read; everything else (firmware,
 * kernels, the CD-ROM, any disk behind another kind of boot disk) is
 * loaded whole. */
static bool ends_only(const struct loader *ld, const struct config_file *f)
{
    return ld->reachable && strncmp(f->key, "disk", 4) == 0;
}

static EFI_STATUS load_whole(struct loader *ld, const char *name, struct bootinfo_file *bf)
{
    EFI_STATUS s = load_file(ld, name, &bf->data, &bf->size);
    bf->head = bf->data;
    bf->tail = bf->size >= 512 ? bf->data + bf->size - 512 : bf->data;
    bf->in_place_only = false;
    return s;
}

static bool load_named_file(void *ctx, const struct domain_config *d, const struct config_file *f)
{
    struct file_job *job = ctx;
    struct bootinfo *bi = job->ld->bi;
    (void)d;
    struct bootinfo_file *bf = NULL;
    for (u32 i = 0; i < bi->file_count; i++)
        if (strcmp(bi->files[i].name, f->name) == 0) {
            /* Two domains may share one image; one that is a disk of one
             * and the firmware of another is loaded whole after all. */
            if (!bi->files[i].in_place_only || ends_only(job->ld, f))
                return true;
            bf = &bi->files[i];
        }
    if (!bf && bi->file_count == BOOTINFO_MAX_FILES) {
        say("zazen: %s:%u: too many files: at most %d\n", job->ld->config_path, f->line, BOOTINFO_MAX_FILES);
        job->status = EFI_OUT_OF_RESOURCES;
        return false;
    }
    bool new_file = !bf;
    if (new_file)
        bf = &bi->files[bi->file_count];
    EFI_STATUS s = ends_only(job->ld, f) ? load_file_ends(job->ld, f->name, bf) : load_whole(job->ld, f->name, bf);
    if (EFI_ERROR(s)) {
        say("zazen: %s:%u: cannot load %s '%s' from %s: %s\n", job->ld->config_path, f->line, f->key, f->name,
            job->ld->folder_name, status_text(s));
        job->status = s;
        return false;
    }
    struct config_error err;
    if (!config_check_file_size(f, bf->size, &err)) {
        say("zazen: %s:%u: %s\n", job->ld->config_path, err.line, err.msg);
        job->status = EFI_LOAD_ERROR;
        return false;
    }
    strlcpy(bf->name, f->name, sizeof(bf->name));
    bi->file_count += new_file;
    return true;
}

static EFI_STATUS load_config_and_files(struct loader *ld)
{
    struct bootinfo *bi = ld->bi;
    const u8 *text;
    u64 size;
    EFI_STATUS s = load_file(ld, CONFIG_FILE_NAME, &text, &size);
    if (EFI_ERROR(s)) {
        say("zazen: %s: cannot open: %s\n", ld->config_path, status_text(s));
        return s;
    }
    strlcpy(bi->config_name, ld->config_path, sizeof(bi->config_name));
    bi->config_text = (const char *)text;
    bi->config_size = size;

    static struct config cfg; /* large: keep it off the firmware's stack */
    struct config_error err;
    if (!config_parse(bi->config_text, size, &cfg, &err)) {
        say("zazen: %s:%u: %s\n", ld->config_path, err.line, err.msg);
        return EFI_LOAD_ERROR;
    }
    struct file_job job = {ld, EFI_SUCCESS};
    config_for_each_file(&cfg, load_named_file, &job);
    return job.status;
}

static bool efi_read_msr(u32 msr, u64 *value)
{
    /* The firmware's IDT would catch a #GP; only read MSRs the vendor
     * guarantees once CPUID has advertised the feature. */
    u32 lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    *value = ((u64)hi << 32) | lo;
    return true;
}

static u64 find_rsdp(void)
{
    static EFI_GUID acpi20 = ACPI_20_TABLE_GUID;
    void *table = NULL;
    if (!EFI_ERROR(LibGetSystemConfigurationTable(&acpi20, &table)) && table)
        return (u64)(uintptr_t)table;
    if (!EFI_ERROR(LibGetSystemConfigurationTable(&AcpiTableGuid, &table)) && table)
        return (u64)(uintptr_t)table;
    return 0;
}

static u32 mem_type_of(UINT32 efi_type)
{
    switch (efi_type) {
    case EfiConventionalMemory: return MEM_USABLE;
    case EfiBootServicesCode:
    case EfiBootServicesData: return MEM_USABLE_LATER;
    case EfiLoaderCode:
    case EfiLoaderData: return MEM_ZAZEN;
    case EfiACPIReclaimMemory: return MEM_ACPI_RECLAIM;
    case EfiACPIMemoryNVS: return MEM_ACPI_NVS;
    case EfiMemoryMappedIO:
    case EfiMemoryMappedIOPortSpace: return MEM_MMIO;
    case EfiUnusableMemory: return MEM_UNUSABLE;
    default: return MEM_RESERVED; /* runtime services, PAL code, persistent, ... */
    }
}

/* Converts the final UEFI map; runs after ExitBootServices, so it only
 * computes. Adjacent entries of one type merge. */
static void convert_memory_map(struct bootinfo *bi, const u8 *map, UINTN map_size, UINTN desc_size)
{
    bi->mem_count = 0;
    for (UINTN off = 0; off + desc_size <= map_size; off += desc_size) {
        const EFI_MEMORY_DESCRIPTOR *d = (const EFI_MEMORY_DESCRIPTOR *)(map + off);
        u64 base = d->PhysicalStart, size = d->NumberOfPages * EFI_PAGE_SIZE;
        u32 type = mem_type_of(d->Type);
        struct bootinfo_mem *last = bi->mem_count ? &bi->mem[bi->mem_count - 1] : NULL;
        if (last && last->type == type && last->base + last->size == base) {
            last->size += size;
            continue;
        }
        if (bi->mem_count == BOOTINFO_MAX_MEM)
            break; /* the rest is simply not used */
        bi->mem[bi->mem_count++] = (struct bootinfo_mem){base, size, type};
    }
}

static EFI_STATUS exit_boot_services(EFI_HANDLE image, struct bootinfo *bi)
{
    /* A buffer with room to spare: the map may grow by the allocation itself. */
    UINTN map_size = 0, key, desc_size;
    UINT32 desc_version;
    uefi_call_wrapper(bs->GetMemoryMap, 5, &map_size, NULL, &key, &desc_size, &desc_version);
    UINTN capacity = map_size + 16 * desc_size + 4096;
    EFI_PHYSICAL_ADDRESS buf;
    EFI_STATUS s = uefi_call_wrapper(bs->AllocatePages, 4, AllocateAnyPages, EfiLoaderData,
                                     (capacity + EFI_PAGE_SIZE - 1) / EFI_PAGE_SIZE, &buf);
    if (EFI_ERROR(s))
        return s;
    for (int attempt = 0; attempt < 4; attempt++) {
        map_size = capacity;
        s = uefi_call_wrapper(bs->GetMemoryMap, 5, &map_size, (EFI_MEMORY_DESCRIPTOR *)(uintptr_t)buf, &key,
                              &desc_size, &desc_version);
        if (EFI_ERROR(s))
            return s;
        /* No firmware call (and so no printing) between GetMemoryMap and
         * ExitBootServices: the key would go stale (UEFI 2.9, 7.4). */
        s = uefi_call_wrapper(bs->ExitBootServices, 2, image, key);
        if (!EFI_ERROR(s)) {
            convert_memory_map(bi, (const u8 *)(uintptr_t)buf, map_size, desc_size);
            return EFI_SUCCESS;
        }
    }
    return s;
}

static NORETURN void enter_core(struct bootinfo *bi, u8 *stack_top)
{
    void (*entry)(struct bootinfo *) = core_main;
    __asm__ volatile("cli\n\t"
                     "movq %0, %%rsp\n\t"
                     "xorl %%ebp, %%ebp\n\t"
                     "callq *%1\n\t"
                     "ud2"
                     :
                     : "r"(stack_top), "r"(entry), "D"(bi)
                     : "memory");
    __builtin_unreachable();
}

static EFI_STATUS fail(EFI_STATUS s)
{
    say("zazen: not starting; returning to the firmware (status %s)\n", status_text(s));
    return s;
}

EFI_STATUS EFIAPI efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *system_table);
EFI_STATUS EFIAPI efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *system_table)
{
    InitializeLib(image, system_table);
    st = system_table;
    bs = system_table->BootServices;
    say("zazen: UEFI entry\n");

    struct bootinfo *bi;
    EFI_PHYSICAL_ADDRESS addr;
    UINTN bi_pages = (sizeof(*bi) + CORE_STACK_SIZE + EFI_PAGE_SIZE - 1) / EFI_PAGE_SIZE;
    EFI_STATUS s = uefi_call_wrapper(bs->AllocatePages, 4, AllocateAnyPages, EfiLoaderData, bi_pages, &addr);
    if (EFI_ERROR(s))
        return fail(s);
    memset((void *)(uintptr_t)addr, 0, bi_pages * EFI_PAGE_SIZE);
    bi = (struct bootinfo *)(uintptr_t)addr;
    u8 *stack_top = (u8 *)(uintptr_t)(addr + bi_pages * EFI_PAGE_SIZE);
    bi->magic = BOOTINFO_MAGIC;
    bi->entry = "UEFI";

    struct loader ld = {.bi = bi};
    s = open_folder(image, &ld);
    if (EFI_ERROR(s)) {
        say("zazen: cannot open the folder zazen.efi was loaded from: %s\n", status_text(s));
        return fail(s);
    }
    s = load_config_and_files(&ld);
    if (EFI_ERROR(s))
        return fail(s);
    bi->core_bytes = ld.image_size + bi_pages * EFI_PAGE_SIZE;

    char why[160];
    if (virt_detect(why, sizeof(why), efi_read_msr) == VIRT_NONE) {
        say("zazen: %s\n", why);
        return fail(EFI_UNSUPPORTED);
    }
    bi->acpi_rsdp = find_rsdp();
    u32 ends = 0;
    for (u32 i = 0; i < bi->file_count; i++)
        ends += bi->files[i].in_place_only;
    if (ends)
        say("zazen: %s: %u file(s) loaded, %u disk(s) left in place on the %s boot disk; exiting boot services\n",
            ld.config_path, bi->file_count - ends, ends, ld.reachable);
    else
        say("zazen: %s: %u file(s) loaded; exiting boot services\n", ld.config_path, bi->file_count);

    s = exit_boot_services(image, bi);
    if (EFI_ERROR(s)) {
        say("zazen: ExitBootServices failed: %s\n", status_text(s));
        return fail(s);
    }
    enter_core(bi, stack_top);
}
