/* See x86emu.h. Decoding follows SDM Vol. 2A chapter 2 (instruction
 * format: prefixes, REX, opcode, ModR/M, SIB, displacement, immediate);
 * flag results follow the instruction pages of Vol. 2A/2B.
 *
 * Supported: MOV (88-8B, C6, C7, A0-A3), MOVZX/MOVSX (0F B6/B7/BE/BF),
 * MOVSXD (63 in 64-bit mode), ADD/OR/ADC/SBB/AND/SUB/XOR/CMP (00-3B, 80,
 * 81, 83), TEST (84, 85, F6/F7 /0), NOT/NEG (F6/F7 /2 /3), INC/DEC (FE/FF
 * /0 /1), XCHG (86, 87), XADD (0F C0/C1), CMPXCHG (0F B0/B1), BT/BTS/BTR/
 * BTC (0F A3/AB/B3/BB, 0F BA /4-7), MOVS, STOS, LODS, INS, OUTS (with REP).
 * Not checked: segment limits and access rights (guests that touch MMIO
 * use flat or real-mode segments). */
#include "x86emu.h"
#include "format.h"
#include "string.h"

#define FLAG_CF BIT(0)
#define FLAG_PF BIT(2)
#define FLAG_AF BIT(4)
#define FLAG_ZF BIT(6)
#define FLAG_SF BIT(7)
#define FLAG_DF BIT(10)
#define FLAG_OF BIT(11)
#define ARITH_FLAGS (FLAG_CF | FLAG_PF | FLAG_AF | FLAG_ZF | FLAG_SF | FLAG_OF)

#define REG_RAX 0
#define REG_RCX 1
#define REG_RDX 2
#define REG_RSP 4
#define REG_RBP 5
#define REG_RSI 6
#define REG_RDI 7

#define MAX_INSN_LEN 15
#define VECTOR_UD 6
#define VECTOR_GP 13

struct emu {
    struct x86emu_cpu *cpu;
    const struct x86emu_ops *ops;
    void *ctx;
    struct x86emu_fault *fault;
    char *why;
    size_t why_size;
    /* instruction bytes: len consumed by the decoder, fetched read ahead */
    u8 bytes[MAX_INSN_LEN];
    unsigned len, fetched;
    /* prefixes */
    bool opsize_prefix, addrsize_prefix, lock;
    u8 rep; /* 0, 0xf2 or 0xf3 */
    int seg_override; /* -1: none */
    u8 rex;
    /* decoded */
    unsigned op_size, addr_size;
    u8 opcode;
    bool two_byte;
    u8 mod, reg, rm;
    bool mem_operand;
    int mem_seg;
    u64 mem_offset;
    bool rip_relative;
};

static u64 size_mask(unsigned size) { return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1; }
static u64 sign_bit(unsigned size) { return 1ull << (size * 8 - 1); }
static u64 sign_extend(u64 v, unsigned size) { return size >= 8 ? v : (v ^ sign_bit(size)) - sign_bit(size); }
static bool long_mode(const struct emu *e) { return e->cpu->mode == EMU_MODE_LONG64; }

static enum x86emu_status unsupported(struct emu *e, const char *what)
{
    snprintf(e->why, e->why_size, "%s (bytes", what);
    size_t n = strlen(e->why);
    for (unsigned i = 0; i < e->len && n + 4 < e->why_size; i++, n += 3)
        snprintf(e->why + n, e->why_size - n, " %02x", e->bytes[i]);
    if (n + 2 < e->why_size)
        strlcpy(e->why + n, ")", e->why_size - n);
    return EMU_UNSUPPORTED;
}

static enum x86emu_status raise(struct emu *e, u8 vector, bool has_error, u32 error)
{
    *e->fault = (struct x86emu_fault){vector, has_error, error, 0};
    return EMU_FAULT;
}

/* ---- linear addresses and memory ---- */

static u64 ip_mask(const struct emu *e)
{
    return e->cpu->mode == EMU_MODE_LONG64 ? ~0ull : e->cpu->mode == EMU_MODE_PROT32 ? 0xffffffffull : 0xffffull;
}

static u64 linear(const struct emu *e, int seg, u64 offset)
{
    if (long_mode(e))
        return (seg == EMU_FS || seg == EMU_GS ? e->cpu->seg_base[seg] : 0) + offset;
    return (e->cpu->seg_base[seg] + offset) & 0xffffffffull;
}

static bool mem_access(struct emu *e, int seg, u64 offset, void *data, unsigned size, enum x86emu_access acc)
{
    return e->ops->mem(e->ctx, linear(e, seg, offset), data, size, acc, e->fault);
}

static bool mem_read(struct emu *e, int seg, u64 offset, unsigned size, u64 *value)
{
    u64 v = 0;
    if (!mem_access(e, seg, offset, &v, size, EMU_READ))
        return false;
    *value = v & size_mask(size);
    return true;
}

static bool mem_write(struct emu *e, int seg, u64 offset, unsigned size, u64 value)
{
    return mem_access(e, seg, offset, &value, size, EMU_WRITE);
}

/* ---- instruction fetch ---- */

/* The bytes of an instruction come in at most two reads, one per page it
 * touches: each read takes the rest of the 15 bytes an instruction may
 * have (SDM 2A 2.3.11) up to the end of its page. So a byte past the page
 * is only fetched, and can only fault, when the decoder needs it, as on a
 * CPU; each read costs a guest page walk, hence not one per byte. */
