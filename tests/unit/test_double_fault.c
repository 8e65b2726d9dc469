/* What a #DF's delivery meets (vmm/double_fault.c): the report of a
 * triple fault says where the delivery breaks, or that it would not. */
/* unit-sources: vmm/double_fault.c vmm/guest_walk.c vmm/format.c */
#include "unit.h"
#include "../../vmm/double_fault.h"
#include "../../vmm/guest_walk.h"
#include "../../vmm/x86.h"

static unsigned char mem[1 << 20];

static bool read_phys(void *ctx, u64 gpa, void *data, unsigned size)
{
    (void)ctx;
    if (gpa + size > sizeof(mem))
        return false;
    memcpy(data, mem + gpa, size);
    return true;
}

/* The CPU's own accesses, as Zazen makes them: a supervisor walk, then
 * the bytes (a write only asks). */
static bool access(void *ctx, u64 linear, void *data, unsigned size, bool write)
{
    const struct vcpu_sregs *s = ctx;
    struct guest_paging p = {s->cr0, s->cr3, s->cr4, s->efer, 0, read_phys, NULL};
    for (unsigned i = 0; i < size; i++) {
        u64 gpa;
        struct x86emu_fault f;
        if (!guest_walk(&p, linear + i, write ? EMU_WRITE : EMU_READ, &gpa, &f) || gpa >= sizeof(mem))
            return false;
        if (data)
            ((unsigned char *)data)[i] = mem[gpa];
    }
    return true;
}

static void put64(u64 addr, u64 v) { memcpy(mem + addr, &v, 8); }

#define IDT 0x10000
#define GDT 0x11000
#define TSS 0x12000
#define IST_STACK 0x21000 /* top of the page at 0x20000 */

/* Long mode: the first MiB identity-mapped in 4 KiB pages, writable; a
 * 64-bit interrupt gate for #DF to 0010:ffffffff81000123 with IST 1, a
 * 64-bit code segment at 10h, IST1 in the TSS. */
static struct vcpu_sregs long_mode(void)
{
    memset(mem, 0, sizeof(mem));
    put64(0x1000, 0x2000 | PTE_P | PTE_W);
    put64(0x2000, 0x3000 | PTE_P | PTE_W);
    put64(0x3000, 0x4000 | PTE_P | PTE_W);
    for (u64 i = 0; i < 256; i++)
        put64(0x4000 + i * 8, (i << 12) | PTE_P | PTE_W);
    u64 handler = 0xffffffff81000123ull;
    u64 lo = (handler & 0xffff) | (0x10ull << 16) | (1ull << 32) | (0xeull << 40) | (1ull << 47) |
             (((handler >> 16) & 0xffff) << 48);
    put64(IDT + 8 * 16, lo);
    put64(IDT + 8 * 16 + 8, handler >> 32);
    put64(GDT + 0x10, 0x00209a0000000000ull); /* present, DPL 0, code, L */
    put64(TSS + 0x24, IST_STACK);
    struct vcpu_sregs s = {0};
    s.cr0 = CR0_PE | CR0_PG | CR0_WP;
    s.cr3 = 0x1000;
    s.cr4 = CR4_PAE;
    s.efer = EFER_LME | EFER_LMA;
    s.idtr = (struct descriptor_table){IDT, 256 * 16 - 1};
    s.gdtr = (struct descriptor_table){GDT, 0x2f};
    s.seg[SEG_TR].base = TSS;
    return s;
}

static char why[160];

TEST(df_real_mode_ivt_limit_blocks)
{
    struct vcpu_sregs s = {0};
    s.idtr = (struct descriptor_table){0, 0};
    CHECK_EQ(double_fault_check(&s, 0x7000, access, &s, why, sizeof(why)), DF_BLOCKED);
    CHECK(!strcmp(why, "the IVT's limit 0x0 ends before vector 8's entry"));
    s.idtr.limit = 0x3ff;
    put64(8 * 4, 0xf000ff53);
    CHECK_EQ(double_fault_check(&s, 0x7000, access, &s, why, sizeof(why)), DF_DELIVERABLE);
    CHECK(!strcmp(why, "vector 8's IVT entry leads to f000:ff53"));
}

