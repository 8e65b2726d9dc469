/* See platform.h. */
#include "platform.h"
#include "platform_time.h"
#include "arch.h"
#include "bootinfo.h"
#include "console.h"
#include "cpuid.h"
#include "domain.h"
#include "domain_type.h"
#include "emulate.h"
#include "format.h"
#include "hosttime.h"
#include "lock.h"
#include "kernel_boot.h"
#include "mm.h"
#include "percpu.h"
#include "sched.h"
#include "string.h"
#include "tpr.h"
#include "walltime.h"
#include "../guest-bios/tables.h"
#include "x86.h"

/* ---- guest RAM for DMA: RAM regions only, never ROM or MMIO ---- */

static bool dma_range(struct domain *d, u64 gpa, size_t len, bool write, u8 **host)
{
    struct guest_mem_region *r = domain_find_region(d, gpa, len ? len : 1);
    if (!r || r->read_only || gpa + len < gpa)
        return false;
    (void)write;
    *host = r->host + (gpa - r->gpa);
    return true;
}

static bool dma_read(void *ctx, u64 gpa, void *buf, size_t len)
{
    u8 *src;
    if (!dma_range(ctx, gpa, len, false, &src))
        return false;
    memcpy(buf, src, len);
    return true;
}

static bool dma_write(void *ctx, u64 gpa, const void *buf, size_t len)
{
    u8 *dst;
    if (!dma_range(ctx, gpa, len, true, &dst))
        return false;
    memcpy(dst, buf, len);
    return true;
}

/* ---- callbacks from the devices ---- */

/* COM1 output becomes "(NAME) text" lines on Zazen's console, printed
 * at each newline (or when 200 characters fill the buffer), and shown
 * unfinished when the guest goes quiet (platform_update_time) or halts,
 * so a prompt shows while the guest waits for the answer. */
static void com1_show(struct domain *d, bool complete)
{
    console_line_piece(&d->com1_line, d->console_prefix, d->com1_line, d->com1_len, complete);
    d->com1_shown = complete ? 0 : d->com1_len;
    if (complete)
        d->com1_len = 0;
}

static void com1_tx(void *ctx, u8 byte)
{
    struct domain *d = ctx;
    d->com1_bytes++;
    if (byte == '\r')
        return;
    if (byte == '\n') {
        com1_show(d, true);
        return;
    }
    if (byte == '\b') { /* as the debug console does (debugcon.c rub_out) */
        if (d->com1_len && --d->com1_len < d->com1_shown)
            d->com1_shown = ~0u; /* shown longer: drawn again at the next flush */
        return;
    }
    d->com1_line[d->com1_len++] = (char)((byte >= 0x20 && byte < 0x7f) || byte == '\t' ? byte : '?');
    if (d->com1_len == sizeof(d->com1_line))
        com1_show(d, true);
}

void platform_console_byte(struct domain *d, u8 byte) { com1_tx(d, byte); }

void platform_flush_output(struct domain *d)
{
    if (d->com1_len != d->com1_shown)
        com1_show(d, false);
    debugcon_flush(&d->debugcon);
}

void platform_finish_output(struct domain *d)
{
    if (d->com1_len)
        com1_show(d, true);
    debugcon_finish(&d->debugcon);
}


static void flush_quiet_output(struct domain *d)
{
    u64 seen = d->com1_bytes + d->debugcon.bytes;
    u64 now = d->pc.clock.now;
    if (seen != d->output_seen) {
        d->output_seen = seen;
        d->output_at = now;
    } else if (platform_output_waits(d) && now - d->output_at >= OUTPUT_QUIET_NS) {
        platform_flush_output(d);
    }
}

static void guest_reset(void *ctx)
{
    struct domain *d = ctx;
    d->reset_requested = true;
    domain_stop_fast(d);
}

static void guest_poweroff(void *ctx) { domain_end_kind(ctx, END_POWEROFF, "powered off"); }

static void guest_post(void *ctx, u8 code)
{
    struct domain *d = ctx;
    d->post_code = code;
}

static void guest_pam_changed(void *ctx, unsigned segment, enum pam_access access)
{
    domain_set_pam(ctx, segment, access);
}

