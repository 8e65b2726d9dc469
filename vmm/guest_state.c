/* See guest_state.h. XSAVE: SDM 1 ch. 13; FXSAVE: SDM 2A FXSAVE. */
#include "guest_state.h"
#include "arch.h"
#include "handlers.h"
#include "cpu_rules.h"
#include "cpuid.h"
#include "mm.h"
#include "percpu.h"
#include "string.h"
#include "x86.h"

#define CPUID1_ECX_XSAVE BIT(26)
#define CPUID1_ECX_AVX BIT(28)
#define CPUID1_EDX_FXSR BIT(24)
#define CPUID_80000001_EDX_RDTSCP BIT(27)
#define CPUID_7_ECX_RDPID BIT(22)
#define FXSAVE_AREA_SIZE 512
#define XSAVE_HEADER 512 /* XSTATE_BV at +0, XCOMP_BV at +8 (13.4.2) */
#define XSAVE_EXTENDED 576 /* the first component after the header, standard format (13.4.3) */

/* The legacy region of the save area (SDM 2A FXSAVE, Table 3-53). */
#define AREA_FCW 0
#define AREA_FTW 4 /* abridged: one bit per register, 1 = not empty */
#define AREA_MXCSR 24
#define AREA_LEGACY_USED 416 /* FCW through XMM15; the rest is reserved or software's */
#define RESET_FCW 0x0040
#define RESET_FTW_ABRIDGED 0xff /* tags 5555H: every register holds +0.0 */
#define RESET_MXCSR 0x1f80

/* How this CPU saves the state, found once at boot. */
static struct {
    bool xsave;         /* else FXSAVE */
    bool fxsr;          /* FXSAVE exists at all */
    bool tsc_aux;       /* IA32_TSC_AUX exists (RDTSCP or RDPID) */
    u64 xcr0_supported; /* components guests may enable; Zazen's own XCR0 */
    u32 area_size;      /* bytes of a vCPU's save area */
    u8 *pristine;       /* what saving a vCPU that never used x87/SSE/AVX gives */
} gs;

/* Why a restore is skipped when both images are pristine (an emulator's
 * bug, not the architecture's): QEMU 7.2's TCG carries out FXRSTOR, XRSTOR,
 * FRSTOR and FLDENV with cpu_clear_ignne() (target/i386/tcg/fpu_helper.c),
 * a plain read-modify-write of the *first* CPU's hflags2, from whichever
 * CPU's thread runs the instruction. Under multi-threaded TCG it races with
 * that CPU's own updates of hflags2 at VMRUN and #VMEXIT: a lost update
 * left CPU 0's host with nested paging on (every host address walked
 * through the guest's NPT: a triple fault at the first instruction after
 * VMRUN), or a guest without it. Each restore on another CPU is a chance;
 * guests that never touch the FPU (the firmware, the test guests) now cost
 * none. docs/smp.md, Known problems, has the reproducer. */

static struct guest_state_cpu *this_gs(void) { return guest_state_this_cpu(); }

/* The image a vCPU saves if its guest never touched x87/SSE/AVX: the
 * RESET image loaded and saved once, on the boot CPU, so that it has the
 * fields only a save writes (MXCSR_MASK, XSTATE_BV as this CPU's init
 * optimization leaves it, SDM 13.6). The registers are left holding it. */
static void fill_reset_image(u8 *area);

static void make_pristine_image(void)
{
    if (!gs.fxsr || !(gs.pristine = page_alloc(gs.area_size)))
        return;
    fill_reset_image(gs.pristine);
    if (gs.xsave) {
        xrstor(gs.pristine, gs.xcr0_supported);
        xsave(gs.pristine, gs.xcr0_supported);
    } else {
        fxrstor(gs.pristine);
        fxsave(gs.pristine);
    }
    this_gs()->regs_pristine = true;
}

