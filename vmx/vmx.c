/* The Intel VT-x backend: VMXON, one VMCS per vCPU, a VPID per domain, EPT
 * and unrestricted guest, so that guests start in real mode at F000:FFF0
 * exactly as on the AMD-V backend. References are to Intel SDM Vol. 3C.
 * Mirrors svm/svm.c. */
#include "../vmm/arch.h"
#include "../vmm/console.h"
#include "../vmm/cpu.h"
#include "../vmm/cpu_rules.h"
#include "../vmm/cpuid.h"
#include "../vmm/domain.h"
#include "../vmm/fast_way.h"
#include "../vmm/emulate.h"
#include "../vmm/format.h"
#include "../vmm/handlers.h"
#include "../vmm/hosttime.h"
#include "../vmm/mm.h"
#include "../vmm/percpu.h"
#include "../vmm/sched.h"
#include "../vmm/smp.h"
#include "../vmm/string.h"
#include "../vmm/x86.h"
#include "ept.h"
#include "vmcs.h"
#include "vmx.h"
#include "vmx_check.h"
#include "vmx_exit.h"
#include "vmx_ops.h"

#define MAX_VPIDS 4096
#define FEATURE_CONTROL_LOCK BIT(0)
#define FEATURE_CONTROL_VMXON_OUTSIDE_SMX BIT(2)
#define CPUID_80000001_EDX_RDTSCP BIT(27)

int vmx_enter(u64 *gpr, int launched);
int vmx_resume_again(u64 *gpr);
void vmx_exit_stub(void);

struct vmx_cpu vmx_cpu;

/* Exceptions that always exit: #DB and #AC, whose delivery can raise the
 * same exception again forever without an instruction boundary where the
 * host could take an interrupt (the CPU "hangs" in microcode, CVE-2015-8104
 * and CVE-2015-5307); Zazen reflects them (vmm/reflect.c). */
#define INTERCEPTED_EXCEPTIONS (BIT(VECTOR_DB) | BIT(VECTOR_AC))

/* The virtual-APIC page's TPR (VTPR), which MOV CR8 reads and writes
 * with the TPR shadow (SDM 3C 29.1.1, 29.3), and RDMSR and WRMSR of 808H
 * with "virtualize x2APIC mode" (29.5). */
#define VAPIC_TPR 0x80
/* The VMX-preemption timer's count while it does not back the host timer
 * up: its largest (a 32-bit field, 25.5.1). */
#define PREEMPTION_IDLE 0xffffffffull
#define NO_PREEMPTION_DEADLINE (~0ull)
#define MSR_X2APIC_TPR 0x808

struct vmx_domain {
    struct nested_pt ept;
    u64 eptp;
};

/* MSRs that VM entry and exit do not switch, passed through to the guest
 * and swapped by hand when another vCPU takes this CPU. */
static const u32 swapped_msrs[] = {MSR_KERNEL_GS_BASE, MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SFMASK};

/* Guest registers that live in the CPU itself on VT-x (the VMCS has no
 * field for them) besides those every backend shares (vmm/guest_state.c):
 * the MSRs above, CR2 (28.3.3: a #PF exit does not even write it) and DR6
 * (only DR7 is in the VMCS, 25.4.1). */
struct vmx_cpu_regs {
    u64 msrs[ARRAY_SIZE(swapped_msrs)];
    u64 cr2;
    u64 dr6;
};

struct vmx_vcpu {
    struct vcpu *vcpu;
    void *vmcs;
    bool launched;
    int active_cpu; /* the CPU its VMCS is active on (SDM 3C 25.11.1); -1: none (clear) */
    u32 nested_stale; /* set from any CPU by vmx_remap: INVEPT before the next entry */
    u16 vpid;
    /* The guest RIP, RSP and RFLAGS the VMCS holds when vmx_vcpu_run
     * returns (the last exit's, or what it wrote since): it writes back
     * only what changed. Its fast loop leaves them until it ends. */
    u64 exit_rip;
    u64 exit_rsp, exit_rflags;
    u32 proc; /* the primary processor-based controls now in the VMCS */
    struct vmx_cpu_regs regs; /* valid while another vCPU is current */
    u8 *virtual_apic; /* the TPR shadow's page: the TPR at 80H (29.1) */
    u8 tpr; /* what write_tpr loaded: the TPR without TPR shadow */
    u32 proc2; /* the secondary processor-based controls now in the VMCS */
    bool x2apic; /* "virtualize x2APIC mode" and the bitmap passing 808H through are in the VMCS */
    u8 tpr_threshold; /* in the VMCS */
    bool preemption_armed;   /* the preemption timer counts to preemption_deadline (or ran out) */
    u64 preemption_deadline; /* the host TSC its kept count is for; NO_PREEMPTION_DEADLINE: none (idle, or not kept) */
};

/* The CR0 and CR4 guest/host masks every VMCS gets (the bits the guest
 * does not own, SDM 3C 25.6.6; vmcs_build): its CR0 is the real one's
 * owned bits and the read shadow's others, so a read of it takes two
 * VMREADs, not three. */
static u64 cr0_mask, cr4_mask;

/* Each CPU's own (percpu.arch). */
struct vmx_percpu {
    void *vmxon_region;
    /* The vCPU whose VMCS is current on this CPU, and whose vmx_cpu_regs
     * are in this CPU's registers. */
    struct vmx_vcpu *current;
};

static struct vmx_percpu *this_vmx_cpu(void) { return this_cpu()->arch; }

/* VPIDs, one per vCPU: "vpid" in the lock order (a leaf). */
static struct spinlock vpid_lock = SPINLOCK_INIT("vpid");
static u8 vpid_used[MAX_VPIDS / 8];

static struct vmx_domain *xd(struct domain *d) { return d->arch; }
static struct vmx_vcpu *xv(struct vcpu *v) { return v->arch; }
static void vmx_set_x2apic_mode(struct vcpu *v, bool x2apic);

/* ---- capabilities ---- */

/* A control value: the bits we want, plus what the CPU forces to 1
 * (allowed-0 settings, low half of the capability MSR), minus what it
 * cannot do (allowed-1 settings, high half) (SDM 3C A.3-A.5). */
static bool adjust_controls(u64 cap, u32 required, u32 optional, u32 *out, const char *what, char *why,
                            size_t why_size)
{
    u32 allowed0 = (u32)cap, allowed1 = (u32)(cap >> 32);
    if ((required & allowed1) != required) {
        snprintf(why, why_size, "VT-x lacks %s controls 0x%x", what, required & ~allowed1);
        return false;
    }
    *out = (required | (optional & allowed1) | allowed0) & allowed1;
    return true;
}

static bool vmx_check_features(char *why, size_t why_size)
{
    struct vmx_cpu *c = &vmx_cpu;
    c->basic = rdmsr(MSR_VMX_BASIC);
    bool true_ctls = (c->basic & VMX_BASIC_TRUE_CTLS) != 0;
    if (((c->basic >> VMX_BASIC_MEMTYPE_SHIFT) & 0xf) != VMX_MEMTYPE_WB) {
        snprintf(why, why_size, "VT-x wants VMCS memory that is not write-back");
        return false;
    }
    u64 proc_cap = rdmsr(true_ctls ? MSR_VMX_TRUE_PROCBASED_CTLS : MSR_VMX_PROCBASED_CTLS);
    if (!(proc_cap >> 32 & PROC_ACTIVATE_SECONDARY)) {
        snprintf(why, why_size, "VT-x without secondary controls: no EPT, unrestricted guest or VPID");
        return false;
    }
    u64 proc2_cap = rdmsr(MSR_VMX_PROCBASED_CTLS2);
    static const struct {
        u32 bit;
        const char *name;
    } needed[] = {{PROC2_ENABLE_EPT, "EPT"}, {PROC2_UNRESTRICTED_GUEST, "unrestricted guest"}, {PROC2_ENABLE_VPID, "VPID"}};
    for (size_t i = 0; i < ARRAY_SIZE(needed); i++)
        if (!(proc2_cap >> 32 & needed[i].bit)) {
            snprintf(why, why_size, "VT-x without %s (IA32_VMX_PROCBASED_CTLS2): Zazen needs it", needed[i].name);
            return false;
        }
    c->ept_vpid_cap = rdmsr(MSR_VMX_EPT_VPID_CAP);
    u64 ept_needed = EPT_CAP_WALK_LENGTH_4 | EPT_CAP_MEMTYPE_WB | EPT_CAP_INVEPT;
    if ((c->ept_vpid_cap & ept_needed) != ept_needed || !(c->ept_vpid_cap & (EPT_CAP_INVEPT_SINGLE | EPT_CAP_INVEPT_ALL))) {
        snprintf(why, why_size, "VT-x EPT lacks 4-level write-back tables or INVEPT (IA32_VMX_EPT_VPID_CAP %llx)",
                 (unsigned long long)c->ept_vpid_cap);
        return false;
    }
    if (!(c->ept_vpid_cap & VPID_CAP_INVVPID) || !(c->ept_vpid_cap & (VPID_CAP_INVVPID_SINGLE | VPID_CAP_INVVPID_ALL))) {
        snprintf(why, why_size, "VT-x without INVVPID: VPIDs cannot be recycled safely");
        return false;
    }
    bool rdtscp = (cpuid(0x80000001, 0).edx & CPUID_80000001_EDX_RDTSCP) != 0;
    /* The guest must never write the real TPR (MOV to CR8 sets it, SDM 3A
     * 11.8.6.1): with a TPR shadow CR8 is the virtual-APIC page's TPR
     * (29.3), without one CR8 accesses exit (25.6.2). */
    u32 proc_required = PROC_HLT_EXITING | PROC_USE_IO_BITMAPS | PROC_USE_MSR_BITMAPS | PROC_MWAIT_EXITING |
                        PROC_MONITOR_EXITING | PROC_ACTIVATE_SECONDARY | PROC_USE_TSC_OFFSETTING;
    if (!(proc_cap >> 32 & PROC_USE_TPR_SHADOW))
        proc_required |= PROC_CR8_LOAD_EXITING | PROC_CR8_STORE_EXITING;
    c->tpr_shadow = (proc_cap >> 32 & PROC_USE_TPR_SHADOW) != 0;
    /* The debug controls make DR7 and IA32_DEBUGCTL the guest's: loaded by
     * VM entry, saved by VM exit, which otherwise sets DR7 to 400H and
     * loses the guest's (26.3.2.1, 27.3.1, 28.5.1). */
    /* Virtual NMIs: the CPU tracks the guest's NMI blocking from an
     * injected NMI to its IRET, and NMI-window exiting is offered
     * (25.6.1, 26.7.6). */
    bool ok = adjust_controls(rdmsr(true_ctls ? MSR_VMX_TRUE_PINBASED_CTLS : MSR_VMX_PINBASED_CTLS),
                           PIN_EXTERNAL_INTERRUPT_EXITING | PIN_NMI_EXITING, PIN_VIRTUAL_NMIS, &c->pin, "pin-based",
                           why, why_size) &&
           adjust_controls(proc_cap, proc_required | (c->tpr_shadow ? PROC_USE_TPR_SHADOW : 0), 0, &c->proc,
                           "processor-based", why, why_size) &&
           adjust_controls(proc2_cap, PROC2_ENABLE_EPT | PROC2_ENABLE_VPID | PROC2_UNRESTRICTED_GUEST,
                           rdtscp ? PROC2_ENABLE_RDTSCP : 0, &c->proc2, "secondary", why, why_size) &&
           adjust_controls(rdmsr(true_ctls ? MSR_VMX_TRUE_EXIT_CTLS : MSR_VMX_EXIT_CTLS),
                           EXIT_HOST_ADDRESS_SPACE_SIZE | EXIT_SAVE_EFER | EXIT_LOAD_EFER | EXIT_SAVE_PAT |
                               EXIT_LOAD_PAT | EXIT_ACK_INTERRUPT_ON_EXIT | EXIT_SAVE_DEBUG_CONTROLS,
                           0, &c->exit, "VM-exit", why, why_size) &&
           adjust_controls(rdmsr(true_ctls ? MSR_VMX_TRUE_ENTRY_CTLS : MSR_VMX_ENTRY_CTLS),
                           ENTRY_LOAD_EFER | ENTRY_LOAD_PAT | ENTRY_LOAD_DEBUG_CONTROLS, 0, &c->entry, "VM-entry",
                           why, why_size);
    c->virtual_nmis = (c->pin & PIN_VIRTUAL_NMIS) != 0;
    /* The VMX-preemption timer, for Bochs' IF = 0 entries
     * (arm_preemption_backstop): on in every VMCS when offered, idle
     * (PREEMPTION_IDLE) but while it backs the host timer up. Its count
     * kept across exits when the CPU can (EXIT_SAVE_PREEMPTION_TIMER,
     * 25.7.1; only with the timer on, 26.2.1.2), so a fast exit need not
     * count it again. */
    u64 pin_cap = rdmsr(true_ctls ? MSR_VMX_TRUE_PINBASED_CTLS : MSR_VMX_PINBASED_CTLS);
    u64 exit_cap = rdmsr(true_ctls ? MSR_VMX_TRUE_EXIT_CTLS : MSR_VMX_EXIT_CTLS);
    c->preemption_timer = (pin_cap >> 32 & PIN_PREEMPTION_TIMER) != 0;
    c->save_preemption_timer = c->preemption_timer && (exit_cap >> 32 & EXIT_SAVE_PREEMPTION_TIMER);
    if (c->preemption_timer)
        c->pin |= PIN_PREEMPTION_TIMER;
    if (c->save_preemption_timer)
        c->exit |= EXIT_SAVE_PREEMPTION_TIMER;
    c->pause_loop_exiting = (proc2_cap >> 32 & PROC2_PAUSE_LOOP_EXITING) != 0;
    /* Offered, set only while the guest's APIC is in x2APIC mode
     * (vmx_set_x2apic_mode); it needs the TPR shadow (26.2.1.1). */
    c->virtualize_x2apic = c->tpr_shadow && (proc2_cap >> 32 & PROC2_VIRTUALIZE_X2APIC);
    c->preemption_timer_shift = (u8)(rdmsr(MSR_VMX_MISC) & 0x1f);
    return ok;
}