/* The vCPU on this CPU makes the access now (the device model runs on
 * the CPU of the vCPU whose exit reached it). */
static unsigned current_vcpu_id(void *ctx)
{
    struct vcpu *v = atomic_load(&this_cpu()->rq->curr);
    return v && v->domain == ctx ? v->id : 0;
}

static void vcpu_signal(void *ctx, unsigned cpu)
{
    struct domain *d = ctx;
    if (cpu < d->vcpu_count)
        sched_notify(d->vcpus[cpu]);
}

/* ---- the built-in BIOS's tables ---- */

/* The table builder writes RAM, and the slot its ROM keeps free in the F
 * segment (BIOS_FSEG_TABLES): the domain's own copy of the ROM is where
 * the board's maker puts them, read-only to the guest. */
static void write_guest(void *ctx, u64 gpa, const void *data, size_t len)
{
    struct domain *d = ctx;
    if (gpa >= BIOS_FSEG_TABLES && gpa + len <= BIOS_FSEG_TABLES + BIOS_FSEG_TABLES_SIZE) {
        struct guest_mem_region *r = domain_find_region(d, gpa, len);
        if (r)
            memcpy(r->host + (gpa - r->gpa), data, len);
        return;
    }
    guest_phys_access(d, gpa, (void *)(uintptr_t)data, (unsigned)len, true);
}

static struct bios_platform bios_platform_of(const struct domain *d)
{
    return (struct bios_platform){
        .ram_size = d->ram_size,
        .pci = d->pc.kind == PC_PCI,
        .boot_cd_first = d->cfg->boot_cdrom_first,
        .kernel_boot = d->cfg->kernel.name[0] != 0,
        .pvh = d->cfg->type == DOMAIN_PVH,
        .pm_base = PC_ACPI_PM_BASE,
        .sci_irq = PC_SCI_GSI,
        .ioapic_base = PC_IOAPIC_BASE,
        .lapic_base = 0xfee00000,
        .name = d->name,
        .vcpus = d->cfg->vcpus,
        .cpu_mhz = (u32)(host_tsc_khz() / 1000),
    };
}

/* A domain that boots the Zazen BIOS finds its E820 map, ACPI and SMBIOS
 * tables in RAM and ROM, written again at every reset (the OS may have
 * reclaimed them). The processor's SMBIOS identity is what the guest's
 * CPUID says (vmm/cpuid.c). */
void platform_write_bios_tables(struct domain *d)
{
    if (d->cfg->firmware.name[0])
        return;
    struct bios_platform p = bios_platform_of(d);
    struct cpuid_view view = {.tsc_khz = host_tsc_khz(), .host = cpuid};
    struct cpuid_regs vendor = cpuid_guest_view(0, 0, &view), id = cpuid_guest_view(1, 0, &view);
    memcpy(p.cpu_vendor, &vendor.ebx, 4);
    memcpy(p.cpu_vendor + 4, &vendor.edx, 4);
    memcpy(p.cpu_vendor + 8, &vendor.ecx, 4);
    p.cpu_signature = id.eax;
    p.cpu_features = id.edx;
    bios_tables_build(&p, write_guest, d);
}

/* ---- direct kernel boot (kernel =) ---- */

/* The loader writes only to RAM; the boot area and the kernel never
 * straddle two regions (the low RAM ends below the ROM, the rest starts
 * at 1 MiB). */
static bool write_ram(void *ctx, u64 gpa, const void *data, u64 len)
{
    struct guest_mem_region *r = domain_find_region(ctx, gpa, len);
    if (!r || r->read_only)
        return false;
    if (data)
        memcpy(r->host + (gpa - r->gpa), data, len);
    else
        memset(r->host + (gpa - r->gpa), 0, len);
    return true;
}

static void kboot_file_of(struct kboot_file *f, const struct bootinfo_file *file, const struct config_file *cf,
                          const char *config_name, char *what, size_t what_size)
{
    snprintf(what, what_size, "%s '%s' (%s:%u)", cf->key, cf->name, config_name, cf->line);
    *f = (struct kboot_file){file ? file->data : NULL, file ? file->size : 0, cf->name, what};
}

/* Places the kernel, ramdisk and command line in RAM and the hand-off
 * block the BIOS reads at INT 19h; says what went where the first time. */