void guest_state_init(void)
{
    struct cpuid_regs l1 = cpuid(1, 0);
    u32 max = cpuid(0, 0).eax;
    gs.fxsr = (l1.edx & CPUID1_EDX_FXSR) != 0;
    gs.tsc_aux = (cpuid(0x80000000, 0).eax >= 0x80000001 &&
                  (cpuid(0x80000001, 0).edx & CPUID_80000001_EDX_RDTSCP)) ||
                 (max >= 7 && (cpuid(7, 0).ecx & CPUID_7_ECX_RDPID));
    gs.area_size = FXSAVE_AREA_SIZE;
    gs.xsave = (l1.ecx & CPUID1_ECX_XSAVE) && max >= 0xd;
    if (gs.xsave) {
        write_cr4(read_cr4() | CR4_OSXSAVE);
        /* VMX operation may forbid the bit (IA32_VMX_CR4_FIXED1): then
         * FXSAVE it is, and guests are not offered XSAVE. */
        gs.xsave = (read_cr4() & CR4_OSXSAVE) != 0;
    }
    if (gs.xsave) {
        u64 want = XCR0_X87 | XCR0_SSE | ((l1.ecx & CPUID1_ECX_AVX) ? XCR0_AVX : 0);
        struct cpuid_regs d = cpuid(0xd, 0);
        gs.xcr0_supported = (((u64)d.edx << 32) | d.eax) & want;
        xsetbv(0, gs.xcr0_supported);
        gs.area_size = cpuid(0xd, 0).ebx; /* for the components XCR0 enables now (13.2) */
    }
    guest_state_init_this_cpu();
    make_pristine_image();
}

void guest_state_init_this_cpu(void)
{
    /* A value no guest can write (bits 63:32 are reserved), so the first
     * entry loads the vCPU's; without the MSR, 0 as every vCPU has. */
    this_gs()->tsc_aux = gs.tsc_aux ? ~0ull : 0;
    this_gs()->owner = NULL;
    this_gs()->regs_pristine = false; /* whatever the firmware left */
    /* CR4.OSFXSR: FXSAVE/FXRSTOR include the XMM registers (SDM 3A 2.5). */
    if (gs.fxsr)
        write_cr4(read_cr4() | CR4_OSFXSR);
    if (gs.xsave) {
        write_cr4(read_cr4() | CR4_OSXSAVE);
        xsetbv(0, gs.xcr0_supported);
        this_gs()->xcr0 = gs.xcr0_supported;
    }
    /* Zazen never arms a breakpoint: whatever the firmware left in DR7 goes,
     * so guest values in DR0-DR3 can never trap in the host. */
    write_dr7(DR7_RESET);
}

u64 guest_xcr0_supported(void) { return gs.xcr0_supported; }

bool guest_state_vcpu_init(struct vcpu *v)
{
    if (!gs.fxsr)
        return true; /* no SSE state to keep; the x87 alone is not switched */
    v->state_cpu = -1;
    v->xsave = page_alloc(gs.area_size); /* page aligned: XSAVE wants 64 */
    return v->xsave != NULL;
}

/* This CPU's registers hold v's state, which no image will have (v was
 * reset after it last entered here): nobody owns them, and they are not the pristine image
 * whatever the last load was (the guest may have changed them since: a
 * pristine vCPU loaded next must restore, or it would see them). */
static void forget_registers_of(struct vcpu *v)
{
    struct guest_state_cpu *c = this_gs();
    if (c->owner == v) {
        c->owner = NULL;
        c->regs_pristine = false;
    }
}

void guest_state_vcpu_release(struct vcpu *v)
{
    /* The next owner loads every register. Their pristine mark stays: the
     * slice's end saved them (guest_state_put), so it is true to them. */
    if (this_gs()->owner == v)
        this_gs()->owner = NULL;
    if (v->xsave)
        page_free(v->xsave, gs.area_size);
    v->xsave = NULL;
}

static void put16(u8 *area, unsigned at, u16 value) { memcpy(area + at, &value, sizeof(value)); }
static void put32(u8 *area, unsigned at, u32 value) { memcpy(area + at, &value, sizeof(value)); }
static void put64(u8 *area, unsigned at, u64 value) { memcpy(area + at, &value, sizeof(value)); }

