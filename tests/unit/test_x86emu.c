/* unit-sources: vmm/x86emu.c vmm/format.c vmm/string.c */
/* The instruction emulator, driven by instruction bytes. Guest memory is
 * a flat 1 MiB array at linear 0; addresses from 0xfee00000 are a fake
 * device that records accesses; anything else faults with a #PF. */
#include "unit.h"
#include "../../vmm/x86emu.h"

#define RAM_SIZE (1 << 20)
#define DEV_BASE 0xfee00000ull

static unsigned char ram[RAM_SIZE];
static struct x86emu_cpu cpu;
static struct x86emu_fault fault;
static char why[128];
static u64 dev_value, dev_last_addr, dev_last_write;
static unsigned dev_last_size, dev_reads, dev_writes;
static u32 port_next;
static u16 port_last;
static u32 port_out[16];
static unsigned port_outs;

static bool mem(void *ctx, u64 linear, void *data, unsigned size, enum x86emu_access acc, struct x86emu_fault *f)
{
    (void)ctx;
    if (linear >= DEV_BASE && linear < DEV_BASE + 0x1000) {
        dev_last_addr = linear;
        dev_last_size = size;
        if (acc == EMU_WRITE) {
            dev_last_write = 0;
            memcpy(&dev_last_write, data, size);
            dev_writes++;
        } else {
            memcpy(data, &dev_value, size);
            dev_reads++;
        }
        return true;
    }
    if (linear + size > RAM_SIZE) {
        *f = (struct x86emu_fault){14, true, acc == EMU_WRITE ? 2u : 0u, linear};
        return false;
    }
    if (acc == EMU_WRITE)
        memcpy(ram + linear, data, size);
    else
        memcpy(data, ram + linear, size);
    return true;
}

static u32 io_in(void *ctx, u16 port, u8 size)
{
    (void)ctx;
    (void)size;
    port_last = port;
    return port_next++;
}

static void io_out(void *ctx, u16 port, u8 size, u32 value)
{
    (void)ctx;
    (void)size;
    port_last = port;
    port_out[port_outs++ % 16] = value;
}

/* The bulk paths, as a bus does them: the same accesses, counted. */
static unsigned rep_calls;

static void io_in_rep(void *ctx, u16 port, u8 size, void *buf, u32 count)
{
    rep_calls++;
    for (u32 i = 0; i < count; i++) {
        u32 v = io_in(ctx, port, size);
        memcpy((u8 *)buf + i * size, &v, size);
    }
}

static void io_out_rep(void *ctx, u16 port, u8 size, const void *buf, u32 count)
{
    rep_calls++;
    for (u32 i = 0; i < count; i++) {
        u32 v = 0;
        memcpy(&v, (const u8 *)buf + i * size, size);
        io_out(ctx, port, size, v);
    }
}

static const struct x86emu_ops ops = {mem, io_in, io_out, NULL, NULL};
static const struct x86emu_ops bulk_ops = {mem, io_in, io_out, io_in_rep, io_out_rep};

/* Places code at linear 0x1000 and resets the CPU to run it in `mode`. */
static void setup(enum x86emu_mode mode, const void *code, size_t len)
{
    memset(ram, 0, sizeof(ram));
    memset(&cpu, 0, sizeof(cpu));
    cpu.mode = mode;
    cpu.rip = 0x1000;
    cpu.rflags = 2;
    memcpy(ram + 0x1000, code, len);
    dev_value = dev_last_addr = dev_last_write = 0;
    dev_reads = dev_writes = dev_last_size = port_outs = 0;
    port_next = 0x100;
}

static enum x86emu_status step(void) { return x86emu_step(&cpu, &ops, NULL, &fault, why, sizeof(why)); }
static enum x86emu_status step_bulk(void) { return x86emu_step(&cpu, &bulk_ops, NULL, &fault, why, sizeof(why)); }

#define CODE(...) ((const unsigned char[]){__VA_ARGS__}), sizeof((const unsigned char[]){__VA_ARGS__})