static bool load_kernel(struct domain *d, bool first, char *why, size_t why_size)
{
    if (!d->kernel)
        return true;
    char kernel_what[CONFIG_FILE_MAX + BOOTINFO_NAME_MAX + 32], ramdisk_what[sizeof(kernel_what)];
    struct bios_platform p = bios_platform_of(d);
    struct e820_entry e820[BIOS_E820_MAX];
    struct kboot_config c = {.cmdline = d->cfg->cmdline.text, .e820 = e820, .e820_count = bios_e820_build(&p, e820)};
    kboot_file_of(&c.kernel, d->kernel, &d->cfg->kernel, d->config_name, kernel_what, sizeof(kernel_what));
    kboot_file_of(&c.ramdisk, d->ramdisk, &d->cfg->ramdisk, d->config_name, ramdisk_what, sizeof(ramdisk_what));
    struct kboot_report rep;
    if (!kboot_load(&c, write_ram, d, &rep, why, why_size))
        return false;
    if (!first)
        return true;
    if (rep.kind == KBOOT_LINUX)
        kprintf("zazen: domain %s (id %u): kernel %s: Linux boot protocol %u.%02u, 0x%llx-0x%llx", d->name, d->id,
                d->cfg->kernel.name, rep.protocol >> 8, rep.protocol & 0xff, (unsigned long long)rep.kernel_start,
                (unsigned long long)rep.kernel_end);
    else
        kprintf("zazen: domain %s (id %u): kernel %s: Multiboot (%s), 0x%llx-0x%llx, entry 0x%x", d->name, d->id,
                d->cfg->kernel.name, rep.elf ? "ELF" : "a.out kludge", (unsigned long long)rep.kernel_start,
                (unsigned long long)rep.kernel_end, rep.entry);
    if (d->ramdisk)
        kprintf("; %s %s 0x%llx-0x%llx", rep.kind == KBOOT_LINUX ? "initrd" : "module", d->cfg->ramdisk.name,
                (unsigned long long)rep.ramdisk_start, (unsigned long long)rep.ramdisk_end);
    kprintf("\n");
    return true;
}

/* The files `kernel =` and `ramdisk =` name, as the boot entry loaded them. */
static bool find_kernel_files(struct domain *d, const struct bootinfo *bi, char *why, size_t why_size)
{
    const struct config_file *want[] = {&d->cfg->kernel, &d->cfg->ramdisk};
    const struct bootinfo_file **found[] = {&d->kernel, &d->ramdisk};
    d->config_name = bi->config_name;
    for (unsigned i = 0; i < ARRAY_SIZE(want); i++) {
        if (!want[i]->name[0])
            continue;
        for (u32 f = 0; f < bi->file_count && !*found[i]; f++)
            if (strcmp(bi->files[f].name, want[i]->name) == 0)
                *found[i] = &bi->files[f];
        if (!*found[i]) {
            snprintf(why, why_size, "%s '%s' (%s:%u) was not loaded", want[i]->key, want[i]->name, bi->config_name,
                     want[i]->line);
            return false;
        }
    }
    return true;
}

/* The drives firmware should boot from, in the config's order: hard disks
 * then the CD-ROM, or the CD-ROM first with boot = cdrom. */
static unsigned boot_disks(const struct domain *d, struct fw_cfg_boot_disk *out)
{
    unsigned n = 0;
    for (unsigned pass = 0; pass < 2; pass++) {
        bool want_cd = (pass == 0) == d->cfg->boot_cdrom_first;
        for (unsigned i = 0; i < 4; i++)
            if ((d->disks[i].data || d->disks[i].backend) && d->disks[i].cdrom == want_cd)
                out[n++] = (struct fw_cfg_boot_disk){i / 2, i % 2};
    }
    return n;
}

/* What firmware written for QEMU reads through fw_cfg (every domain has
 * the device: SeaBIOS and qboot need it, the Zazen BIOS ignores it). */
