/* The pvh domain type (vmm/domain_type.h): a Xen PVH domain. Its RAM is
 * one flat block with no ROM and no PAM; Zazen loads its kernel
 * (vmm/pvh_loader.c) and enters it in 32-bit protected mode with EBX
 * pointing at hvm_start_info; it finds the ACPI tables (MADT for its
 * LAPIC) through start_info's RSDP and talks to Zazen by hypercalls
 * (vmm/xen/). Its guest-physical map, as its memory map says:
 *   0-9EFFFh                  RAM (Linux's real-mode trampoline)
 *   9F000h-9FFFFh             reserved: the EBDA with the RSDP
 *   F0000h-FFFFFh             reserved: SMBIOS and the RSDP's copy
 *   1 MiB-special             RAM: kernel at its p_paddr, ramdisk on top
 *   special (2 pages)         reserved: the console and xenstore rings
 *   last 64 KiB               ACPI tables */
#include "arch.h"
#include "bootinfo.h"
#include "console.h"
#include "cpuid.h"
#include "domain.h"
#include "domain_type.h"
#include "format.h"
#include "mm.h"
#include "platform.h"
#include "pvh_loader.h"
#include "string.h"
#include "xen/xen.h"
#include "../guest-bios/tables.h"

static bool fail(char *why, size_t why_size, const char *fmt, ...) PRINTF_LIKE(3, 4);
static bool fail(char *why, size_t why_size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, why_size, fmt, ap);
    va_end(ap);
    return false;
}

static u64 acpi_base(const struct domain *d) { return d->ram_size - BIOS_ACPI_SIZE; }
static u64 special_base(const struct domain *d) { return acpi_base(d) - XEN_SPECIAL_PAGES * PAGE_SIZE; }

static bool pvh_map_memory(struct domain *d, u8 *ram, char *why, size_t why_size)
{
    d->ram = ram;
    if (d->mem_count == DOMAIN_MAX_MEM_REGIONS)
        return fail(why, why_size, "too many memory regions");
    d->mem[d->mem_count++] = (struct guest_mem_region){0, d->ram_size, ram, false, true, NULL};
    domain_regions_changed(d);
    return true;
}

static unsigned build_memmap(const struct domain *d, struct hvm_memmap_entry *m)
{
    unsigned n = 0;
    m[n++] = (struct hvm_memmap_entry){0, BIOS_EBDA_BASE, PVH_MEM_RAM, 0};
    m[n++] = (struct hvm_memmap_entry){BIOS_EBDA_BASE, 0xa0000 - BIOS_EBDA_BASE, PVH_MEM_RESERVED, 0};
    m[n++] = (struct hvm_memmap_entry){0xf0000, 0x10000, PVH_MEM_RESERVED, 0};
    m[n++] = (struct hvm_memmap_entry){MiB, special_base(d) - MiB, PVH_MEM_RAM, 0};
    m[n++] = (struct hvm_memmap_entry){special_base(d), XEN_SPECIAL_PAGES * PAGE_SIZE, PVH_MEM_RESERVED, 0};
    m[n++] = (struct hvm_memmap_entry){acpi_base(d), BIOS_ACPI_SIZE, PVH_MEM_ACPI, 0};
    return n;
}

static bool write_ram(void *ctx, u64 gpa, const void *data, u64 len)
{
    struct domain *d = ctx;
    if (gpa >= d->ram_size || len > d->ram_size - gpa)
        return false;
    if (data)
        memcpy(d->ram + gpa, data, len);
    else
        memset(d->ram + gpa, 0, len);
    return true;
}

static void *alloc_host(u64 size) { return page_alloc(size); }
static void free_host(void *p, u64 size) { page_free(p, size); }

/* The kernel's PVH entry point, kept for every (re)start. */
static u32 pvh_entry_of(const struct domain *d) { return d->xen ? d->xen->entry : 0; }