/* ---- turning VMX on ---- */

/* One bit per MSR: reads of 0-1FFFh at 0, of C0000000h-C0001FFFh at
 * 1024, writes at 2048 and 3072 (SDM 3C 25.6.9). */
static void msr_bitmap_allow(u8 *bitmap, u32 msr)
{
    u32 offset;
    if (msr < 0x2000)
        offset = 0;
    else if (msr >= 0xc0000000 && msr < 0xc0002000)
        offset = 1024;
    else
        return;
    u32 bit = msr & 0x1fff;
    bitmap[offset + bit / 8] &= (u8)~(1u << (bit % 8));
    bitmap[offset + 2048 + bit / 8] &= (u8)~(1u << (bit % 8));
}

/* Once, on the boot CPU: the bitmaps every vCPU shares. */
static bool vmx_host_setup(char *why, size_t why_size)
{
    struct vmx_cpu *c = &vmx_cpu;
    c->io_bitmaps = page_alloc(2 * PAGE_SIZE);
    c->msr_bitmap = page_alloc(PAGE_SIZE);
    if (!c->io_bitmaps || !c->msr_bitmap) {
        snprintf(why, why_size, "out of memory for the VMX bitmaps");
        return false;
    }
    memset(c->io_bitmaps, 0xff, 2 * PAGE_SIZE); /* every port exits */
    memset(c->msr_bitmap, 0xff, PAGE_SIZE);     /* every MSR exits, except: */
    static const u32 passthrough[] = {MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE, MSR_STAR, MSR_LSTAR,
                                      MSR_CSTAR, MSR_SFMASK, MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP,
                                      MSR_IA32_SYSENTER_EIP};
    for (size_t i = 0; i < ARRAY_SIZE(passthrough); i++)
        msr_bitmap_allow(c->msr_bitmap, passthrough[i]);
    /* In x2APIC mode, with "virtualize x2APIC mode" and "APIC-register
     * virtualization" clear, RDMSR of 808H reads VTPR and WRMSR of 808H
     * writes it and does TPR virtualization, unless the bitmap makes them
     * exit (SDM 3C 29.5); every other x2APIC MSR still exits here. */
    if (c->virtualize_x2apic) {
        c->msr_bitmap_x2apic = page_alloc(PAGE_SIZE);
        if (!c->msr_bitmap_x2apic) {
            snprintf(why, why_size, "out of memory for the VMX bitmaps");
            return false;
        }
        memcpy(c->msr_bitmap_x2apic, c->msr_bitmap, PAGE_SIZE);
        msr_bitmap_allow(c->msr_bitmap_x2apic, MSR_X2APIC_TPR);
    }
    c->large_pages = (c->ept_vpid_cap & EPT_CAP_2MB_PAGES) != 0;
    kprintf("zazen: VT-x: EPT (%s pages), VPID, unrestricted guest, controls pin %x proc %x proc2 %x exit %x entry %x, "
            "PAUSE-loop exiting %s, preemption timer %s, x2APIC TPR virtualization %s\n",
            c->large_pages ? "2 MiB and 4 KiB" : "4 KiB", c->pin, c->proc, c->proc2, c->exit, c->entry,
            c->pause_loop_exiting ? "yes" : "no", c->preemption_timer ? "yes" : "no",
            c->virtualize_x2apic ? "yes" : "no");
    return true;
}

/* On every CPU: the fixed CR bits, and VMXON with a region of its own. */
static bool vmx_cpu_enable(char *why, size_t why_size)
{
    struct vmx_cpu *c = &vmx_cpu;
    if (!vmx_check_features(why, why_size))
        return false;
    if (!c->msr_bitmap && !vmx_host_setup(why, why_size))
        return false;
    /* SDM 3C 24.7: IA32_FEATURE_CONTROL may be locked by the firmware. */
    u64 fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
    if (!(fc & FEATURE_CONTROL_LOCK))
        wrmsr(MSR_IA32_FEATURE_CONTROL, fc | FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMXON_OUTSIDE_SMX);
    else if (!(fc & FEATURE_CONTROL_VMXON_OUTSIDE_SMX)) {
        snprintf(why, why_size, "VT-x is disabled by the firmware (IA32_FEATURE_CONTROL is locked without VMXON)");
        return false;
    }
    c->cr0_fixed0 = rdmsr(MSR_VMX_CR0_FIXED0);
    c->cr0_fixed1 = rdmsr(MSR_VMX_CR0_FIXED1);
    c->cr4_fixed0 = rdmsr(MSR_VMX_CR4_FIXED0);
    c->cr4_fixed1 = rdmsr(MSR_VMX_CR4_FIXED1);
    /* SDM 3C 24.8: CR0 and CR4 must obey the fixed bits in VMX operation. */
    write_cr0((read_cr0() | c->cr0_fixed0) & c->cr0_fixed1);
    write_cr4((read_cr4() | c->cr4_fixed0 | CR4_VMXE) & c->cr4_fixed1);

    struct vmx_percpu *pc = page_alloc(sizeof(*pc));
    void *region = page_alloc(PAGE_SIZE);
    if (!pc || !region) {
        snprintf(why, why_size, "out of memory for the VMXON region");
        return false;
    }
    pc->vmxon_region = region;
    *(u32 *)region = (u32)(c->basic & 0x7fffffff); /* VMCS revision identifier (24.11.5) */
    if (!vmxon(hpa_of(region))) {
        snprintf(why, why_size, "VMXON failed");
        return false;
    }
    this_cpu()->arch = pc;
    return true;
}

/* ---- domains ---- */

static u16 vpid_alloc(void)
{
    u16 found = 0;
    spin_lock(&vpid_lock);
    for (u16 id = 1; id < MAX_VPIDS && !found; id++) /* VPID 0 is the host's (28.1) */
        if (!(vpid_used[id / 8] & (1u << (id % 8)))) {
            vpid_used[id / 8] |= (u8)(1u << (id % 8));
            found = id;
        }
    spin_unlock(&vpid_lock);
    return found;
}

static void vpid_free(u16 id)
{
    spin_lock(&vpid_lock);
    vpid_used[id / 8] &= (u8)~(1u << (id % 8));
    spin_unlock(&vpid_lock);
}

/* Forget this CPU's cached guest-physical translations of an EPT
 * (INVEPT, SDM 3C 29.4.3.1). */
static void flush_ept(u64 eptp)
{
    if (vmx_cpu.ept_vpid_cap & EPT_CAP_INVEPT_SINGLE)
        invept(INVEPT_SINGLE_CONTEXT, eptp);
    else
        invept(INVEPT_ALL_CONTEXT, 0);
}

/* ... and its linear translations tagged with a VPID (INVVPID). */
static void flush_vpid(u16 vpid)
{
    if (vmx_cpu.ept_vpid_cap & VPID_CAP_INVVPID_SINGLE)
        invvpid(INVVPID_SINGLE_CONTEXT, vpid);
    else
        invvpid(INVVPID_ALL_CONTEXT, 0);
}