static bool setup_fw_cfg(struct domain *d, char *why, size_t why_size)
{
    d->fw_cfg = page_alloc(sizeof(*d->fw_cfg));
    if (!d->fw_cfg) {
        snprintf(why, why_size, "out of memory for the fw_cfg items");
        return false;
    }
    struct bios_platform p = bios_platform_of(d);
    struct fw_cfg_boot_disk boot[4];
    unsigned n = boot_disks(d, boot);
    if (!fw_cfg_content_build(d->fw_cfg, &p, d->cfg->vcpus, boot, n) ||
        !fw_cfg_content_install(d->fw_cfg, &d->pc.fw_cfg)) {
        snprintf(why, why_size, "cannot build the fw_cfg items");
        return false;
    }
    return true;
}

bool platform_create(struct domain *d, const struct bootinfo *bi, char *why, size_t why_size)
{
    struct calendar_time now = walltime_now();
    snprintf(d->console_prefix, sizeof(d->console_prefix), "(%s) ", d->name);
    struct pc_config cfg = {
        .kind = d->cfg->type == DOMAIN_PVH ? PC_PVH : d->cfg->platform == PLATFORM_ISA ? PC_ISA : PC_PCI,
        .ram_size = d->ram_size,
        .time = {now.year, now.month, now.day, now.hour, now.minute, now.second},
        .com1_tx = com1_tx,
        .reset = guest_reset,
        .poweroff = guest_poweroff,
        .post = guest_post,
        .pam_changed = guest_pam_changed,
        .ctx = d,
        .cpus = d->cfg->vcpus,
        .x2apic = d->cfg->x2apic,
        .maxphyaddr = cpuid_guest_maxphyaddr(),
        .current_cpu = current_vcpu_id,
        .cpu_signal = vcpu_signal,
    };
    for (unsigned i = 0; i < 4 && d->type->ide_disks; i++)
        cfg.disks[i] = d->disks[i].data || d->disks[i].backend ? &d->disks[i] : NULL;
    struct dm_memory mem = {dma_read, dma_write, d};
    if (!pc_init(&d->pc, &mem, &cfg, why, why_size))
        return false;
    clock_set_tsc(&d->pc.clock, host_tsc_khz(), rdtsc());
    if (d->type->boot)
        return find_kernel_files(d, bi, why, why_size) && d->type->boot(d, true, why, why_size);
    platform_write_bios_tables(d);
    return find_kernel_files(d, bi, why, why_size) && load_kernel(d, true, why, why_size) &&
           setup_fw_cfg(d, why, why_size);
}

/* ---- console input ---- */

/* What is typed on the host console reaches the domain with the console
 * focus (domain_console_input) as a ring with one read position per
 * consumer, COM1 and the keyboard. Called on every exit's time update:
 * without input waiting it costs two loads.
 *
 * One rule decides where the console is, for input and for the BIOS's
 * screen mirror alike (docs/devices.md, "The console"): once the guest
 * has programmed COM1's baud rate (a non-zero divisor latch) COM1 is its
 * console, and typed keys go there alone; before that (the BIOS, a boot
 * loader on the screen) they go to the keyboard. A guest reading both, as
 * SYSLINUX with SERIAL and GRUB with a serial terminal do, would
 * otherwise see every key twice. The Zazen BIOS stops mirroring INT 10h
 * to the debug console by the same rule. */
static bool com1_is_console(const struct domain *d) { return uart_programmed(&d->pc.com1); }

/* The consumer takes bytes only when it has room, as a serial line or a
 * keyboard hands over characters one at a time; the other one's read
 * position follows along, so a later switch does not replay old keys. */
void platform_take_console_input(struct domain *d)
{
    struct console_input *in = &d->console_input;
    if (atomic_load(&in->head) == in->tail[0] && atomic_load(&in->head) == in->tail[1])
        return;
    if (d->type->console_input) {
        d->type->console_input(d);
        return;
    }
    spin_lock(&in->lock);
    if (com1_is_console(d)) {
        while (in->tail[0] != in->head && uart_can_receive(&d->pc.com1))
            uart_receive(&d->pc.com1, in->ring[in->tail[0]++ % CONSOLE_INPUT_RING]);
        in->tail[1] = in->tail[0];
    } else {
        while (in->tail[1] != in->head && kbc_type(&d->pc.kbc, in->ring[in->tail[1] % CONSOLE_INPUT_RING]))
            in->tail[1]++;
        in->tail[0] = in->tail[1];
    }
    spin_unlock(&in->lock);
}