static bool fetch_more(struct emu *e)
{
    u64 ip = (e->cpu->rip + e->fetched) & ip_mask(e);
    u64 lin = linear(e, EMU_CS, ip);
    unsigned n = MIN(MAX_INSN_LEN - e->fetched, (unsigned)(0x1000 - (lin & 0xfff)));
    if (!long_mode(e)) /* nor past the wrap of a 16- or 32-bit IP */
        n = (unsigned)MIN((u64)n, ip_mask(e) - ip + 1);
    if (!mem_access(e, EMU_CS, ip, &e->bytes[e->fetched], n, EMU_FETCH))
        return false;
    e->fetched += n;
    return true;
}

static bool fetch_u8(struct emu *e, u8 *out)
{
    if (e->len == MAX_INSN_LEN) {
        raise(e, VECTOR_GP, true, 0); /* longer than 15 bytes (SDM 2A 2.3.11) */
        return false;
    }
    if (e->len == e->fetched && !fetch_more(e))
        return false;
    *out = e->bytes[e->len++];
    return true;
}

static bool fetch_imm(struct emu *e, unsigned size, u64 *out)
{
    u64 v = 0;
    for (unsigned i = 0; i < size; i++) {
        u8 b;
        if (!fetch_u8(e, &b))
            return false;
        v |= (u64)b << (8 * i);
    }
    *out = v;
    return true;
}

/* ---- registers ---- */

static u64 reg_read(const struct emu *e, unsigned reg, unsigned size)
{
    /* Without REX, byte registers 4-7 are AH CH DH BH (SDM 2A 3.1.1.1). */
    if (size == 1 && !e->rex && reg >= 4 && reg < 8)
        return (e->cpu->gpr[reg - 4] >> 8) & 0xff;
    return e->cpu->gpr[reg] & size_mask(size);
}

static void reg_write(struct emu *e, unsigned reg, unsigned size, u64 value)
{
    u64 *r;
    if (size == 1 && !e->rex && reg >= 4 && reg < 8) {
        r = &e->cpu->gpr[reg - 4];
        *r = (*r & ~0xff00ull) | ((value & 0xff) << 8);
        return;
    }
    r = &e->cpu->gpr[reg];
    if (size == 4)
        *r = value & 0xffffffffull; /* 32-bit results zero-extend (SDM 1 3.4.1.1) */
    else if (size == 8)
        *r = value;
    else
        *r = (*r & ~size_mask(size)) | (value & size_mask(size));
}

/* ---- prefixes, ModR/M, SIB ---- */

static bool decode_prefixes(struct emu *e)
{
    for (;;) {
        u8 b;
        if (!fetch_u8(e, &b))
            return false;
        switch (b) {
        case 0x66: e->opsize_prefix = true; continue;
        case 0x67: e->addrsize_prefix = true; continue;
        case 0xf0: e->lock = true; continue;
        case 0xf2: case 0xf3: e->rep = b; continue;
        case 0x26: e->seg_override = EMU_ES; continue;
        case 0x2e: e->seg_override = EMU_CS; continue;
        case 0x36: e->seg_override = EMU_SS; continue;
        case 0x3e: e->seg_override = EMU_DS; continue;
        case 0x64: e->seg_override = EMU_FS; continue;
        case 0x65: e->seg_override = EMU_GS; continue;
        }
        if (long_mode(e) && (b & 0xf0) == 0x40) {
            e->rex = b; /* REX must come last; a later legacy prefix would cancel it */
            if (!fetch_u8(e, &b))
                return false;
        }
        if (b == 0x0f) {
            e->two_byte = true;
            if (!fetch_u8(e, &b))
                return false;
        }
        e->opcode = b;
        return true;
    }
}

static void compute_sizes(struct emu *e)
{
    switch (e->cpu->mode) {
    case EMU_MODE_LONG64:
        e->op_size = (e->rex & 0x08) ? 8 : e->opsize_prefix ? 2 : 4;
        e->addr_size = e->addrsize_prefix ? 4 : 8;
        break;
    case EMU_MODE_PROT32:
        e->op_size = e->opsize_prefix ? 2 : 4;
        e->addr_size = e->addrsize_prefix ? 2 : 4;
        break;
    default:
        e->op_size = e->opsize_prefix ? 4 : 2;
        e->addr_size = e->addrsize_prefix ? 4 : 2;
        break;
    }
}

static bool decode_modrm16(struct emu *e)
{
    static const int base_reg[8] = {3, 3, 5, 5, -1, -1, 5, 3};  /* BX BX BP BP - - BP BX */
    static const int index_reg[8] = {6, 7, 6, 7, 6, 7, -1, -1}; /* SI DI SI DI SI DI - - */
    u64 disp = 0;
    int seg = EMU_DS;
    if (e->mod == 0 && e->rm == 6) {
        if (!fetch_imm(e, 2, &disp))
            return false;
        e->mem_offset = disp & 0xffff;
    } else {
        if (e->mod == 1 || e->mod == 2) {
            if (!fetch_imm(e, e->mod == 1 ? 1 : 2, &disp))
                return false;
            disp = sign_extend(disp, e->mod == 1 ? 1 : 2);
        }
        u64 off = disp;
        if (base_reg[e->rm] >= 0)
            off += e->cpu->gpr[base_reg[e->rm]];
        if (index_reg[e->rm] >= 0)
            off += e->cpu->gpr[index_reg[e->rm]];
        if (base_reg[e->rm] == REG_RBP)
            seg = EMU_SS;
        e->mem_offset = off & 0xffff;
    }
    e->mem_seg = seg;
    return true;
}