TEST(emu_mov_load_from_device_zero_extends)
{
    setup(EMU_MODE_LONG64, CODE(0x8b, 0x03)); /* mov eax, [rbx] */
    cpu.gpr[3] = DEV_BASE + 0x20;
    cpu.gpr[0] = 0xffffffffffffffffull;
    dev_value = 0x12345678;
    CHECK_EQ(step(), EMU_OK);
    CHECK_EQ(cpu.gpr[0], 0x12345678);
    CHECK_EQ(dev_last_addr, DEV_BASE + 0x20);
    CHECK_EQ(dev_last_size, 4);
    CHECK_EQ(cpu.rip, 0x1002);
}

TEST(emu_mov_store_rip_relative)
{
    setup(EMU_MODE_LONG64, CODE(0x89, 0x0d, 0x10, 0x00, 0x00, 0x00)); /* mov [rip+0x10], ecx */
    cpu.gpr[1] = 0xcafef00d;
    CHECK_EQ(step(), EMU_OK);
    u32 v;
    memcpy(&v, ram + 0x1006 + 0x10, 4);
    CHECK_EQ(v, 0xcafef00d);
    CHECK_EQ(cpu.rip, 0x1006);
}

TEST(emu_real_mode_bx_si_disp8)
{
    setup(EMU_MODE_REAL, CODE(0x89, 0x40, 0x04)); /* mov [bx+si+4], ax */
    cpu.seg_base[EMU_DS] = 0x20000;
    cpu.gpr[3] = 0x100; /* bx */
    cpu.gpr[6] = 0x10;  /* si */
    cpu.gpr[0] = 0xabcd1234;
    CHECK_EQ(step(), EMU_OK);
    CHECK_EQ(ram[0x20114], 0x34);
    CHECK_EQ(ram[0x20115], 0x12);
    CHECK_EQ(ram[0x20116], 0);
    CHECK_EQ(cpu.rip, 0x1003);
}

TEST(emu_real_mode_bp_defaults_to_ss)
{
    setup(EMU_MODE_REAL, CODE(0x8b, 0x46, 0x02)); /* mov ax, [bp+2] */
    cpu.seg_base[EMU_SS] = 0x30000;
    cpu.seg_base[EMU_DS] = 0x40000;
    cpu.gpr[5] = 0x10;
    ram[0x30012] = 0x77;
    CHECK_EQ(step(), EMU_OK);
    CHECK_EQ(cpu.gpr[0] & 0xffff, 0x77);
}

TEST(emu_mov_imm8_and_operand_size_prefix)
{
    setup(EMU_MODE_PROT32, CODE(0xc6, 0x05, 0x00, 0x30, 0x00, 0x00, 0x5a)); /* mov byte [0x3000], 0x5a */
    CHECK_EQ(step(), EMU_OK);
    CHECK_EQ(ram[0x3000], 0x5a);
    CHECK_EQ(cpu.rip, 0x1007);
    setup(EMU_MODE_PROT32, CODE(0x66, 0x89, 0x03)); /* mov [ebx], ax */
    cpu.gpr[3] = 0x3000;
    cpu.gpr[0] = 0x11223344;
    ram[0x3002] = 0xee;
    CHECK_EQ(step(), EMU_OK);
    CHECK_EQ(ram[0x3000], 0x44);
    CHECK_EQ(ram[0x3001], 0x33);
    CHECK_EQ(ram[0x3002], 0xee);
}

TEST(emu_movzx_movsx)
{
    setup(EMU_MODE_PROT32, CODE(0x0f, 0xb7, 0x03)); /* movzx eax, word [ebx] */
    cpu.gpr[3] = 0x3000;
    ram[0x3000] = 0xff;
    ram[0x3001] = 0xff;
    cpu.gpr[0] = ~0ull;
    CHECK_EQ(step(), EMU_OK);
    CHECK_EQ(cpu.gpr[0], 0xffff);
    setup(EMU_MODE_LONG64, CODE(0x48, 0x0f, 0xbe, 0x03)); /* movsx rax, byte [rbx] */
    cpu.gpr[3] = 0x3000;
    ram[0x3000] = 0x80;
    CHECK_EQ(step(), EMU_OK);
    CHECK_EQ(cpu.gpr[0], 0xffffffffffffff80ull);
}

