/*
 * kvm-bench: runs the `make bench` guest (tests/bench/bench-guest.asm)
 * under Linux KVM, as a KVM user would: one VM, one vCPU, the in-kernel
 * irqchip (PIC, I/O APIC, LAPIC) and PIT, and the other devices the guest
 * touches emulated here in userspace, the way QEMU does (COM1, the ACPI
 * PM timer, port 92h, the E9h debug console).
 *
 * Usage: kvm-bench BENCH.IMG
 *
 * The guest is a boot sector that expects a PC BIOS: it reads the rest of
 * itself with INT 13h AH=42h to 7E00h, finds the ACPI PM timer through the
 * RSDP, RSDT and FADT, and prints on COM1. So the whole image is loaded at
 * 7C00h at once, INT 13h is a stub that reports success (CF clear), and a
 * minimal RSDP/RSDT/FADT at E0000h names PM_TMR_BLK (ACPI 2.0 5.2.9:
 * offset 76 of the FADT). The vCPU starts in real mode at 0000:7C00.
 *
 * Output (stdout): the guest's COM1 bytes as they come, then
 *   kvm-bench: ROW userspace-exits N kernel-exits M
 * after each guest line "bench: ROW min ..." (the exits since the
 * previous line: the row's loop plus the settle and print around it;
 * kernel-exits from /sys/kernel/debug/kvm/exits less the userspace ones,
 * when debugfs is mounted, else "n/a"), then
 *   kvm-bench: ROW kvm-stats NAME DELTA ...
 * for some of kvm's other debugfs counters, and a summary of userspace
 * exits by port when the guest prints "bench: done" (its last line: it
 * then halts with interrupts off, which the in-kernel LAPIC never ends).
 *
 * The KVM API: Documentation/virt/kvm/api.rst (KVM_CREATE_VM,
 * KVM_CREATE_IRQCHIP, KVM_CREATE_PIT2, KVM_SET_USER_MEMORY_REGION,
 * KVM_RUN and struct kvm_run).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define GUEST_RAM (16u << 20)
#define LOAD_ADDRESS 0x7c00u
#define MAX_IMAGE (0x78000u - LOAD_ADDRESS)
#define STUB_SEGMENT 0xf000u     /* the INT 13h / INT 10h stubs: F000:0000 */
#define ACPI_RSDP 0xe0000u
#define ACPI_RSDT 0xe0100u
#define ACPI_FADT 0xe0200u
#define EBDA_SEGMENT 0x9fc0u
#define PM_TIMER_PORT 0x608u     /* where QEMU's PIIX4 puts it */
#define PM_TIMER_HZ 3579545u     /* ACPI 4.7.3.3 */
#define COM1 0x3f8u
#define DEBUGCON 0xe9u