static bool decode_modrm32(struct emu *e)
{
    u64 off = 0, disp = 0;
    int seg = EMU_DS;
    unsigned rm = e->rm;
    if (rm == 4) { /* SIB follows */
        u8 sib;
        if (!fetch_u8(e, &sib))
            return false;
        unsigned scale = sib >> 6, index = ((sib >> 3) & 7) | ((e->rex & 0x02) ? 8 : 0);
        unsigned base = (sib & 7) | ((e->rex & 0x01) ? 8 : 0);
        if (index != 4)
            off += e->cpu->gpr[index] << scale;
        if ((sib & 7) == 5 && e->mod == 0) {
            if (!fetch_imm(e, 4, &disp))
                return false;
            off += sign_extend(disp, 4);
        } else {
            off += e->cpu->gpr[base];
            if (base == REG_RSP || base == REG_RBP)
                seg = EMU_SS;
        }
    } else if (rm == 5 && e->mod == 0) {
        if (!fetch_imm(e, 4, &disp))
            return false;
        off = sign_extend(disp, 4);
        e->rip_relative = long_mode(e); /* in 64-bit mode, disp32 is RIP-relative (SDM 2A 2.2.1.6) */
    } else {
        unsigned base = rm | ((e->rex & 0x01) ? 8 : 0);
        off = e->cpu->gpr[base];
        if (base == REG_RSP || base == REG_RBP)
            seg = EMU_SS;
    }
    if (e->mod == 1 || e->mod == 2) {
        if (!fetch_imm(e, e->mod == 1 ? 1 : 4, &disp))
            return false;
        off += sign_extend(disp, e->mod == 1 ? 1 : 4);
    }
    e->mem_offset = off;
    e->mem_seg = seg;
    return true;
}

static bool decode_modrm(struct emu *e)
{
    u8 m;
    if (!fetch_u8(e, &m))
        return false;
    e->mod = m >> 6;
    e->reg = ((m >> 3) & 7) | ((e->rex & 0x04) ? 8 : 0);
    e->rm = m & 7;
    if (e->mod == 3) {
        e->rm |= (e->rex & 0x01) ? 8 : 0;
        e->mem_operand = false;
        return true;
    }
    e->mem_operand = true;
    bool ok = e->addr_size == 2 ? decode_modrm16(e) : decode_modrm32(e);
    if (e->seg_override >= 0)
        e->mem_seg = e->seg_override;
    return ok;
}

/* Called once the whole instruction is fetched: RIP-relative operands are
 * relative to the next instruction, and the offset wraps at the address
 * size. */
static void finish_operand(struct emu *e)
{
    if (e->rip_relative)
        e->mem_offset += e->cpu->rip + e->len;
    e->mem_offset &= size_mask(e->addr_size);
}

/* r/m operand access: memory or register per ModR/M. */
static bool rm_read(struct emu *e, unsigned size, u64 *v)
{
    if (e->mem_operand)
        return mem_read(e, e->mem_seg, e->mem_offset, size, v);
    *v = reg_read(e, e->rm, size);
    return true;
}

static bool rm_write(struct emu *e, unsigned size, u64 v)
{
    if (e->mem_operand)
        return mem_write(e, e->mem_seg, e->mem_offset, size, v);
    reg_write(e, e->rm, size, v);
    return true;
}

/* ---- flags ---- */

static bool parity_even(u64 v)
{
    u8 b = (u8)v;
    b ^= b >> 4;
    b ^= b >> 2;
    b ^= b >> 1;
    return !(b & 1);
}

static void set_flags(struct emu *e, u64 mask, u64 values)
{
    e->cpu->rflags = (e->cpu->rflags & ~mask) | (values & mask);
}

static u64 result_flags(u64 r, unsigned size)
{
    u64 f = 0;
    r &= size_mask(size);
    if (!r)
        f |= FLAG_ZF;
    if (r & sign_bit(size))
        f |= FLAG_SF;
    if (parity_even(r))
        f |= FLAG_PF;
    return f;
}

enum alu_op { ALU_ADD, ALU_OR, ALU_ADC, ALU_SBB, ALU_AND, ALU_SUB, ALU_XOR, ALU_CMP };

/* Computes a op b at the given size and sets the arithmetic flags as the
 * SDM instruction pages for ADD/ADC/SUB/SBB/CMP/AND/OR/XOR give them. */
static u64 alu(struct emu *e, enum alu_op op, u64 a, u64 b, unsigned size)
{
    u64 m = size_mask(size), msb = sign_bit(size);
    u64 carry_in = (op == ALU_ADC || op == ALU_SBB) && (e->cpu->rflags & FLAG_CF) ? 1 : 0;
    u64 r, f;
    a &= m;
    b &= m;
    switch (op) {
    case ALU_ADD:
    case ALU_ADC:
        r = (a + b + carry_in) & m;
        f = result_flags(r, size);
        if (r < a || (carry_in && r == a))
            f |= FLAG_CF;
        if ((a ^ r) & (b ^ r) & msb)
            f |= FLAG_OF;
        if ((a ^ b ^ r) & 0x10)
            f |= FLAG_AF;
        break;
    case ALU_SUB:
    case ALU_SBB:
    case ALU_CMP:
        r = (a - b - carry_in) & m;
        f = result_flags(r, size);
        if (a < b || (carry_in && a == b))
            f |= FLAG_CF;
        if ((a ^ b) & (a ^ r) & msb)
            f |= FLAG_OF;
        if ((a ^ b ^ r) & 0x10)
            f |= FLAG_AF;
        break;
    case ALU_AND: r = a & b; f = result_flags(r, size); break;
    case ALU_OR: r = a | b; f = result_flags(r, size); break;
    default: r = a ^ b; f = result_flags(r, size); break;
    }
    set_flags(e, ARITH_FLAGS, f);
    return r;
}