TEST(emu_high_byte_register_without_rex)
{
    setup(EMU_MODE_PROT32, CODE(0x8a, 0x23)); /* mov ah, [ebx] */
    cpu.gpr[3] = 0x3000;
    cpu.gpr[0] = 0x11223344;
    ram[0x3000] = 0xab;
    CHECK_EQ(step(), EMU_OK);
    CHECK_EQ(cpu.gpr[0], 0x1122ab44);
}

TEST(emu_rex_extended_registers)
{
    setup(EMU_MODE_LONG64, CODE(0x4d, 0x89, 0x08)); /* mov [r8], r9 */
    cpu.gpr[8] = 0x3000;
    cpu.gpr[9] = 0x0102030405060708ull;
    CHECK_EQ(step(), EMU_OK);
    u64 v;
    memcpy(&v, ram + 0x3000, 8);
    CHECK_EQ(v, 0x0102030405060708ull);
}

TEST(emu_moffs_64bit)
{
    setup(EMU_MODE_LONG64, CODE(0xa1, 0x00, 0x00, 0xe0, 0xfe, 0x00, 0x00, 0x00, 0x00)); /* mov eax, [0xfee00000] */
    dev_value = 0x50014;
    CHECK_EQ(step(), EMU_OK);
    CHECK_EQ(cpu.gpr[0], 0x50014);
    CHECK_EQ(cpu.rip, 0x1009);
}

TEST(emu_rep_stosd_forward)
{
    setup(EMU_MODE_PROT32, CODE(0xf3, 0xab)); /* rep stosd */
    cpu.gpr[0] = 0xdeadbeef;
    cpu.gpr[1] = 4;
    cpu.gpr[7] = 0x2000;
    CHECK_EQ(step(), EMU_OK);
    u32 v;
    memcpy(&v, ram + 0x200c, 4);
    CHECK_EQ(v, 0xdeadbeef);
    CHECK_EQ(cpu.gpr[1], 0);
    CHECK_EQ(cpu.gpr[7], 0x2010);
    CHECK_EQ(cpu.rip, 0x1002);
}

TEST(emu_rep_movsb_backwards)
{
    setup(EMU_MODE_PROT32, CODE(0xf3, 0xa4)); /* rep movsb, DF=1 */
    cpu.rflags |= 1 << 10;
    memcpy(ram + 0x2000, "abcd", 4);
    cpu.gpr[6] = 0x2003;
    cpu.gpr[7] = 0x3003;
    cpu.gpr[1] = 4;
    CHECK_EQ(step(), EMU_OK);
    CHECK(memcmp(ram + 0x3000, "abcd", 4) == 0);
    CHECK_EQ(cpu.gpr[6], 0x1fff);
    CHECK_EQ(cpu.gpr[7], 0x2fff);
}

TEST(emu_rep_zero_count_and_restart)
{
    setup(EMU_MODE_PROT32, CODE(0xf3, 0xab));
    cpu.gpr[1] = 0;
    CHECK_EQ(step(), EMU_OK);
    CHECK_EQ(cpu.rip, 0x1002);
    setup(EMU_MODE_PROT32, CODE(0xf3, 0xaa)); /* rep stosb longer than one step */
    cpu.gpr[1] = X86EMU_MAX_REP + 10;
    cpu.gpr[7] = 0x10000;
    CHECK_EQ(step(), EMU_OK);
    CHECK_EQ(cpu.rip, 0x1000); /* resumes later */
    CHECK_EQ(cpu.gpr[1], 10);
    CHECK_EQ(step(), EMU_OK);
    CHECK_EQ(cpu.rip, 0x1002);
    CHECK_EQ(cpu.gpr[1], 0);
}

TEST(emu_add_imm8_flags)
{
    setup(EMU_MODE_PROT32, CODE(0x83, 0x03, 0x01)); /* add dword [ebx], 1 */
    cpu.gpr[3] = 0x3000;
    memset(ram + 0x3000, 0xff, 4);
    CHECK_EQ(step(), EMU_OK);
    CHECK_EQ(ram[0x3000], 0);
    CHECK(cpu.rflags & (1 << 0)); /* CF */
    CHECK(cpu.rflags & (1 << 6)); /* ZF */
    CHECK(!(cpu.rflags & (1 << 11)));
}

