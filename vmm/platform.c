/* See platform.h. */
#include "platform.h"
#include "arch.h"
#include "bootinfo.h"
#include "console.h"
#include "cpuid.h"
#include "domain.h"
#include "emulate.h"
#include "format.h"
#include "hosttime.h"
#include "string.h"
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
 * at each newline, as a piece of the line when the buffer fills, and when
 * the guest goes quiet (platform_update_time) or halts (platform_wait),
 * so a prompt shows while the guest waits for the answer. */
static void com1_piece(struct domain *d, bool complete)
{
    console_line_piece(&d->com1_line, d->console_prefix, d->com1_line, d->com1_len, complete);
    d->com1_len = 0;
}

static void com1_tx(void *ctx, u8 byte)
{
    struct domain *d = ctx;
    d->com1_bytes++;
    if (byte == '\r')
        return;
    if (byte == '\n') {
        com1_piece(d, true);
        return;
    }
    if (d->com1_len == sizeof(d->com1_line))
        com1_piece(d, false);
    d->com1_line[d->com1_len++] = (char)((byte >= 0x20 && byte < 0x7f) || byte == '\t' ? byte : '?');
}

void platform_flush_output(struct domain *d)
{
    if (d->com1_len)
        com1_piece(d, false);
    debugcon_flush(&d->debugcon);
}

static bool output_waits(const struct domain *d) { return d->com1_len || d->debugcon.len; }

/* A guest that has written nothing for OUTPUT_QUIET_NS of its time has
 * stopped writing for now (a prompt, a progress dot): what waits in its
 * line buffers is shown. Guest time, so a slow host or emulator does not
 * split lines that the guest writes in one go. */
#define OUTPUT_QUIET_NS (5ull * 1000 * 1000)

static void flush_quiet_output(struct domain *d)
{
    u64 seen = d->com1_bytes + d->debugcon.bytes;
    u64 now = d->pc.clock.now;
    if (seen != d->output_seen) {
        d->output_seen = seen;
        d->output_at = now;
    } else if (output_waits(d) && now - d->output_at >= OUTPUT_QUIET_NS) {
        platform_flush_output(d);
    }
}

static void guest_reset(void *ctx)
{
    struct domain *d = ctx;
    d->reset_requested = true;
}

static void guest_poweroff(void *ctx) { domain_end(ctx, "powered off"); }

static void guest_post(void *ctx, u8 code)
{
    struct domain *d = ctx;
    d->post_code = code;
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

/* A domain that boots the Zazen BIOS finds its E820 map, ACPI and SMBIOS
 * tables in RAM and ROM, written again at every reset (the OS may have
 * reclaimed them). The processor's SMBIOS identity is what the guest's
 * CPUID says (vmm/cpuid.c). */
static void write_bios_tables(struct domain *d)
{
    if (d->cfg->firmware.name[0])
        return;
    struct bios_platform p = {
        .ram_size = d->ram_size,
        .pci = d->pc.kind == PC_PCI,
        .boot_cd_first = d->cfg->boot_cdrom_first,
        .pm_base = PC_ACPI_PM_BASE,
        .sci_irq = PC_SCI_GSI,
        .ioapic_base = PC_IOAPIC_BASE,
        .lapic_base = 0xfee00000,
        .name = d->name,
        .vcpus = d->cfg->vcpus,
        .cpu_mhz = (u32)(host_tsc_khz() / 1000),
    };
    struct cpuid_view view = {.tsc_khz = host_tsc_khz(), .host = cpuid};
    struct cpuid_regs vendor = cpuid_guest_view(0, 0, &view), id = cpuid_guest_view(1, 0, &view);
    memcpy(p.cpu_vendor, &vendor.ebx, 4);
    memcpy(p.cpu_vendor + 4, &vendor.edx, 4);
    memcpy(p.cpu_vendor + 8, &vendor.ecx, 4);
    p.cpu_signature = id.eax;
    p.cpu_features = id.edx;
    bios_tables_build(&p, write_guest, d);
}

bool platform_create(struct domain *d, const struct bootinfo *bi, char *why, size_t why_size)
{
    (void)bi;
    struct calendar_time now = walltime_now();
    snprintf(d->console_prefix, sizeof(d->console_prefix), "(%s) ", d->name);
    struct pc_config cfg = {
        .kind = d->cfg->platform == PLATFORM_ISA ? PC_ISA : PC_PCI,
        .ram_size = d->ram_size,
        .time = {now.year, now.month, now.day, now.hour, now.minute, now.second},
        .com1_tx = com1_tx,
        .reset = guest_reset,
        .poweroff = guest_poweroff,
        .post = guest_post,
        .ctx = d,
    };
    for (unsigned i = 0; i < 4; i++)
        cfg.disks[i] = d->disks[i].data ? &d->disks[i] : NULL;
    struct dm_memory mem = {dma_read, dma_write, d};
    if (!pc_init(&d->pc, &mem, &cfg, why, why_size))
        return false;
    clock_set_tsc(&d->pc.clock, host_tsc_khz(), rdtsc());
    write_bios_tables(d);
    return true;
}

/* ---- console input ---- */

/* The console is polled (Zazen takes no host UART interrupt), at most
 * every CONSOLE_POLL_NS so the exit path does not pay a port read each
 * time. The domain that runs has the console focus: what is typed goes to
 * the one input it uses as its console (com1_is_console). */
#define CONSOLE_POLL_NS (10ull * 1000 * 1000)

/* Typed bytes wait in a ring with one read position per consumer, so a
 * guest that reads only its keyboard does not stall its COM1 or the
 * reverse; a consumer that falls a whole ring behind loses its oldest. */
static void typed(struct console_input *in, u8 byte)
{
    in->ring[in->head++ % CONSOLE_INPUT_RING] = byte;
    for (unsigned i = 0; i < 2; i++)
        if (in->head - in->tail[i] > CONSOLE_INPUT_RING)
            in->tail[i]++;
}

/* One rule decides where the console is, for input and for the BIOS's
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
static void feed_consumers(struct domain *d)
{
    struct console_input *in = &d->console_input;
    if (com1_is_console(d)) {
        while (in->tail[0] != in->head && uart_can_receive(&d->pc.com1))
            uart_receive(&d->pc.com1, in->ring[in->tail[0]++ % CONSOLE_INPUT_RING]);
        in->tail[1] = in->tail[0];
    } else {
        while (in->tail[1] != in->head && kbc_type(&d->pc.kbc, in->ring[in->tail[1] % CONSOLE_INPUT_RING]))
            in->tail[1]++;
        in->tail[0] = in->tail[1];
    }
}

static void poll_console(struct domain *d)
{
    u64 now = clock_now(&d->pc.clock);
    if (now - d->console_polled >= CONSOLE_POLL_NS) {
        d->console_polled = now;
        for (int c; (c = console_getc()) >= 0;)
            typed(&d->console_input, (u8)c);
    }
    if (d->console_input.head != d->console_input.tail[0] || d->console_input.head != d->console_input.tail[1])
        feed_consumers(d); /* no port access: cheap on every exit while input waits */
}