/* ---- instruction groups ---- */

static unsigned operand_size(const struct emu *e, u8 opcode) { return (opcode & 1) ? e->op_size : 1; }

static enum x86emu_status finish(struct emu *e)
{
    e->cpu->rip = (e->cpu->rip + e->len) & ip_mask(e);
    return EMU_OK;
}

/* 00-3B: op r/m, reg (d=0) or op reg, r/m (d=1). */
static enum x86emu_status exec_alu_rm(struct emu *e)
{
    enum alu_op op = (enum alu_op)(e->opcode >> 3);
    unsigned size = operand_size(e, e->opcode);
    bool to_reg = (e->opcode & 2) != 0;
    if (!decode_modrm(e))
        return EMU_FAULT;
    finish_operand(e);
    u64 rmv, regv = reg_read(e, e->reg, size);
    if (!rm_read(e, size, &rmv))
        return EMU_FAULT;
    u64 r = to_reg ? alu(e, op, regv, rmv, size) : alu(e, op, rmv, regv, size);
    if (op != ALU_CMP) {
        if (to_reg)
            reg_write(e, e->reg, size, r);
        else if (!rm_write(e, size, r))
            return EMU_FAULT;
    }
    return finish(e);
}

/* 80, 81, 83: op r/m, imm. */
static enum x86emu_status exec_alu_imm(struct emu *e)
{
    unsigned size = operand_size(e, e->opcode);
    if (!decode_modrm(e))
        return EMU_FAULT;
    u64 imm;
    unsigned imm_size = e->opcode == 0x81 ? MIN(size, 4u) : 1;
    if (!fetch_imm(e, imm_size, &imm))
        return EMU_FAULT;
    imm = sign_extend(imm, imm_size);
    finish_operand(e);
    u64 v;
    if (!rm_read(e, size, &v))
        return EMU_FAULT;
    enum alu_op op = (enum alu_op)(e->reg & 7);
    u64 r = alu(e, op, v, imm, size);
    if (op != ALU_CMP && !rm_write(e, size, r))
        return EMU_FAULT;
    return finish(e);
}

/* 88-8B MOV, C6/C7 MOV imm. */
static enum x86emu_status exec_mov(struct emu *e)
{
    unsigned size = operand_size(e, e->opcode);
    if (!decode_modrm(e))
        return EMU_FAULT;
    if (e->opcode == 0xc6 || e->opcode == 0xc7) {
        if ((e->reg & 7) != 0)
            return unsupported(e, "C6/C7 with reg != 0");
        u64 imm;
        unsigned imm_size = MIN(size, 4u);
        if (!fetch_imm(e, imm_size, &imm))
            return EMU_FAULT;
        finish_operand(e);
        if (!rm_write(e, size, sign_extend(imm, imm_size)))
            return EMU_FAULT;
        return finish(e);
    }
    finish_operand(e);
    if (e->opcode & 2) { /* 8A, 8B: load */
        u64 v;
        if (!rm_read(e, size, &v))
            return EMU_FAULT;
        reg_write(e, e->reg, size, v);
    } else if (!rm_write(e, size, reg_read(e, e->reg, size))) {
        return EMU_FAULT;
    }
    return finish(e);
}

/* A0-A3: MOV between the accumulator and a direct offset. */
static enum x86emu_status exec_mov_moffs(struct emu *e)
{
    unsigned size = operand_size(e, e->opcode);
    u64 off;
    if (!fetch_imm(e, e->addr_size, &off))
        return EMU_FAULT;
    int seg = e->seg_override >= 0 ? e->seg_override : EMU_DS;
    if (e->opcode & 2) {
        if (!mem_write(e, seg, off, size, reg_read(e, REG_RAX, size)))
            return EMU_FAULT;
    } else {
        u64 v;
        if (!mem_read(e, seg, off, size, &v))
            return EMU_FAULT;
        reg_write(e, REG_RAX, size, v);
    }
    return finish(e);
}

/* 0F B6/B7 MOVZX, 0F BE/BF MOVSX, 63 MOVSXD. */
static enum x86emu_status exec_movx(struct emu *e, unsigned src_size, bool sign)
{
    if (!decode_modrm(e))
        return EMU_FAULT;
    finish_operand(e);
    u64 v;
    if (!rm_read(e, src_size, &v))
        return EMU_FAULT;
    reg_write(e, e->reg, e->op_size, sign ? sign_extend(v, src_size) : v);
    return finish(e);
}

/* 84/85 TEST r/m, reg. */
static enum x86emu_status exec_test(struct emu *e)
{
    unsigned size = operand_size(e, e->opcode);
    if (!decode_modrm(e))
        return EMU_FAULT;
    finish_operand(e);
    u64 v;
    if (!rm_read(e, size, &v))
        return EMU_FAULT;
    alu(e, ALU_AND, v, reg_read(e, e->reg, size), size);
    return finish(e);
}

