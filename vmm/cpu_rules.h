/* Architectural rules a guest's writes are checked against, as the CPU
 * checks them: which EFER, PAT, CR4 and XCR0 values fault (#GP) instead of
 * reaching a VMCS/VMCB field where they would make VM entry fail, and how
 * a debug exception updates DR6. Pure (no CPU access), so host unit tests
 * drive them (tests/unit/test_cpu_rules.c). */
#ifndef ZAZEN_CPU_RULES_H
#define ZAZEN_CPU_RULES_H

#include "types.h"

/* The guest's CPUID bits the rules depend on (what vmm/cpuid.c shows it). */
struct guest_features {
    u32 leaf1_ecx, leaf1_edx;  /* CPUID 1 */
    u32 leaf7_ebx, leaf7_ecx;  /* CPUID 7.0 */
    u32 ext1_ecx, ext1_edx;    /* CPUID 8000_0001h */
    u64 xcr0_supported;        /* CPUID 0Dh.0 EDX:EAX */
};

/* EFER bits a WRMSR may set: SCE, LME/LMA, NXE, FFXSR only where CPUID
 * offers them; SVME, LMSLE, TCE and the reserved bits fault (SDM 4 Table
 * 2-2 IA32_EFER; APM 2 3.1.7). */
u64 efer_writable_bits(const struct guest_features *f);
/* Would WRMSR to EFER fault? old and cr0 are the guest's present values:
 * reserved bits, and changing LME while paging is on (SDM 3A 9.8.5; APM 2
 * 14.6.1). LMA is read-only: a write that differs there is not a fault,
 * the CPU keeps its own value. */
bool efer_write_faults(u64 old, u64 value, u64 cr0, const struct guest_features *f);

/* IA32_PAT: eight entries, each a memory type 0, 1, 4, 5, 6 or 7 in bits
 * 2:0 with bits 7:3 zero; anything else faults (SDM 3A 12.12.2). */
bool pat_valid(u64 pat);

/* CR4 bits reserved for this guest: the architecturally reserved ones and
 * those of features its CPUID does not offer (SDM 3A 2.5; MOV to CR4
 * faults on them, SDM 2B MOV CR). */
u64 cr4_reserved_bits(const struct guest_features *f);

/* XSETBV with ECX = 0: faults unless bit 0 (x87) is set, AVX comes with
 * SSE, and only supported components are named (SDM 2C XSETBV; SDM 1
 * 13.3). */
bool xcr0_valid(u64 value, u64 supported);

/* DR6 as a debug exception leaves it (SDM 3B 18.2.3): B0-B3 say which
 * breakpoint conditions were met this time (the CPU may clear the old
 * ones), BD/BS/BT accumulate, bit 16 (RTM) is active low. `pending` is in
 * the form of VT-x's exit qualification and pending-debug-exceptions
 * field (SDM 3C 27.2.1 Table 27-1, 25.4.2): B0-B3 in 3:0, BD 13, BS 14,
 * RTM 16 active high, and bit 12 ("enabled breakpoint"), which DR6 does
 * not have. */
u64 dr6_after_debug_exception(u64 dr6, u64 pending);

/* A MOV to a control register at code[0..len): which one, its source
 * register and its length, for an exit that does not say (AMD-V without
 * decode assists). 0F 22 /r, REX.R adding 8 to the CR number in 64-bit
 * mode and AMD's LOCK prefix adding 8 too (CR8 from 32-bit code, APM 3
 * MOV CRn); legacy prefixes may come first; ModRM.mod is ignored (SDM 2B
 * MOV CR). False: not a MOV to a control register. */
bool decode_mov_to_cr(const u8 *code, unsigned len, bool long_mode, u8 *cr, u8 *gpr, u8 *insn_len);

#endif