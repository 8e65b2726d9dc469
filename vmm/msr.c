/* RDMSR/WRMSR exits. MSRs whose guest value lives in the VMCB or VMCS are
 * the backend's (arch->msr_read/msr_write); the rest are in the table below.
 * An MSR in neither faults with #GP(0), as on a CPU that lacks it
 * (SDM 2B RDMSR). MSR numbers: SDM Vol. 4 ch. 2. */
#include "arch.h"
#include "cpu_rules.h"
#include "cpuid.h"
#include "domain.h"
#include "domain_type.h"
#include "handlers.h"
#include "kvm.h"
#include "platform.h"
#include "platform_time.h"
#include "x86.h"

#define MSR_IA32_TSC_ADJUST 0x3b
#define MSR_IA32_PLATFORM_ID 0x17
#define MSR_IA32_BIOS_SIGN_ID 0x8b
#define MSR_IA32_MCG_CAP 0x179
#define MSR_IA32_MCG_STATUS 0x17a
#define MSR_IA32_MISC_ENABLE 0x1a0
#define MSR_IA32_MTRRCAP 0xfe
#define MSR_IA32_MTRR_DEF_TYPE 0x2ff
_Static_assert(sizeof(((struct vcpu *)0)->mtrr) == 28 * sizeof(u64), "def type, 11 fixed, 8 variable pairs");
#define CPUID_80000001_EDX_RDTSCP BIT(27)
#define CPUID_7_ECX_RDPID BIT(22)
#define MISC_ENABLE_FAST_STRINGS BIT(0)

struct msr_rule {
    u32 msr;
    bool (*read)(struct vcpu *v, u32 msr, u64 *value);
    bool (*write)(struct vcpu *v, u32 msr, u64 value);
};

static bool read_zero(struct vcpu *v, u32 msr, u64 *value)
{
    (void)v;
    (void)msr;
    *value = 0;
    return true;
}

static bool write_ignore(struct vcpu *v, u32 msr, u64 value)
{
    (void)v;
    (void)msr;
    (void)value;
    return true;
}

static bool write_zero_only(struct vcpu *v, u32 msr, u64 value)
{
    (void)v;
    (void)msr;
    return value == 0;
}

/* The guest's TSC, as its RDTSC reads it (vcpu_tsc_offset). */
static bool read_tsc(struct vcpu *v, u32 msr, u64 *value)
{
    (void)msr;
    *value = rdtsc() + vcpu_tsc_offset(v);
    return true;
}

/* SDM 3B 17.17.3: a WRMSR that moves IA32_TIME_STAMP_COUNTER by X moves
 * IA32_TSC_ADJUST by X, and one that moves IA32_TSC_ADJUST by X moves the
 * TSC by X. Both are the one adjustment (vcpu_move_tsc); the other
 * vCPUs' TSCs stay as they were. */
static bool write_tsc(struct vcpu *v, u32 msr, u64 value)
{
    (void)msr;
    vcpu_move_tsc(v, (s64)(value - (rdtsc() + vcpu_tsc_offset(v))));
    return true;
}

static bool read_tsc_adjust(struct vcpu *v, u32 msr, u64 *value)
{
    (void)msr;
    *value = (u64)v->tsc_adjust;
    return true;
}

static bool write_tsc_adjust(struct vcpu *v, u32 msr, u64 value)
{
    (void)msr;
    vcpu_move_tsc(v, (s64)(value - (u64)v->tsc_adjust));
    return true;
}

static bool read_misc_enable(struct vcpu *v, u32 msr, u64 *value)
{
    (void)msr;
    *value = v->misc_enable;
    return true;
}

/* IA32_MISC_ENABLE (SDM 4 Table 2-2): the bits software may change keep
 * what the guest wrote: fast strings (0), automatic thermal control (3),
 * Enhanced SpeedStep (16), ENABLE MONITOR FSM (18; MONITOR/MWAIT stay
 * hidden either way, vmm/cpuid.c), Limit CPUID Maxval (22), xTPR message
 * disable (23) and XD Bit Disable (34); the last two of those change
 * CPUID, so the vCPU's remembered answers go. The read-only bits
 * (MISC_ENABLE_AT_RESET) and the reserved ones stay as they are; a write
 * to them is ignored, not refused, as KVM does. */
#define MISC_ENABLE_WRITABLE                                                                                 \
    (MISC_ENABLE_FAST_STRINGS | BIT(3) | BIT(16) | BIT(18) | MISC_ENABLE_LIMIT_CPUID_MAXVAL | BIT(23) |       \
     MISC_ENABLE_XD_DISABLE)