static bool vmx_domain_create(struct domain *d, char *why, size_t why_size)
{
    struct vmx_domain *x = page_alloc(sizeof(*x));
    if (!x) {
        snprintf(why, why_size, "out of memory for the domain's VMX state");
        return false;
    }
    d->arch = x;
    if (!nested_pt_init(&x->ept, &ept_format)) {
        snprintf(why, why_size, "out of memory for extended page tables");
        return false;
    }
    x->ept.large_pages = vmx_cpu.large_pages;
    if (!nested_pt_map_domain(&x->ept, d)) {
        snprintf(why, why_size, "out of memory for extended page tables");
        return false;
    }
    /* Each CPU flushes this EPT's translations when one of the domain's
     * vCPUs first becomes active there (make_current): an EPT root reused
     * from a domain that ended leaves nothing stale behind. */
    x->eptp = ept_pointer(hpa_of(x->ept.root));
    return true;
}

static void vmx_domain_destroy(struct domain *d)
{
    struct vmx_domain *x = xd(d);
    if (!x)
        return;
    nested_pt_destroy(&x->ept);
    page_free(x, sizeof(*x));
    d->arch = NULL;
}

/* The EPT changed under a running domain: INVEPT must drop the
 * guest-physical and combined translations derived from it (SDM 3C
 * 29.4.3.1: software must invalidate after changing an EPT
 * paging-structure entry) on every CPU that may hold them. Each vCPU does
 * it on its CPU before its next entry (vmx_vcpu_run), and one running on
 * another CPU is made to exit so that entry is now; a CPU a vCPU ran on
 * before flushes this EPT when it comes back (make_current). */
static bool vmx_remap(struct domain *d, u64 gpa, u64 size)
{
    struct vmx_domain *x = xd(d);
    if (!nested_pt_follow_domain(&x->ept, d, gpa, size))
        return false;
    for (unsigned i = 0; i < d->vcpu_count; i++) {
        atomic_store_seq(&xv(d->vcpus[i])->nested_stale, 1u);
        sched_interrupt_guest(d->vcpus[i]);
    }
    return true;
}

/* ---- the VMCS ---- */

/* Writes a field and remembers the first one the CPU refuses, so setup
 * errors name the field (VMWRITE fails on an unsupported field, 31.4). */
struct vmcs_writer {
    bool ok;
    u64 failed_field;
};

static void put(struct vmcs_writer *w, u64 field, u64 value)
{
    if (!vmwrite(field, value) && w->ok) {
        w->ok = false;
        w->failed_field = field;
    }
}

/* The whole VMCS but the guest registers, in one linear pass: controls,
 * then host state (SDM 3C 25.5, loaded on every VM exit). */
static bool vmcs_setup(struct vcpu *v, char *why, size_t why_size)
{
    struct vmx_cpu *c = &vmx_cpu;
    struct vmx_domain *x = xd(v->domain);
    struct vmcs_writer w = {true, 0};

    put(&w, VMCS_PIN_CONTROLS, c->pin);
    if (c->preemption_timer)
        put(&w, VMCS_PREEMPTION_TIMER, PREEMPTION_IDLE);
    xv(v)->preemption_armed = false;
    xv(v)->preemption_deadline = NO_PREEMPTION_DEADLINE;
    put(&w, VMCS_PROC_CONTROLS, c->proc);
    /* PAUSE-loop exiting for a domain of several vCPUs: a guest that
     * spins on a lock whose holder waits for this CPU gives it up
     * (vmm/exit.c, handle_pause). A loop is PAUSEs at most PLE_GAP TSC
     * ticks apart; it exits once it has lasted PLE_WINDOW ticks (SDM 3C
     * 25.6.13). KVM's defaults: 128 and 4096. One vCPU alone has nobody
     * to yield to, and its udelay loops would exit for nothing. */
    bool ple = c->pause_loop_exiting && v->domain->cfg->vcpus > 1;
    xv(v)->proc2 = c->proc2 | (ple ? PROC2_PAUSE_LOOP_EXITING : 0);
    put(&w, VMCS_PROC_CONTROLS2, xv(v)->proc2);
    if (ple) {
        put(&w, VMCS_PLE_GAP, 128);
        put(&w, VMCS_PLE_WINDOW, 4096);
    }
    put(&w, VMCS_EXIT_CONTROLS, c->exit);
    put(&w, VMCS_ENTRY_CONTROLS, c->entry);
    put(&w, VMCS_EXCEPTION_BITMAP, INTERCEPTED_EXCEPTIONS);
    put(&w, VMCS_PF_ERROR_MASK, 0);
    put(&w, VMCS_PF_ERROR_MATCH, 0);
    put(&w, VMCS_CR3_TARGET_COUNT, 0);
    put(&w, VMCS_EXIT_MSR_STORE_COUNT, 0);
    put(&w, VMCS_EXIT_MSR_LOAD_COUNT, 0);
    put(&w, VMCS_ENTRY_MSR_LOAD_COUNT, 0);
    put(&w, VMCS_ENTRY_INTR_INFO, 0);
    put(&w, VMCS_IO_BITMAP_A, hpa_of(c->io_bitmaps));
    put(&w, VMCS_IO_BITMAP_B, hpa_of(c->io_bitmaps) + PAGE_SIZE);
    put(&w, VMCS_MSR_BITMAP, hpa_of(c->msr_bitmap));
    put(&w, VMCS_EPT_POINTER, x->eptp);
    put(&w, VMCS_VPID, xv(v)->vpid);
    put(&w, VMCS_LINK_POINTER, ~0ull); /* no shadow VMCS (26.3.1.5) */
    /* CR bits the guest may not own: those VMX operation fixes (but PE and
     * PG, which unrestricted guest frees), and PG itself, whose changes
     * switch IA-32e mode in the entry controls (25.6.6). */
    cr0_mask = ((c->cr0_fixed0 | ~c->cr0_fixed1) & ~(CR0_PE | CR0_PG)) | CR0_PG;
    put(&w, VMCS_CR0_MASK, cr0_mask);
    /* CR4 bits the guest's CPUID does not offer are masked too, so MOV
     * to CR4 exits and faults on them as on that CPU (guest_write_cr4). */
    cr4_mask = c->cr4_fixed0 | ~c->cr4_fixed1 | cpuid_guest_cr4_reserved();
    put(&w, VMCS_CR4_MASK, cr4_mask);
    if (c->tpr_shadow) {
        put(&w, VMCS_VIRTUAL_APIC_PAGE, hpa_of(xv(v)->virtual_apic));
        put(&w, VMCS_TPR_THRESHOLD, 0);
    }

    put(&w, VMCS_HOST_CR0, read_cr0());
    put(&w, VMCS_HOST_CR3, read_cr3());
    put(&w, VMCS_HOST_CR4, read_cr4());
    put(&w, VMCS_HOST_CS_SELECTOR, SEL_CODE64);
    put(&w, VMCS_HOST_SS_SELECTOR, SEL_DATA);
    put(&w, VMCS_HOST_DS_SELECTOR, SEL_DATA);
    put(&w, VMCS_HOST_ES_SELECTOR, SEL_DATA);
    put(&w, VMCS_HOST_FS_SELECTOR, 0);
    put(&w, VMCS_HOST_GS_SELECTOR, 0);
    put(&w, VMCS_HOST_TR_SELECTOR, SEL_TSS);
    put(&w, VMCS_HOST_SYSENTER_CS, rdmsr(MSR_IA32_SYSENTER_CS));
    put(&w, VMCS_HOST_SYSENTER_ESP, rdmsr(MSR_IA32_SYSENTER_ESP));
    put(&w, VMCS_HOST_SYSENTER_EIP, rdmsr(MSR_IA32_SYSENTER_EIP));
    put(&w, VMCS_HOST_IA32_EFER, rdmsr(MSR_EFER));
    put(&w, VMCS_HOST_IA32_PAT, rdmsr(MSR_IA32_PAT));
    put(&w, VMCS_HOST_RIP, (u64)(uintptr_t)vmx_exit_stub);
    if (!w.ok)
        snprintf(why, why_size, "VMWRITE refused VMCS field 0x%llx", (unsigned long long)w.failed_field);
    return w.ok;
}

/* The host-state fields that differ from CPU to CPU (SDM 3C 25.5.2): its
 * per-CPU data in GS, its TSS and GDT. Written when a VMCS becomes active
 * on a CPU. */
static void write_host_cpu_fields(void)
{
    struct percpu *c = this_cpu();
    vmwrite(VMCS_HOST_FS_BASE, 0);
    vmwrite(VMCS_HOST_GS_BASE, (u64)(uintptr_t)c);
    vmwrite(VMCS_HOST_TR_BASE, cpu_tss_base(&c->tables));
    vmwrite(VMCS_HOST_GDTR_BASE, cpu_gdt_base(&c->tables));
    vmwrite(VMCS_HOST_IDTR_BASE, cpu_idt_base());
}

static void save_cpu_regs(struct vmx_cpu_regs *r)
{
    for (size_t i = 0; i < ARRAY_SIZE(swapped_msrs); i++)
        r->msrs[i] = rdmsr(swapped_msrs[i]);
    r->cr2 = read_cr2();
    r->dr6 = read_dr6();
}

/* Every register, whatever the previous vCPU left there. */
static void load_cpu_regs(const struct vmx_cpu_regs *r)
{
    for (size_t i = 0; i < ARRAY_SIZE(swapped_msrs); i++)
        wrmsr(swapped_msrs[i], r->msrs[i]);
    write_cr2(r->cr2);
    write_dr6(r->dr6);
}

/* Runs on the CPU where x's VMCS is active (a cross call from the CPU
 * that wants it): VMCLEAR writes its data back to memory and makes it
 * clear, so that another CPU may VMPTRLD it (SDM 3C 25.11.1, 25.11.3). */
static void vmclear_here(void *arg)
{
    struct vmx_vcpu *x = arg;
    struct vmx_percpu *pc = this_vmx_cpu();
    if (pc->current == x) {
        save_cpu_regs(&x->regs); /* still in this CPU's registers */
        pc->current = NULL;
    }
    vmclear(hpa_of(x->vmcs));
    x->launched = false; /* a clear VMCS takes VMLAUNCH next (26.1) */
    atomic_store(&x->active_cpu, -1);
}

/* Makes x this CPU's current vCPU: its VMCS active and current here, its
 * vmx_cpu_regs in the registers (the previous vCPU's saved). A VMCS
 * active on another CPU is cleared there first; one that becomes active
 * here gets this CPU's host fields, and the guest's translations cached
 * here from an earlier stay are flushed (its page tables may have changed
 * since, and INVLPG or MOV CR3 elsewhere did not reach this TLB). */