TEST(emu_cmp_overflow_and_sign)
{
    setup(EMU_MODE_PROT32, CODE(0x83, 0x3b, 0x01)); /* cmp dword [ebx], 1 */
    cpu.gpr[3] = 0x3000;
    u32 v = 0x80000000;
    memcpy(ram + 0x3000, &v, 4);
    CHECK_EQ(step(), EMU_OK);
    CHECK(cpu.rflags & (1 << 11));  /* OF: negative - positive = positive */
    CHECK(!(cpu.rflags & (1 << 7))); /* SF clear */
    CHECK(!(cpu.rflags & 1));
    memcpy(&v, ram + 0x3000, 4);
    CHECK_EQ(v, 0x80000000); /* CMP does not write */
}

TEST(emu_or_and_test_on_device)
{
    setup(EMU_MODE_LONG64, CODE(0x81, 0x0b, 0x00, 0x01, 0x00, 0x00)); /* or dword [rbx], 0x100 */
    cpu.gpr[3] = DEV_BASE + 0xf0;
    dev_value = 0x0f;
    CHECK_EQ(step(), EMU_OK);
    CHECK_EQ(dev_last_write, 0x10f);
    CHECK_EQ(dev_reads, 1);
    CHECK_EQ(dev_writes, 1);
    setup(EMU_MODE_LONG64, CODE(0x85, 0x03)); /* test [rbx], eax */
    cpu.gpr[3] = DEV_BASE;
    cpu.gpr[0] = 0x1000;
    dev_value = 0x1000;
    CHECK_EQ(step(), EMU_OK);
    CHECK(!(cpu.rflags & (1 << 6)));
    CHECK_EQ(dev_writes, 0);
}

TEST(emu_xchg_and_xadd)
{
    setup(EMU_MODE_PROT32, CODE(0x87, 0x03)); /* xchg [ebx], eax */
    cpu.gpr[3] = 0x3000;
    cpu.gpr[0] = 5;
    ram[0x3000] = 9;
    CHECK_EQ(step(), EMU_OK);
    CHECK_EQ(cpu.gpr[0], 9);
    CHECK_EQ(ram[0x3000], 5);
    setup(EMU_MODE_PROT32, CODE(0x0f, 0xc1, 0x03)); /* xadd [ebx], eax */
    cpu.gpr[3] = 0x3000;
    cpu.gpr[0] = 2;
    ram[0x3000] = 40;
    CHECK_EQ(step(), EMU_OK);
    CHECK_EQ(ram[0x3000], 42);
    CHECK_EQ(cpu.gpr[0], 40);
}

TEST(emu_bts_register_offset_reaches_next_dword)
{
    setup(EMU_MODE_PROT32, CODE(0x0f, 0xab, 0x03)); /* bts [ebx], eax */
    cpu.gpr[3] = 0x3000;
    cpu.gpr[0] = 35;
    CHECK_EQ(step(), EMU_OK);
    CHECK_EQ(ram[0x3004], 0x08);
    CHECK(!(cpu.rflags & 1));
    setup(EMU_MODE_PROT32, CODE(0x0f, 0xba, 0x33, 0x02)); /* btr dword [ebx], 2 */
    cpu.gpr[3] = 0x3000;
    ram[0x3000] = 0x04;
    CHECK_EQ(step(), EMU_OK);
    CHECK_EQ(ram[0x3000], 0);
    CHECK(cpu.rflags & 1);
}

/* A negative bit offset reaches below the operand: -1 is bit 7 of the
 * byte before (bit 31 of the dword before at 32-bit size), and the most
 * negative 64-bit offset is 2^60 bytes down, without overflow (found by
 * the x86emu fuzzer). */
TEST(emu_bt_negative_offsets)
{
    setup(EMU_MODE_PROT32, CODE(0x0f, 0xa3, 0x03)); /* bt [ebx], eax */
    cpu.gpr[3] = 0x3004;
    cpu.gpr[0] = 0xffffffff;
    ram[0x3003] = 0x80;
    CHECK_EQ(step(), EMU_OK);
    CHECK(cpu.rflags & 1);
    setup(EMU_MODE_LONG64, CODE(0x48, 0x0f, 0xa3, 0x03)); /* bt [rbx], rax */
    cpu.gpr[3] = 0x3000;
    cpu.gpr[0] = 0x8000000000000001ull;
    CHECK_EQ(step(), EMU_FAULT); /* 0x3000 - 2^60: outside the fake RAM */
    CHECK_EQ(fault.cr2, 0x3000 - (1ull << 60));
}