static void die(const char *what)
{
    fprintf(stderr, "kvm-bench: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void fail(const char *what)
{
    fprintf(stderr, "kvm-bench: %s\n", what);
    exit(1);
}

/* ---- guest memory: the image and the bits of a BIOS it uses ---- */

static void put32(uint8_t *ram, uint32_t at, uint32_t v)
{
    memcpy(ram + at, &v, 4);
}

static void put16(uint8_t *ram, uint32_t at, uint16_t v)
{
    memcpy(ram + at, &v, 2);
}

static void load_image(uint8_t *ram, const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        die(path);
    struct stat st;
    if (fstat(fd, &st) < 0)
        die(path);
    if (st.st_size < 512)
        fail("the image is shorter than a boot sector");
    /* What fits below the EBDA; the disk image is padded to whole
     * cylinders for Bochs, and the guest's payload is far shorter. */
    size_t size = (size_t)st.st_size < MAX_IMAGE ? (size_t)st.st_size : MAX_IMAGE;
    if (read(fd, ram + LOAD_ADDRESS, size) != (ssize_t)size)
        die(path);
    close(fd);
    if (ram[LOAD_ADDRESS + 510] != 0x55 || ram[LOAD_ADDRESS + 511] != 0xaa)
        fail("no boot signature (55h AAh) at the end of the first sector");
}

/* The real-mode interrupt vectors the guest calls: INT 13h (the disk
 * read: the payload is loaded already, so success) is `clc; retf 2`,
 * which returns with CF clear and the caller's other flags; INT 10h
 * (teletype, only on failure) is `iret`. */
static void bios_stubs(uint8_t *ram)
{
    uint32_t base = STUB_SEGMENT << 4;
    static const uint8_t int13[] = { 0xf8, 0xca, 0x02, 0x00 }; /* clc; retf 2 */
    static const uint8_t iret[] = { 0xcf };
    memcpy(ram + base, int13, sizeof int13);
    memcpy(ram + base + 0x10, iret, sizeof iret);
    for (int v = 0; v < 256; v++) { /* every vector: iret */
        put16(ram, v * 4, 0x10);
        put16(ram, v * 4 + 2, STUB_SEGMENT);
    }
    put16(ram, 0x13 * 4, 0);
    put16(ram, 0x40e, EBDA_SEGMENT); /* BDA: the EBDA's segment (empty) */
}

static uint8_t checksum(const uint8_t *p, size_t n)
{
    uint8_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += p[i];
    return (uint8_t)-sum;
}

/* ACPI 2.0 5.2.4 (RSDP), 5.2.7 (RSDT), 5.2.9 (FADT): only what the guest
 * reads, with valid checksums so that stricter readers agree. */
static void acpi_tables(uint8_t *ram)
{
    uint8_t *rsdp = ram + ACPI_RSDP;
    memcpy(rsdp, "RSD PTR ", 8);
    memcpy(rsdp + 9, "ZAZEN ", 6);
    rsdp[15] = 0; /* revision 0: ACPI 1.0, 20 bytes */
    put32(ram, ACPI_RSDP + 16, ACPI_RSDT);
    rsdp[8] = checksum(rsdp, 20);

    uint8_t *rsdt = ram + ACPI_RSDT;
    memcpy(rsdt, "RSDT", 4);
    put32(ram, ACPI_RSDT + 4, 36 + 4);
    rsdt[8] = 1;
    memcpy(rsdt + 10, "ZAZEN ", 6);
    put32(ram, ACPI_RSDT + 36, ACPI_FADT);
    rsdt[9] = checksum(rsdt, 40);

    uint8_t *fadt = ram + ACPI_FADT;
    memcpy(fadt, "FACP", 4);
    put32(ram, ACPI_FADT + 4, 116);
    fadt[8] = 1;
    memcpy(fadt + 10, "ZAZEN ", 6);
    put32(ram, ACPI_FADT + 76, PM_TIMER_PORT); /* PM_TMR_BLK */
    fadt[91] = 4; /* PM_TM_LEN */
    fadt[9] = checksum(fadt, 116);
}

/* ---- userspace devices ---- */

struct counts {
    unsigned long io_by_port[65536];
    unsigned long io, mmio, hlt, other;
};

static struct counts counts;

/* A 16550 as far as the guest uses it (16550D datasheet): THR writes go
 * to stdout, or, with MCR bit 4 (loopback), into a one-byte receive
 * buffer; LSR says THR empty always and data ready when that buffer is
 * full; the other registers keep what is written. */
struct uart {
    uint8_t regs[8];
    uint8_t rx;
    int rx_full;
    char line[256];
    size_t line_len;
};

static struct uart com1;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint32_t pm_timer(void)
{
    return (uint32_t)((unsigned __int128)now_ns() * PM_TIMER_HZ / 1000000000u) & 0xffffff;
}

/* kvm's own count of every exit (in-kernel and to userspace) since the
 * module loaded: /sys/kernel/debug/kvm/exits (Documentation/virt/kvm/
 * api.rst, "binary statistics" has the same; debugfs is simpler here).
 * -1 if unavailable. */
static long long kvm_stat(const char *name);
static long long kvm_exits(void) { return kvm_stat("exits"); }

static unsigned long userspace_exits(void)
{
    return counts.io + counts.mmio + counts.hlt + counts.other;
}

static void summary(void);

/* Some of kvm's own counters (debugfs, the sum over all VMs), printed
 * per row as deltas: which in-kernel path the row's exits took. */
static const char *const kvm_stats[] = {
    "insn_emulation", "io_exits", "mmio_exits", "irq_exits", "halt_exits", "halt_successful_poll",
    "halt_attempted_poll", "halt_wakeup", "irq_injections", "nmi_window_exits", "irq_window_exits",
};
#define KVM_STATS (sizeof kvm_stats / sizeof kvm_stats[0])

static long long kvm_stat(const char *name)
{
    char path[128];
    snprintf(path, sizeof path, "/sys/kernel/debug/kvm/%s", name);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long long n = -1;
    if (fscanf(f, "%lld", &n) != 1)
        n = -1;
    fclose(f);
    return n;
}

static void print_kvm_stats(const char *row)
{
    static long long last[KVM_STATS];
    static int have_last;
    printf("kvm-bench: %s kvm-stats", row);
    for (size_t i = 0; i < KVM_STATS; i++) {
        long long now = kvm_stat(kvm_stats[i]);
        if (have_last && now >= 0 && last[i] >= 0)
            printf(" %s %lld", kvm_stats[i], now - last[i]);
        last[i] = now;
    }
    printf("\n");
    have_last = 1;
}

/* After each line the guest prints: the exits since the previous one. */
static void line_done(const char *line)
{
    static unsigned long last_user;
    static long long last_kernel = -2;
    if (last_kernel == -2)
        last_kernel = kvm_exits();
    unsigned long user = userspace_exits();
    long long all = kvm_exits();
    char row[64];
    if (sscanf(line, "bench: %63s min", row) == 1 && strstr(line, " min ")) {
        if (all >= 0 && last_kernel >= 0)
            printf("kvm-bench: %s userspace-exits %lu kernel-exits %lld\n", row, user - last_user,
                   (all - last_kernel) - (long long)(user - last_user));
        else
            printf("kvm-bench: %s userspace-exits %lu kernel-exits n/a\n", row, user - last_user);
        print_kvm_stats(row);
        fflush(stdout);
    } else {
        print_kvm_stats("before");
    }
    last_user = user;
    last_kernel = all;
    /* The guest ends in `cli; hlt`, which with the in-kernel LAPIC blocks
     * in the kernel for good: its last line ends the run. */
    if (strstr(line, "bench: done")) {
        summary();
        exit(0);
    }
}

static void uart_out(uint8_t c)
{
    putchar(c);
    if (c == '\n' || com1.line_len + 1 >= sizeof com1.line) {
        fflush(stdout);
        com1.line[com1.line_len] = 0;
        line_done(com1.line);
        com1.line_len = 0;
    } else if (c != '\r') {
        com1.line[com1.line_len++] = (char)c;
    }
}

static void uart_write(unsigned reg, uint8_t v)
{
    int dlab = com1.regs[3] & 0x80;
    if (reg == 0 && !dlab) {
        if (com1.regs[4] & 0x10) { /* loopback */
            com1.rx = v;
            com1.rx_full = 1;
        } else {
            uart_out(v);
        }
        return;
    }
    com1.regs[reg] = v;
}

static uint8_t uart_read(unsigned reg)
{
    int dlab = com1.regs[3] & 0x80;
    if (reg == 0 && !dlab) {
        com1.rx_full = 0;
        return com1.rx;
    }
    if (reg == 5)
        return 0x60 | (com1.rx_full ? 1 : 0); /* THR and TSR empty */
    if (reg == 2)
        return 0x01; /* no interrupt pending */
    return com1.regs[reg];
}

static uint8_t port92;

/* One KVM_EXIT_IO: `count` accesses of `size` bytes at `data`. */
static void handle_io(struct kvm_run *run)
{
    uint8_t *data = (uint8_t *)run + run->io.data_offset;
    uint16_t port = run->io.port;
    counts.io++;
    counts.io_by_port[port]++;
    for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
        int out = run->io.direction == KVM_EXIT_IO_OUT;
        if (port >= COM1 && port < COM1 + 8) {
            if (out)
                uart_write(port - COM1, data[0]);
            else
                data[0] = uart_read(port - COM1);
        } else if (port == DEBUGCON) {
            if (!out)
                data[0] = 0xe9; /* Bochs's and QEMU's "present" answer */
            else if (data[0] != '\r')
                fputc(data[0], stderr);
        } else if (port == PM_TIMER_PORT) {
            if (!out) {
                uint32_t t = pm_timer();
                memcpy(data, &t, run->io.size);
            }
        } else if (port == 0x92) {
            if (out)
                port92 = data[0];
            else
                data[0] = port92;
        } else if (!out) {
            memset(data, 0xff, run->io.size); /* nothing there */
        }
    }
}

/* ---- the VM ---- */

static int kvm_ioctl(int fd, unsigned long request, void *arg, const char *what)
{
    int r = ioctl(fd, request, arg);
    if (r < 0)
        die(what);
    return r;
}

static void real_mode_start(int vcpu)
{
    struct kvm_sregs sregs;
    kvm_ioctl(vcpu, KVM_GET_SREGS, &sregs, "KVM_GET_SREGS");
    sregs.cs.selector = 0;
    sregs.cs.base = 0;
    struct kvm_segment *data[] = { &sregs.ds, &sregs.es, &sregs.ss, &sregs.fs, &sregs.gs };
    for (size_t i = 0; i < sizeof data / sizeof data[0]; i++) {
        data[i]->selector = 0;
        data[i]->base = 0;
    }
    kvm_ioctl(vcpu, KVM_SET_SREGS, &sregs, "KVM_SET_SREGS");
    struct kvm_regs regs;
    memset(&regs, 0, sizeof regs);
    regs.rip = LOAD_ADDRESS;
    regs.rsp = LOAD_ADDRESS;
    regs.rdx = 0x80; /* DL: the boot drive */
    regs.rflags = 2;
    kvm_ioctl(vcpu, KVM_SET_REGS, &regs, "KVM_SET_REGS");
}

static void summary(void)
{
    printf("kvm-bench: userspace exits: io %lu mmio %lu hlt %lu other %lu; by port:", counts.io, counts.mmio,
           counts.hlt, counts.other);
    for (unsigned p = 0; p < 65536; p++)
        if (counts.io_by_port[p])
            printf(" %xh %lu", p, counts.io_by_port[p]);
    printf("\n");
    fflush(stdout);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s BENCH.IMG\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IOFBF, 1 << 16);
    uint8_t *ram = mmap(NULL, GUEST_RAM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (ram == MAP_FAILED)
        die("mmap");
    load_image(ram, argv[1]);
    bios_stubs(ram);
    acpi_tables(ram);

    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0)
        die("/dev/kvm");
    if (ioctl(kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
        fail("KVM API version is not 12");
    int vm = kvm_ioctl(kvm, KVM_CREATE_VM, 0, "KVM_CREATE_VM");
    /* Intel needs the TSS's three pages somewhere in guest-physical space
     * for real mode without unrestricted guest (api.rst, KVM_SET_TSS_ADDR);
     * just below the 4 GiB hole's BIOS area, as QEMU does. */
    if (ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000ul) < 0)
        die("KVM_SET_TSS_ADDR");
    kvm_ioctl(vm, KVM_CREATE_IRQCHIP, 0, "KVM_CREATE_IRQCHIP");
    struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
    kvm_ioctl(vm, KVM_CREATE_PIT2, &pit, "KVM_CREATE_PIT2");
    struct kvm_userspace_memory_region region = {
        .slot = 0, .guest_phys_addr = 0, .memory_size = GUEST_RAM, .userspace_addr = (uint64_t)(uintptr_t)ram,
    };
    kvm_ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region, "KVM_SET_USER_MEMORY_REGION");
    int vcpu = kvm_ioctl(vm, KVM_CREATE_VCPU, 0, "KVM_CREATE_VCPU");
    int run_size = kvm_ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0, "KVM_GET_VCPU_MMAP_SIZE");
    struct kvm_run *run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    if (run == MAP_FAILED)
        die("mmap kvm_run");
    /* The CPUID the host supports, as a KVM user passes it on. */
    struct {
        struct kvm_cpuid2 c;
        struct kvm_cpuid_entry2 e[100];
    } cpuid = { .c.nent = 100 };
    kvm_ioctl(kvm, KVM_GET_SUPPORTED_CPUID, &cpuid, "KVM_GET_SUPPORTED_CPUID");
    kvm_ioctl(vcpu, KVM_SET_CPUID2, &cpuid, "KVM_SET_CPUID2");
    real_mode_start(vcpu);

    for (;;) {
        if (ioctl(vcpu, KVM_RUN, 0) < 0) {
            if (errno == EINTR)
                continue;
            die("KVM_RUN");
        }
        switch (run->exit_reason) {
        case KVM_EXIT_IO:
            handle_io(run);
            break;
        case KVM_EXIT_MMIO:
            /* Nothing the guest uses lives here (the LAPIC is in-kernel):
             * reads see all ones, writes go nowhere. */
            counts.mmio++;
            if (!run->mmio.is_write)
                memset(run->mmio.data, 0xff, sizeof run->mmio.data);
            break;
        case KVM_EXIT_HLT:
            /* With the in-kernel LAPIC, HLT blocks in the kernel and never
             * comes here; kept for a kvm without it. */
            counts.hlt++;
            summary();
            if (strstr(com1.line, "done") == NULL)
                printf("kvm-bench: the guest halted\n");
            return 0;
        case KVM_EXIT_SHUTDOWN:
            summary();
            fail("the guest shut down (triple fault)");
            break;
        case KVM_EXIT_FAIL_ENTRY:
            fprintf(stderr, "kvm-bench: entry failed, hardware reason %llx\n",
                    (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
            return 1;
        case KVM_EXIT_INTERNAL_ERROR:
            fprintf(stderr, "kvm-bench: KVM internal error, suberror %u\n", run->internal.suberror);
            return 1;
        default:
            counts.other++;
            fprintf(stderr, "kvm-bench: unexpected exit reason %u\n", run->exit_reason);
            return 1;
        }
    }
}
