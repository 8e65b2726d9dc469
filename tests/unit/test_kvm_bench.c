/* unit-sources: */
/* The bench's KVM runner (tools/bench/kvm-bench.c), its parts that need no
 * /dev/kvm: the ACPI tables the bench guest walks to find the PM timer,
 * the real-mode BIOS stubs, the 16550 it prints through and loops back
 * on, and the port dispatch. The runner is included whole, its main()
 * renamed. */
#define _GNU_SOURCE
#define main kvm_bench_main
#include "../../tools/bench/kvm-bench.c"
#undef main
#include "unit.h"

static uint8_t ram[1 << 20];

static uint32_t get32(uint32_t at)
{
    uint32_t v;
    memcpy(&v, ram + at, 4);
    return v;
}

static uint8_t sum(uint32_t at, uint32_t len)
{
    uint8_t s = 0;
    for (uint32_t i = 0; i < len; i++)
        s += ram[at + i];
    return s;
}

/* As bench-guest.asm's find_pm_timer does it: the RSDP on a 16-byte
 * boundary in E0000h-FFFFFh, its RSDT, the RSDT's FACP, PM_TMR_BLK at
 * offset 76 (ACPI 2.0 5.2.9); each checksum sums to 0. */
TEST(acpi_tables_name_the_pm_timer)
{
    memset(ram, 0, sizeof ram);
    acpi_tables(ram);
    uint32_t rsdp = 0;
    for (uint32_t a = 0xe0000; a < 0x100000; a += 16)
        if (memcmp(ram + a, "RSD PTR ", 8) == 0) {
            rsdp = a;
            break;
        }
    CHECK(rsdp != 0);
    CHECK_EQ(sum(rsdp, 20), 0);
    uint32_t rsdt = get32(rsdp + 16);
    CHECK(memcmp(ram + rsdt, "RSDT", 4) == 0);
    CHECK_EQ(sum(rsdt, get32(rsdt + 4)), 0);
    CHECK_EQ((get32(rsdt + 4) - 36) / 4, 1);
    uint32_t fadt = get32(rsdt + 36);
    CHECK(memcmp(ram + fadt, "FACP", 4) == 0);
    CHECK_EQ(sum(fadt, get32(fadt + 4)), 0);
    CHECK_EQ(get32(fadt + 76), 0x608);
}

/* INT 13h returns with CF clear (clc; retf 2), every other vector irets. */
TEST(bios_stubs_answer_int13_with_success)
{
    memset(ram, 0, sizeof ram);
    bios_stubs(ram);
    uint32_t int13 = (uint32_t)(ram[0x13 * 4 + 2] | ram[0x13 * 4 + 3] << 8) * 16 + (ram[0x13 * 4] | ram[0x13 * 4 + 1] << 8);
    CHECK_EQ(ram[int13], 0xf8);     /* clc */
    CHECK_EQ(ram[int13 + 1], 0xca); /* retf imm16 */
    CHECK_EQ(ram[int13 + 2], 2);
    uint32_t int10 = (uint32_t)(ram[0x10 * 4 + 2] | ram[0x10 * 4 + 3] << 8) * 16 + (ram[0x10 * 4] | ram[0x10 * 4 + 1] << 8);
    CHECK_EQ(ram[int10], 0xcf); /* iret */
    CHECK_EQ(ram[0x40e] | ram[0x40f] << 8, 0x9fc0);
}

static void io_sized(uint16_t port, int out, void *value, uint8_t size)
{
    static union {
        struct kvm_run run;
        uint8_t bytes[4096];
    } page;
    memset(&page, 0, sizeof page);
    page.run.io.direction = out ? KVM_EXIT_IO_OUT : KVM_EXIT_IO_IN;
    page.run.io.size = size;
    page.run.io.port = port;
    page.run.io.count = 1;
    page.run.io.data_offset = 1024;
    memcpy(page.bytes + 1024, value, size);
    handle_io(&page.run);
    memcpy(value, page.bytes + 1024, size);
}

static void io(uint16_t port, int out, uint8_t *value)
{
    io_sized(port, out, value, 1);
}

/* 16550D datasheet: with MCR bit 4 a THR byte comes back in RBR and LSR
 * bit 0 says so until it is read; THR empty (bits 5, 6) always. */
TEST(uart_loopback_returns_the_byte)
{
    uint8_t v = 0x10;
    io(0x3fc, 1, &v);
    v = 'z';
    io(0x3f8, 1, &v);
    v = 0;
    io(0x3fd, 0, &v);
    CHECK_EQ(v, 0x61);
    v = 0;
    io(0x3f8, 0, &v);
    CHECK_EQ(v, 'z');
    io(0x3fd, 0, &v);
    CHECK_EQ(v, 0x60);
    v = 0x03;
    io(0x3fc, 1, &v);
}

/* Each port access is a counted userspace exit; the PM timer moves. */
TEST(port_exits_are_counted_and_pm_timer_moves)
{
    unsigned long before = counts.io_by_port[0x608];
    uint32_t a = 0, b = 0;
    io_sized(0x608, 0, &a, 4);
    struct timespec ts = { 0, 2000000 };
    nanosleep(&ts, NULL);
    io_sized(0x608, 0, &b, 4);
    CHECK_EQ(counts.io_by_port[0x608] - before, 2);
    CHECK(a <= 0xffffff && b <= 0xffffff);  /* 24 bits (ACPI 4.7.3.3) */
    CHECK(((b - a) & 0xffffff) >= 7000);    /* 2 ms at 3.579545 MHz: 7159 */
    uint8_t e9 = 0;
    io(0xe9, 0, &e9);
    CHECK_EQ(e9, 0xe9);
}