/* ---- time ---- */


void platform_update_time(struct vcpu *v)
{
    struct domain *d = v->domain;
    struct dm_clock *c = &d->pc.clock;
    clock_advance(c, clock_tsc_to_ns(c, platform_guest_tsc(v)));
    platform_take_console_input(d);
    flush_quiet_output(d);
}

void platform_time_due(struct domain *d, u64 now)
{
    clock_advance(&d->pc.clock, now);
    platform_take_console_input(d);
    flush_quiet_output(d);
}

/* The next moment the run loop must look: a device deadline, or the
 * moment a guest's unfinished line counts as quiet. */
u64 platform_next_device_tsc(const struct vcpu *v)
{
    const struct domain *d = v->domain;
    const struct dm_clock *c = &d->pc.clock;
    u64 deadline = clock_next_deadline(c);
    if (platform_output_waits(d))
        deadline = MIN(deadline, d->output_at + OUTPUT_QUIET_NS);
    if (deadline == DM_NEVER)
        return ~0ull;
    return clock_ns_to_tsc(c, deadline) - (u64)v->tsc_offset;
}

/* ---- interrupts ---- */

/* v->irq_window_requested is what the backend was last told (only this
 * and take_startup_messages tell it, both setting the flag), so a request
 * that changes nothing costs no call: most deliveries find no interrupt
 * and ask for no window, as the last did. */
static void request_interrupt_window(struct vcpu *v, bool on)
{
    if (v->irq_window_requested == on)
        return;
    v->irq_window_requested = on;
    arch->request_interrupt_window(v, on);
}

/* An event the domain type delivers outside the device model (Xen's
 * callback vector: no IRR, ISR or EOI, Xen hvm/irq.c), ahead of the
 * PC's interrupts as Xen ranks it. True if it took the entry. */
static bool deliver_type_vector(struct vcpu *v)
{
    int vector = v->domain->type->pending_vector(v);
    if (vector < 0)
        return false;
    vcpu_interrupt_may_be_pending(v);
    if (!arch->interrupt_window_open(v)) {
        request_interrupt_window(v, true);
        return true;
    }
    request_interrupt_window(v, false);
    struct vcpu_event ev = {EVENT_EXTERNAL_INTR, (u8)vector, false, 0, 0};
    arch->inject_event(v, &ev);
    return true;
}

/* An NMI goes before any maskable interrupt (SDM 3A 6.9) and ignores
 * RFLAGS.IF; it waits while an NMI handler runs (until its IRET, 6.7.1)
 * or a shadow or another event is in the way, and the backend brings the
 * guest back when that is over. True: one is pending (nothing else is
 * delivered at this entry). */
static __attribute__((noinline)) bool deliver_nmi_slow(struct vcpu *v)
{
    struct pc *pc = &v->domain->pc;
    if (!pc_nmi_pending(pc, v->id)) {
        v->nmi_window_requested = false;
        arch->request_nmi_window(v, false);
        return false;
    }
    vcpu_interrupt_may_be_pending(v);
    bool open = arch->nmi_window_open(v);
    if (!open && arch->nmi_blocked(v))
        pc_nmi_blocked(pc, v->id); /* the CPU holds one NMI while its handler runs */
    if (open && pc_nmi_ack(pc, v->id)) {
        struct vcpu_event ev = {EVENT_NMI, 2, false, 0, 0};
        arch->inject_event(v, &ev);
    }
    /* Asked again at every look: what the backend must watch for
     * changes while the request stands (AMD-V: the IRET, then a step). */
    bool want = !open || pc_nmi_pending(pc, v->id);
    if (want || v->nmi_window_requested)
        arch->request_nmi_window(v, want);
    v->nmi_window_requested = want;
    return true;
}

/* Cheap when no NMI is about, as nearly always. */
static inline bool deliver_nmi(struct vcpu *v)
{
    if (__builtin_expect(!pc_nmi_pending(&v->domain->pc, v->id) && !v->nmi_window_requested, 1))
        return false;
    return deliver_nmi_slow(v);
}