TEST(emu_neg_not_incdec)
{
    setup(EMU_MODE_PROT32, CODE(0xf7, 0x1b)); /* neg dword [ebx] */
    cpu.gpr[3] = 0x3000;
    ram[0x3000] = 1;
    CHECK_EQ(step(), EMU_OK);
    CHECK_EQ(ram[0x3000], 0xff);
    CHECK(cpu.rflags & 1);
    setup(EMU_MODE_PROT32, CODE(0xfe, 0x0b)); /* dec byte [ebx], CF kept */
    cpu.gpr[3] = 0x3000;
    cpu.rflags |= 1;
    ram[0x3000] = 1;
    CHECK_EQ(step(), EMU_OK);
    CHECK_EQ(ram[0x3000], 0);
    CHECK(cpu.rflags & 1);
    CHECK(cpu.rflags & (1 << 6));
}

TEST(emu_string_port_io)
{
    setup(EMU_MODE_PROT32, CODE(0xf3, 0x66, 0x6d)); /* rep insw */
    cpu.gpr[2] = 0x1f0;
    cpu.gpr[1] = 3;
    cpu.gpr[7] = 0x4000;
    CHECK_EQ(step(), EMU_OK);
    CHECK_EQ(port_last, 0x1f0);
    CHECK_EQ(ram[0x4000], 0x00);
    CHECK_EQ(ram[0x4001], 0x01);
    CHECK_EQ(ram[0x4004], 0x02);
    CHECK_EQ(cpu.gpr[7], 0x4006);
    setup(EMU_MODE_REAL, CODE(0x6e)); /* outsb */
    cpu.seg_base[EMU_DS] = 0x5000;
    cpu.gpr[2] = 0xe9;
    cpu.gpr[6] = 0x10;
    ram[0x5010] = 'Z';
    CHECK_EQ(step(), EMU_OK);
    CHECK_EQ(port_out[0], 'Z');
    CHECK_EQ(cpu.gpr[6], 0x11);
}

/* REP INSW over a page boundary in bulk: the same words land as one at a
 * time, in one bulk transfer per page after each page's first word. */
TEST(emu_rep_insw_bulk_matches_single_steps)
{
    static unsigned char single[RAM_SIZE];
    for (int bulk = 0; bulk < 2; bulk++) {
        setup(EMU_MODE_PROT32, CODE(0xf3, 0x66, 0x6d)); /* rep insw */
        cpu.gpr[2] = 0x1f0;
        cpu.gpr[1] = 600;
        cpu.gpr[7] = 0x4f00;
        rep_calls = 0;
        CHECK_EQ(bulk ? step_bulk() : step(), EMU_OK);
        CHECK_EQ(cpu.gpr[1], 0);
        CHECK_EQ(cpu.gpr[7], 0x4f00 + 1200);
        CHECK_EQ(cpu.rip, 0x1003);
        CHECK_EQ(port_next, 0x100 + 600);
        if (!bulk)
            memcpy(single, ram, RAM_SIZE);
    }
    CHECK(memcmp(single, ram, RAM_SIZE) == 0);
    CHECK_EQ(rep_calls, 2); /* the rest of 0x4000's page, then of 0x5000's */
}

/* A fault on a new page stops the bulk where single steps would stop: the
 * faulting word was read from the port, the rest were not. */
TEST(emu_rep_insw_bulk_fault_on_next_page)
{
    setup(EMU_MODE_PROT32, CODE(0xf3, 0x66, 0x6d));
    cpu.gpr[2] = 0x1f0;
    cpu.gpr[1] = 0x100;
    cpu.gpr[7] = RAM_SIZE - 0x100;
    CHECK_EQ(step_bulk(), EMU_FAULT);
    CHECK_EQ(fault.vector, 14);
    CHECK_EQ(cpu.gpr[1], 0x80);
    CHECK_EQ(cpu.gpr[7], RAM_SIZE);
    CHECK_EQ(port_next, 0x100 + 0x81);
    CHECK_EQ(ram[RAM_SIZE - 2], 0x7f);
}

