/* unit-sources: vmm/cpu_rules.c */
/* The architectural checks a guest's EFER, PAT, CR4 and XCR0 writes go
 * through, and DR6 after a debug exception. */
#include "unit.h"
#include "../../vmm/cpu_rules.h"
#include "../../vmm/x86.h"

/* An AMD-like guest: SYSCALL, NX, LM, FFXSR; XSAVE and PCID as given. */
static struct guest_features features(bool xsave, bool pcid)
{
    return (struct guest_features){
        .leaf1_edx = 0x07cbfbff, /* FPU..SSE2 as Zazen keeps them */
        .leaf1_ecx = (xsave ? 1u << 26 : 0) | (pcid ? 1u << 17 : 0),
        .leaf7_ebx = 1u << 0 | 1u << 7, /* FSGSBASE, SMEP */
        .ext1_edx = 1u << 11 | 1u << 20 | 1u << 25 | 1u << 29,
        .xcr0_supported = xsave ? 7 : 0,
    };
}

TEST(efer_reserved_and_hidden_bits_fault)
{
    struct guest_features f = features(false, false);
    CHECK(!efer_write_faults(0, EFER_SCE | EFER_LME | EFER_NXE, 0, &f));
    CHECK(efer_write_faults(0, EFER_SVME, 0, &f));       /* SVM is hidden */
    CHECK(efer_write_faults(0, EFER_TCE, 0, &f));
    CHECK(efer_write_faults(0, EFER_LMSLE, 0, &f));
    CHECK(efer_write_faults(0, BIT(2), 0, &f));          /* reserved */
    CHECK(efer_write_faults(0, BIT(32), 0, &f));
    CHECK(!efer_write_faults(0, EFER_FFXSR, 0, &f));     /* offered by 8000_0001h EDX[25] */
    f.ext1_edx &= ~(1u << 25);
    CHECK(efer_write_faults(0, EFER_FFXSR, 0, &f));
}

TEST(efer_lme_is_fixed_while_paging)
{
    struct guest_features f = features(false, false);
    u64 lm = EFER_LME | EFER_LMA;
    CHECK(efer_write_faults(lm, 0, CR0_PG | CR0_PE, &f));          /* leaving LME with paging on */
    CHECK(efer_write_faults(0, EFER_LME, CR0_PG | CR0_PE, &f));    /* entering it likewise */
    CHECK(!efer_write_faults(lm, lm | EFER_NXE, CR0_PG | CR0_PE, &f));
    CHECK(!efer_write_faults(lm, EFER_LME | EFER_NXE, CR0_PG | CR0_PE, &f)); /* LMA is the CPU's */
    CHECK(!efer_write_faults(0, EFER_LME, CR0_PE, &f));
}

TEST(pat_types)
{
    CHECK(pat_valid(0x0007040600070406ull)); /* the power-on value */
    CHECK(pat_valid(0x0101010101010101ull));
    CHECK(!pat_valid(0x0007040600070402ull)); /* type 2 is reserved */
    CHECK(!pat_valid(0x0307040600070406ull)); /* type 3 too */
    CHECK(!pat_valid(0x0007040600070408ull)); /* bits 7:3 of an entry */
    CHECK(!pat_valid(0x8007040600070406ull));
}

TEST(cr4_reserved_follows_cpuid)
{
    struct guest_features f = features(false, false);
    u64 r = cr4_reserved_bits(&f);
    CHECK(!(r & (CR4_PAE | CR4_PGE | CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_PSE | CR4_DE | CR4_PCE)));
    CHECK(!(r & (CR4_FSGSBASE | CR4_SMEP)));
    CHECK(r & CR4_OSXSAVE);  /* no XSAVE offered */
    CHECK(r & CR4_PCIDE);
    CHECK(r & CR4_VMXE);
    CHECK(r & CR4_SMAP);
    CHECK(r & CR4_PKE);
    CHECK(r & CR4_LA57);
    CHECK(r & BIT(15));      /* architecturally reserved */
    CHECK(r & BIT(32));
    f = features(true, true);
    r = cr4_reserved_bits(&f);
    CHECK(!(r & (CR4_OSXSAVE | CR4_PCIDE)));
}