static __attribute__((noinline, cold)) void make_current_here(struct vmx_vcpu *x)
{
    struct vmx_percpu *pc = this_vmx_cpu();
    int me = (int)this_cpu()->index;
    int active = atomic_load(&x->active_cpu);
    if (active >= 0 && active != me)
        smp_call(cpus[active], vmclear_here, x);
    if (pc->current)
        save_cpu_regs(&pc->current->regs);
    if (!vmptrld(hpa_of(x->vmcs)))
        panic("VMPTRLD of a vCPU's VMCS failed");
    load_cpu_regs(&x->regs);
    pc->current = x;
    if (x->active_cpu != me) {
        x->active_cpu = me;
        write_host_cpu_fields();
        flush_ept(xd(x->vcpu->domain)->eptp);
        flush_vpid(x->vpid);
    }
}

/* Nearly always it is current already (every backend operation asks):
 * that check inline, the switch out of line. */
static inline void make_current(struct vmx_vcpu *x)
{
    if (__builtin_expect(this_vmx_cpu()->current != x, 0))
        make_current_here(x);
}

static bool vmx_vcpu_create(struct vcpu *v, char *why, size_t why_size)
{
    struct vmx_vcpu *x = page_alloc(sizeof(*x));
    void *vmcs = page_alloc(PAGE_SIZE);
    u8 *virtual_apic = vmx_cpu.tpr_shadow ? page_alloc(PAGE_SIZE) : NULL;
    if (!x || !vmcs || (vmx_cpu.tpr_shadow && !virtual_apic)) {
        page_free(x, sizeof(*x));
        page_free(vmcs, PAGE_SIZE);
        page_free(virtual_apic, PAGE_SIZE);
        snprintf(why, why_size, "out of memory for a VMCS");
        return false;
    }
    *(u32 *)vmcs = (u32)(vmx_cpu.basic & 0x7fffffff);
    x->vcpu = v;
    x->vmcs = vmcs;
    x->active_cpu = -1;
    x->virtual_apic = virtual_apic;
    v->arch = x;
    x->vpid = vpid_alloc();
    if (!x->vpid) {
        snprintf(why, why_size, "no free VPID");
        return false;
    }
    if (!vmclear(hpa_of(vmcs))) { /* launch state "clear" (24.11.3) */
        snprintf(why, why_size, "VMCLEAR of a new VMCS failed");
        return false;
    }
    make_current(x);
    x->proc = vmx_cpu.proc;
    return vmcs_setup(v, why, why_size);
}

static void vmx_vcpu_destroy(struct vcpu *v)
{
    struct vmx_vcpu *x = xv(v);
    if (!x)
        return;
    int active = atomic_load(&x->active_cpu);
    if (active >= 0)
        smp_call(cpus[active], vmclear_here, x); /* the next vCPU there loads every register */
    if (x->vpid)
        vpid_free(x->vpid);
    page_free(x->vmcs, PAGE_SIZE);
    page_free(x->virtual_apic, PAGE_SIZE);
    page_free(x, sizeof(*x));
    v->arch = NULL;
}

/* ---- guest registers ---- */

static void write_segment(unsigned seg, u16 selector, u64 base, u32 limit, u32 ar)
{
    vmwrite(VMCS_GUEST_ES_SELECTOR + 2 * seg, selector);
    vmwrite(VMCS_GUEST_ES_BASE + 2 * seg, base);
    vmwrite(VMCS_GUEST_ES_LIMIT + 2 * seg, limit);
    vmwrite(VMCS_GUEST_ES_AR + 2 * seg, ar);
}

static u64 real_cr0(u64 guest_cr0)
{
    return (guest_cr0 | (vmx_cpu.cr0_fixed0 & ~(CR0_PE | CR0_PG))) & vmx_cpu.cr0_fixed1;
}

static u64 real_cr4(u64 guest_cr4) { return (guest_cr4 | vmx_cpu.cr4_fixed0) & vmx_cpu.cr4_fixed1; }

/* The register state after RESET (SDM 3A Table 9-1), which unrestricted
 * guest lets VM entry accept as it is (26.3.1.2). */
static void vmx_vcpu_reset(struct vcpu *v)
{
    struct vmx_vcpu *x = xv(v);
    make_current(x);
    write_segment(SEG_CS, 0xf000, 0xffff0000, 0xffff, 0x9b);
    for (unsigned s = SEG_ES; s <= SEG_GS; s++)
        if (s != SEG_CS)
            write_segment(s, 0, 0, 0xffff, 0x93);
    write_segment(SEG_LDTR, 0, 0, 0xffff, 0x82);
    write_segment(SEG_TR, 0, 0, 0xffff, 0x8b);
    vmwrite(VMCS_GUEST_GDTR_BASE, 0);
    vmwrite(VMCS_GUEST_GDTR_LIMIT, 0xffff);
    vmwrite(VMCS_GUEST_IDTR_BASE, 0);
    vmwrite(VMCS_GUEST_IDTR_LIMIT, 0xffff);
    u64 cr0 = CR0_CD | CR0_NW | CR0_ET;
    vmwrite(VMCS_GUEST_CR0, real_cr0(cr0));
    vmwrite(VMCS_CR0_READ_SHADOW, cr0);
    vmwrite(VMCS_GUEST_CR3, 0);
    vmwrite(VMCS_GUEST_CR4, real_cr4(0));
    vmwrite(VMCS_CR4_READ_SHADOW, 0);
    vmwrite(VMCS_GUEST_DR7, 0x400);
    vmwrite(VMCS_GUEST_INTERRUPTIBILITY, 0);
    vmwrite(VMCS_GUEST_ACTIVITY_STATE, 0);
    vmwrite(VMCS_GUEST_PENDING_DEBUG, 0);
    vmwrite(VMCS_GUEST_IA32_EFER, 0);
    vmwrite(VMCS_GUEST_IA32_PAT, 0x0007040600070406ull);
    vmwrite(VMCS_GUEST_IA32_DEBUGCTL, 0);
    vmwrite(VMCS_GUEST_SYSENTER_CS, 0);
    vmwrite(VMCS_GUEST_SYSENTER_ESP, 0);
    vmwrite(VMCS_GUEST_SYSENTER_EIP, 0);
    vmwrite(VMCS_ENTRY_CONTROLS, vmx_cpu.entry & ~ENTRY_IA32E_MODE_GUEST);
    vmwrite(VMCS_ENTRY_INTR_INFO, 0);
    /* The registers VT-x leaves in the CPU: zero but DR6 (Table 9-1). */
    x->regs = (struct vmx_cpu_regs){.dr6 = DR6_RESET};
    load_cpu_regs(&x->regs);
    if (x->virtual_apic)
        memset(x->virtual_apic, 0, PAGE_SIZE);
    x->tpr = 0;
    x->tpr_threshold = 0;
    if (vmx_cpu.tpr_shadow)
        vmwrite(VMCS_TPR_THRESHOLD, 0);
    vmx_set_x2apic_mode(v, false); /* RESET leaves the APIC in xAPIC mode (SDM 3A 11.12.5.1) */
    memset(v->gpr, 0, sizeof(v->gpr));
    v->gpr[GPR_RDX] = cpuid(1, 0).eax; /* processor signature, as after RESET */
    v->rip = 0xfff0;
    v->rflags = RFLAGS_FIXED;
}

/* Xen's PVH entry state (docs/misc/pvh.pandoc); VMCS access rights put
 * the flags nibble in bits 12-15 (SDM 3C 24.4.1, Table 24-2). */
static void vmx_vcpu_enter_flat32(struct vcpu *v, u32 eip)
{
    struct vmx_vcpu *x = xv(v);
    make_current(x);
    write_segment(SEG_CS, 0x10, 0, 0xffffffff, 0xc09b); /* G, D, present, code, readable, accessed */
    for (unsigned s = SEG_ES; s <= SEG_GS; s++)
        if (s != SEG_CS)
            write_segment(s, 0x18, 0, 0xffffffff, 0xc093); /* G, B, present, data, writable, accessed */
    write_segment(SEG_TR, 0x20, 0, 0x67, 0x8b);            /* present, 32-bit busy TSS */
    u64 cr0 = CR0_PE | CR0_ET;
    vmwrite(VMCS_GUEST_CR0, real_cr0(cr0));
    vmwrite(VMCS_CR0_READ_SHADOW, cr0);
    v->rip = eip;
    v->rflags = RFLAGS_FIXED;
}

/* A start-up IPI after INIT (the state above): real mode at the vector's
 * page, CS = vector << 8, base vector << 12, IP = 0 (SDM 3A 9.4.4.1 /
 * 8.4.4.1). Unrestricted guest enters it as it is. */
static void vmx_vcpu_startup(struct vcpu *v, u8 vector)
{
    make_current(xv(v));
    write_segment(SEG_CS, (u16)(vector << 8), (u64)vector << 12, 0xffff, 0x9b);
    v->rip = 0;
}

/* A #DB that exits has not touched DR6 or DR7 yet (SDM 3C 27.1): the
 * exit qualification holds the DR6 bits the CPU would have set (27.2.1,
 * Table 27-1). Zazen hands every #DB back to the guest (vmm/reflect.c), so
 * they go into the guest's DR6 now, which on VT-x is the CPU's own
 * register, and DR7.GD clears as delivering #DB clears it (SDM 3B
 * 17.2.4), or the handler's own MOV DR would fault again. */
static void debug_exception_exited(u64 qualification)
{
    write_dr6(dr6_after_debug_exception(read_dr6(), qualification));
    vmwrite(VMCS_GUEST_DR7, vmread(VMCS_GUEST_DR7) & ~DR7_GD);
}

/* An event whose delivery the exit interrupted is delivered again
 * (SDM 3C 28.2.4, 27.2.4). */
static void reinject_interrupted_event(u32 info, u32 error)
{
    vmwrite(VMCS_ENTRY_INTR_INFO, info & ~BIT(12)); /* bit 12 is reserved on entry */
    if (info & INTR_INFO_ERROR_VALID)
        vmwrite(VMCS_ENTRY_EXCEPTION_ERROR, error);
    vmwrite(VMCS_ENTRY_INSTRUCTION_LENGTH, vmread(VMCS_EXIT_INSTRUCTION_LENGTH));
}

/* After a failed VM entry: a snapshot of the current VMCS and the
 * capability MSRs, checked by vmx_check_vmcs, names the field at fault. */