TEST(emu_rep_outsd_bulk)
{
    setup(EMU_MODE_LONG64, CODE(0xf3, 0x6f)); /* rep outsd */
    for (int i = 0; i < 8; i++)
        ram[0x6000 + 4 * i] = (unsigned char)(0x40 + i);
    cpu.gpr[2] = 0x170;
    cpu.gpr[1] = 8;
    cpu.gpr[6] = 0x6000;
    rep_calls = 0;
    CHECK_EQ(step_bulk(), EMU_OK);
    CHECK_EQ(port_outs, 8);
    CHECK_EQ(port_out[0], 0x40);
    CHECK_EQ(port_out[7], 0x47);
    CHECK_EQ(cpu.gpr[6], 0x6020);
    CHECK_EQ(rep_calls, 1);
}

TEST(emu_page_fault_leaves_state)
{
    setup(EMU_MODE_LONG64, CODE(0x89, 0x03)); /* mov [rbx], eax */
    cpu.gpr[3] = 0x80000000;
    CHECK_EQ(step(), EMU_FAULT);
    CHECK_EQ(fault.vector, 14);
    CHECK_EQ(fault.error, 2);
    CHECK_EQ(fault.cr2, 0x80000000);
    CHECK_EQ(cpu.rip, 0x1000);
}

TEST(emu_unsupported_names_the_bytes)
{
    setup(EMU_MODE_LONG64, CODE(0x0f, 0x0b)); /* ud2 */
    CHECK_EQ(step(), EMU_UNSUPPORTED);
    CHECK(strstr(why, "0f 0b") != NULL);
    CHECK_EQ(cpu.rip, 0x1000);
}

TEST(emu_too_long_instruction)
{
    unsigned char code[16];
    memset(code, 0x66, 15);
    code[15] = 0x90;
    setup(EMU_MODE_PROT32, code, sizeof(code));
    CHECK_EQ(step(), EMU_FAULT);
    CHECK_EQ(fault.vector, 13);
}

/* The lengths vcpu_complete_instruction decodes where AMD-V has no NRIP
 * save: prefixes and REX count, operands in memory are refused. */
TEST(emu_exit_insn_length)
{
    static const u8 cpuid[] = {0x0f, 0xa2}, cs_cpuid[] = {0x2e, 0x0f, 0xa2}, pause[] = {0xf3, 0x90};
    static const u8 out_imm[] = {0x66, 0xe7, 0x80}, rex_rdmsr[] = {0x48, 0x0f, 0x32}, vmmcall[] = {0x0f, 0x01, 0xd9};
    static const u8 lgdt[] = {0x0f, 0x01, 0x10}, mov[] = {0x89, 0xc0}, hlt[] = {0xf4};
    CHECK_EQ(x86emu_exit_insn_length(cpuid, sizeof(cpuid), EMU_MODE_PROT32), 2);
    CHECK_EQ(x86emu_exit_insn_length(cs_cpuid, sizeof(cs_cpuid), EMU_MODE_PROT32), 3);
    CHECK_EQ(x86emu_exit_insn_length(pause, sizeof(pause), EMU_MODE_REAL), 2);
    CHECK_EQ(x86emu_exit_insn_length(out_imm, sizeof(out_imm), EMU_MODE_PROT16), 3);
    CHECK_EQ(x86emu_exit_insn_length(rex_rdmsr, sizeof(rex_rdmsr), EMU_MODE_LONG64), 3);
    CHECK_EQ(x86emu_exit_insn_length(rex_rdmsr, sizeof(rex_rdmsr), EMU_MODE_PROT32), 0); /* 48h is DEC EAX there */
    CHECK_EQ(x86emu_exit_insn_length(vmmcall, sizeof(vmmcall), EMU_MODE_LONG64), 3);
    CHECK_EQ(x86emu_exit_insn_length(lgdt, sizeof(lgdt), EMU_MODE_PROT32), 0);
    CHECK_EQ(x86emu_exit_insn_length(mov, sizeof(mov), EMU_MODE_PROT32), 0);
    CHECK_EQ(x86emu_exit_insn_length(hlt, sizeof(hlt), EMU_MODE_REAL), 1);
    CHECK_EQ(x86emu_exit_insn_length(cs_cpuid, 2, EMU_MODE_PROT32), 0); /* cut short */
}