TEST(xcr0_values)
{
    CHECK(xcr0_valid(1, 7));
    CHECK(xcr0_valid(3, 7));
    CHECK(xcr0_valid(7, 7));
    CHECK(!xcr0_valid(0, 7));  /* x87 must stay */
    CHECK(!xcr0_valid(6, 7));
    CHECK(!xcr0_valid(5, 7));  /* AVX without SSE */
    CHECK(!xcr0_valid(7, 3));  /* AVX not supported */
    CHECK(!xcr0_valid(0x207, 7));
}

TEST(dr6_from_a_debug_exception)
{
    /* DR6 cleared by the handler (reads FFFF0FF0), then a single step */
    CHECK_EQ(dr6_after_debug_exception(DR6_RESET, DR6_BS), 0xffff4ff0);
    /* an instruction breakpoint on DR0 replaces an old B1; BS stays */
    CHECK_EQ(dr6_after_debug_exception(0xffff4ff2, 1), 0xffff4ff1);
    /* VT-x's pending form: bit 12 "enabled breakpoint" is not DR6's */
    CHECK_EQ(dr6_after_debug_exception(DR6_RESET, BIT(12) | 2), 0xffff0ff2);
    /* RTM is active high in the exit qualification, active low in DR6 */
    CHECK_EQ(dr6_after_debug_exception(DR6_RESET, DR6_RTM | DR6_BD), 0xfffe2ff0);
    /* from a DR6 of 0 as written before VT-x saw it: the fixed bits read 1 */
    CHECK_EQ(dr6_after_debug_exception(0, 4), 0xffff0ff4);
}

TEST(mov_to_cr_decoded)
{
    u8 cr, gpr, len;
    static const u8 rax[] = {0x44, 0x0f, 0x22, 0xc0};          /* mov cr8, rax */
    CHECK(decode_mov_to_cr(rax, sizeof(rax), true, &cr, &gpr, &len));
    CHECK_EQ(cr, 8);
    CHECK_EQ(gpr, 0);
    CHECK_EQ(len, 4);
    static const u8 r9[] = {0x2e, 0x4d, 0x0f, 0x22, 0xc1, 0x90}; /* cs mov cr8, r9 */
    CHECK(decode_mov_to_cr(r9, sizeof(r9), true, &cr, &gpr, &len));
    CHECK_EQ(cr, 8);
    CHECK_EQ(gpr, 9);
    CHECK_EQ(len, 5);
    static const u8 lock[] = {0xf0, 0x0f, 0x22, 0xc3};         /* AMD: lock mov cr0, ebx = CR8 */
    CHECK(decode_mov_to_cr(lock, sizeof(lock), false, &cr, &gpr, &len));
    CHECK_EQ(cr, 8);
    CHECK_EQ(gpr, 3);
    static const u8 cr4[] = {0x0f, 0x22, 0xe0};                /* mov cr4, rax */
    CHECK(decode_mov_to_cr(cr4, sizeof(cr4), true, &cr, &gpr, &len));
    CHECK_EQ(cr, 4);
    CHECK_EQ(gpr, 0);
    CHECK_EQ(len, 3);
    static const u8 cr4_16[] = {0x66, 0x0f, 0x22, 0xe3};       /* an operand-size prefix is ignored */
    CHECK(decode_mov_to_cr(cr4_16, sizeof(cr4_16), false, &cr, &gpr, &len));
    CHECK_EQ(cr, 4);
    CHECK_EQ(gpr, 3);
    CHECK_EQ(len, 4);
    /* 32-bit code: 44 is INC ESP, not a REX prefix */
    CHECK(!decode_mov_to_cr(rax, sizeof(rax), false, &cr, &gpr, &len));
    CHECK(!decode_mov_to_cr(rax, 3, true, &cr, &gpr, &len));   /* cut short */
    static const u8 mov_from[] = {0x0f, 0x20, 0xe0};           /* mov rax, cr4 */
    CHECK(!decode_mov_to_cr(mov_from, sizeof(mov_from), true, &cr, &gpr, &len));
}