static void vmx_diagnose(char *out, size_t size)
{
    bool true_ctls = (vmx_cpu.basic & VMX_BASIC_TRUE_CTLS) != 0;
    struct vmx_caps caps = {
        .basic = vmx_cpu.basic,
        .pin = rdmsr(true_ctls ? MSR_VMX_TRUE_PINBASED_CTLS : MSR_VMX_PINBASED_CTLS),
        .proc = rdmsr(true_ctls ? MSR_VMX_TRUE_PROCBASED_CTLS : MSR_VMX_PROCBASED_CTLS),
        .proc2 = rdmsr(MSR_VMX_PROCBASED_CTLS2),
        .exit = rdmsr(true_ctls ? MSR_VMX_TRUE_EXIT_CTLS : MSR_VMX_EXIT_CTLS),
        .entry = rdmsr(true_ctls ? MSR_VMX_TRUE_ENTRY_CTLS : MSR_VMX_ENTRY_CTLS),
        .cr0_fixed0 = vmx_cpu.cr0_fixed0,
        .cr0_fixed1 = vmx_cpu.cr0_fixed1,
        .cr4_fixed0 = vmx_cpu.cr4_fixed0,
        .cr4_fixed1 = vmx_cpu.cr4_fixed1,
    };
    struct vmcs_snapshot s = {
        .pin = (u32)vmread(VMCS_PIN_CONTROLS),
        .proc = (u32)vmread(VMCS_PROC_CONTROLS),
        .proc2 = (u32)vmread(VMCS_PROC_CONTROLS2),
        .exit = (u32)vmread(VMCS_EXIT_CONTROLS),
        .entry = (u32)vmread(VMCS_ENTRY_CONTROLS),
        .entry_intr_info = (u32)vmread(VMCS_ENTRY_INTR_INFO),
        .vpid = (u16)vmread(VMCS_VPID),
        .eptp = vmread(VMCS_EPT_POINTER),
        .host_cr0 = vmread(VMCS_HOST_CR0),
        .host_cr4 = vmread(VMCS_HOST_CR4),
        .cr0 = vmread(VMCS_GUEST_CR0),
        .cr4 = vmread(VMCS_GUEST_CR4),
        .efer = vmread(VMCS_GUEST_IA32_EFER),
        .dr7 = vmread(VMCS_GUEST_DR7),
        .rflags = vmread(VMCS_GUEST_RFLAGS),
        .rip = vmread(VMCS_GUEST_RIP),
        .link_pointer = vmread(VMCS_LINK_POINTER),
        .gdtr_limit = (u32)vmread(VMCS_GUEST_GDTR_LIMIT),
        .idtr_limit = (u32)vmread(VMCS_GUEST_IDTR_LIMIT),
        .activity = (u32)vmread(VMCS_GUEST_ACTIVITY_STATE),
        .interruptibility = (u32)vmread(VMCS_GUEST_INTERRUPTIBILITY),
    };
    for (unsigned i = 0; i < 7; i++)
        s.host_selectors[i] = (u16)vmread(VMCS_HOST_ES_SELECTOR + 2 * i);
    for (unsigned i = 0; i < SEG_COUNT; i++) {
        s.seg_ar[i] = (u32)vmread(VMCS_GUEST_ES_AR + 2 * i);
        s.seg_limit[i] = (u32)vmread(VMCS_GUEST_ES_LIMIT + 2 * i);
    }
    vmx_check_vmcs(&s, &caps, out, size);
}

static const char *instruction_error_text(u32 n)
{
    switch (n) {
    case 4: return "VMLAUNCH with non-clear VMCS";
    case 5: return "VMRESUME with non-launched VMCS";
    case 7: return "VM entry with invalid control field(s)";
    case 8: return "VM entry with invalid host-state field(s)";
    case 12: return "VMREAD/VMWRITE of an unsupported VMCS component";
    case 13: return "VMWRITE to a read-only VMCS component";
    case 26: return "VM entry with events blocked by MOV SS";
    default: return "see SDM 3C 31.4, VM-instruction error numbers";
    }
}

static void entry_failed(struct vm_exit *e, int status)
{
    char verdict[96];
    *e = (struct vm_exit){.reason = EXIT_ENTRY_FAILED};
    vmx_diagnose(verdict, sizeof(verdict));
    if (status == 2) {
        snprintf(e->entry.detail, sizeof(e->entry.detail), "VMfailInvalid: no current VMCS");
        return;
    }
    u32 err = (u32)vmread(VMCS_INSTRUCTION_ERROR);
    e->entry.error = err;
    snprintf(e->entry.detail, sizeof(e->entry.detail), "VM-instruction error %u (%s); %s", err,
             instruction_error_text(err), verdict);
}

/* With "use TSC offsetting" on and "RDTSC exiting" off, RDTSC, RDTSCP
 * and RDMSR of the TSC return the TSC plus this field (SDM 3C, "Changes
 * to Instruction Behavior in VMX Non-Root Operation"). */
static void vmx_set_tsc_offset(struct vcpu *v) { vmwrite(VMCS_TSC_OFFSET, vcpu_tsc_offset(v)); }

static void vmx_vcpu_load(struct vcpu *v)
{
    make_current(xv(v));
    vmx_set_tsc_offset(v);
}

static void vmx_vcpu_put(struct vcpu *v)
{
    (void)v; /* the VMCS stays active here until another CPU wants it */
}

/* The exits whose qualification says nothing (SDM 3C 28.2.1: it is
 * defined for some reasons only): the frequent simple ones, as a mask of
 * basic reasons (all below 64). Every other reason, and a failed entry,
 * reads it. */
#define EXITS_WITHOUT_QUALIFICATION                                                                              \
    (BIT(VMX_EXIT_CPUID) | BIT(VMX_EXIT_HLT) | BIT(VMX_EXIT_RDMSR) | BIT(VMX_EXIT_WRMSR) |                       \
     BIT(VMX_EXIT_EXTERNAL_INTERRUPT) | BIT(VMX_EXIT_INTERRUPT_WINDOW) | BIT(VMX_EXIT_NMI_WINDOW) |              \
     BIT(VMX_EXIT_PREEMPTION_TIMER) | BIT(VMX_EXIT_VMCALL) | BIT(VMX_EXIT_PAUSE) | BIT(VMX_EXIT_XSETBV) |        \
     BIT(VMX_EXIT_TPR_BELOW_THRESHOLD))

static inline bool exit_has_qualification(u32 reason)
{
    return reason >= 64 || !((EXITS_WITHOUT_QUALIFICATION >> reason) & 1); /* bit 31: a failed entry */
}

/* External-interrupt exiting makes the host timer's interrupt end the
 * guest's turn whatever RFLAGS.IF says (SDM 3C 25.2, 26.2). Bochs 2.7
 * does not do that for a guest entered with IF = 0: VM entry works out
 * its interrupt masking from the guest's RFLAGS before it counts itself
 * in VMX non-root operation, so the host's interrupt stays masked until
 * the guest sets IF. A guest spinning with interrupts off (Linux's AP
 * waiting for its BSP, a spinlock taken with spin_lock_irqsave) then
 * keeps the CPU for ever and the vCPU it waits for never runs. So for
 * such an entry the VMX-preemption timer (25.5.1) counts to the same
 * deadline as the host timer: its exit does not depend on IF. On
 * hardware it merely races the host timer's exit. */
/* The timer's count from now to deadline (it counts once every
 * 2^shift TSC ticks: 25.5.1). */
static inline void count_preemption_timer(u64 deadline)
{
    u64 now = rdtsc();
    u64 ticks = deadline > now ? (deadline - now) >> vmx_cpu.preemption_timer_shift : 0;
    vmwrite(VMCS_PREEMPTION_TIMER, ticks > PREEMPTION_IDLE ? PREEMPTION_IDLE : ticks);
}

/* Before an entry: the backstop counts to the host timer's deadline while
 * the guest's IF is 0, and is idle (its largest count) otherwise. */
static void arm_preemption_backstop(struct vmx_vcpu *x, const struct vcpu *v)
{
    if (!vmx_cpu.preemption_timer)
        return;
    u64 deadline = this_cpu()->timer_deadline;
    if (!(v->rflags & RFLAGS_IF) && deadline) {
        count_preemption_timer(deadline);
        x->preemption_deadline = vmx_cpu.save_preemption_timer ? deadline : NO_PREEMPTION_DEADLINE;
        x->preemption_armed = true;
    } else if (x->preemption_armed) {
        vmwrite(VMCS_PREEMPTION_TIMER, PREEMPTION_IDLE);
        x->preemption_deadline = NO_PREEMPTION_DEADLINE;
        x->preemption_armed = false;
    }
}

/* The same after a fast exit, whose guest goes straight back in. The
 * host timer's deadline is the one the last entry saw, or one a fast
 * timer write armed since (platform_timer_written; a fired timer, which
 * forgets it, never comes back this way: fast_reentry). With IF = 0 and
 * the count kept across exits (EXIT_SAVE_PREEMPTION_TIMER) for that same
 * deadline (preemption_deadline: none while the backstop is idle or its
 * count is not kept), it goes on from where the exit left it, but it counts only
 * while the guest runs (25.5.1): once the deadline has passed, a count
 * of 0 makes the guest exit before its first instruction. Its lateness
 * is thus at most the time these exits spent here, and only if the guest
 * then stops exiting before its deadline: this is Bochs' workaround, and
 * hardware's own exit for the host timer comes on time. Anything else
 * (IF set, another deadline, no kept count) goes to
 * arm_preemption_backstop: with IF set and the backstop idle (nearly
 * always) there is nothing to do. */
static inline __attribute__((always_inline)) void backstop_after_fast_exit(struct vmx_vcpu *x, const struct vcpu *v)
{
    if (__builtin_expect(v->rflags & RFLAGS_IF, 1)) {
        if (__builtin_expect(x->preemption_armed, 0))
            arm_preemption_backstop(x, v);
        return;
    }
    u64 deadline = this_cpu()->timer_deadline;
    if (deadline != x->preemption_deadline)
        arm_preemption_backstop(x, v);
    else if (rdtsc() >= deadline)
        vmwrite(VMCS_PREEMPTION_TIMER, 0);
}

/* The basic exit reasons the core has a fast way for (vcpu_fast_exit),
 * besides CPUID (fast_cpuid_exit, asked first); EXIT_NONE: none. All but the EPT violation are instruction exits,
 * which never interrupt the delivery of an event (the IDT-vectoring
 * information is not valid, SDM 3C 28.2.4) and report the instruction's
 * length (28.2.5); fast_exit checks the EPT violation for both. */