static bool write_misc_enable(struct vcpu *v, u32 msr, u64 value)
{
    (void)msr;
    u64 was = v->misc_enable;
    v->misc_enable = (was & ~MISC_ENABLE_WRITABLE) | (value & MISC_ENABLE_WRITABLE);
    if ((was ^ v->misc_enable) & (MISC_ENABLE_LIMIT_CPUID_MAXVAL | MISC_ENABLE_XD_DISABLE))
        cpuid_forget(v);
    return true;
}

/* The local APIC's MSRs belong to the device model (devmodel/lapic.c). */
static bool read_apic_base(struct vcpu *v, u32 msr, u64 *value)
{
    (void)msr;
    *value = lapic_get_base(v->lapic);
    return true;
}

/* CPUID.1:EDX.APIC follows the enable bit (SDM 3A 11.4.3): the CPUID
 * cache forgets its answers when the bit changes. */
static bool write_apic_base(struct vcpu *v, u32 msr, u64 value)
{
    (void)msr;
    u64 was = lapic_get_base(v->lapic);
    bool ok = lapic_set_base(v->lapic, value);
    if ((was ^ lapic_get_base(v->lapic)) & LAPIC_BASE_EN)
        cpuid_forget(v);
    return ok;
}

static bool read_tsc_deadline(struct vcpu *v, u32 msr, u64 *value)
{
    (void)msr;
    *value = lapic_read_tsc_deadline(v->lapic);
    return true;
}

static bool write_tsc_deadline(struct vcpu *v, u32 msr, u64 value)
{
    (void)msr;
    lapic_write_tsc_deadline(v->lapic, value);
    return true;
}

/* The x2APIC registers, MSRs 800H-8FFH (SDM 3A 11.12.1.2): the device
 * model decides which fault. An MSR read is otherwise an exit that
 * touches no device (EXITS_LEAVING_DEVICES_ALONE, no device time, the
 * quick way back): this one reads the APIC, whose timer count must have
 * moved with the guest's time, so device time catches up first and the
 * quick way back is off (a read changes nothing, but the time that moved
 * may have raised an interrupt). */
static bool read_x2apic(struct vcpu *v, u32 msr, u64 *value)
{
    struct lapic *l = v->lapic;
    if (!lapic_x2apic_mode(l))
        return false;
    vcpu_interrupt_may_be_pending(v);
    platform_update_time(v);
    return lapic_msr_read(l, msr, value);
}

static bool write_x2apic(struct vcpu *v, u32 msr, u64 value)
{
    return lapic_msr_write(v->lapic, msr, value);
}

/* IA32_TSC_AUX exists where RDTSCP or RDPID does (SDM 4 table 2-2); the
 * guest sees those CPUID bits only when the host has them (cpuid.c). */
static bool host_has_tsc_aux(void)
{
    static int known = -1;
    if (known < 0)
        known = (cpuid(0x80000000, 0).eax >= 0x80000001 && (cpuid(0x80000001, 0).edx & CPUID_80000001_EDX_RDTSCP)) ||
                (cpuid(0, 0).eax >= 7 && (cpuid(7, 0).ecx & CPUID_7_ECX_RDPID));
    return known;
}

static bool read_tsc_aux(struct vcpu *v, u32 msr, u64 *value)
{
    (void)msr;
    *value = v->tsc_aux;
    return host_has_tsc_aux();
}

/* Bits 63:32 are reserved: writing them faults (SDM 2B RDTSCP, 4 2-2). */
static bool write_tsc_aux(struct vcpu *v, u32 msr, u64 value)
{
    (void)msr;
    if (!host_has_tsc_aux() || value >> 32)
        return false;
    v->tsc_aux = value;
    return true;
}

/* MTRRs (SDM 3A 12.11). CPUID does not announce them, yet firmware
 * written for PCs reads and programs them without asking (U-Boot's x86
 * port saves the fixed ranges): they are kept as written, with the
 * architectural checks, and change no memory type (the nested tables
 * decide it). IA32_MTRRCAP: 8 variable ranges, fixed ranges, no WC, no
 * SMRR (12.11.1). */
#define MTRRCAP_VALUE (8u | BIT(8))
#define MTRR_VAR_FIRST 0x200
#define MTRR_VAR_LAST 0x20f
#define MTRR_FIX_64K 0x250
#define MTRR_FIX_16K_80000 0x258
#define MTRR_FIX_16K_A0000 0x259
#define MTRR_FIX_4K_FIRST 0x268
#define MTRR_FIX_4K_LAST 0x26f
#define MTRR_DEF_TYPE_RESERVED (~0xcffull) /* type 7:0, FE 10, E 11 */
#define MTRR_PHYSMASK_RESERVED 0x7ffull    /* bits 10:0; V is bit 11 */
#define MTRR_PHYSBASE_RESERVED 0xf00ull    /* bits 11:8 */