/* 86/87 XCHG r/m, reg. */
static enum x86emu_status exec_xchg(struct emu *e)
{
    unsigned size = operand_size(e, e->opcode);
    if (!decode_modrm(e))
        return EMU_FAULT;
    finish_operand(e);
    u64 v;
    if (!rm_read(e, size, &v) || !rm_write(e, size, reg_read(e, e->reg, size)))
        return EMU_FAULT;
    reg_write(e, e->reg, size, v);
    return finish(e);
}

/* F6/F7: TEST imm, NOT, NEG (MUL/DIV forms are not MMIO material). */
static enum x86emu_status exec_group3(struct emu *e)
{
    unsigned size = operand_size(e, e->opcode);
    if (!decode_modrm(e))
        return EMU_FAULT;
    unsigned sub = e->reg & 7;
    u64 imm = 0;
    if (sub == 0 || sub == 1) {
        unsigned imm_size = MIN(size, 4u);
        if (!fetch_imm(e, imm_size, &imm))
            return EMU_FAULT;
        imm = sign_extend(imm, imm_size);
    }
    finish_operand(e);
    u64 v;
    if (sub > 3)
        return unsupported(e, "F6/F7 multiply/divide");
    if (!rm_read(e, size, &v))
        return EMU_FAULT;
    if (sub <= 1) {
        alu(e, ALU_AND, v, imm, size);
    } else if (sub == 2) {
        if (!rm_write(e, size, ~v))
            return EMU_FAULT;
    } else {
        u64 r = alu(e, ALU_SUB, 0, v, size); /* NEG: CF = (operand != 0), as 0 - v gives */
        if (!rm_write(e, size, r))
            return EMU_FAULT;
    }
    return finish(e);
}

/* FE/FF /0 /1: INC/DEC r/m, which leave CF alone. */
static enum x86emu_status exec_incdec(struct emu *e)
{
    unsigned size = operand_size(e, e->opcode);
    if (!decode_modrm(e))
        return EMU_FAULT;
    unsigned sub = e->reg & 7;
    if (sub > 1)
        return unsupported(e, "FE/FF other than INC/DEC");
    finish_operand(e);
    u64 v;
    if (!rm_read(e, size, &v))
        return EMU_FAULT;
    u64 cf = e->cpu->rflags & FLAG_CF;
    u64 r = alu(e, sub == 0 ? ALU_ADD : ALU_SUB, v, 1, size);
    set_flags(e, FLAG_CF, cf);
    if (!rm_write(e, size, r))
        return EMU_FAULT;
    return finish(e);
}

/* BT/BTS/BTR/BTC. With a register bit offset and a memory operand the
 * offset is signed and may reach outside the operand (SDM 2A BT). */
static enum x86emu_status exec_bt(struct emu *e, bool imm_form)
{
    unsigned size = e->op_size, bits = size * 8;
    if (!decode_modrm(e))
        return EMU_FAULT;
    unsigned op;
    s64 offset;
    if (imm_form) {
        u64 imm;
        if (!fetch_imm(e, 1, &imm))
            return EMU_FAULT;
        if ((e->reg & 7) < 4)
            return unsupported(e, "0F BA /0-3");
        op = e->reg & 3;
        offset = (s64)(imm & (bits - 1));
    } else {
        op = (e->opcode >> 3) & 3; /* A3 BT=0, AB BTS=1, B3 BTR=2, BB BTC=3 */
        offset = (s64)sign_extend(reg_read(e, e->reg, size), size);
        if (!e->mem_operand)
            offset &= bits - 1;
    }
    finish_operand(e);
    if (e->mem_operand) {
        /* floor(offset / bits) without negating offset, which overflows for
         * INT64_MIN: C division truncates, so a negative remainder means
         * one unit further down. */
        s64 unit = offset / (s64)bits - (offset % (s64)bits < 0);
        e->mem_offset = (e->mem_offset + (u64)(unit * (s64)size)) & size_mask(e->addr_size);
        offset -= unit * (s64)bits;
    }
    u64 v;
    if (!rm_read(e, size, &v))
        return EMU_FAULT;
    u64 bit = 1ull << offset;
    set_flags(e, FLAG_CF, (v & bit) ? FLAG_CF : 0);
    if (op != 0) {
        u64 r = op == 1 ? v | bit : op == 2 ? v & ~bit : v ^ bit;
        if (!rm_write(e, size, r))
            return EMU_FAULT;
    }
    return finish(e);
}

/* 0F C0/C1 XADD, 0F B0/B1 CMPXCHG. */
static enum x86emu_status exec_xadd_cmpxchg(struct emu *e)
{
    unsigned size = operand_size(e, e->opcode);
    if (!decode_modrm(e))
        return EMU_FAULT;
    finish_operand(e);
    u64 dst;
    if (!rm_read(e, size, &dst))
        return EMU_FAULT;
    u64 src = reg_read(e, e->reg, size);
    if ((e->opcode & 0xfe) == 0xc0) {
        u64 sum = alu(e, ALU_ADD, dst, src, size);
        if (!rm_write(e, size, sum))
            return EMU_FAULT;
        reg_write(e, e->reg, size, dst);
    } else {
        u64 acc = reg_read(e, REG_RAX, size);
        alu(e, ALU_CMP, acc, dst, size);
        if (acc == dst) {
            if (!rm_write(e, size, src))
                return EMU_FAULT;
        } else {
            reg_write(e, REG_RAX, size, dst);
        }
    }
    return finish(e);
}

/* ---- string instructions ---- */

/* The port forms last: their operand is at most 32 bits (exec_string). */
enum string_kind { STR_MOVS, STR_STOS, STR_LODS, STR_CMPS, STR_SCAS, STR_INS, STR_OUTS };