static const u8 fast_reasons[64] = {
    [VMX_EXIT_WRMSR] = EXIT_MSR_WRITE,
    [VMX_EXIT_IO] = EXIT_IO, /* IN and OUT, not INS or OUTS (vmx_io_plain) */
    [VMX_EXIT_EPT_VIOLATION] = EXIT_NESTED_FAULT, /* a plain MOV to a device (mmio_fast_decode) */
};

/* RIP and RFLAGS as the exit left them, in the vCPU and as the backend's
 * record of the VMCS's (vmx_vcpu_run writes back only what changed). */
static inline __attribute__((always_inline)) void registers_from_exit(struct vcpu *v, struct vmx_vcpu *x)
{
    v->rip = x->exit_rip = vmread(VMCS_GUEST_RIP);
    v->rflags = x->exit_rflags = vmread(VMCS_GUEST_RFLAGS);
}

/* ...in the vCPU alone, on the fast way: the record follows when the
 * fast loop ends (vmx_vcpu_run), from what the VMCS then holds. */
static inline __attribute__((always_inline)) void fast_registers_from_exit(struct vcpu *v)
{
    v->rip = vmread(VMCS_GUEST_RIP);
    v->rflags = vmread(VMCS_GUEST_RFLAGS);
}

/* What the guest goes back in with after a fast exit (FAST_BACK_IN): RIP,
 * the end of an STI/MOV SS shadow (25.4.2), as RIP moved, and the
 * preemption backstop as the deadline and the guest's IF now want it. */
static inline __attribute__((always_inline)) void fast_back_in(struct vcpu *v, struct vmx_vcpu *x)
{
    u64 blocking = vmread(VMCS_GUEST_INTERRUPTIBILITY);
    if (blocking & 3)
        vmwrite(VMCS_GUEST_INTERRUPTIBILITY, blocking & ~3ull);
    vmwrite(VMCS_GUEST_RIP, v->rip);
    backstop_after_fast_exit(x, v);
}

/* CPUID, the most frequent of them, on a way of its own: only its
 * reason is asked, and none of the port or EPT decoding's values is live
 * across it. */
static inline __attribute__((always_inline)) enum fast_way fast_cpuid_exit(struct vcpu *v, struct vmx_vcpu *x)
{
    fast_registers_from_exit(v);
    enum fast_way way =
        vcpu_fast_exit(v, EXIT_CPUID, vmx_fast_length(vmread(VMCS_EXIT_INSTRUCTION_LENGTH)), 0, 0, NULL);
    if (way == FAST_BACK_IN)
        fast_back_in(v, x);
    return way;
}

/* After an exit: the core's fast way, from the exit reason, RIP, RFLAGS
 * and the instruction length alone, and an I/O exit's qualification (no
 * exit record, no other VMREAD).
 * FAST_BACK_IN: the instruction is done and the guest goes back in at
 * once, with what vmx_vcpu_run would write (fast_back_in). RSP stays in
 * the VMCS (v's copy is read at the next full exit); RFLAGS is
 * unchanged. FAST_DONE: done, and vmx_vcpu_run returns with RIP written
 * at the next entry (exit_rip: the VMCS's, read when the loop ends). */
static enum fast_way fast_exit(struct vcpu *v, struct vmx_vcpu *x, u32 reason)
{
    if (reason == VMX_EXIT_CPUID)
        return fast_cpuid_exit(v, x);
    enum exit_reason r = reason < 64 ? fast_reasons[reason] : EXIT_NONE; /* bit 31: a failed entry */
    u16 port = 0;
    u8 size = 0;
    const struct io_range *range = NULL;
    if (r == EXIT_NONE || (r == EXIT_IO && (!vmx_io_plain(vmread(VMCS_EXIT_QUALIFICATION), &port, &size) ||
                                            !(range = vcpu_fast_port(v, port, size)))))
        return FAST_NO;
    /* An EPT violation: an instruction's data write to a device (MMIO is
     * never mapped), not while an event was being delivered. */
    u64 gpa = 0;
    if (r == EXIT_NESTED_FAULT) {
        if (!vmx_ept_operand_write(vmread(VMCS_EXIT_QUALIFICATION)) ||
            (vmread(VMCS_IDT_VECTORING_INFO) & INTR_INFO_VALID))
            return FAST_NO;
        gpa = vmread(VMCS_GUEST_PHYSICAL_ADDRESS);
    }
    fast_registers_from_exit(v);
    /* The length: the CPU reports it for instruction exits (28.2.5), not
     * for an EPT violation, whose instruction the core decodes. */
    u64 len = r == EXIT_NESTED_FAULT ? mmio_fast_decode(v, gpa, NULL, 0)
                                     : vmx_fast_length(vmread(VMCS_EXIT_INSTRUCTION_LENGTH));
    enum fast_way way = vcpu_fast_exit_split(v, r, len, port, size, range);
    if (way == FAST_BACK_IN)
        fast_back_in(v, x);
    return way;
}

static void vmx_vcpu_run(struct vcpu *v, struct vm_exit *e)
{
    struct vmx_vcpu *x = xv(v);
    make_current(x);
    if (atomic_load(&x->nested_stale) && atomic_exchange(&x->nested_stale, 0u))
        flush_ept(xd(v->domain)->eptp); /* vmx_remap */
    /* Zazen completed the exiting instruction (it moved RIP): blocking by
     * STI or MOV SS covered that instruction only, so it is over (SDM 3C
     * 25.4.2; the "sti; hlt" idiom). */
    if (x->launched && v->rip != x->exit_rip)
        vmwrite(VMCS_GUEST_INTERRUPTIBILITY, vmread(VMCS_GUEST_INTERRUPTIBILITY) & ~3ull);
    /* Only what changed since the exit goes back (only this function
     * writes these three fields, so the VMCS still holds the exit's). */
    if (!x->launched || v->gpr[GPR_RSP] != x->exit_rsp)
        vmwrite(VMCS_GUEST_RSP, v->gpr[GPR_RSP]);
    if (!x->launched || v->rip != x->exit_rip)
        vmwrite(VMCS_GUEST_RIP, v->rip);
    if (!x->launched || v->rflags != x->exit_rflags)
        vmwrite(VMCS_GUEST_RFLAGS, v->rflags);
    arm_preemption_backstop(x, v);

    u32 reason = 0;
    enum fast_way way = FAST_NO;
    int status = vmx_enter(v->gpr, x->launched);
    if (status == 0) {
        x->launched = true;
        for (;;) {
            reason = (u32)vmread(VMCS_EXIT_REASON);
            if ((way = fast_exit(v, x, reason)) != FAST_BACK_IN)
                break;
            /* From this frame, as the vmx_enter above: HOST_RSP holds the
             * stack pointer vmx_resume_again would write (vmx_run.asm). */
            if ((status = vmx_resume_again(v->gpr)) != 0)
                break;
        }
    }
    if (status != 0) { /* the VMCS holds what was written: the top's, fast_back_in's RIP */
        x->exit_rip = v->rip;
        x->exit_rflags = v->rflags;
        entry_failed(e, status);
        return;
    }
    v->gpr[GPR_RSP] = x->exit_rsp = vmread(VMCS_GUEST_RSP);
    v->tpr = x->virtual_apic ? x->virtual_apic[VAPIC_TPR] : x->tpr;
    if (way == FAST_DONE) {
        /* The exit's RIP (the loop's RIP writes went with its exits'
         * entries); RFLAGS as the exit left it, the fast way changing none. */
        x->exit_rip = vmread(VMCS_GUEST_RIP);
        x->exit_rflags = v->rflags;
        vm_exit_clear(e); /* EXIT_NONE: nothing left to dispatch */
        return;
    }
    registers_from_exit(v, x);
    /* No write of the VM-entry interruption information: every VM exit
     * clears its valid bit (SDM 3C 25.8.3). Only the exit fields the
     * reason uses are read (each VMREAD costs, and exits are frequent). */
    struct vmx_exit_raw raw = {.reason = reason};
    u32 basic = raw.reason & 0xffff;
    if (exit_has_qualification(raw.reason))
        raw.qualification = vmread(VMCS_EXIT_QUALIFICATION);
    raw.insn_len = (u32)vmread(VMCS_EXIT_INSTRUCTION_LENGTH);
    if (basic == VMX_EXIT_IO && (raw.qualification & BIT(4))) /* INS/OUTS: the instruction information (Table 28-8) */
        raw.insn_info = (u32)vmread(VMCS_EXIT_INSTRUCTION_INFO);
    if (raw.reason & VMX_EXIT_ENTRY_FAILURE) /* a failed entry may leave the event to inject valid (27.8) */
        vmwrite(VMCS_ENTRY_INTR_INFO, 0);
    /* "Acknowledge interrupt on exit" took the interrupt from the host APIC
     * and left its vector in the exit interruption information (SDM 3C
     * 25.7.1, 28.2.2): handle it as the host's IDT would (it still wants
     * its EOI). */
    if (basic == VMX_EXIT_EXTERNAL_INTERRUPT) {
        u32 info = (u32)vmread(VMCS_EXIT_INTR_INFO);
        if (info & INTR_INFO_VALID)
            host_interrupt((u8)info);
    }
    /* The backstop's deadline came (arm_preemption_backstop); or, with
     * the count kept across exits, the idle count ran out (after some
     * 2^32 of its ticks of guest time): it is written again at the next
     * entry, and the exit is nothing. */
    if (basic == VMX_EXIT_PREEMPTION_TIMER) {
        if (x->preemption_armed)
            host_timer_expired();
        x->preemption_armed = true;
        x->preemption_deadline = NO_PREEMPTION_DEADLINE;
    }
    /* Every exit: an event it interrupted is delivered again (or, through
     * a task gate, by the emulated task switch). */
    raw.idt_vectoring = (u32)vmread(VMCS_IDT_VECTORING_INFO);
    if (raw.idt_vectoring & INTR_INFO_VALID)
        raw.idt_vectoring_error = (u32)vmread(VMCS_IDT_VECTORING_ERROR);
    if (basic == VMX_EXIT_EPT_VIOLATION || basic == VMX_EXIT_EPT_MISCONFIG) {
        raw.gpa = vmread(VMCS_GUEST_PHYSICAL_ADDRESS);
        raw.gla = vmread(VMCS_GUEST_LINEAR_ADDRESS);
        /* An IRET that faulted this way had unblocked NMIs already: the
         * blocking stands again, as the IRET will run again (28.2.3). */
        if (basic == VMX_EXIT_EPT_VIOLATION && (raw.qualification & BIT(12)) && !(raw.idt_vectoring & INTR_INFO_VALID)
            && vmx_cpu.virtual_nmis)
            vmwrite(VMCS_GUEST_INTERRUPTIBILITY, vmread(VMCS_GUEST_INTERRUPTIBILITY) | BIT(3));
    }
    if (basic == VMX_EXIT_EXCEPTION_NMI) {
        raw.intr_info = (u32)vmread(VMCS_EXIT_INTR_INFO);
        raw.intr_error = (u32)vmread(VMCS_EXIT_INTR_ERROR);
    }
    vmx_decode_exit(&raw, e);
    if (e->reason == EXIT_EXCEPTION && e->exception.vector == VECTOR_DB)
        debug_exception_exited(raw.qualification);
    if (e->reason == EXIT_ENTRY_FAILED) {
        char verdict[96];
        vmx_diagnose(verdict, sizeof(verdict));
        snprintf(e->entry.detail, sizeof(e->entry.detail), "exit reason %u%s (qualification %llu); %s",
                 e->entry.error, e->entry.error == VMX_EXIT_INVALID_GUEST_STATE ? ", invalid guest state" : "",
                 (unsigned long long)e->entry.qualification, verdict);
        return;
    }
    /* A task gate's event is delivered by the switch Zazen emulates. */
    if ((raw.idt_vectoring & INTR_INFO_VALID) && e->reason != EXIT_TASK_SWITCH)
        reinject_interrupted_event(raw.idt_vectoring, raw.idt_vectoring_error);
}