static bool pvh_boot(struct domain *d, bool first, char *why, size_t why_size)
{
    if (first && !xen_domain_create(d, why, why_size))
        return false;
    if (!first)
        xen_domain_reset(d->xen);
    /* The special pages start zeroed: the rings are empty. */
    memset(d->ram + special_base(d), 0, XEN_SPECIAL_PAGES * PAGE_SIZE);
    platform_write_bios_tables(d);
    char kernel_what[CONFIG_FILE_MAX + 64], ramdisk_what[CONFIG_FILE_MAX + 64];
    snprintf(kernel_what, sizeof(kernel_what), "kernel '%s' (%s:%u)", d->cfg->kernel.name, d->config_name,
             d->cfg->kernel.line);
    snprintf(ramdisk_what, sizeof(ramdisk_what), "ramdisk '%s' (%s:%u)", d->cfg->ramdisk.name, d->config_name,
             d->cfg->ramdisk.line);
    struct hvm_memmap_entry memmap[PVH_MEMMAP_MAX];
    struct pvh_config c = {
        .kernel = {d->kernel ? d->kernel->data : NULL, d->kernel ? d->kernel->size : 0, kernel_what},
        .ramdisk = {d->ramdisk ? d->ramdisk->data : NULL, d->ramdisk ? d->ramdisk->size : 0, ramdisk_what},
        .cmdline = d->cfg->cmdline.text,
        .ram_size = d->ram_size,
        .usable_top = special_base(d),
        .rsdp = BIOS_RSDP_ADDR,
        .memmap = memmap,
        .memmap_count = build_memmap(d, memmap),
        .alloc = alloc_host,
        .free = free_host,
    };
    if (!c.kernel.data)
        return fail(why, why_size, "%s was not loaded", kernel_what);
    struct pvh_report rep;
    if (!pvh_load(&c, write_ram, d, &rep, why, why_size))
        return false;
    d->xen->entry = rep.entry;
    if (!first)
        return true;
    kprintf("zazen: domain %s (id %u): kernel %s: PVH (%s%s), 0x%llx-0x%llx, entry 0x%x", d->name, d->id,
            d->cfg->kernel.name, rep.format, rep.compressed ? " in a bzImage" : "",
            (unsigned long long)rep.kernel_start, (unsigned long long)rep.kernel_end, rep.entry);
    if (d->ramdisk)
        kprintf("; initrd %s 0x%llx-0x%llx", d->cfg->ramdisk.name, (unsigned long long)rep.ramdisk_start,
                (unsigned long long)rep.ramdisk_end);
    kprintf("\n");
    return true;
}

_Static_assert(XEN_MAX_VCPUS >= DOMAIN_MAX_VCPUS, "Xen per-vCPU state for every vCPU a domain may have");

/* vCPU 0 enters the kernel; the others wait for INIT/SIPI from its LAPIC. */
static void pvh_start_vcpus(struct domain *d)
{
    struct vcpu *v = d->vcpus[0];
    arch->vcpu_enter_flat32(v, pvh_entry_of(d));
    v->gpr[GPR_RBX] = PVH_START_INFO_ADDR;
}

static void pvh_destroy(struct domain *d) { xen_domain_destroy(d); }

/* Xen's hypervisor leaves (public/arch-x86/cpuid.h; Xen
 * arch/x86/cpuid.c cpuid_hypervisor_leaves). */
#define XEN_CPUID_VCPU_ID_PRESENT BIT(3)
#define XEN_CPUID_DOMID_PRESENT BIT(4)

static bool pvh_cpuid(struct vcpu *v, u32 leaf, u32 subleaf, struct cpuid_regs *r)
{
    (void)subleaf;
    if ((leaf & 0xffff0000) != CPUID_HYPERVISOR_BASE)
        return false;
    *r = (struct cpuid_regs){0};
    switch (leaf) {
    case CPUID_HYPERVISOR_BASE:
        r->eax = CPUID_HYPERVISOR_BASE + 5; /* must reach +4 */
        r->ebx = 0x566e6558;                /* "XenVMMXenVMM" */
        r->ecx = 0x65584d4d;
        r->edx = 0x4d4d566e;
        break;
    case CPUID_HYPERVISOR_BASE + 1:
        r->eax = XEN_VERSION_MAJOR << 16 | XEN_VERSION_MINOR;
        break;
    case CPUID_HYPERVISOR_BASE + 2:
        r->eax = 1; /* hypercall pages */
        r->ebx = XEN_HYPERCALL_MSR;
        break;
    case CPUID_HYPERVISOR_BASE + 4:
        /* No UPCALL_VECTOR bit: Linux then uses the global callback
         * vector, which needs no LAPIC EOI (pvh-abi.md 5.3). */
        r->eax = XEN_CPUID_VCPU_ID_PRESENT | XEN_CPUID_DOMID_PRESENT;
        r->ebx = v->id;
        r->ecx = v->domain->id;
        break;
    default:
        break;
    }
    return true;
}

static bool pvh_msr_write(struct vcpu *v, u32 msr, u64 value, bool *ok)
{
    if (msr != XEN_HYPERCALL_MSR)
        return false;
    *ok = xen_write_hypercall_page(v, value);
    return true;
}

static int pvh_pending_vector(struct vcpu *v)
{
    struct xen_domain *x = v->domain->xen;
    if (!x->callback_vector || !xen_upcall_pending(v))
        return -1;
    return x->callback_vector;
}

static void pvh_console_input(struct domain *d) { xen_console_input(d->xen); }

/* The vCPU moved its TSC (IA32_TSC_ADJUST): its vcpu_info's time follows,
 * as Xen's does after a TSC write (time.c update_vcpu_system_time). */