static void advance_index(struct emu *e, unsigned reg, unsigned size)
{
    u64 m = size_mask(e->addr_size);
    u64 v = e->cpu->gpr[reg];
    u64 next = (e->cpu->rflags & FLAG_DF) ? v - size : v + size;
    reg_write(e, reg, e->addr_size, next & m);
}

static bool string_once(struct emu *e, enum string_kind kind, unsigned size)
{
    int src_seg = e->seg_override >= 0 ? e->seg_override : EMU_DS;
    u64 m = size_mask(e->addr_size);
    u64 si = e->cpu->gpr[REG_RSI] & m, di = e->cpu->gpr[REG_RDI] & m;
    u16 port = (u16)e->cpu->gpr[REG_RDX];
    u64 v;
    switch (kind) {
    case STR_MOVS:
        if (!mem_read(e, src_seg, si, size, &v) || !mem_write(e, EMU_ES, di, size, v))
            return false;
        advance_index(e, REG_RSI, size);
        advance_index(e, REG_RDI, size);
        break;
    case STR_STOS:
        if (!mem_write(e, EMU_ES, di, size, reg_read(e, REG_RAX, size)))
            return false;
        advance_index(e, REG_RDI, size);
        break;
    case STR_LODS:
        if (!mem_read(e, src_seg, si, size, &v))
            return false;
        reg_write(e, REG_RAX, size, v);
        advance_index(e, REG_RSI, size);
        break;
    case STR_CMPS: { /* flags of [DS:rSI] - [ES:rDI] (SDM 2A CMPS) */
        u64 w;
        if (!mem_read(e, src_seg, si, size, &v) || !mem_read(e, EMU_ES, di, size, &w))
            return false;
        alu(e, ALU_CMP, v, w, size);
        advance_index(e, REG_RSI, size);
        advance_index(e, REG_RDI, size);
        break;
    }
    case STR_SCAS: /* flags of rAX - [ES:rDI] (SDM 2B SCAS) */
        if (!mem_read(e, EMU_ES, di, size, &v))
            return false;
        alu(e, ALU_CMP, reg_read(e, REG_RAX, size), v, size);
        advance_index(e, REG_RDI, size);
        break;
    case STR_INS:
        /* The port is read before the memory write is known to succeed, as
         * on hardware (SDM 2A INS): a faulting INS has consumed its data. */
        v = e->ops->io_in(e->ctx, port, (u8)size);
        if (!mem_write(e, EMU_ES, di, size, v))
            return false;
        advance_index(e, REG_RDI, size);
        break;
    case STR_OUTS:
        if (!mem_read(e, src_seg, si, size, &v))
            return false;
        e->ops->io_out(e->ctx, port, (u8)size, (u32)v);
        advance_index(e, REG_RSI, size);
        break;
    }
    return true;
}

/* REP INS/OUTS in bulk: after one iteration has gone through memory (and
 * would have faulted there), the rest of the same page can take no fault,
 * so the following items up to the page's end move as one memory access
 * and one port transfer. Only ascending (DF = 0) and only where the index
 * register does not wrap. Returns the items moved. */
#define BULK_MAX_BYTES 2048

static u32 string_io_bulk(struct emu *e, enum string_kind kind, unsigned size, u64 count, u32 limit)
{
    bool in = kind == STR_INS;
    if ((e->cpu->rflags & FLAG_DF) || (in ? !e->ops->io_in_rep : !e->ops->io_out_rep))
        return 0;
    unsigned reg = in ? REG_RDI : REG_RSI;
    int seg = in ? EMU_ES : (e->seg_override >= 0 ? e->seg_override : EMU_DS);
    u64 m = size_mask(e->addr_size);
    u64 index = e->cpu->gpr[reg] & m;
    u64 lin = linear(e, seg, index);
    u64 in_page = lin & 0xfff;
    if (in_page == 0) /* a new page: the next iteration probes it first */
        return 0;
    u64 n = MIN(count, (0x1000 - in_page) / size);
    n = MIN(n, (u64)limit);
    n = MIN(n, (u64)(BULK_MAX_BYTES / size));
    n = MIN(n, (m - index) / size + 1); /* no wrap of the index */
    if (n == 0)
        return 0;
    u8 buf[BULK_MAX_BYTES];
    u16 port = (u16)e->cpu->gpr[REG_RDX];
    if (in) {
        e->ops->io_in_rep(e->ctx, port, (u8)size, buf, (u32)n);
        if (!mem_access(e, seg, index, buf, (unsigned)(n * size), EMU_WRITE))
            return 0; /* cannot happen: the page took a write just now */
    } else {
        if (!mem_access(e, seg, index, buf, (unsigned)(n * size), EMU_READ))
            return 0;
        e->ops->io_out_rep(e->ctx, port, (u8)size, buf, (u32)n);
    }
    reg_write(e, reg, e->addr_size, (index + n * size) & m);
    return (u32)n;
}