static struct segment segment_from_vmcs(unsigned seg)
{
    u32 ar = (u32)vmread(VMCS_GUEST_ES_AR + 2 * seg);
    /* VMX access rights keep the flags nibble in bits 15:12; ours in 11:8. */
    return (struct segment){(u16)vmread(VMCS_GUEST_ES_SELECTOR + 2 * seg), (u16)((ar & 0xff) | ((ar >> 4) & 0xf00)),
                            (u32)vmread(VMCS_GUEST_ES_LIMIT + 2 * seg), vmread(VMCS_GUEST_ES_BASE + 2 * seg),
                            (ar & VMX_AR_UNUSABLE) != 0};
}

/* The guest-visible CR0/CR4: masked bits come from the read shadows (25.6.6). */
static u64 guest_cr0(void) { return (vmread(VMCS_GUEST_CR0) & ~cr0_mask) | (vmread(VMCS_CR0_READ_SHADOW) & cr0_mask); }

static u64 guest_cr4(void) { return (vmread(VMCS_GUEST_CR4) & ~cr4_mask) | (vmread(VMCS_CR4_READ_SHADOW) & cr4_mask); }

static void vmx_get_sregs(struct vcpu *v, struct vcpu_sregs *s)
{
    make_current(xv(v));
    for (unsigned i = 0; i < SEG_COUNT; i++)
        s->seg[i] = segment_from_vmcs(i);
    s->gdtr = (struct descriptor_table){vmread(VMCS_GUEST_GDTR_BASE), (u16)vmread(VMCS_GUEST_GDTR_LIMIT)};
    s->idtr = (struct descriptor_table){vmread(VMCS_GUEST_IDTR_BASE), (u16)vmread(VMCS_GUEST_IDTR_LIMIT)};
    s->cr0 = guest_cr0();
    s->cr2 = read_cr2(); /* CR2 is not in the VMCS: the guest's value stays in the register */
    s->cr3 = vmread(VMCS_GUEST_CR3);
    s->cr4 = guest_cr4();
    s->efer = vmread(VMCS_GUEST_IA32_EFER);
    s->cpl = (u8)SEG_ATTR_DPL(s->seg[SEG_SS].attr); /* SS.DPL is the CPL (SDM 3A 5.5) */
}

/* What the instruction emulator reads (arch.h get_emu_sregs): 14 VMREADs
 * instead of vmx_get_sregs's 46 (every MMIO access is emulated). */
static void vmx_get_code_sregs(struct vcpu *v, struct vcpu_sregs *s)
{
    make_current(xv(v));
    s->seg[SEG_CS].base = vmread(VMCS_GUEST_ES_BASE + 2 * SEG_CS);
    u32 cs_ar = (u32)vmread(VMCS_GUEST_ES_AR + 2 * SEG_CS), ss_ar = (u32)vmread(VMCS_GUEST_ES_AR + 2 * SEG_SS);
    s->seg[SEG_CS].attr = (u16)((cs_ar & 0xff) | ((cs_ar >> 4) & 0xf00));
    s->seg[SEG_SS].attr = (u16)((ss_ar & 0xff) | ((ss_ar >> 4) & 0xf00));
    s->cr0 = guest_cr0();
    s->cr3 = vmread(VMCS_GUEST_CR3);
    s->cr4 = guest_cr4();
    s->efer = vmread(VMCS_GUEST_IA32_EFER);
    s->cpl = (u8)SEG_ATTR_DPL(s->seg[SEG_SS].attr); /* SS.DPL is the CPL (SDM 3A 5.5) */
}

static void vmx_get_emu_sregs(struct vcpu *v, struct vcpu_sregs *s)
{
    vmx_get_code_sregs(v, s);
    for (unsigned i = SEG_ES; i <= SEG_GS; i++)
        if (i != SEG_CS)
            s->seg[i].base = vmread(VMCS_GUEST_ES_BASE + 2 * i);
    s->seg[SEG_CS].selector = (u16)vmread(VMCS_GUEST_ES_SELECTOR + 2 * SEG_CS);
}

/* Segment registers with their hidden parts, CR3 (SDM 3C 25.4.1). */
static void vmx_set_segments(struct vcpu *v, const struct vcpu_sregs *s)
{
    make_current(xv(v));
    for (unsigned i = 0; i < SEG_COUNT; i++) {
        const struct segment *g = &s->seg[i];
        u32 ar = (g->attr & 0xff) | ((u32)(g->attr & 0xf00) << 4) | (g->unusable ? VMX_AR_UNUSABLE : 0);
        vmwrite(VMCS_GUEST_ES_SELECTOR + 2 * i, g->selector);
        vmwrite(VMCS_GUEST_ES_BASE + 2 * i, g->base);
        vmwrite(VMCS_GUEST_ES_LIMIT + 2 * i, g->limit);
        vmwrite(VMCS_GUEST_ES_AR + 2 * i, ar);
    }
    vmwrite(VMCS_GUEST_CR3, s->cr3);
}

static void vmx_inject_event(struct vcpu *v, const struct vcpu_event *ev)
{
    static const u8 types[] = {
        [EVENT_EXTERNAL_INTR] = INTR_TYPE_EXTERNAL,
        [EVENT_NMI] = INTR_TYPE_NMI,
        [EVENT_EXCEPTION] = INTR_TYPE_HW_EXCEPTION,
        [EVENT_SOFTWARE_INTR] = INTR_TYPE_SW_INTERRUPT,
    };
    make_current(xv(v));
    u32 info = ev->vector | ((u32)types[ev->type] << INTR_INFO_TYPE_SHIFT) | INTR_INFO_VALID;
    /* Real mode delivers no error codes (SDM 3C 26.2.1.3). */
    if (ev->has_error && (guest_cr0() & CR0_PE)) {
        info |= INTR_INFO_ERROR_VALID;
        vmwrite(VMCS_ENTRY_EXCEPTION_ERROR, ev->error);
    }
    vmwrite(VMCS_ENTRY_INTR_INFO, info);
    if (ev->type == EVENT_EXCEPTION && ev->vector == 14)
        write_cr2(ev->cr2);
}

static bool vmx_interrupt_window_open(struct vcpu *v)
{
    struct vmx_vcpu *x = xv(v);
    make_current(x);
    /* Blocking by STI (bit 0) or by MOV SS (bit 1) (SDM 3C 25.4.2) ends
     * with the instruction it covers; if Zazen completed that instruction
     * (RIP moved), it is over already. */
    bool blocked = (vmread(VMCS_GUEST_INTERRUPTIBILITY) & 3) && v->rip == x->exit_rip;
    return (v->rflags & RFLAGS_IF) && !blocked && !(vmread(VMCS_ENTRY_INTR_INFO) & INTR_INFO_VALID);
}

/* A #DB as a trap after the instruction: DR6, which the guest owns in
 * the CPU while it runs, gets BS (SDM 3A 17.2.3); event injection
 * delivers the exception without writing DR6 (SDM 3C 27.6.1). */
static void vmx_single_step_trap(struct vcpu *v)
{
    write_dr6(read_dr6() | DR6_BS);
    struct vcpu_event ev = {EVENT_EXCEPTION, VECTOR_DB, false, 0, 0};
    vmx_inject_event(v, &ev);
}

/* Guest interruptibility state (SDM 3C 25.4.2, Table 25-3). */
#define BLOCKING_BY_STI BIT(0)
#define BLOCKING_BY_MOV_SS BIT(1)
#define BLOCKING_BY_NMI BIT(3)

/* With virtual NMIs, injecting an NMI sets virtual-NMI blocking and the
 * guest's IRET clears it (SDM 3C 26.3, 27.6.1.2). */
static bool vmx_nmi_window_open(struct vcpu *v)
{
    struct vmx_vcpu *x = xv(v);
    make_current(x);
    u64 state = vmread(VMCS_GUEST_INTERRUPTIBILITY);
    bool shadow = (state & (BLOCKING_BY_STI | BLOCKING_BY_MOV_SS)) && v->rip == x->exit_rip;
    return !(state & BLOCKING_BY_NMI) && !shadow && !(vmread(VMCS_ENTRY_INTR_INFO) & INTR_INFO_VALID);
}

static bool vmx_nmi_blocked(struct vcpu *v)
{
    make_current(xv(v));
    return (vmread(VMCS_GUEST_INTERRUPTIBILITY) & BLOCKING_BY_NMI) != 0;
}

/* NMI-window exiting: an exit at the start of the first instruction with
 * no virtual-NMI blocking (and no MOV SS shadow) (SDM 3C 26.7.6); it
 * needs virtual NMIs (27.2.1.1). Without them the NMI waits for the
 * next exit of any kind. */
static void vmx_request_nmi_window(struct vcpu *v, bool on)
{
    struct vmx_vcpu *x = xv(v);
    if (!vmx_cpu.virtual_nmis)
        return;
    make_current(x);
    u32 proc = on ? x->proc | PROC_NMI_WINDOW_EXITING : x->proc & ~PROC_NMI_WINDOW_EXITING;
    if (proc != x->proc) {
        x->proc = proc;
        vmwrite(VMCS_PROC_CONTROLS, proc);
    }
}