TEST(df_long_mode_ist_stack_deliverable)
{
    struct vcpu_sregs s = long_mode();
    /* RSP is not used with an IST: unmapped here, still deliverable */
    CHECK_EQ(double_fault_check(&s, 0x7fff00000000ull, access, &s, why, sizeof(why)), DF_DELIVERABLE);
    CHECK(!strcmp(why, "vector 8's gate leads to 0010:ffffffff81000123 with its frame at 0x20fd0"));
}

TEST(df_long_mode_stack_not_mapped_blocks)
{
    struct vcpu_sregs s = long_mode();
    put64(0x4000 + 0x20 * 8, 0); /* the IST stack's page */
    CHECK_EQ(double_fault_check(&s, 0, access, &s, why, sizeof(why)), DF_BLOCKED);
    CHECK(!strcmp(why, "the stack it pushes to, 0x20fd0, is not mapped writable"));
    /* no IST: the current RSP, aligned down to 16, takes the frame */
    put64(IDT + 8 * 16, 0x00008e0000100123ull);
    CHECK_EQ(double_fault_check(&s, 0x30008, access, &s, why, sizeof(why)), DF_DELIVERABLE);
    CHECK(!strcmp(why, "vector 8's gate leads to 0010:ffffffff00000123 with its frame at 0x2ffd0"));
}

TEST(df_long_mode_gate_and_segment_faults_block)
{
    struct vcpu_sregs s = long_mode();
    s.idtr.limit = 8 * 16 + 14;
    CHECK_EQ(double_fault_check(&s, 0, access, &s, why, sizeof(why)), DF_BLOCKED);
    CHECK(!strcmp(why, "the IDT's limit 0x8e ends before vector 8's gate"));
    s = long_mode();
    mem[IDT + 8 * 16 + 5] &= 0x7f; /* P clear */
    CHECK_EQ(double_fault_check(&s, 0, access, &s, why, sizeof(why)), DF_BLOCKED);
    CHECK(!strcmp(why, "vector 8's gate is not present"));
    s = long_mode();
    put64(GDT + 0x10, 0x00cf9a000000ffffull); /* a 32-bit code segment */
    CHECK_EQ(double_fault_check(&s, 0, access, &s, why, sizeof(why)), DF_BLOCKED);
    CHECK(!strcmp(why, "selector 0x10 is not a 64-bit code segment"));
    s = long_mode();
    put64(0x4000 + 0x12 * 8, 0); /* the TSS's page */
    CHECK_EQ(double_fault_check(&s, 0, access, &s, why, sizeof(why)), DF_BLOCKED);
    CHECK(!strcmp(why, "the TSS's stack pointer at 0x12024 is not mapped"));
}

TEST(df_protected_mode_same_ring_and_ring_change)
{
    memset(mem, 0, sizeof(mem));
    put64(IDT + 8 * 8, 0x00008e0000081234ull); /* 32-bit interrupt gate to 0008:00001234 */
    put64(GDT + 8, 0x00cf9a000000ffffull);     /* flat ring-0 code */
    struct vcpu_sregs s = {0};
    s.cr0 = CR0_PE;
    s.idtr = (struct descriptor_table){IDT, 0x7ff};
    s.gdtr = (struct descriptor_table){GDT, 0x17};
    CHECK_EQ(double_fault_check(&s, 0x9000, access, &s, why, sizeof(why)), DF_DELIVERABLE);
    CHECK(!strcmp(why, "vector 8's gate leads to 0008:1234 with its frame at 0x8ff0"));
    s.cpl = 3;
    CHECK_EQ(double_fault_check(&s, 0x9000, access, &s, why, sizeof(why)), DF_UNCHECKED);
    put64(IDT + 8 * 8, 0x0000850000280000ull); /* a task gate */
    CHECK_EQ(double_fault_check(&s, 0x9000, access, &s, why, sizeof(why)), DF_UNCHECKED);
    CHECK(!strcmp(why, "vector 8 is a task gate"));
}