static enum x86emu_status exec_string(struct emu *e, enum string_kind kind)
{
    unsigned size = (e->opcode & 1) ? (kind >= STR_INS ? MIN(e->op_size, 4u) : e->op_size) : 1;
    if (!e->rep) {
        if (!string_once(e, kind, size))
            return EMU_FAULT;
        return finish(e);
    }
    u64 m = size_mask(e->addr_size);
    for (unsigned n = 0; n < X86EMU_MAX_REP; n++) {
        u64 count = e->cpu->gpr[REG_RCX] & m;
        if (count == 0)
            return finish(e);
        if (!string_once(e, kind, size))
            return EMU_FAULT; /* registers reflect the iterations done, as on hardware */
        count = (count - 1) & m;
        if (kind == STR_INS || kind == STR_OUTS) {
            u32 bulk = string_io_bulk(e, kind, size, count, X86EMU_MAX_REP - n - 1);
            count -= bulk;
            n += bulk;
        }
        reg_write(e, REG_RCX, e->addr_size, count);
        /* CMPS and SCAS also end on ZF: REPE (F3) when they differ, REPNE
         * (F2) when they are equal (SDM 2B REP/REPE/REPNE, Table 4-13). */
        if (kind == STR_CMPS || kind == STR_SCAS) {
            bool zf = (e->cpu->rflags & FLAG_ZF) != 0;
            if (e->rep == 0xf3 ? !zf : zf)
                return finish(e);
        }
    }
    if ((e->cpu->gpr[REG_RCX] & m) == 0)
        return finish(e);
    return EMU_OK; /* RIP stays: the rest runs after the next exit */
}

/* ---- dispatch ---- */

static enum x86emu_status exec_two_byte(struct emu *e)
{
    switch (e->opcode) {
    case 0xb6: return exec_movx(e, 1, false);
    case 0xb7: return exec_movx(e, 2, false);
    case 0xbe: return exec_movx(e, 1, true);
    case 0xbf: return exec_movx(e, 2, true);
    case 0xa3: case 0xab: case 0xb3: case 0xbb: return exec_bt(e, false);
    case 0xba: return exec_bt(e, true);
    case 0xb0: case 0xb1: case 0xc0: case 0xc1: return exec_xadd_cmpxchg(e);
    default: return unsupported(e, "two-byte opcode");
    }
}

static enum x86emu_status exec_one_byte(struct emu *e)
{
    u8 op = e->opcode;
    if (op < 0x40 && (op & 7) < 4)
        return exec_alu_rm(e);
    switch (op) {
    case 0x63:
        if (!long_mode(e))
            return unsupported(e, "ARPL");
        return exec_movx(e, 4, true);
    case 0x80: case 0x81: case 0x83: return exec_alu_imm(e);
    case 0x84: case 0x85: return exec_test(e);
    case 0x86: case 0x87: return exec_xchg(e);
    case 0x88: case 0x89: case 0x8a: case 0x8b: case 0xc6: case 0xc7: return exec_mov(e);
    case 0xa0: case 0xa1: case 0xa2: case 0xa3: return exec_mov_moffs(e);
    case 0xa4: case 0xa5: return exec_string(e, STR_MOVS);
    case 0xaa: case 0xab: return exec_string(e, STR_STOS);
    case 0xac: case 0xad: return exec_string(e, STR_LODS);
    case 0xa6: case 0xa7: return exec_string(e, STR_CMPS);
    case 0xae: case 0xaf: return exec_string(e, STR_SCAS);
    case 0x6c: case 0x6d: return exec_string(e, STR_INS);
    case 0x6e: case 0x6f: return exec_string(e, STR_OUTS);
    case 0xf6: case 0xf7: return exec_group3(e);
    case 0xfe: case 0xff: return exec_incdec(e);
    default: return unsupported(e, "opcode");
    }
}

enum x86emu_status x86emu_step(struct x86emu_cpu *cpu, const struct x86emu_ops *ops, void *ctx,
                               struct x86emu_fault *fault, char *why, size_t why_size)
{
    struct emu e = {.cpu = cpu, .ops = ops, .ctx = ctx, .fault = fault, .why = why, .why_size = why_size,
                    .seg_override = -1};
    struct x86emu_cpu saved = *cpu;
    if (why_size)
        why[0] = 0;
    if (!decode_prefixes(&e))
        return EMU_FAULT;
    compute_sizes(&e);
    enum x86emu_status s = e.two_byte ? exec_two_byte(&e) : exec_one_byte(&e);
    if (s == EMU_FAULT || s == EMU_UNSUPPORTED) {
        /* A fault leaves the instruction undone, except the completed
         * iterations of a REP string instruction. */
        if (!(e.rep && !e.two_byte && ((e.opcode >= 0xa4 && e.opcode <= 0xad) || (e.opcode >= 0x6c && e.opcode <= 0x6f))))
            *cpu = saved;
    }
    return s;
}

unsigned x86emu_exit_insn_length(const u8 *code, unsigned avail, enum x86emu_mode mode)
{
    unsigned i = 0;
    avail = MIN(avail, 15u); /* the longest an instruction may be (SDM 2A 2.3.11) */
    while (i < avail) {
        u8 b = code[i];
        bool legacy = b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e || b == 0x64 || b == 0x65 || b == 0x66 ||
                      b == 0x67 || b == 0xf0 || b == 0xf2 || b == 0xf3;
        if (!legacy)
            break;
        i++;
    }
    if (i < avail && mode == EMU_MODE_LONG64 && (code[i] & 0xf0) == 0x40)
        i++; /* REX, last before the opcode */
    if (i >= avail)
        return 0;
    u8 op = code[i];
    unsigned len;
    switch (op) {
    case 0xf4: case 0x90: case 0xf1:                 /* HLT, (REP) NOP = PAUSE, INT1 */
    case 0xec: case 0xed: case 0xee: case 0xef:      /* IN/OUT with DX */
    case 0x6c: case 0x6d: case 0x6e: case 0x6f:      /* INS, OUTS */
        len = 1;
        break;
    case 0xe4: case 0xe5: case 0xe6: case 0xe7:      /* IN/OUT imm8 */
        len = 2;
        break;
    case 0x0f:
        if (i + 1 >= avail)
            return 0;
        switch (code[i + 1]) {
        case 0xa2: case 0x30: case 0x31: case 0x32: case 0x08: case 0x09: /* CPUID WRMSR RDTSC RDMSR INVD WBINVD */
            len = 2;
            break;
        case 0x01: /* the register forms of group 7 (ModR/M C0h and up): VMMCALL, XSETBV, RDTSCP... */
            if (i + 2 >= avail || code[i + 2] < 0xc0)
                return 0;
            len = 3;
            break;
        default:
            return 0;
        }
        break;
    default:
        return 0;
    }
    return i + len <= avail ? i + len : 0;
}

