/* A decoder and emulator for the instructions guests use on MMIO and for
 * string port I/O, in real, protected and long mode (SDM Vol. 2).
 * Pure: it sees the guest only through a register file and callbacks for
 * linear memory and ports, so host unit tests drive it with byte strings. */
#ifndef ZAZEN_X86EMU_H
#define ZAZEN_X86EMU_H

#include "types.h"

enum x86emu_mode {
    EMU_MODE_REAL,   /* real mode and virtual-8086 */
    EMU_MODE_PROT16, /* protected or compatibility mode, CS.D = 0 */
    EMU_MODE_PROT32, /* protected or compatibility mode, CS.D = 1 */
    EMU_MODE_LONG64, /* 64-bit mode: EFER.LMA and CS.L */
};

/* Segment registers in encoding order (SDM 2A 3.1.1.3 Sreg). */
enum { EMU_ES, EMU_CS, EMU_SS, EMU_DS, EMU_FS, EMU_GS };

struct x86emu_cpu {
    u64 gpr[16]; /* rax rcx rdx rbx rsp rbp rsi rdi r8..r15 (enum gpr) */
    u64 rip;
    u64 rflags;
    u64 seg_base[6];
    enum x86emu_mode mode;
};

enum x86emu_access { EMU_READ, EMU_WRITE, EMU_FETCH };

struct x86emu_fault {
    u8 vector;
    bool has_error;
    u32 error;
    u64 cr2; /* the faulting linear address of a #PF */
};

struct x86emu_ops {
    /* Reads or writes size bytes at a linear address. Returns false with
     * *fault set if the access faults (a guest #PF, usually). */
    bool (*mem)(void *ctx, u64 linear, void *data, unsigned size, enum x86emu_access access,
                struct x86emu_fault *fault);
    u32 (*io_in)(void *ctx, u16 port, u8 size);
    void (*io_out)(void *ctx, u16 port, u8 size, u32 value);
    /* count accesses to one port, packed in buf (REP INS/OUTS in bulk).
     * Optional: without them each access goes through io_in/io_out. */
    void (*io_in_rep)(void *ctx, u16 port, u8 size, void *buf, u32 count);
    void (*io_out_rep)(void *ctx, u16 port, u8 size, const void *buf, u32 count);
};

enum x86emu_status {
    EMU_OK,          /* executed; rip advanced (or left for a REP restart) */
    EMU_FAULT,       /* deliver *fault to the guest; state unchanged */
    EMU_UNSUPPORTED, /* an instruction this emulator does not know */
};

/* Executes the instruction at CS:RIP. On EMU_UNSUPPORTED, why says which. */
enum x86emu_status x86emu_step(struct x86emu_cpu *cpu, const struct x86emu_ops *ops, void *ctx,
                               struct x86emu_fault *fault, char *why, size_t why_size);

/* The length of an instruction that exits without operands in memory
 * (HLT, CPUID, RDMSR, WRMSR, RDTSC, INVD, WBINVD, PAUSE, INT1, IN, OUT,
 * INS, OUTS, the 0F 01 register forms such as VMMCALL and XSETBV), with
 * its prefixes and REX (SDM 2A 2.1); 0 for anything else or if avail
 * bytes do not hold it. */
unsigned x86emu_exit_insn_length(const u8 *code, unsigned avail, enum x86emu_mode mode);

/* A plain MOV to memory (88, 89, C6 /0, C7 /0, A2, A3; segment, operand
 * and address-size prefixes, REX), whose one data write an exit already
 * located (the guest-physical address of an EPT violation or nested page
 * fault): its length, with the size and value it stores. 0 for any other
 * instruction (LOCK or REP prefixed, read-modify-write, string...), for a
 * store of RSP (whose value a fast exit does not read), or if avail bytes
 * do not hold it. gpr: the general registers (enum gpr order). */
struct x86emu_store {
    u8 size; /* 1, 2, 4 or 8 */
    /* Where the value comes from: a general register (enum gpr order; 16
     * and up: AH, CH, DH, BH), or X86EMU_STORE_IMM: the instruction. */
    u8 source;
    u64 value;
};
#define X86EMU_STORE_IMM 0xff
unsigned x86emu_plain_store(const u8 *code, unsigned avail, enum x86emu_mode mode, const u64 *gpr,
                            struct x86emu_store *out);
/* The value such a store writes with these registers: the same
 * instruction again, its decoding kept (mmio_fast_decode). */
u64 x86emu_store_value(const struct x86emu_store *st, const u64 *gpr);

/* REP string instructions stop after this many iterations and leave RIP
 * on the instruction, so a long copy resumes on the next exit (as the CPU
 * does when interrupted, SDM 2B REP). */
#define X86EMU_MAX_REP 4096

#endif
