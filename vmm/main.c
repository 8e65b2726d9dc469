/* core_main: where Zazen takes over the machine from a boot entry and
 * runs every configured domain. */
#include "acpi.h"
#include "arch.h"
#include "bootinfo.h"
#include "config.h"
#include "console.h"
#include "cpu.h"
#include "domain.h"
#include "guest_state.h"
#include "hostapic.h"
#include "hosttime.h"
#include "mgmt.h"
#include "mgmtproto.h"
#include "shell.h"
#include "mm.h"
#include "percpu.h"
#include "sched.h"
#include "smp.h"
#include "storage/storage.h"
#include "string.h"
#include "virt_detect.h"
#include "walltime.h"
#include "x86.h"

#define ZAZEN_VERSION "0.1"
const char zazen_version[] = ZAZEN_VERSION;

const struct arch_ops *arch;
static struct config config;

/* Firmware may leave the 8259s unmasked; Zazen takes no host interrupts
 * from them (8259A datasheet, OCW1 = interrupt mask register). */
static void mask_legacy_pics(void)
{
    outb(0x21, 0xff);
    outb(0xa1, 0xff);
}

NORETURN void zazen_power_off(void)
{
    console_flush();
    acpi_poweroff();
    kprintf("zazen: could not power off; halted\n");
    console_flush();
    halt_forever();
}

static const struct arch_ops *choose_backend(void)
{
    char why[160];
    enum virt_kind kind = virt_detect(why, sizeof(why), rdmsr_safe);
    if (kind == VIRT_NONE) {
        kprintf("zazen: %s\n", why);
        return NULL;
    }
    const struct arch_ops *ops = kind == VIRT_SVM ? &svm_ops : &vmx_ops;
    if (!ops->cpu_enable(why, sizeof(why))) {
        kprintf("zazen: cannot use %s: %s\n", ops->name, why);
        return NULL;
    }
    return ops;
}

struct file_check {
    const struct bootinfo *bi;
    bool ok;
};

/* Every file the config names must have been loaded (the multiboot2 path
 * loads what grub.cfg says, which may not match) and fit its key. Like a
 * config error, a missing file stops Zazen before any domain runs. */
static bool check_file(void *ctx, const struct domain_config *d, const struct config_file *f)
{
    struct file_check *c = ctx;
    (void)d;
    for (u32 i = 0; i < c->bi->file_count; i++) {
        if (strcmp(c->bi->files[i].name, f->name) != 0)
            continue;
        struct config_error err;
        if (config_check_file_size(f, c->bi->files[i].size, &err))
            return true;
        kprintf("zazen: %s:%u: %s\n", c->bi->config_name, err.line, err.msg);
        c->ok = false;
        return false;
    }
    kprintf("zazen: %s:%u: %s '%s' was not loaded by the boot loader\n", c->bi->config_name, f->line, f->key,
            f->name);
    c->ok = false;
    return false;
}

/* Zazen's own footprint once it owns the machine and its backend is up:
 * the image, stack and boot information, plus what it has allocated (its
 * page tables, the backend's per-CPU areas). Loaded files are the
 * domains' and are not counted. */
static void print_memory_in_use(const struct bootinfo *bi)
{
    u64 allocated = mm_allocated_bytes();
    kprintf("zazen: hypervisor memory in use: %llu KiB (image, stack and boot info %llu KiB, allocated %llu KiB)\n",
            (unsigned long long)((bi->core_bytes + allocated) >> 10), (unsigned long long)(bi->core_bytes >> 10),
            (unsigned long long)(allocated >> 10));
}

/* The CPUs this config may use: at most [host] cpus of those the firmware
 * lists; every cpus = must name CPUs among them. */
static void start_cpus(const struct bootinfo *bi)
{
    smp_cpu_setup = arch->cpu_enable;
    smp_init(bi, config.host.cpus ? config.host.cpus : MAX_CPUS, sched_cpu_loop);
    for (unsigned i = 0; i < cpu_count; i++)
        sched_init_cpu(cpus[i]);
    struct config_error err;
    u64 online = cpu_count >= 64 ? ~0ull : BIT(cpu_count) - 1;
    if (!config_check_cpus(&config, online, cpu_count, &err)) {
        kprintf("zazen: %s:%u: %s\n", bi->config_name, err.line, err.msg);
        zazen_power_off();
    }
}

NORETURN void core_main(struct bootinfo *bi)
{
    zazen_start_tsc = rdtsc();
    console_init();
    percpu_init_this_cpu(percpu_create(0, 0));
    kprintf("\nzazen: Zazen %s hypervisor, started from %s\n", ZAZEN_VERSION, bi->entry);
    if (bi->magic != BOOTINFO_MAGIC)
        panic("boot info has a bad magic number");
    mask_legacy_pics();
    mm_init(bi);
    storage_map_registers(bi);
    paging_init(bi);
    kprintf("zazen: memory: %llu MiB free of %llu MiB managed\n", (unsigned long long)(mm_free_bytes() >> 20),
            (unsigned long long)(mm_managed_bytes() >> 20));
    hosttime_init();
    cpus[0]->apic_id = hostapic_id();
    walltime_init();
    if (!acpi_init(bi->acpi_rsdp))
        kprintf("zazen: no usable ACPI FADT/\\_S5: cannot power off through ACPI\n");

    arch = choose_backend();
    if (!arch)
        zazen_power_off();
    guest_state_init(); /* after VMX fixed its CR4 bits; before any VMCS takes the host's CR4 */
    print_memory_in_use(bi);

    if (!bi->config_text) {
        kprintf("zazen: no %s was given to Zazen: nothing to run\n", bi->config_name);
        zazen_power_off();
    }
    struct config_error err;
    if (!config_parse(bi->config_text, bi->config_size, &config, &err)) {
        kprintf("zazen: %s:%u: %s\n", bi->config_name, err.line, err.msg);
        zazen_power_off();
    }
    struct file_check files = {bi, true};
    if (!config_for_each_file(&config, check_file, &files))
        zazen_power_off();
    if (!storage_init(&config, bi))
        zazen_power_off();
    start_cpus(bi);
    sched_init(config.host.timeslice_ns);
    mgmtproto_init();
    if (!domains_start(&config, bi)) {
        kprintf("zazen: all domains ended\n");
        zazen_power_off();
    }
    shell_start();
    sched_start();
}