/* ---- a plain MOV store, decoded alone ---- */

/* The bytes a ModR/M memory operand adds after the ModR/M byte: SIB and
 * displacement (SDM 2A 2.1.5, Tables 2-1 to 2-3; in 64-bit mode mod 00
 * r/m 101 is RIP + disp32, the same length). 0: not a memory form. */
static unsigned memory_operand_extra(const u8 *code, unsigned avail, unsigned at, unsigned addr_size)
{
    if (at >= avail)
        return 0;
    u8 modrm = code[at];
    unsigned mod = modrm >> 6, rm = modrm & 7;
    if (mod == 3)
        return 0;
    if (addr_size == 2)
        return 1 + (mod == 1 ? 1 : mod == 2 || (mod == 0 && rm == 6) ? 2 : 0);
    unsigned extra = 1;
    if (rm == 4) {
        if (at + 1 >= avail)
            return 0;
        extra++;
        if (mod == 0 && (code[at + 1] & 7) == 5)
            return extra + 4; /* SIB with no base: disp32 */
    } else if (mod == 0 && rm == 5) {
        return extra + 4;
    }
    return extra + (mod == 1 ? 1 : mod == 2 ? 4 : 0);
}

unsigned x86emu_plain_store(const u8 *code, unsigned avail, enum x86emu_mode mode, const u64 *gpr,
                            struct x86emu_store *out)
{
    bool opsize = false, addrsize = false;
    u8 rex = 0;
    unsigned i = 0;
    avail = MIN(avail, (unsigned)MAX_INSN_LEN);
    for (; i < avail; i++) {
        u8 b = code[i];
        if (b == 0x66)
            opsize = true;
        else if (b == 0x67)
            addrsize = true;
        else if (!(b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e || b == 0x64 || b == 0x65))
            break; /* LOCK, REP and the rest: not a plain MOV */
    }
    if (i < avail && mode == EMU_MODE_LONG64 && (code[i] & 0xf0) == 0x40)
        rex = code[i++]; /* REX, last before the opcode */
    if (i >= avail)
        return 0;
    u8 op = code[i++];
    unsigned size, addr_size;
    switch (mode) {
    case EMU_MODE_LONG64:
        size = (rex & 0x08) ? 8 : opsize ? 2 : 4;
        addr_size = addrsize ? 4 : 8;
        break;
    case EMU_MODE_PROT32:
        size = opsize ? 2 : 4;
        addr_size = addrsize ? 2 : 4;
        break;
    default:
        size = opsize ? 4 : 2;
        addr_size = addrsize ? 4 : 2;
        break;
    }
    if (!(op & 1))
        size = 1;
    unsigned len, source = X86EMU_STORE_IMM;
    u64 value = 0;
    if (op == 0x88 || op == 0x89) { /* MOV r/m, reg */
        unsigned extra = memory_operand_extra(code, avail, i, addr_size);
        if (!extra)
            return 0;
        unsigned reg = ((code[i] >> 3) & 7) | ((rex & 0x04) ? 8 : 0);
        len = i + extra;
        if (size == 1 && !rex && reg >= 4 && reg < 8)
            source = 16 + reg - 4; /* AH CH DH BH (SDM 2A 3.1.1.1) */
        else if (reg == REG_RSP)
            return 0; /* the stack pointer: the fast way leaves it in the VMCS or VMCB */
        else
            source = reg;
    } else if (op == 0xc6 || op == 0xc7) { /* MOV r/m, imm */
        unsigned extra = memory_operand_extra(code, avail, i, addr_size);
        if (!extra || ((code[i] >> 3) & 7) != 0)
            return 0;
        unsigned imm = MIN(size, 4u);
        len = i + extra + imm;
        if (len > avail)
            return 0;
        memcpy(&value, code + i + extra, imm); /* little-endian, as x86 */
        value = sign_extend(value, imm) & size_mask(size); /* imm32 sign-extends to 64 bits */
    } else if (op == 0xa2 || op == 0xa3) { /* MOV moffs, AL/rAX: the offset is address-sized */
        len = i + addr_size;
        source = REG_RAX;
    } else {
        return 0;
    }
    if (len > avail)
        return 0;
    out->size = (u8)size;
    out->source = (u8)source;
    out->value = value;
    out->value = x86emu_store_value(out, gpr);
    return len;
}

u64 x86emu_store_value(const struct x86emu_store *st, const u64 *gpr)
{
    if (st->source == X86EMU_STORE_IMM)
        return st->value;
    if (st->source >= 16)
        return (gpr[st->source - 16] >> 8) & 0xff;
    return gpr[st->source] & size_mask(st->size);
}