/* The x87/SSE/AVX state after RESET (SDM 3A Table 9-1). */
static void fill_reset_image(u8 *area)
{
    memset(area, 0, gs.area_size);
    put16(area, AREA_FCW, RESET_FCW);
    area[AREA_FTW] = RESET_FTW_ABRIDGED;
    put32(area, AREA_MXCSR, RESET_MXCSR);
    /* x87 and SSE come from the image; AVX (absent from XSTATE_BV) is
     * set to its initial state, zero (13.8.1). */
    if (gs.xsave)
        put64(area, XSAVE_HEADER, XCR0_X87 | XCR0_SSE);
}

void guest_state_vcpu_reset(struct vcpu *v)
{
    memset(v->dr, 0, sizeof(v->dr));
    v->xcr0 = XCR0_X87;
    v->tsc_aux = 0;
    if (v->xsave)
        fill_reset_image(v->xsave);
    v->fpu_pristine = false; /* not yet in the form a save gives: loaded once */
    v->state_cpu = -1;       /* reloaded at the next entry, wherever it is */
}

static bool words_equal(const void *a, const void *b, size_t bytes)
{
    /* A word at a time, four per round, no early exit inside a round: a
     * save after every slice pays this, mostly for images that match. */
    const u64 *x = a, *y = b;
    size_t n = bytes / 8;
    for (size_t i = 0; i + 4 <= n; i += 4)
        if ((x[i] ^ y[i]) | (x[i + 1] ^ y[i + 1]) | (x[i + 2] ^ y[i + 2]) | (x[i + 3] ^ y[i + 3]))
            return false;
    for (size_t i = n & ~(size_t)3; i < n; i++)
        if (x[i] != y[i])
            return false;
    return true;
}

/* Whether an image a save just wrote is the pristine one: the legacy
 * region's x87, MXCSR and XMM part (bytes 0 to
 * AREA_LEGACY_USED - 1; 416-511 are reserved or
 * software's, SDM 2A FXSAVE Table 3-53) and, with XSAVE, the header and
 * the extended components after it (13.4). */
static bool image_is_pristine(const u8 *area)
{
    if (!gs.pristine)
        return false;
    if (gs.xsave) {
        /* XSTATE_BV and XCOMP_BV first: a guest that used AVX differs
         * there. The extended regions count only for the components
         * XSTATE_BV says were saved (13.7); the pristine image has none,
         * unless this CPU saves them whatever their state. */
        const u64 *bv = (const u64 *)(area + XSAVE_HEADER), *pristine_bv = (const u64 *)(gs.pristine + XSAVE_HEADER);
        if (bv[0] != pristine_bv[0] || bv[1] != pristine_bv[1])
            return false;
        if ((bv[0] & ~(XCR0_X87 | XCR0_SSE)) &&
            !words_equal(area + XSAVE_EXTENDED, gs.pristine + XSAVE_EXTENDED, gs.area_size - XSAVE_EXTENDED))
            return false;
    }
    return words_equal(area, gs.pristine, AREA_LEGACY_USED);
}

/* XSAVE and XRSTOR move the components XCR0 enables (13.7, 13.8), so the
 * CPU's XCR0 is Zazen's full set while they run; the guest's own is
 * loaded afterwards. */
static void set_cpu_xcr0(struct guest_state_cpu *c, u64 value)
{
    if (c->xcr0 != value) {
        xsetbv(0, value);
        c->xcr0 = value;
    }
}

static void save_registers(struct guest_state_cpu *c, struct vcpu *v)
{
    if (gs.xsave) {
        set_cpu_xcr0(c, gs.xcr0_supported);
        xsave(v->xsave, gs.xcr0_supported);
    } else if (gs.fxsr) {
        fxsave(v->xsave);
    }
    if (v->xsave) {
        v->fpu_pristine = image_is_pristine(v->xsave);
        c->regs_pristine = v->fpu_pristine;
    }
    v->dr[0] = read_dr0();
    v->dr[1] = read_dr1();
    v->dr[2] = read_dr2();
    v->dr[3] = read_dr3();
}