/* ---- time ---- */

/* Output waiting in the console ring goes to the UART a burst (its FIFO)
 * at a time, one burst's time apart (the line rate): only then is the
 * UART asked whether it has room, so an exit does not pay a port read
 * while the FIFO is still busy. The moment stays put from exit to exit,
 * so the host timer armed for it need not be re-armed. */
static void drain_console(struct domain *d)
{
    if (!console_pending())
        return;
    u64 now = d->pc.clock.now;
    if (now < d->console_burst_at + console_drain_ns())
        return;
    console_drain(); /* busy still: try again a burst's time later */
    d->console_burst_at = now;
}

void platform_update_time(struct domain *d)
{
    struct dm_clock *c = &d->pc.clock;
    clock_advance(c, clock_tsc_to_ns(c, rdtsc()));
    poll_console(d);
    flush_quiet_output(d);
    drain_console(d);
}

/* The next moment the run loop must look: a device deadline, the next
 * console poll, the UART's next free FIFO while output waits, or the
 * moment a guest's unfinished line counts as quiet. */
static u64 next_wakeup(struct domain *d)
{
    u64 deadline = clock_next_deadline(&d->pc.clock);
    u64 poll = d->console_polled + CONSOLE_POLL_NS;
    if (console_pending())
        poll = MIN(poll, d->console_burst_at + console_drain_ns());
    if (output_waits(d))
        poll = MIN(poll, d->output_at + OUTPUT_QUIET_NS);
    return MIN(deadline, poll);
}

void platform_arm_host_timer(struct domain *d)
{
    host_timer_arm_tsc(clock_ns_to_tsc(&d->pc.clock, next_wakeup(d)));
}

bool platform_wait(struct domain *d)
{
    /* A guest that waits on the console alone still wakes: its COM1 or
     * keyboard may get a byte. Without a console nothing could wake it. */
    if (clock_next_deadline(&d->pc.clock) == DM_NEVER && !console_present())
        return false;
    platform_flush_output(d); /* it waits: maybe for an answer to what it just wrote */
    platform_arm_host_timer(d);
    host_wait_for_interrupt();
    return true;
}

/* ---- interrupts ---- */

static void request_interrupt_window(struct vcpu *v, bool on)
{
    v->irq_window_requested = on;
    arch->request_interrupt_window(v, on);
}

void platform_deliver_interrupts(struct vcpu *v)
{
    struct pc *pc = &v->domain->pc;
    /* With RFLAGS.IF clear no external interrupt can be taken (SDM 3A
     * 6.8.1), and the window, once asked for, brings the guest back the
     * moment it sets IF: looking again now would find the same answer. */
    if (v->irq_window_requested && !(v->rflags & RFLAGS_IF))
        return;
    v->no_interrupt_pending = !pc_interrupt_pending(pc);
    if (v->no_interrupt_pending) {
        request_interrupt_window(v, false);
        return;
    }
    if (!arch->interrupt_window_open(v)) {
        request_interrupt_window(v, true);
        return;
    }
    request_interrupt_window(v, false);
    int vector = pc_interrupt_ack(pc);
    if (vector < 0)
        return;
    struct vcpu_event ev = {EVENT_EXTERNAL_INTR, (u8)vector, false, 0, 0};
    arch->inject_event(v, &ev);
}

void platform_handle_reset(struct domain *d)
{
    d->reset_requested = false;
    d->resets++;
    kprintf("zazen: domain %s (id %u) reset by the guest\n", d->name, d->id);
    pc_reset(&d->pc);
    write_bios_tables(d);
    for (unsigned i = 0; i < d->vcpu_count; i++) {
        arch->vcpu_reset(d->vcpus[i]);
        request_interrupt_window(d->vcpus[i], false);
        d->vcpus[i]->state = VCPU_RUNNABLE;
    }
}