/* The plain MOV stores the fast way completes from the exit's address
 * alone (mmio_fast_decode): their length, size and value; anything that
 * is not one is refused (0), and so is a store of RSP. */
TEST(emu_plain_store)
{
    u64 gpr[16] = {0};
    for (unsigned i = 0; i < 16; i++)
        gpr[i] = 0x1111111111111111ull * i + 0x0807060504030201ull;
    struct x86emu_store st;
    static const u8 c7_abs[] = {0xc7, 0x05, 0xb0, 0x00, 0xe0, 0xfe, 0x00, 0x00, 0x00, 0x00}; /* mov dword [FEE000B0h], 0 */
    CHECK_EQ(x86emu_plain_store(c7_abs, sizeof(c7_abs), EMU_MODE_PROT32, gpr, &st), 10);
    CHECK_EQ(st.size, 4);
    CHECK_EQ(st.value, 0);
    CHECK_EQ(x86emu_plain_store(c7_abs, 9, EMU_MODE_PROT32, gpr, &st), 0); /* cut short */
    static const u8 mov_ebx[] = {0x89, 0x98, 0xb0, 0x00, 0x00, 0x00}; /* mov [eax+B0h], ebx */
    CHECK_EQ(x86emu_plain_store(mov_ebx, sizeof(mov_ebx), EMU_MODE_PROT32, gpr, &st), 6);
    CHECK_EQ(st.value, (u32)gpr[3]);
    static const u8 mov_sib[] = {0x89, 0x0c, 0x24}; /* mov [esp], ecx: SIB */
    CHECK_EQ(x86emu_plain_store(mov_sib, sizeof(mov_sib), EMU_MODE_PROT32, gpr, &st), 3);
    static const u8 mov_sib_disp[] = {0x89, 0x0c, 0x25, 0xb0, 0x00, 0xe0, 0xfe}; /* mov [FEE000B0h], ecx: SIB, no base */
    CHECK_EQ(x86emu_plain_store(mov_sib_disp, sizeof(mov_sib_disp), EMU_MODE_PROT32, gpr, &st), 7);
    static const u8 rex_w[] = {0x48, 0xc7, 0x40, 0x10, 0xff, 0xff, 0xff, 0xff}; /* mov qword [rax+10h], -1 */
    CHECK_EQ(x86emu_plain_store(rex_w, sizeof(rex_w), EMU_MODE_LONG64, gpr, &st), 8);
    CHECK_EQ(st.size, 8);
    CHECK_EQ(st.value, ~0ull);
    static const u8 rex_r[] = {0x44, 0x89, 0x00}; /* mov [rax], r8d */
    CHECK_EQ(x86emu_plain_store(rex_r, sizeof(rex_r), EMU_MODE_LONG64, gpr, &st), 3);
    CHECK_EQ(st.value, (u32)gpr[8]);
    CHECK_EQ(x86emu_plain_store(rex_r, sizeof(rex_r), EMU_MODE_PROT32, gpr, &st), 0); /* 44h is INC ESP there */
    static const u8 ah[] = {0x88, 0x20}, spl[] = {0x40, 0x88, 0x20}; /* mov [eax], ah / mov [rax], spl */
    CHECK_EQ(x86emu_plain_store(ah, sizeof(ah), EMU_MODE_PROT32, gpr, &st), 2);
    CHECK_EQ(st.size, 1);
    CHECK_EQ(st.value, (gpr[0] >> 8) & 0xff);
    CHECK_EQ(x86emu_plain_store(spl, sizeof(spl), EMU_MODE_LONG64, gpr, &st), 0); /* RSP's low byte */
    static const u8 esp[] = {0x89, 0x20}; /* mov [eax], esp */
    CHECK_EQ(x86emu_plain_store(esp, sizeof(esp), EMU_MODE_PROT32, gpr, &st), 0);
    static const u8 real16[] = {0x66, 0xc7, 0x06, 0xb0, 0x00, 0x78, 0x56, 0x34, 0x12}; /* mov dword [B0h], 12345678h */
    CHECK_EQ(x86emu_plain_store(real16, sizeof(real16), EMU_MODE_REAL, gpr, &st), 9);
    CHECK_EQ(st.size, 4);
    CHECK_EQ(st.value, 0x12345678);
    static const u8 word16[] = {0x89, 0x87, 0xb0, 0x00}; /* mov [bx+B0h], ax */
    CHECK_EQ(x86emu_plain_store(word16, sizeof(word16), EMU_MODE_PROT16, gpr, &st), 4);
    CHECK_EQ(st.size, 2);
    static const u8 moffs[] = {0xa3, 0xb0, 0x00, 0xe0, 0xfe}, moffs64[] = {0xa3, 1, 2, 3, 4, 5, 6, 7, 8};
    CHECK_EQ(x86emu_plain_store(moffs, sizeof(moffs), EMU_MODE_PROT32, gpr, &st), 5);
    CHECK_EQ(st.value, (u32)gpr[0]);
    CHECK_EQ(x86emu_plain_store(moffs64, sizeof(moffs64), EMU_MODE_LONG64, gpr, &st), 9);
    static const u8 seg[] = {0x64, 0x89, 0x18}; /* mov fs:[eax], ebx */
    CHECK_EQ(x86emu_plain_store(seg, sizeof(seg), EMU_MODE_PROT32, gpr, &st), 3);
    static const u8 lock[] = {0xf0, 0x89, 0x18}, rep[] = {0xf3, 0xab}, xchg[] = {0x87, 0x18}, load[] = {0x8b, 0x18};
    static const u8 reg_form[] = {0x89, 0xd8}, c7_not0[] = {0xc7, 0x48, 0x10, 0, 0, 0, 0}; /* mov eax, ebx; C7 /1 */
    CHECK_EQ(x86emu_plain_store(lock, sizeof(lock), EMU_MODE_PROT32, gpr, &st), 0);
    CHECK_EQ(x86emu_plain_store(rep, sizeof(rep), EMU_MODE_PROT32, gpr, &st), 0);
    CHECK_EQ(x86emu_plain_store(xchg, sizeof(xchg), EMU_MODE_PROT32, gpr, &st), 0);
    CHECK_EQ(x86emu_plain_store(load, sizeof(load), EMU_MODE_PROT32, gpr, &st), 0);
    CHECK_EQ(x86emu_plain_store(reg_form, sizeof(reg_form), EMU_MODE_PROT32, gpr, &st), 0);
    CHECK_EQ(x86emu_plain_store(c7_not0, sizeof(c7_not0), EMU_MODE_PROT32, gpr, &st), 0);
}