static void load_registers(struct guest_state_cpu *c, struct vcpu *v)
{
    /* The registers already hold v's image when both are pristine: no
     * restore (see gs.pristine for why that matters). */
    bool same = c->regs_pristine && v->fpu_pristine;
    if (gs.fxsr && !same)
        v->x87_loads++;
    if (gs.xsave) {
        if (!same) {
            set_cpu_xcr0(c, gs.xcr0_supported);
            xrstor(v->xsave, gs.xcr0_supported);
        }
        set_cpu_xcr0(c, v->xcr0);
    } else if (gs.fxsr && !same) {
        fxrstor(v->xsave);
    }
    c->regs_pristine = v->fpu_pristine;
    write_dr0(v->dr[0]);
    write_dr1(v->dr[1]);
    write_dr2(v->dr[2]);
    write_dr3(v->dr[3]);
}

void guest_state_switch(struct vcpu *v)
{
    struct guest_state_cpu *c = this_gs();
    int me = (int)this_cpu()->index;
    if (c->owner != v || v->state_cpu != me) {
        /* The previous owner's registers were saved when it left this CPU
         * (guest_state_put): they need not be saved again. */
        load_registers(c, v);
        c->owner = v;
        v->state_cpu = me;
    }
    if (gs.tsc_aux && c->tsc_aux != v->tsc_aux) {
        wrmsr(MSR_IA32_TSC_AUX, v->tsc_aux);
        c->tsc_aux = v->tsc_aux;
    }
}

void guest_state_put(struct vcpu *v)
{
    struct guest_state_cpu *c = this_gs();
    if (c->owner == v && v->state_cpu == (int)this_cpu()->index) {
        save_registers(c, v);
        if (gs.xsave)
            set_cpu_xcr0(c, v->xcr0); /* XSAVE wanted Zazen's; the guest goes on with its own */
    } else if (v->state_cpu < 0) {
        /* v was reset during its slice (guest_state_vcpu_reset: its image
         * is the RESET one now) and did not enter again: the registers
         * hold its state from before, which is nobody's. Kept as v's
         * with the pristine mark of its last load, they were taken for
         * the pristine image by the next pristine vCPU, which then ran
         * with them: another domain's x87/SSE values (qemu-svm/cpustate,
         * "NOT zero", now and then under load). A v that last ran on
         * another CPU left these registers saved, its mark true to them:
         * kept (an FPU-less guest then loads its state once, sched-cap). */
        forget_registers_of(v);
    }
}

bool guest_state_set_xcr0(struct vcpu *v, u64 value)
{
    if (!gs.xsave || !xcr0_valid(value, gs.xcr0_supported))
        return false;
    if (value != v->xcr0)
        cpuid_forget(v); /* leaf 0Dh's sizes follow XCR0 (SDM 2A CPUID) */
    v->xcr0 = value;
    if (this_gs()->owner == v)
        set_cpu_xcr0(this_gs(), value);
    return true;
}

/* XSETBV (SDM 2C): #UD unless CR4.OSXSAVE, #GP(0) at CPL > 0, for an XCR
 * other than XCR0 (ECX = 0) or a value XCR0 cannot take. It exits on
 * both vendors (VT-x always, AMD-V by intercept). */
void handle_xsetbv(struct vcpu *v, struct vm_exit *e)
{
    struct vcpu_sregs s;
    arch->get_sregs(v, &s);
    if (!(s.cr4 & CR4_OSXSAVE)) {
        vcpu_inject_exception(v, VECTOR_UD, false, 0);
        return;
    }
    u64 value = (v->gpr[GPR_RDX] << 32) | (u32)v->gpr[GPR_RAX];
    if (s.cpl != 0 || (u32)v->gpr[GPR_RCX] != 0 || !guest_state_set_xcr0(v, value)) {
        vcpu_inject_exception(v, VECTOR_GP, true, 0);
        return;
    }
    vcpu_complete_instruction(v, e);
}