static int mtrr_index(u32 msr)
{
    if (msr == MSR_IA32_MTRR_DEF_TYPE)
        return 0;
    if (msr == MTRR_FIX_64K)
        return 1;
    if (msr == MTRR_FIX_16K_80000 || msr == MTRR_FIX_16K_A0000)
        return 2 + (int)(msr - MTRR_FIX_16K_80000);
    if (msr >= MTRR_FIX_4K_FIRST && msr <= MTRR_FIX_4K_LAST)
        return 4 + (int)(msr - MTRR_FIX_4K_FIRST);
    if (msr >= MTRR_VAR_FIRST && msr <= MTRR_VAR_LAST)
        return 12 + (int)(msr - MTRR_VAR_FIRST);
    return -1;
}

/* Memory types UC 0, WC 1, WT 4, WP 5, WB 6 (12.11.2 table 12-8). */
static bool valid_memory_type(u64 type) { return type <= 6 && type != 2 && type != 3; }

static bool read_mtrrcap(struct vcpu *v, u32 msr, u64 *value)
{
    (void)v;
    (void)msr;
    *value = MTRRCAP_VALUE;
    return true;
}

static bool read_mtrr(struct vcpu *v, u32 msr, u64 *value)
{
    *value = v->mtrr[mtrr_index(msr)];
    return true;
}

/* A reserved bit or an undefined memory type faults (12.11.2-12.11.3). */
static bool write_mtrr(struct vcpu *v, u32 msr, u64 value)
{
    bool ok;
    if (msr == MSR_IA32_MTRR_DEF_TYPE) {
        ok = !(value & MTRR_DEF_TYPE_RESERVED) && valid_memory_type(value & 0xff);
    } else if (msr >= MTRR_VAR_FIRST) {
        bool mask = (msr - MTRR_VAR_FIRST) & 1;
        ok = mask ? !(value & MTRR_PHYSMASK_RESERVED)
                  : !(value & MTRR_PHYSBASE_RESERVED) && valid_memory_type(value & 0xff);
    } else {
        ok = true;
        for (unsigned i = 0; i < 8; i++)
            ok = ok && valid_memory_type((value >> (8 * i)) & 0xff);
    }
    if (ok)
        v->mtrr[mtrr_index(msr)] = value;
    return ok;
}

/* AMD model-specific MSRs that OSes read without checking for a #GP
 * (Linux reads 0xC0010055 at boot): they read as 0 and ignore writes, the
 * quiet state (AMD BKDG for families 10h-16h): no C1E message pending
 * (C001_0055), HWCR and SYSCFG defaults (C001_0015, C001_0010), no
 * northbridge or decoder configuration (C001_001F, C001_1029), and the
 * legacy performance counters, which count nothing (C001_0000-7). */
#define MSR_AMD_PERF_FIRST 0xc0010000
#define MSR_AMD_PERF_LAST 0xc0010007

static const struct msr_rule rules[] = {
    {0xc0010055, read_zero, write_ignore},
    {0xc0010015, read_zero, write_ignore},
    {0xc0010010, read_zero, write_ignore},
    {0xc001001f, read_zero, write_ignore},
    {0xc0011029, read_zero, write_ignore},
    {0xc0010131, read_zero, NULL}, /* SEV_STATUS: no encryption active (APM 2 15.34.10) */
    {MSR_IA32_APIC_BASE, read_apic_base, write_apic_base},
    {MSR_IA32_TSC_DEADLINE, read_tsc_deadline, write_tsc_deadline},
    {MSR_IA32_TSC, read_tsc, write_tsc},
    {MSR_IA32_TSC_ADJUST, read_tsc_adjust, write_tsc_adjust}, /* CPUID.7.0:EBX[1] offers it */
    {MSR_IA32_TSC_AUX, read_tsc_aux, write_tsc_aux},
    {MSR_IA32_PLATFORM_ID, read_zero, NULL},
    {MSR_IA32_BIOS_SIGN_ID, read_zero, write_ignore}, /* microcode revision: none */
    {MSR_IA32_MCG_CAP, read_zero, NULL},              /* no machine-check banks */
    {MSR_IA32_MCG_STATUS, read_zero, write_zero_only},
    {MSR_IA32_MTRRCAP, read_mtrrcap, NULL},
    {MSR_IA32_MISC_ENABLE, read_misc_enable, write_misc_enable},
    /* kvmclock, with paravirt = kvm only (#GP otherwise) */
    {MSR_KVM_WALL_CLOCK_NEW, kvm_msr_read, kvm_msr_write},
    {MSR_KVM_SYSTEM_TIME_NEW, kvm_msr_read, kvm_msr_write},
};