/* REPE CMPSB over a device stops at the first byte that differs, REPNE
 * SCASB at the first that matches (issue 12 item 13). */
TEST(emu_repe_cmpsb_and_repne_scasb)
{
    setup(EMU_MODE_PROT32, CODE(0xf3, 0xa6)); /* repe cmpsb: [esi] (the device) vs [edi] */
    dev_value = 0x41414141;                    /* "AAAA" */
    memcpy(ram + 0x3000, "AAAB", 4);
    cpu.gpr[6] = DEV_BASE;
    cpu.gpr[7] = 0x3000;
    cpu.gpr[1] = 8;
    CHECK_EQ(step(), EMU_OK);
    CHECK_EQ(cpu.gpr[1], 4);                   /* four compared, the fourth differed */
    CHECK_EQ(cpu.gpr[7], 0x3004);
    CHECK(!(cpu.rflags & (1 << 6)));           /* ZF clear */
    CHECK(cpu.rflags & 1);                     /* 'A' < 'B': CF */
    CHECK_EQ(cpu.rip, 0x1002);

    setup(EMU_MODE_PROT32, CODE(0xf2, 0xae)); /* repne scasb */
    memcpy(ram + 0x3000, "xyz!", 4);
    cpu.gpr[0] = '!';
    cpu.gpr[7] = 0x3000;
    cpu.gpr[1] = 100;
    CHECK_EQ(step(), EMU_OK);
    CHECK_EQ(cpu.gpr[1], 96);
    CHECK_EQ(cpu.gpr[7], 0x3004);
    CHECK(cpu.rflags & (1 << 6));              /* found: ZF set */
}