static void deliver_pending_interrupt(struct vcpu *v)
{
    struct pc *pc = &v->domain->pc;
    if (deliver_nmi(v))
        return;
    /* With RFLAGS.IF clear no external interrupt can be taken (SDM 3A
     * 6.8.1), and the window, once asked for, brings the guest back the
     * moment it sets IF: looking again now would find the same answer. */
    if (v->irq_window_requested && !(v->rflags & RFLAGS_IF))
        return;
    if (v->domain->type->pending_vector && deliver_type_vector(v))
        return;
    /* Found pending: quick exits must not skip the next look until it is
     * taken. Only the flag: the loop's top, which alone calls this, sends
     * the guest back through itself while the flag is down
     * (vcpu_stop_fast after delivery), and an interrupt injected now
     * needs no second look (below). */
    int source = pc_interrupt_source(pc, v->id);
    if (source != PC_INTERRUPT_NONE) {
        v->no_interrupt_pending = false;
    } else {
        v->no_interrupt_pending = true;
        request_interrupt_window(v, false);
        return;
    }
    if (!arch->interrupt_window_open(v)) {
        request_interrupt_window(v, true);
        return;
    }
    request_interrupt_window(v, false);
    int vector = pc_interrupt_take(pc, v->id, source); /* what the look found: nothing moved since */
    if (vector < 0)
        return;
    struct vcpu_event ev = {EVENT_EXTERNAL_INTR, (u8)vector, false, 0, 0};
    arch->inject_event(v, &ev);
    /* The one taken was the only one waiting (the others, if any, wait
     * behind it: its ISR bit raised the processor priority, SDM 3A
     * 11.8.3.1): this look found nothing more, as one that finds nothing
     * at all, so the exits that follow (its EOI first) may take the fast
     * way back in. What raises another, or lets one through (an EOI with
     * the IRR not empty, a lower TPR), marks it (vcpu_interrupt_may_be_pending). */
    if (!pc_interrupt_pending(pc, v->id))
        v->no_interrupt_pending = true;
}

void platform_deliver_interrupts(struct vcpu *v)
{
    deliver_pending_interrupt(v);
    tpr_load_before_entry(v); /* after the delivery: the TPR threshold follows the IRR */
}

void platform_handle_reset(struct domain *d)
{
    d->resets++;
    kprintf("zazen: domain %s (id %u) reset by the guest\n", d->name, d->id);
    platform_reset(d);
}

void platform_reset(struct domain *d)
{
    d->reset_requested = false;
    d->kvm_wall_clock = 0; /* the KVM wall clock MSR is the domain's (vmm/kvm.c) */
    pc_reset(&d->pc);
    char why[256];
    if (d->type->boot) {
        if (!d->type->boot(d, false, why, sizeof(why)))
            domain_end(d, "cannot place the kernel again after a reset: %s", why);
    } else {
        platform_write_bios_tables(d);
        if (!load_kernel(d, false, why, sizeof(why)))
            domain_end(d, "cannot place the kernel again after a reset: %s", why);
    }
    for (unsigned i = 0; i < d->vcpu_count; i++) {
        vcpu_reset(d->vcpus[i]);
        /* IA32_TSC_ADJUST starts at 0 (SDM 3B 17.17.3), as after power-on;
         * INIT (vcpu_reset alone) leaves the TSC and it alone. The
         * backend's offset follows at the vCPU's next load, or at once
         * for the one running (vcpu_run_slice). */
        d->vcpus[i]->tsc_adjust = 0;
        lapic_set_tsc_adjust(d->vcpus[i]->lapic, 0);
        request_interrupt_window(d->vcpus[i], false);
        d->vcpus[i]->nmi_window_requested = false;
        arch->request_nmi_window(d->vcpus[i], false);
        d->vcpus[i]->halted = d->vcpus[i]->halted_masked = false;
        d->vcpus[i]->wait_for_sipi = i > 0;
    }
    if (d->type->start_vcpus)
        d->type->start_vcpus(d);
}

bool platform_note_output_waiting(struct domain *d, const struct vcpu *v)
{
    u64 seen = d->com1_bytes + d->debugcon.bytes;
    if (seen != d->output_seen) {
        d->output_seen = seen;
        d->output_at = MAX(d->pc.clock.now, clock_tsc_to_ns(&d->pc.clock, platform_guest_tsc(v)));
    }
    return false;
}