static const struct msr_rule amd_perf = {0, read_zero, write_ignore};
static const struct msr_rule mtrr = {0, read_mtrr, write_mtrr};
static const struct msr_rule x2apic = {0, read_x2apic, write_x2apic};

static const struct msr_rule *find_rule(u32 msr)
{
    for (size_t i = 0; i < ARRAY_SIZE(rules); i++)
        if (rules[i].msr == msr)
            return &rules[i];
    if (mtrr_index(msr) >= 0)
        return &mtrr;
    if (msr >= MSR_AMD_PERF_FIRST && msr <= MSR_AMD_PERF_LAST)
        return &amd_perf;
    if (msr >= X2APIC_MSR_FIRST && msr <= X2APIC_MSR_LAST)
        return &x2apic;
    return NULL;
}

void handle_msr_read(struct vcpu *v, struct vm_exit *e)
{
    u32 msr = (u32)v->gpr[GPR_RCX];
    u64 value;
    const struct msr_rule *r = find_rule(msr);
    bool ok = arch->msr_read(v, msr, &value) || (r && r->read && r->read(v, msr, &value));
    if (!ok) {
        vcpu_inject_exception(v, VECTOR_GP, true, 0);
        return;
    }
    v->gpr[GPR_RAX] = (u32)value;
    v->gpr[GPR_RDX] = value >> 32;
    vcpu_complete_instruction(v, e);
}

/* Values the CPU refuses with #GP, caught before they reach a VMCS or
 * VMCB field where they would make the next VM entry fail: EFER with
 * reserved bits or features CPUID does not offer (SVME among them: SVM
 * is hidden), or an LME change while paging is on; PAT with a reserved
 * memory type. */
static bool write_faults(struct vcpu *v, u32 msr, u64 value)
{
    switch (msr) {
    case MSR_EFER: {
        struct vcpu_sregs s;
        struct guest_features f;
        arch->get_sregs(v, &s);
        cpuid_vcpu_features(v, &f);
        return efer_write_faults(s.efer, value, s.cr0, &f);
    }
    case MSR_IA32_PAT:
        return !pat_valid(value);
    default:
        return false;
    }
}

/* The fast way (vcpu_fast_exit): the x2APIC EOI, WRMSR of 0 to 80BH
 * (SDM 3A 11.12.1.2), when it changes nothing but the ISR
 * (lapic_x2apic_quiet_eoi); and IA32_TSC_DEADLINE (6E0H, 11.5.4.1),
 * which the guest writes for each timer tick (Linux's TSC-deadline
 * clockevent), its host timer armed again in place
 * (platform_timer_written). A domain type that answers MSRs itself
 * (pvh), any other MSR or value (a non-zero EOI faults) take the full way. */
/* Apart, so that the EOI's way keeps its registers. */
static __attribute__((noinline)) enum fast_way fast_tsc_deadline_write(struct vcpu *v)
{
    bool quiet;
    if (!platform_timer_write_begin(v, &quiet, rdtsc()))
        return FAST_NO;
    lapic_write_tsc_deadline(v->lapic, (v->gpr[GPR_RDX] << 32) | (u32)v->gpr[GPR_RAX]); /* EDX:EAX (SDM 2B WRMSR) */
    return platform_timer_written(v, quiet);
}

enum fast_way fast_msr_write(struct vcpu *v, u16 port, u8 size)
{
    (void)port;
    (void)size;
    if (v->domain->type->msr_write)
        return FAST_NO;
    if ((u32)v->gpr[GPR_RCX] == MSR_X2APIC_EOI)
        return !(u32)v->gpr[GPR_RAX] && !(u32)v->gpr[GPR_RDX] && lapic_x2apic_quiet_eoi(v->lapic) ? FAST_BACK_IN
                                                                                                : FAST_NO;
    return fast_tsc_deadline_write(v); /* vcpu_fast_exit brings only 80BH and 6E0H here */
}

void handle_msr_write(struct vcpu *v, struct vm_exit *e)
{
    u32 msr = (u32)v->gpr[GPR_RCX];
    u64 value = (v->gpr[GPR_RDX] << 32) | (u32)v->gpr[GPR_RAX];
    const struct msr_rule *r = find_rule(msr);
    const struct domain_type_ops *type = v->domain->type;
    bool ok;
    if (type->msr_write && type->msr_write(v, msr, value, &ok)) {
        if (!ok)
            vcpu_inject_exception(v, VECTOR_GP, true, 0);
        else
            vcpu_complete_instruction(v, e);
        return;
    }
    ok = !write_faults(v, msr, value) &&
              (arch->msr_write(v, msr, value) || (r && r->write && r->write(v, msr, value)));
    if (!ok) {
        vcpu_inject_exception(v, VECTOR_GP, true, 0);
        return;
    }
    vcpu_complete_instruction(v, e);
}
