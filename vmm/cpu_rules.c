/* See cpu_rules.h. */
#include "cpu_rules.h"
#include "x86.h"

/* CPUID bits (SDM 2A CPUID, Tables 3-10/3-11 and leaf 07H; APM 3 E.4). */
#define L1_EDX_VME BIT(1)
#define L1_EDX_DE BIT(2)
#define L1_EDX_PSE BIT(3)
#define L1_EDX_TSC BIT(4)
#define L1_EDX_PAE BIT(6)
#define L1_EDX_MCE BIT(7)
#define L1_EDX_PGE BIT(13)
#define L1_EDX_FXSR BIT(24)
#define L1_EDX_SSE BIT(25)
#define L1_ECX_VMX BIT(5)
#define L1_ECX_SMX BIT(6)
#define L1_ECX_PCID BIT(17)
#define L1_ECX_XSAVE BIT(26)
#define L7_EBX_FSGSBASE BIT(0)
#define L7_EBX_SMEP BIT(7)
#define L7_EBX_SMAP BIT(20)
#define L7_ECX_UMIP BIT(2)
#define L7_ECX_PKU BIT(3)
#define L7_ECX_LA57 BIT(16)
#define EXT1_EDX_SYSCALL BIT(11)
#define EXT1_EDX_NX BIT(20)
#define EXT1_EDX_FFXSR BIT(25) /* AMD only; reserved (0) on Intel */
#define EXT1_EDX_LM BIT(29)

u64 efer_writable_bits(const struct guest_features *f)
{
    u64 bits = 0;
    if (f->ext1_edx & EXT1_EDX_SYSCALL)
        bits |= EFER_SCE;
    if (f->ext1_edx & EXT1_EDX_LM)
        bits |= EFER_LME | EFER_LMA;
    if (f->ext1_edx & EXT1_EDX_NX)
        bits |= EFER_NXE;
    if (f->ext1_edx & EXT1_EDX_FFXSR)
        bits |= EFER_FFXSR;
    return bits;
}

bool efer_write_faults(u64 old, u64 value, u64 cr0, const struct guest_features *f)
{
    if (value & ~efer_writable_bits(f))
        return true;
    return (cr0 & CR0_PG) && ((old ^ value) & EFER_LME);
}

bool pat_valid(u64 pat)
{
    for (unsigned i = 0; i < 8; i++) {
        u8 type = (u8)(pat >> (8 * i));
        if (type > 7 || type == 2 || type == 3)
            return false;
    }
    return true;
}

/* Each CR4 feature bit and the CPUID bit that offers it; a bit whose
 * feature is not offered is reserved. */
struct cr4_feature {
    u64 cr4_bit;
    u8 reg; /* 0: leaf 1 EDX, 1: leaf 1 ECX, 2: leaf 7 EBX, 3: leaf 7 ECX */
    u32 cpuid_bit;
};

static const struct cr4_feature cr4_features[] = {
    {CR4_VME, 0, L1_EDX_VME},       {CR4_PVI, 0, L1_EDX_VME},         {CR4_TSD, 0, L1_EDX_TSC},
    {CR4_DE, 0, L1_EDX_DE},         {CR4_PSE, 0, L1_EDX_PSE},         {CR4_PAE, 0, L1_EDX_PAE},
    {CR4_MCE, 0, L1_EDX_MCE},       {CR4_PGE, 0, L1_EDX_PGE},         {CR4_OSFXSR, 0, L1_EDX_FXSR},
    {CR4_OSXMMEXCPT, 0, L1_EDX_SSE}, {CR4_UMIP, 3, L7_ECX_UMIP},      {CR4_LA57, 3, L7_ECX_LA57},
    {CR4_VMXE, 1, L1_ECX_VMX},      {CR4_SMXE, 1, L1_ECX_SMX},        {CR4_FSGSBASE, 2, L7_EBX_FSGSBASE},
    {CR4_PCIDE, 1, L1_ECX_PCID},    {CR4_OSXSAVE, 1, L1_ECX_XSAVE},   {CR4_SMEP, 2, L7_EBX_SMEP},
    {CR4_SMAP, 2, L7_EBX_SMAP},     {CR4_PKE, 3, L7_ECX_PKU},
};

u64 cr4_reserved_bits(const struct guest_features *f)
{
    const u32 regs[4] = {f->leaf1_edx, f->leaf1_ecx, f->leaf7_ebx, f->leaf7_ecx};
    u64 defined = CR4_PCE; /* performance-counter enable: RDPMC at CPL > 0, always there */
    for (unsigned i = 0; i < ARRAY_SIZE(cr4_features); i++)
        if (regs[cr4_features[i].reg] & cr4_features[i].cpuid_bit)
            defined |= cr4_features[i].cr4_bit;
    return ~defined;
}

bool xcr0_valid(u64 value, u64 supported)
{
    if (!(value & XCR0_X87) || (value & ~supported))
        return false;
    return !(value & XCR0_AVX) || (value & XCR0_SSE);
}

#define PENDING_ENABLED_BREAKPOINT BIT(12)

u64 dr6_after_debug_exception(u64 dr6, u64 pending)
{
    dr6 &= ~(DR6_B0_B3 | PENDING_ENABLED_BREAKPOINT);
    dr6 |= DR6_RESET; /* the bits that read as 1, RTM (inactive) among them */
    dr6 |= pending & (DR6_B0_B3 | DR6_BD | DR6_BS | DR6_BT);
    if (pending & DR6_RTM)
        dr6 &= ~DR6_RTM;
    return dr6 & 0xffffffffull; /* bits 63:32 are reserved (0) */
}

static bool legacy_prefix(u8 b)
{
    switch (b) {
    case 0x26: case 0x2e: case 0x36: case 0x3e: case 0x64: case 0x65: /* segments */
    case 0x66: case 0x67: case 0xf2: case 0xf3: case 0xf0:             /* sizes, REP, LOCK */
        return true;
    default:
        return false;
    }
}

bool decode_mov_to_cr(const u8 *code, unsigned len, bool long_mode, u8 *cr, u8 *gpr, u8 *insn_len)
{
    unsigned i = 0, cr_add = 0;
    u8 rex = 0;
    if (len > 15)
        len = 15; /* the longest instruction (SDM 2A 2.3.11) */
    for (; i < len && legacy_prefix(code[i]); i++)
        if (code[i] == 0xf0)
            cr_add = 8;
    if (long_mode && i < len && (code[i] & 0xf0) == 0x40)
        rex = code[i++]; /* REX counts only right before the opcode */
    if (i + 3 > len || code[i] != 0x0f || code[i + 1] != 0x22)
        return false;
    u8 modrm = code[i + 2];
    *cr = (u8)(((modrm >> 3) & 7) + ((rex & 4) ? 8 : 0) + cr_add);
    *gpr = (u8)((modrm & 7) + ((rex & 1) ? 8 : 0));
    *insn_len = (u8)(i + 3);
    return true;
}