/* Interrupt-window exiting: an exit at the start of any instruction at
 * which the guest could take an external interrupt (SDM 3C 26.7.5). */
static void vmx_request_interrupt_window(struct vcpu *v, bool on)
{
    struct vmx_vcpu *x = xv(v);
    make_current(x);
    u32 proc = on ? x->proc | PROC_INTERRUPT_WINDOW_EXITING : x->proc & ~PROC_INTERRUPT_WINDOW_EXITING;
    if (proc != x->proc) {
        x->proc = proc;
        vmwrite(VMCS_PROC_CONTROLS, proc);
    }
}

/* IA-32e mode is active when paging is on with EFER.LME (SDM 3A 9.8.5);
 * VM entry must be told through the "IA-32e mode guest" control. */
static void set_long_mode(bool active)
{
    u64 efer = vmread(VMCS_GUEST_IA32_EFER);
    u64 entry = vmread(VMCS_ENTRY_CONTROLS);
    vmwrite(VMCS_GUEST_IA32_EFER, active ? efer | EFER_LMA : efer & ~EFER_LMA);
    vmwrite(VMCS_ENTRY_CONTROLS, active ? entry | ENTRY_IA32E_MODE_GUEST : entry & ~ENTRY_IA32E_MODE_GUEST);
}

/* With EPT, PAE paging takes its four PDPTEs from the VMCS at VM entry
 * (26.3.2.4), so a switch into PAE paging done here must load them. */
static void load_pdptes(struct vcpu *v, u64 cr3)
{
    u64 pdpte[4];
    guest_phys_access(v->domain, cr3 & 0xffffffe0ull, pdpte, sizeof(pdpte), false);
    for (unsigned i = 0; i < 4; i++)
        vmwrite(VMCS_GUEST_PDPTE0 + 2 * i, pdpte[i]);
}

static bool guest_write_cr0(struct vcpu *v, u64 value)
{
    u64 old = guest_cr0();
    u64 efer = vmread(VMCS_GUEST_IA32_EFER);
    /* MOV to CR0 faults on these (SDM 2B MOV CR): */
    if ((value >> 32) || ((value & CR0_PG) && !(value & CR0_PE)) || ((value & CR0_NW) && !(value & CR0_CD)))
        return false;
    bool paging_on = (value & CR0_PG) && !(old & CR0_PG);
    bool paging_off = !(value & CR0_PG) && (old & CR0_PG);
    if (paging_on && (efer & EFER_LME)) {
        /* Long mode needs PAE, and is entered from code that is not
         * 64-bit already (CS.L = 0) (SDM 2B MOV CR; SDM 3A 9.8.5). */
        if (!(guest_cr4() & CR4_PAE) || (vmread(VMCS_GUEST_CS_AR) & VMX_AR_L))
            return false;
        set_long_mode(true);
    } else if (paging_off && (efer & EFER_LMA)) {
        set_long_mode(false);
    }
    vmwrite(VMCS_GUEST_CR0, real_cr0(value));
    vmwrite(VMCS_CR0_READ_SHADOW, value);
    if (paging_on && !(efer & EFER_LME) && (guest_cr4() & CR4_PAE))
        load_pdptes(v, vmread(VMCS_GUEST_CR3));
    return true;
}

static bool guest_write_cr4(struct vcpu *v, u64 value)
{
    (void)v;
    /* Bits the CPU cannot hold in VMX operation fault, as on a CPU
     * without them; so do those of features CPUID does not offer (VMXE,
     * PCIDE, ...), and clearing PAE in IA-32e mode (SDM 2B MOV CR). */
    if ((value & ~vmx_cpu.cr4_fixed1) || (value & cpuid_guest_cr4_reserved()))
        return false;
    if (!(value & CR4_PAE) && (vmread(VMCS_GUEST_IA32_EFER) & EFER_LMA))
        return false;
    vmwrite(VMCS_GUEST_CR4, real_cr4(value));
    vmwrite(VMCS_CR4_READ_SHADOW, value);
    if ((guest_cr0() & CR0_PG) && !(vmread(VMCS_GUEST_IA32_EFER) & EFER_LMA) && (value & CR4_PAE))
        load_pdptes(v, vmread(VMCS_GUEST_CR3));
    return true;
}

static bool vmx_write_cr(struct vcpu *v, unsigned cr, u64 value)
{
    make_current(xv(v));
    switch (cr) {
    case 0: return guest_write_cr0(v, value);
    case 4: return guest_write_cr4(v, value);
    default: return false;
    }
}

/* IA32_DEBUGCTL bits a guest may set: BTF (single-step on branches).
 * LBR and the rest record into MSRs no VMCS switches (SDM 3B 17.4.1), so
 * they fault as bits the CPU lacks do. */
#define DEBUGCTL_BTF BIT(1)

static bool vmx_msr_read(struct vcpu *v, u32 msr, u64 *value)
{
    make_current(xv(v));
    switch (msr) {
    case MSR_EFER: *value = vmread(VMCS_GUEST_IA32_EFER); return true;
    case MSR_IA32_PAT: *value = vmread(VMCS_GUEST_IA32_PAT); return true;
    case MSR_IA32_DEBUGCTL: *value = vmread(VMCS_GUEST_IA32_DEBUGCTL); return true;
    default: return false;
    }
}

static bool vmx_msr_write(struct vcpu *v, u32 msr, u64 value)
{
    make_current(xv(v));
    switch (msr) {
    case MSR_EFER: {
        /* LMA is the CPU's to set (SDM 3A 9.8.5). */
        u64 lma = vmread(VMCS_GUEST_IA32_EFER) & EFER_LMA;
        vmwrite(VMCS_GUEST_IA32_EFER, (value & ~EFER_LMA) | lma);
        return true;
    }
    case MSR_IA32_PAT: vmwrite(VMCS_GUEST_IA32_PAT, value); return true;
    case MSR_IA32_DEBUGCTL: /* loaded and saved with the debug controls */
        if (value & ~DEBUGCTL_BTF)
            return false;
        vmwrite(VMCS_GUEST_IA32_DEBUGCTL, value);
        return true;
    default: return false;
    }
}

/* CR8 is the TPR's priority class (SDM 3A 11.8.6.1: TPR[7:4] = CR8[3:0],
 * a MOV to CR8 clears TPR[3:0]). With the TPR shadow the whole TPR byte
 * is the virtual-APIC page's VTPR at 80H, never the real one: MOV CR8
 * reads and writes its bits 7:4 (clearing 3:0, SDM 3C 29.3), and with
 * "virtualize x2APIC mode" RDMSR and WRMSR of 808H the whole byte (29.5);
 * a write that takes VTPR[7:4] below the TPR threshold exits afterwards
 * (29.1.2). Without the shadow CR8 accesses exit and the core answers
 * them from the virtual local APIC (vmm/tpr.c); x->tpr then only echoes
 * it. After each exit vmx_vcpu_run reads the byte back into v->tpr. */
static void vmx_write_tpr(struct vcpu *v, u8 tpr, u8 threshold)
{
    struct vmx_vcpu *x = xv(v);
    x->tpr = tpr;
    if (!x->virtual_apic)
        return;
    x->virtual_apic[VAPIC_TPR] = tpr;
    /* VM entry wants the threshold at most VTPR[7:4] (26.2.1.1). */
    if (threshold > tpr >> 4)
        threshold = 0;
    if (threshold != x->tpr_threshold) {
        make_current(x);
        vmwrite(VMCS_TPR_THRESHOLD, threshold);
        x->tpr_threshold = threshold;
    }
}

/* "Virtualize x2APIC mode" follows the guest's APIC mode: in x2APIC mode
 * it is set with the bitmap that passes 808H through, so the guest reads
 * and writes its TPR in VTPR without exits (SDM 3C 29.5); in xAPIC mode
 * (or with the APIC off) it is clear and 808H exits, so the device model
 * faults it as the hardware would (SDM 3A 11.12.1.2) instead of the CPU
 * reading the real APIC's TPR. It needs "use TPR shadow" and excludes
 * "virtualize APIC accesses", which Zazen never sets: its xAPIC page
 * stays unmapped and every access exits to be emulated (25.6.2,
 * 26.2.1.1). */
static void vmx_set_x2apic_mode(struct vcpu *v, bool x2apic)
{
    struct vmx_vcpu *x = xv(v);
    bool on = x2apic && vmx_cpu.virtualize_x2apic;
    if (on == x->x2apic)
        return;
    make_current(x);
    x->proc2 = on ? x->proc2 | PROC2_VIRTUALIZE_X2APIC : x->proc2 & ~PROC2_VIRTUALIZE_X2APIC;
    vmwrite(VMCS_PROC_CONTROLS2, x->proc2);
    vmwrite(VMCS_MSR_BITMAP, hpa_of(on ? vmx_cpu.msr_bitmap_x2apic : vmx_cpu.msr_bitmap));
    x->x2apic = on;
}

const struct arch_ops vmx_ops = {
    .name = "VT-x",
    .check_features = vmx_check_features,
    .cpu_enable = vmx_cpu_enable,
    .domain_create = vmx_domain_create,
    .domain_destroy = vmx_domain_destroy,
    .remap = vmx_remap,
    .vcpu_create = vmx_vcpu_create,
    .vcpu_destroy = vmx_vcpu_destroy,
    .vcpu_reset = vmx_vcpu_reset,
    .vcpu_enter_flat32 = vmx_vcpu_enter_flat32,
    .vcpu_startup = vmx_vcpu_startup,
    .vcpu_load = vmx_vcpu_load,
    .set_tsc_offset = vmx_set_tsc_offset,
    .vcpu_put = vmx_vcpu_put,
    .vcpu_run = vmx_vcpu_run,
    .get_sregs = vmx_get_sregs,
    .get_emu_sregs = vmx_get_emu_sregs,
    .get_code_sregs = vmx_get_code_sregs,
    .inject_event = vmx_inject_event,
    .interrupt_window_open = vmx_interrupt_window_open,
    .request_interrupt_window = vmx_request_interrupt_window,
    .nmi_window_open = vmx_nmi_window_open,
    .nmi_blocked = vmx_nmi_blocked,
    .set_segments = vmx_set_segments,
    .single_step_trap = vmx_single_step_trap,
    .request_nmi_window = vmx_request_nmi_window,
    .write_cr = vmx_write_cr,
    .msr_read = vmx_msr_read,
    .msr_write = vmx_msr_write,
    .write_tpr = vmx_write_tpr,
    .set_x2apic_mode = vmx_set_x2apic_mode,
};