static void pvh_tsc_moved(struct vcpu *v) { xen_time_publish(v->domain->xen, v->id); }

/* Management's shutdown and reboot reach a Xen guest as the toolstack's
 * do: control/shutdown in its store, which Linux watches
 * (drivers/xen/manage.c) and answers with an orderly poweroff or reboot. */
static void pvh_take_requests(struct domain *d, u32 requests)
{
    char path[64];
    snprintf(path, sizeof(path), "/local/domain/%u/control/shutdown", d->id);
    if (requests & DOMAIN_REQ_POWER_BUTTON)
        xenstore_write(d->xen, path, "poweroff");
    if (requests & DOMAIN_REQ_CTRL_ALT_DEL)
        xenstore_write(d->xen, path, "reboot");
}

const struct domain_type_ops domain_type_pvh = {
    .name = "pvh",
    .ide_disks = false,
    .map_memory = pvh_map_memory,
    .boot = pvh_boot,
    .start_vcpus = pvh_start_vcpus,
    .destroy = pvh_destroy,
    .hypercall = xen_hypercall,
    .cpuid = pvh_cpuid,
    .msr_write = pvh_msr_write,
    .pending_vector = pvh_pending_vector,
    .poll_ended = xen_poll_ended,
    .console_input = pvh_console_input,
    .take_requests = pvh_take_requests,
    .tsc_moved = pvh_tsc_moved,
};

/* ---- the Xen side's life ---- */

bool xen_domain_create(struct domain *d, char *why, size_t why_size)
{
    struct xen_domain *x = page_alloc(sizeof(*x));
    if (!x)
        return fail(why, why_size, "out of memory for the Xen interface");
    d->xen = x;
    x->d = d;
    x->special_gpa = special_base(d);
    x->grant_frames = page_alloc(XEN_GRANT_FRAMES * PAGE_SIZE);
    if (!x->grant_frames)
        return fail(why, why_size, "out of memory for the grant table");
    for (unsigned i = 0; i < XEN_MAX_VCPUS; i++) {
        x->vcpus[i].x = x;
        x->vcpus[i].id = i;
    }
    xen_time_init(x);
    xen_poll_init(x);
    if (!xenstore_create(x, why, why_size) || !blkback_create(x, why, why_size))
        return false;
    xen_domain_reset(x);
    return true;
}

void xen_domain_destroy(struct domain *d)
{
    struct xen_domain *x = d->xen;
    if (!x)
        return;
    blkback_destroy(x);
    xenstore_destroy(x);
    if (x->grant_frames)
        page_free(x->grant_frames, XEN_GRANT_FRAMES * PAGE_SIZE);
    page_free(x, sizeof(*x));
    d->xen = NULL;
}

/* Power-on and every reset: no shared_info, no upcalls, no timers, the
 * grant frames unmapped; the console and store ports exist from the
 * start, as Xen's toolstack creates them before the guest runs. */
void xen_domain_reset(struct xen_domain *x)
{
    struct domain *d = x->d;
    for (unsigned i = 0; i < XEN_MAX_VCPUS; i++) {
        struct xen_vcpu *xv = &x->vcpus[i];
        timer_cancel(&d->pc.clock, &xv->singleshot);
        timer_cancel(&d->pc.clock, &xv->poll_timeout);
        xv->poll_count = 0;
        xv->vcpu_info_gpa = 0;
        xv->runstate_la = 0;
        memset(xv->virq_port, 0, sizeof(xv->virq_port));
    }
    for (unsigned i = 0; i < XEN_GRANT_FRAMES; i++) {
        if (!x->grant_gpa[i])
            continue;
        u8 *host = x->grant_frames + i * PAGE_SIZE;
        for (unsigned r = 0; r < d->mem_count; r++)
            if (d->mem[r].host == host) {
                d->mem[r] = d->mem[--d->mem_count];
                domain_regions_changed(d);
                break;
            }
        if (d->arch)
            arch->remap(d, x->grant_gpa[i], PAGE_SIZE);
        x->grant_gpa[i] = 0;
    }
    memset(x->grant_frames, 0, XEN_GRANT_FRAMES * PAGE_SIZE);
    x->shared_info_gpa = 0;
    x->callback_param = 0;
    x->callback_vector = 0;
    memset(x->ports, 0, sizeof(x->ports));
    x->console_port = xen_evtchn_alloc(x, PORT_BACKEND, 0);
    x->ports[x->console_port].backend = BACKEND_CONSOLE;
    x->store_port = xen_evtchn_alloc(x, PORT_BACKEND, 0);
    x->ports[x->store_port].backend = BACKEND_STORE;
    xenstore_reset(x);
}
