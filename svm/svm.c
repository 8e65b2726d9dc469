/* The AMD-V backend: turning SVM on, one VMCB per vCPU, an ASID per
 * domain, nested paging, and the run loop's entry and exit.
 * References are to AMD APM Vol. 2, chapter 15 ("Secure Virtual Machine"). */
#include "../vmm/arch.h"
#include "../vmm/console.h"
#include "../vmm/cpu.h"
#include "../vmm/cpu_rules.h"
#include "../vmm/cpuid.h"
#include "../vmm/domain.h"
#include "../vmm/fast_way.h"
#include "../vmm/format.h"
#include "../vmm/handlers.h"
#include "../vmm/mm.h"
#include "../vmm/percpu.h"
#include "../vmm/sched.h"
#include "../vmm/string.h"
#include "../vmm/x86.h"
#include "npt.h"
#include "svm_check.h"
#include "svm_exit.h"
#include "vmcb.h"

void svm_enter(u64 vmcb_pa, u64 *gpr, u64 host_state_pa);

/* CPUID Fn8000_000A: SVM revision and features (APM 2 15.4, APM 3 E.4.9) */
#define SVM_FEATURE_NP BIT(0)
#define SVM_FEATURE_NRIPS BIT(3)
#define SVM_FEATURE_VMCB_CLEAN BIT(5)
#define SVM_FEATURE_FLUSH_BY_ASID BIT(6)
#define SVM_FEATURE_DECODE_ASSISTS BIT(7)
#define SVM_FEATURE_PAUSE_FILTER BIT(10)
#define SVM_FEATURE_PAUSE_FILTER_THRESHOLD BIT(12)

#define IOPM_SIZE (12 * KiB)
#define MSRPM_SIZE (8 * KiB)

/* What every CPU shares: the features and the permission maps. */
struct svm_host {
    u32 features;     /* CPUID 8000_000Ah EDX */
    u32 asid_count;   /* CPUID 8000_000Ah EBX */
    u8 *iopm;         /* shared by every vCPU: intercept all ports */
    u8 *msrpm;        /* shared by every vCPU */
};

/* Each CPU's own (percpu.arch). ASIDs are handed out per CPU in
 * generations (as bhyve and KVM do): a vCPU keeps its ASID while it stays
 * on the CPU and the generation lasts; when a CPU runs out, it starts a
 * new generation with one full TLB flush, and every vCPU that comes there
 * takes a new ASID. A vCPU that moves takes a new one too, so no stale
 * translation of another CPU's past can be used (APM 2 15.16). */
struct svm_cpu {
    void *hsave;      /* VM_HSAVE_PA: where VMRUN saves the host (APM 2 15.30.4) */
    void *host_state; /* VMSAVE of our FS/GS/TR/..., VMLOADed after each exit */
    u64 asid_generation;
    u32 next_asid;
    bool flush_all;   /* a new generation began: the next VMRUN here flushes */
    struct svm_vcpu *last; /* the vCPU that ran here last */
};

struct svm_domain {
    struct nested_pt npt;
};

#define NO_SHADOW (~0ull) /* svm_vcpu.shadow_rip: none */

struct svm_vcpu {
    struct vmcb *vmcb;
    bool flush_tlb;
    u32 nested_stale; /* set from any CPU by svm_remap: flush at the next VMRUN */
    u64 shadow_rip;   /* a shadow's RIP the guest has not left (svm_enter_watching_shadow) */
    int asid_cpu;          /* the CPU its ASID belongs to; -1: none */
    u64 asid_generation;
    /* What the guest's next entry must watch for (update_virq). */
    bool window;          /* an interrupt window */
    u8 tpr_threshold;     /* an interrupt of this class waits on the TPR */
    u8 tpr;               /* the TPR byte svm_write_tpr was given (V_TPR holds TPR[7:4]) */
    /* NMI blocking, which AMD-V leaves to the VMM without V_NMI (APM 2
     * 15.21.4; QEMU 7.2 has none): from an injected NMI to the guest's
     * next IRET, seen by the IRET intercept, which exits before the IRET
     * runs; blocking ends once RIP has left that IRET. */
    bool nmi_blocked;
    bool iret_seen;       /* the IRET intercept fired at iret_rip */
    u64 iret_rip;
    /* Single-stepping the guest (RFLAGS.TF, #DB intercepted) to exit
     * right after the instruction that keeps an NMI out (that IRET, a
     * shadow, an event being delivered): SLOW_NMI_STEP in slow; step_tf:
     * the guest's own TF. */
    u64 step_tf;
    /* What keeps exits off the fast way (fast_exit), one byte so that
     * CPUID asks once: SLOW_NMI_STEP, every exit while an NMI's single
     * step is under way (nmi_step_done); SLOW_CPUID, CPUID without NRIP
     * save, whose length only decoding finds (APM 2 15.7.1). */
    u8 slow;
};

static struct svm_host cpu;

#define SLOW_NMI_STEP BIT(0)
#define SLOW_CPUID BIT(1)

static struct svm_cpu *this_svm_cpu(void) { return this_cpu()->arch; }

static struct svm_domain *sd(struct domain *d) { return d->arch; }
static struct svm_vcpu *sv(struct vcpu *v) { return v->arch; }

/* ---- enabling SVM on this CPU ---- */

/* MSR permission map: two bits (read, write) per MSR in three 2 KiB
 * blocks for 0000_0000h, C000_0000h and C001_0000h (APM 2 15.11). */
static void msrpm_allow(u32 msr)
{
    u32 block;
    if (msr < 0x2000)
        block = 0;
    else if (msr >= 0xc0000000 && msr < 0xc0002000)
        block = 1;
    else if (msr >= 0xc0010000 && msr < 0xc0012000)
        block = 2;
    else
        return;
    u32 bit = (msr & 0x1fff) * 2;
    u8 *base = cpu.msrpm + block * 0x800;
    base[bit / 8] &= (u8)~(3u << (bit % 8));
}

static void build_permission_maps(void)
{
    memset(cpu.iopm, 0xff, IOPM_SIZE);   /* every port exits */
    memset(cpu.msrpm, 0xff, MSRPM_SIZE); /* every MSR exits ... */
    /* ... except those VMRUN/VMLOAD switch from the VMCB by themselves. */
    static const u32 passthrough[] = {
        MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE, MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SFMASK,
        MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
    };
    for (size_t i = 0; i < ARRAY_SIZE(passthrough); i++)
        msrpm_allow(passthrough[i]);
}

static bool svm_check_features(char *why, size_t why_size)
{
    struct cpuid_regs r = cpuid(0x8000000a, 0);
    cpu.features = r.edx;
    cpu.asid_count = r.ebx;
    if (!(cpu.features & SVM_FEATURE_NP)) {
        snprintf(why, why_size, "AMD-V without nested paging (CPUID 8000_000Ah EDX.NP): Zazen needs NPT");
        return false;
    }
    if (cpu.asid_count < 2) {
        snprintf(why, why_size, "AMD-V reports %u ASIDs: at least 2 needed", cpu.asid_count);
        return false;
    }
    return true;
}

/* Once, on the boot CPU: the maps every vCPU shares. */
static bool svm_host_setup(char *why, size_t why_size)
{
    if (!svm_check_features(why, why_size))
        return false;
    cpu.iopm = page_alloc(IOPM_SIZE);
    cpu.msrpm = page_alloc(MSRPM_SIZE);
    if (!cpu.iopm || !cpu.msrpm) {
        snprintf(why, why_size, "out of memory for the SVM permission maps");
        return false;
    }
    build_permission_maps();
    kprintf("zazen: AMD-V: %u ASIDs, nested paging, NRIP save %s, decode assists %s, VMCB clean bits %s, "
            "flush by ASID %s, pause filter %s\n",
            cpu.asid_count, cpu.features & SVM_FEATURE_NRIPS ? "yes" : "no",
            cpu.features & SVM_FEATURE_DECODE_ASSISTS ? "yes" : "no",
            cpu.features & SVM_FEATURE_VMCB_CLEAN ? "yes" : "no",
            cpu.features & SVM_FEATURE_FLUSH_BY_ASID ? "yes" : "no",
            cpu.features & SVM_FEATURE_PAUSE_FILTER
                ? (cpu.features & SVM_FEATURE_PAUSE_FILTER_THRESHOLD ? "with threshold" : "yes")
                : "no");
    return true;
}

/* On every CPU: EFER.SVME, this CPU's host save area, and a VMSAVE of its
 * own FS/GS/TR/... (GS holds the per-CPU data) to VMLOAD after each exit. */
static bool svm_cpu_enable(char *why, size_t why_size)
{
    if (!cpu.msrpm && !svm_host_setup(why, why_size))
        return false;
    if (!svm_check_features(why, why_size))
        return false;
    struct svm_cpu *c = page_alloc(sizeof(*c));
    void *hsave = page_alloc(PAGE_SIZE), *host_state = page_alloc(PAGE_SIZE);
    if (!c || !hsave || !host_state) {
        snprintf(why, why_size, "out of memory for the SVM host areas");
        return false;
    }
    c->hsave = hsave;
    c->host_state = host_state;
    c->next_asid = 1; /* ASID 0 is the host's (APM 2 15.16) */
    this_cpu()->arch = c;
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME); /* APM 2 15.4 */
    wrmsr(MSR_VM_HSAVE_PA, hpa_of(c->hsave));
    u64 pa = hpa_of(c->host_state);
    __asm__ volatile("vmsave %%rax" ::"a"(pa) : "memory");
    return true;
}

/* ---- domains ---- */

static bool svm_domain_create(struct domain *d, char *why, size_t why_size)
{
    struct svm_domain *s = page_alloc(sizeof(*s));
    if (!s) {
        snprintf(why, why_size, "out of memory for the domain's SVM state");
        return false;
    }
    d->arch = s;
    if (!nested_pt_init(&s->npt, &npt_format)) {
        snprintf(why, why_size, "out of memory for nested page tables");
        return false;
    }
    if (!nested_pt_map_domain(&s->npt, d)) {
        snprintf(why, why_size, "out of memory for nested page tables");
        return false;
    }
    return true;
}

static void svm_domain_destroy(struct domain *d)
{
    struct svm_domain *s = sd(d);
    if (!s)
        return;
    nested_pt_destroy(&s->npt);
    page_free(s, sizeof(*s));
    d->arch = NULL;
}

/* The nested tables changed under a running domain: every vCPU flushes
 * its TLB at its next VMRUN. Without flush-by-ASID that is the whole TLB
 * (APM 2 15.16.1, TLB_CONTROL 1); guest translations cached from the old
 * nested entries must go (15.25.9 "TLB flush requirements"). A vCPU
 * running on another CPU is made to exit, so that next VMRUN is now. */
static bool svm_remap(struct domain *d, u64 gpa, u64 size)
{
    if (!nested_pt_follow_domain(&sd(d)->npt, d, gpa, size))
        return false;
    for (unsigned i = 0; i < d->vcpu_count; i++) {
        atomic_store_seq(&sv(d->vcpus[i])->nested_stale, 1u);
        sched_interrupt_guest(d->vcpus[i]);
    }
    return true;
}

/* ---- vCPUs ---- */

static void set_intercepts(struct vmcb_control *c)
{
    /* CR4 writes: the CPU would let a guest set bits of features it has
     * and the guest's CPUID hides (PCIDE, PKE, ...), and QEMU 7.2 takes
     * reserved bits there and then refuses VMRUN; Zazen checks them as the
     * CPU the guest sees would (svm_write_cr). CR0 stays the guest's. */
    c->intercept_cr = SVM_INTERCEPT_CR4_WRITE;
    /* #DF, so that a coming triple fault is seen even where the shutdown
     * intercept is not honoured (vmm/exit.c: handle_double_fault). #DB and
     * #AC always: a delivery of either can raise the next one forever
     * without an instruction boundary where the host could take an
     * interrupt (CVE-2015-8104, CVE-2015-5307; APM 2 15.12); Zazen
     * reflects them (vmm/reflect.c). */
    c->intercept_exceptions = BIT(VECTOR_DB) | BIT(8) | BIT(VECTOR_AC);
    c->intercept_misc1 = SVM_INTERCEPT_INTR | SVM_INTERCEPT_NMI | SVM_INTERCEPT_INIT | SVM_INTERCEPT_CPUID |
                         SVM_INTERCEPT_INVD | SVM_INTERCEPT_HLT | SVM_INTERCEPT_INVLPGA |
                         SVM_INTERCEPT_IOIO_PROT | SVM_INTERCEPT_MSR_PROT | SVM_INTERCEPT_SHUTDOWN;
    /* VMRUN must be intercepted or VMRUN fails (APM 2 15.5.1). */
    c->intercept_misc2 = SVM_INTERCEPT_VMRUN | SVM_INTERCEPT_VMMCALL | SVM_INTERCEPT_VMLOAD |
                         SVM_INTERCEPT_VMSAVE | SVM_INTERCEPT_STGI | SVM_INTERCEPT_CLGI | SVM_INTERCEPT_SKINIT |
                         SVM_INTERCEPT_MONITOR | SVM_INTERCEPT_MWAIT | SVM_INTERCEPT_MWAIT_ARMED |
                         SVM_INTERCEPT_XSETBV;
}

/* The PAUSE filter for a domain of several vCPUs, where the CPU has one
 * (CPUID 8000_000Ah EDX.PauseFilter): the PAUSE intercept fires once
 * the count of PAUSEs runs out, and with the threshold feature the count
 * starts again whenever two PAUSEs are more than the threshold's cycles
 * apart, so only a tight spin loop exits (APM 2 15.14.4). KVM's defaults:
 * 3000 and 128. Without a filter every PAUSE would exit: not armed. A
 * spinning vCPU then gives its CPU up (vmm/exit.c, handle_pause). */
static void set_pause_filter(struct vmcb_control *c, unsigned vcpu_count)
{
    if (vcpu_count < 2 || !(cpu.features & SVM_FEATURE_PAUSE_FILTER))
        return;
    c->intercept_misc1 |= SVM_INTERCEPT_PAUSE;
    c->pause_filter_count = 3000;
    if (cpu.features & SVM_FEATURE_PAUSE_FILTER_THRESHOLD)
        c->pause_filter_threshold = 128;
}

static bool svm_vcpu_create(struct vcpu *v, char *why, size_t why_size)
{
    struct svm_vcpu *s = page_alloc(sizeof(*s));
    struct vmcb *vmcb = page_alloc(PAGE_SIZE);
    if (!s || !vmcb) {
        page_free(s, sizeof(*s));
        page_free(vmcb, PAGE_SIZE);
        snprintf(why, why_size, "out of memory for a VMCB");
        return false;
    }
    s->vmcb = vmcb;
    v->arch = s;
    struct vmcb_control *c = &vmcb->control;
    set_intercepts(c);
    c->iopm_base_pa = hpa_of(cpu.iopm);
    c->msrpm_base_pa = hpa_of(cpu.msrpm);
    s->asid_cpu = -1; /* gets one when it first runs (svm_vcpu_load) */
    s->slow = (cpu.features & SVM_FEATURE_NRIPS) ? 0 : SLOW_CPUID;
    /* Physical interrupts stay under the host's RFLAGS.IF, not the guest's (15.21.1). */
    c->vintr = SVM_VINTR_MASKING;
    c->np_enable = 1;
    c->n_cr3 = hpa_of(sd(v->domain)->npt.root);
    set_pause_filter(c, v->domain->cfg->vcpus);
    return true;
}

static void svm_vcpu_destroy(struct vcpu *v)
{
    struct svm_vcpu *s = sv(v);
    if (!s)
        return;
    page_free(s->vmcb, PAGE_SIZE);
    page_free(s, sizeof(*s));
    v->arch = NULL;
}

/* Interrupt windows: a virtual interrupt (V_IRQ) that ignores the TPR,
 * with the VINTR intercept: the CPU exits the moment the guest could take
 * it (APM 2 15.21.4), and Zazen injects the real vector through EVENTINJ.
 *
 * The TPR: with V_INTR_MASKING the guest's MOV CR8 reads and writes V_TPR,
 * never the real TPR (APM 2 15.21.1-15.21.2). While an interrupt waits on
 * the TPR (tpr_threshold), CR8 writes are intercepted, so one that lets it
 * through comes back to Zazen at once. They are intercepted while a window
 * is asked for too: QEMU 7.2 TCG aborts (an assertion about its I/O thread
 * lock) when a guest writes CR8 with V_IRQ set, and the intercept keeps it
 * from getting there. And they are intercepted while the TPR's low nibble
 * is set (s->tpr, beside V_TPR): a MOV CR8 clears TPR[3:0] (SDM 3A
 * 11.8.6.1, APM 2 16.6.4), which V_TPR, four bits, cannot show when the
 * guest writes the class already there (tpr_after_exit); the core's
 * handle_cr8_access writes the whole TPR, and the intercept goes once the
 * nibble is clear. Guests write TPR[3:0] rarely (Linux never). */
static void update_virq(struct svm_vcpu *s)
{
    struct vmcb_control *c = &s->vmcb->control;
    if (s->window) {
        c->vintr |= SVM_VINTR_V_IRQ | SVM_VINTR_V_IGN_TPR | SVM_VINTR_PRIO_MASK;
        c->intercept_misc1 |= SVM_INTERCEPT_VINTR;
    } else {
        c->vintr &= ~(SVM_VINTR_V_IRQ | SVM_VINTR_V_IGN_TPR | SVM_VINTR_PRIO_MASK);
        c->intercept_misc1 &= ~SVM_INTERCEPT_VINTR;
    }
    if (s->window || s->tpr_threshold || (s->tpr & 0xf))
        c->intercept_cr |= SVM_INTERCEPT_CR8_WRITE;
    else
        c->intercept_cr &= ~SVM_INTERCEPT_CR8_WRITE;
}

static void svm_request_interrupt_window(struct vcpu *v, bool on)
{
    struct svm_vcpu *s = sv(v);
    s->window = on;
    update_virq(s);
}

/* VMRUN loads V_TPR as the guest's CR8 and #VMEXIT stores it back, where
 * svm_vcpu_run reads it (tpr_after_exit). V_TPR is TPR[7:4] only (APM 2
 * 15.21.1, 16.6.4): the byte's low nibble (from the APIC page or an
 * x2APIC MSR write, both of which exit here) is remembered beside it. */
static void svm_write_tpr(struct vcpu *v, u8 tpr, u8 threshold)
{
    struct svm_vcpu *s = sv(v);
    struct vmcb_control *c = &s->vmcb->control;
    c->vintr = (c->vintr & ~(u64)SVM_VINTR_V_TPR) | ((tpr >> 4) & SVM_VINTR_V_TPR);
    s->tpr = tpr;
    s->tpr_threshold = threshold;
    update_virq(s);
}

/* The guest's TPR byte after an exit: the one loaded while its CR8 is
 * what was loaded, else the class the guest's MOV CR8 wrote (its low
 * nibble clear, SDM 3A 11.8.6.1). */
static inline u8 tpr_after_exit(const struct svm_vcpu *s)
{
    u8 cr8 = (u8)(s->vmcb->control.vintr & SVM_VINTR_V_TPR);
    return cr8 == s->tpr >> 4 ? s->tpr : (u8)(cr8 << 4);
}

static void set_segment(struct vmcb_segment *s, u16 selector, u64 base, u32 limit, u16 attrib)
{
    *s = (struct vmcb_segment){selector, attrib, limit, base};
}

/* The register state after RESET (SDM 3A Table 9-1; APM 2 14.1.3). With
 * nested paging the guest may run in real mode directly (APM 2 15.19). */
static void svm_vcpu_reset(struct vcpu *v)
{
    struct vmcb_save *g = &sv(v)->vmcb->save;
    memset(g, 0, sizeof(*g));
    set_segment(&g->cs, 0xf000, 0xffff0000, 0xffff, 0x9b); /* present, code, readable, accessed */
    set_segment(&g->ds, 0, 0, 0xffff, 0x93);                /* present, data, writable, accessed */
    g->es = g->ss = g->fs = g->gs = g->ds;
    set_segment(&g->gdtr, 0, 0, 0xffff, 0);
    set_segment(&g->idtr, 0, 0, 0xffff, 0);
    set_segment(&g->ldtr, 0, 0, 0xffff, 0x82); /* present, LDT */
    set_segment(&g->tr, 0, 0, 0xffff, 0x8b);   /* present, busy TSS */
    g->cr0 = CR0_CD | CR0_NW | CR0_ET;
    g->efer = EFER_SVME; /* VMRUN requires it in the guest's EFER (15.5.1); RDMSR hides it */
    g->dr6 = 0xffff0ff0;
    g->dr7 = 0x400;
    g->g_pat = 0x0007040600070406ull; /* the PAT's power-on value (SDM 3A 11.12.4) */
    memset(v->gpr, 0, sizeof(v->gpr));
    v->gpr[GPR_RDX] = cpuid(1, 0).eax; /* processor signature, as after RESET */
    v->rip = 0xfff0;
    v->rflags = RFLAGS_FIXED;
    sv(v)->flush_tlb = true;
    sv(v)->vmcb->control.eventinj = 0;
    sv(v)->vmcb->control.intercept_misc1 &= ~SVM_INTERCEPT_IRET;
    sv(v)->nmi_blocked = sv(v)->iret_seen = false;
    sv(v)->slow &= (u8)~SLOW_NMI_STEP;
    sv(v)->shadow_rip = NO_SHADOW;
    sv(v)->vmcb->control.vintr &= ~(u64)SVM_VINTR_V_TPR; /* CR8 = 0 */
    sv(v)->tpr_threshold = sv(v)->tpr = 0;
    update_virq(sv(v));
}

/* Xen's PVH entry state (docs/misc/pvh.pandoc; its builder's values:
 * CS attributes C9Bh, data C93h, TR limit 67h). */
static void svm_vcpu_enter_flat32(struct vcpu *v, u32 eip)
{
    struct vmcb_save *g = &sv(v)->vmcb->save;
    set_segment(&g->cs, 0x10, 0, 0xffffffff, 0xc9b); /* G, D, present, code, readable, accessed */
    set_segment(&g->ds, 0x18, 0, 0xffffffff, 0xc93); /* G, B, present, data, writable, accessed */
    g->es = g->ss = g->fs = g->gs = g->ds;
    set_segment(&g->tr, 0x20, 0, 0x67, 0x8b);         /* present, 32-bit busy TSS */
    g->cpl = 0;
    g->cr0 = CR0_PE | CR0_ET;
    v->rip = eip;
    v->rflags = RFLAGS_FIXED;
    sv(v)->flush_tlb = true;
}

/* A start-up IPI after INIT (the state above): real mode at the vector's
 * page, CS = vector << 8, base vector << 12, IP = 0 (SDM 3A 9.4.4.1 /
 * 8.4.4.1). */
static void svm_vcpu_startup(struct vcpu *v, u8 vector)
{
    struct vmcb_save *g = &sv(v)->vmcb->save;
    set_segment(&g->cs, (u16)(vector << 8), (u64)vector << 12, 0xffff, 0x9b);
    v->rip = 0;
}

/* An intercepted #DB has already updated DR6 in the VMCB, as on any
 * delivery (APM 2 15.12); Zazen hands every #DB back to the guest
 * (vmm/reflect.c), and delivering it clears DR7.GD (APM 2 13.1.1.5), or
 * the handler's own MOV DR would fault again. */
static void debug_exception_exited(struct vmcb *vmcb) { vmcb->save.dr7 &= ~DR7_GD; }

/* VMRUN loads the guest's CR2 from the VMCB and #VMEXIT stores it back
 * (APM 2 15.5.1, 15.6), leaving it in the CPU. Bochs 2.7 does not load it,
 * so the CPU's CR2 (the last guest's, or this one's before a reset) would
 * reach the guest: the register gets the VMCB's value first. After an
 * exit of this vCPU they agree, so this writes only when the vCPU changed
 * or was reset. */
static void load_cr2(const struct vmcb *vmcb)
{
    if (read_cr2() != vmcb->save.cr2)
        write_cr2(vmcb->save.cr2);
}

/* An ASID of this CPU's current generation, a new one if v comes from
 * another CPU or an older generation. */
static void take_asid(struct svm_vcpu *s, struct svm_cpu *c, unsigned cpu_index)
{
    if (s->asid_cpu == (int)cpu_index && s->asid_generation == c->asid_generation)
        return;
    if (c->next_asid >= cpu.asid_count) {
        c->asid_generation++;
        c->next_asid = 1;
        c->flush_all = true;
    }
    s->vmcb->control.guest_asid = c->next_asid++;
    s->asid_cpu = (int)cpu_index;
    s->asid_generation = c->asid_generation;
    /* A VMCB that moves keeps nothing cached (APM 2 15.15.3, clean bits). */
    s->vmcb->control.clean_bits = 0;
}

/* RDTSC, RDTSCP and RDMSR of the TSC in the guest return the TSC plus
 * the VMCB's TSC_OFFSET (APM 2 Appendix B, control area 050h). Zazen
 * marks no VMCB field clean (APM 2 15.15.3), so the next VMRUN loads it. */
static void svm_set_tsc_offset(struct vcpu *v) { sv(v)->vmcb->control.tsc_offset = vcpu_tsc_offset(v); }

static void svm_vcpu_load(struct vcpu *v)
{
    struct svm_vcpu *s = sv(v);
    struct svm_cpu *c = this_svm_cpu();
    take_asid(s, c, this_cpu()->index);
    if (c->flush_all) { /* the first entry of a new generation: no ASID's entries may survive */
        s->flush_tlb = true;
        c->flush_all = false;
    }
    /* ASIDs tag the TLB (APM 2 15.16), so a CPU that switches vCPUs need
     * not flush. QEMU's TCG does not tag its translation cache by ASID,
     * and with the guest's paging off not even a new CR3 flushes it: the
     * next guest would use the last one's guest-physical translations.
     * So a switch to another vCPU flushes this vCPU's ASID (all ASIDs
     * where the CPU cannot flush one): once per switch, not per entry. */
    if (c->last != s)
        s->flush_tlb = true;
    c->last = s;
    svm_set_tsc_offset(v);
}

static void svm_vcpu_put(struct vcpu *v) { (void)v; /* the VMCB lives in memory: nothing to unload */ }

/* Bochs 2.7's AMD-V model keeps the single-step trap of a guest
 * instruction that an intercept ended (the guest ran it with RFLAGS.TF
 * set) and delivers it to the host right after VMRUN, while the guest's
 * GS and TR are still loaded (svm_run.asm); on a real CPU the intercept
 * ends the instruction and its trap with it (APM 2 15.7.1). The host
 * ignores that #DB: Zazen completes the instruction and raises the
 * guest's trap itself (vcpu_complete_instruction). */
extern const char svm_after_vmrun[];
bool arch_host_debug_trap_is_guests(u64 rip)
{
    if (rip != (u64)(uintptr_t)svm_after_vmrun)
        return false;
    write_dr6(read_dr6() & ~DR6_BS);
    return true;
}

/* The guest is about to run IRET: the NMI handler ends (SDM 3A 6.7.1).
 * The intercept comes before the instruction (APM 2 15.9), so NMIs stay
 * blocked until RIP has moved past it (svm_nmi_window_open). */
static void iret_intercepted(struct vcpu *v)
{
    struct svm_vcpu *s = sv(v);
    s->vmcb->control.intercept_misc1 &= ~SVM_INTERCEPT_IRET;
    s->iret_seen = s->nmi_blocked;
    s->iret_rip = v->rip;
}

/* The exit after a step Zazen asked for: the guest's TF comes back
 * (the next look asks for another step if the NMI still cannot go).
 * Unless the guest was stepping itself, a #DB is Zazen's (its DR6.BS
 * taken back, APM 2 13.1.1.3): an NMI window, not a guest exception. */
static void nmi_step_done(struct vcpu *v, struct vm_exit *e)
{
    struct svm_vcpu *s = sv(v);
    s->slow &= (u8)~SLOW_NMI_STEP;
    v->rflags = (v->rflags & ~RFLAGS_TF) | s->step_tf;
    if (s->step_tf || e->reason != EXIT_EXCEPTION || e->exception.vector != VECTOR_DB)
        return;
    s->vmcb->save.dr6 &= ~DR6_BS;
    e->reason = EXIT_NMI_WINDOW;
}

static void svm_inject_event(struct vcpu *v, const struct vcpu_event *ev);

/* A #DB as a trap after the instruction, DR6.BS set (APM 2 13.1.1.3). */
static void svm_single_step_trap(struct vcpu *v)
{
    sv(v)->vmcb->save.dr6 |= DR6_BS;
    struct vcpu_event ev = {EVENT_EXCEPTION, VECTOR_DB, false, 0, 0};
    svm_inject_event(v, &ev);
}

/* The handler's IRET has run once RIP has moved past it. */
static bool svm_nmi_blocked(struct vcpu *v)
{
    struct svm_vcpu *s = sv(v);
    if (s->nmi_blocked && s->iret_seen && v->rip != s->iret_rip)
        s->nmi_blocked = s->iret_seen = false;
    return s->nmi_blocked;
}

static bool svm_nmi_window_open(struct vcpu *v)
{
    struct svm_vcpu *s = sv(v);
    const struct vmcb *vmcb = s->vmcb;
    if (svm_nmi_blocked(v))
        return false;
    bool shadow = ((vmcb->control.interrupt_shadow & 1) || s->shadow_rip == vmcb->save.rip) && vmcb->save.rip == v->rip;
    return !shadow && !(vmcb->control.eventinj & SVM_EVENT_VALID);
}

/* While an NMI handler runs its IRET intercept will exit; anything else
 * (that IRET not yet run, a shadow, an event being injected) is over
 * after one instruction: step it (KVM does the same without V_NMI). */
static void svm_request_nmi_window(struct vcpu *v, bool on)
{
    struct svm_vcpu *s = sv(v);
    if (!on || (s->slow & SLOW_NMI_STEP) || (s->nmi_blocked && !s->iret_seen))
        return;
    s->slow |= SLOW_NMI_STEP;
    s->step_tf = v->rflags & RFLAGS_TF;
    v->rflags |= RFLAGS_TF;
}

/* The exit codes the core has a fast way for (vcpu_fast_exit), besides
 * CPUID (fast_cpuid_exit, asked first); EXIT_NONE: none. All are
 * instruction intercepts, which never interrupt the delivery of an event
 * (EXITINTINFO is not valid, APM 2 15.7.2). */
static const u8 fast_reasons[0x80] = {
    [SVM_EXIT_MSR] = EXIT_MSR_WRITE, /* EXITINFO1 = 1: a write (APM 2 15.11); a read takes the full way */
    [SVM_EXIT_IOIO] = EXIT_IO,       /* IN and OUT, not INS or OUTS (svm_ioio_plain) */
};

/* RAX, RIP and RFLAGS as the exit left them in the VMCB (RSP is read
 * at the end of svm_vcpu_run; the other registers are in v->gpr). */
static inline __attribute__((always_inline)) void registers_from_exit(struct vcpu *v, const struct vmcb *vmcb)
{
    v->gpr[GPR_RAX] = vmcb->save.rax;
    v->rip = vmcb->save.rip;
    v->rflags = vmcb->save.rflags;
}

/* What the guest goes back in with after a fast exit (FAST_BACK_IN):
 * RAX and RIP, no STI/MOV SS shadow as RIP moved (and none for QEMU's
 * watch: svm_enter_watching_shadow would find none); no event to inject
 * and no TLB flush, which svm_vcpu_run cleared after its first entry
 * (an event injected there was delivered: an instruction intercept
 * never interrupts a delivery, and a nested page fault that did is no
 * fast exit; the flush was done). The
 * guest's CR2 is in the register already: #VMEXIT left it there and
 * saved it in the VMCB (APM 2 15.6), and nothing on the fast way faults
 * or writes CR2, so load_cr2 would find them equal. */
static inline __attribute__((always_inline)) void fast_back_in(const struct vcpu *v, struct svm_vcpu *s,
                                                               struct vmcb *vmcb)
{
    vmcb->control.interrupt_shadow = 0;
    vmcb->save.rax = v->gpr[GPR_RAX];
    vmcb->save.rip = v->rip;
    s->shadow_rip = NO_SHADOW;
}

/* CPUID, the most frequent of them, on a way of its own: only its exit
 * code is asked, and none of the port or nested-fault decoding's values
 * is live across it. Its length needs NRIP save (15.7.1). */
static inline __attribute__((always_inline)) enum fast_way fast_cpuid_exit(struct vcpu *v, struct svm_vcpu *s,
                                                                          struct vmcb *vmcb)
{
    if (s->slow) /* an NMI's step, or no NRIP save */
        return FAST_NO;
    registers_from_exit(v, vmcb);
    enum fast_way way = vcpu_fast_exit(v, EXIT_CPUID, svm_fast_length(v->rip, vmcb->control.next_rip), 0, 0, NULL);
    if (way == FAST_BACK_IN)
        fast_back_in(v, s, vmcb);
    return way;
}

/* After an exit: the core's fast way, from the exit code, RAX, RIP,
 * RFLAGS, the next RIP and an IOIO exit's EXITINFO1 alone (no exit
 * record). Without NRIP save the length of CPUID or WRMSR is unknown (0)
 * and the core declines: the full way decodes it.
 * FAST_BACK_IN: the instruction is done and the guest goes back in at
 * once with what svm_vcpu_run would load (fast_back_in). RSP stays in
 * the VMCB (v's copy is read at the next full exit); RFLAGS is
 * unchanged. FAST_DONE: done, and svm_vcpu_run returns EXIT_NONE with
 * the VMCB as the exit left it (its next call loads RAX and RIP). Not
 * while an NMI's single step is under way (nmi_step_done). */
static enum fast_way fast_exit(struct vcpu *v, struct svm_vcpu *s, struct vmcb *vmcb)
{
    u64 code = vmcb->control.exitcode;
    if (code == SVM_EXIT_CPUID)
        return fast_cpuid_exit(v, s, vmcb);
    enum exit_reason r = code < ARRAY_SIZE(fast_reasons) ? fast_reasons[code] : EXIT_NONE;
    u16 port = 0;
    u8 size = 0;
    const struct io_range *range = NULL;
    /* A nested page fault: an instruction's data write to a device (MMIO
     * is never mapped), not while an event was being delivered. */
    bool npf = code == SVM_EXIT_NPF && svm_npf_operand_write(vmcb->control.exitinfo1) &&
               !(vmcb->control.exitintinfo & SVM_EVENT_VALID);
    if (npf)
        r = EXIT_NESTED_FAULT;
    if (r == EXIT_NONE || (s->slow & SLOW_NMI_STEP) || (code == SVM_EXIT_MSR && vmcb->control.exitinfo1 != 1) ||
        (code == SVM_EXIT_IOIO && (!svm_ioio_plain(vmcb->control.exitinfo1, &port, &size) ||
                                   !(range = vcpu_fast_port(v, port, size)))))
        return FAST_NO;
    registers_from_exit(v, vmcb);
    /* An IOIO exit gives the next RIP in EXITINFO2 (APM 2 15.10.2). */
    u64 next = code == SVM_EXIT_IOIO ? vmcb->control.exitinfo2 : vmcb->control.next_rip;
    unsigned len = code == SVM_EXIT_IOIO || (cpu.features & SVM_FEATURE_NRIPS) ? svm_fast_length(v->rip, next) : 0;
    /* A nested page fault's next RIP is not saved (NRIP save covers
     * instruction intercepts, APM 2 15.7.1): the core decodes the
     * instruction, from the bytes decode assists put in the VMCB on a
     * nested page fault (APM 2 15.33 "Decode Assists": the count at
     * 0D0h, up to 15 bytes from 0D1h) or, without them (Bochs 2.7's
     * ryzen, QEMU TCG) or when the count is 0, fetched from guest RAM. */
    if (npf) {
        bool assisted = (cpu.features & SVM_FEATURE_DECODE_ASSISTS) && vmcb->control.insn_fetched;
        len = mmio_fast_decode(v, vmcb->control.exitinfo2, assisted ? vmcb->control.insn_bytes : NULL,
                               assisted ? MIN(vmcb->control.insn_fetched, (u8)15) : 0);
    }
    enum fast_way way = vcpu_fast_exit_split(v, r, len, port, size, range);
    if (way == FAST_BACK_IN)
        fast_back_in(v, s, vmcb);
    return way;
}

/* VMRUN loads the guest's STI/MOV SS shadow from INTERRUPT_SHADOW (VMCB
 * offset 068h bit 0, APM 2 Table B-1 and 15.21.5) and #VMEXIT saves it.
 * QEMU 7.2's TCG saves it but does not load it (helper_vmrun ignores
 * int_state), so an exit before the guest retires its next instruction
 * reports no shadow where there still is one, and an NMI injected then
 * lands inside the STI shadow (kvm-unit-tests' apic "nmi-after-sti":
 * 23 of 30000). So s->shadow_rip remembers the RIP of a shadow while the
 * guest has not moved from it, for the NMI window (svm_nmi_window_open),
 * whose single step then runs the instruction first. Not for maskable
 * interrupts: QEMU takes a virtual interrupt's window (VINTR) at that
 * same RIP without the shadow, and waiting for it again would never end.
 * Where VMRUN loads the shadow this changes nothing. */
static void svm_enter_watching_shadow(struct vcpu *v, struct vmcb *vmcb, u64 vmcb_pa, u64 host_pa)
{
    struct svm_vcpu *s = sv(v);
    if (vmcb->control.interrupt_shadow & 1)
        s->shadow_rip = vmcb->save.rip;
    else if (s->shadow_rip != vmcb->save.rip)
        s->shadow_rip = NO_SHADOW;
    svm_enter(vmcb_pa, v->gpr, host_pa);
    if (vmcb->save.rip != s->shadow_rip)
        s->shadow_rip = NO_SHADOW;
}

static void svm_vcpu_run(struct vcpu *v, struct vm_exit *e)
{
    struct svm_vcpu *s = sv(v);
    struct vmcb *vmcb = s->vmcb;
    /* Zazen completed the exiting instruction (it moved RIP): an STI or
     * MOV SS shadow covered that instruction only, so it is over (the
     * shadow of "sti; hlt" must not outlive the HLT, SDM 2B STI). */
    if (vmcb->save.rip != v->rip)
        vmcb->control.interrupt_shadow = 0;
    vmcb->save.rax = v->gpr[GPR_RAX];
    vmcb->save.rsp = v->gpr[GPR_RSP];
    vmcb->save.rip = v->rip;
    vmcb->save.rflags = v->rflags;
    load_cr2(vmcb);
    /* Without flush-by-ASID the only TLB control is a full flush (15.16.1). */
    u8 flush = (cpu.features & SVM_FEATURE_FLUSH_BY_ASID) ? SVM_TLB_FLUSH_ASID : SVM_TLB_FLUSH_ALL;
    if (atomic_load(&s->nested_stale) && atomic_exchange(&s->nested_stale, 0u))
        s->flush_tlb = true;
    vmcb->control.tlb_control = s->flush_tlb ? flush : SVM_TLB_DO_NOTHING;
    s->flush_tlb = false;

    /* The VMCB's and this CPU's host save area's addresses, for every
     * entry of this turn. After a fast exit the watch has nothing to do
     * (fast_back_in). */
    u64 vmcb_pa = hpa_of(vmcb), host_pa = hpa_of(this_svm_cpu()->host_state);
    enum fast_way way;
    svm_enter_watching_shadow(v, vmcb, vmcb_pa, host_pa);
    vmcb->control.eventinj = 0;                         /* delivered, or back in EXITINTINFO (below) */
    vmcb->control.tlb_control = SVM_TLB_DO_NOTHING;     /* done */
    while ((way = fast_exit(v, s, vmcb)) == FAST_BACK_IN)
        svm_enter(vmcb_pa, v->gpr, host_pa);

    v->gpr[GPR_RSP] = vmcb->save.rsp;
    v->tpr = tpr_after_exit(s);
    if (way == FAST_DONE) {
        vm_exit_clear(e); /* EXIT_NONE: nothing left to dispatch */
        return;
    }
    registers_from_exit(v, vmcb);
    struct svm_exit_raw raw = {
        .exitcode = vmcb->control.exitcode,
        .exitinfo1 = vmcb->control.exitinfo1,
        .exitinfo2 = vmcb->control.exitinfo2,
        .rip = vmcb->save.rip,
        .next_rip = vmcb->control.next_rip,
        .nrips = (cpu.features & SVM_FEATURE_NRIPS) != 0,
        .exitintinfo = vmcb->control.exitintinfo,
        .decode_assists = (cpu.features & SVM_FEATURE_DECODE_ASSISTS) != 0,
    };
    svm_decode_exit(&raw, e);
    if (raw.exitcode == SVM_EXIT_IRET)
        iret_intercepted(v);
    if (s->slow & SLOW_NMI_STEP)
        nmi_step_done(v, e);
    if (e->reason == EXIT_EXCEPTION && e->exception.vector == VECTOR_DB)
        debug_exception_exited(vmcb);
    /* An event whose delivery the exit interrupted is delivered again (15.7.2). */
    if (vmcb->control.exitintinfo & SVM_EVENT_VALID)
        vmcb->control.eventinj = vmcb->control.exitintinfo;
    if (e->reason == EXIT_ENTRY_FAILED) {
        char verdict[96];
        svm_check_vmcb(vmcb, verdict, sizeof(verdict));
        snprintf(e->entry.detail, sizeof(e->entry.detail), "VMRUN refused the guest state (VMEXIT_INVALID); %s",
                 verdict);
    }
}

static void segment_from_vmcb(struct segment *out, const struct vmcb_segment *s)
{
    *out = (struct segment){s->selector, s->attrib, s->limit, s->base, !(s->attrib & SEG_ATTR_P)};
}

static void svm_get_sregs(struct vcpu *v, struct vcpu_sregs *out)
{
    const struct vmcb_save *g = &sv(v)->vmcb->save;
    const struct vmcb_segment *segs[SEG_COUNT] = {&g->es, &g->cs, &g->ss, &g->ds, &g->fs, &g->gs, &g->ldtr, &g->tr};
    for (unsigned i = 0; i < SEG_COUNT; i++)
        segment_from_vmcb(&out->seg[i], segs[i]);
    out->gdtr = (struct descriptor_table){g->gdtr.base, (u16)g->gdtr.limit};
    out->idtr = (struct descriptor_table){g->idtr.base, (u16)g->idtr.limit};
    out->cr0 = g->cr0;
    out->cr2 = g->cr2;
    out->cr3 = g->cr3;
    out->cr4 = g->cr4;
    out->efer = g->efer & ~EFER_SVME;
    out->cpl = g->cpl;
}

/* What the instruction emulator reads (arch.h get_emu_sregs), without
 * the descriptor tables, LDTR, TR and the segments' limits. */
static void svm_get_emu_sregs(struct vcpu *v, struct vcpu_sregs *out)
{
    const struct vmcb_save *g = &sv(v)->vmcb->save;
    out->seg[SEG_ES].base = g->es.base;
    out->seg[SEG_CS].base = g->cs.base;
    out->seg[SEG_SS].base = g->ss.base;
    out->seg[SEG_DS].base = g->ds.base;
    out->seg[SEG_FS].base = g->fs.base;
    out->seg[SEG_GS].base = g->gs.base;
    out->seg[SEG_CS].selector = g->cs.selector;
    out->seg[SEG_CS].attr = g->cs.attrib;
    out->seg[SEG_SS].attr = g->ss.attrib;
    out->cr0 = g->cr0;
    out->cr3 = g->cr3;
    out->cr4 = g->cr4;
    out->efer = g->efer & ~EFER_SVME;
    out->cpl = g->cpl;
}

/* Segment registers with their hidden parts, CR3 (APM 2 15.5.1). The
 * CPU switches tasks itself here (no task-switch intercept); this keeps
 * the interface whole. */
static void svm_set_segments(struct vcpu *v, const struct vcpu_sregs *in)
{
    struct vmcb_save *g = &sv(v)->vmcb->save;
    struct vmcb_segment *segs[SEG_COUNT] = {&g->es, &g->cs, &g->ss, &g->ds, &g->fs, &g->gs, &g->ldtr, &g->tr};
    for (unsigned i = 0; i < SEG_COUNT; i++) {
        const struct segment *s = &in->seg[i];
        *segs[i] = (struct vmcb_segment){s->selector, s->unusable ? 0 : s->attr, s->limit, s->base};
    }
    g->cpl = (u8)SEG_ATTR_DPL(in->seg[SEG_SS].attr);
    if (g->cr3 != in->cr3) {
        g->cr3 = in->cr3;
        sv(v)->flush_tlb = true;
    }
}

static void svm_inject_event(struct vcpu *v, const struct vcpu_event *ev)
{
    static const u8 types[] = {
        [EVENT_EXTERNAL_INTR] = SVM_EVENT_TYPE_INTR,
        [EVENT_NMI] = SVM_EVENT_TYPE_NMI,
        [EVENT_EXCEPTION] = SVM_EVENT_TYPE_EXCEPTION,
        [EVENT_SOFTWARE_INTR] = SVM_EVENT_TYPE_SOFTINT,
    };
    u64 inj = ev->vector | ((u64)types[ev->type] << SVM_EVENT_TYPE_SHIFT) | SVM_EVENT_VALID;
    if (ev->has_error)
        inj |= SVM_EVENT_ERROR_VALID | ((u64)ev->error << 32);
    sv(v)->vmcb->control.eventinj = inj;
    if (ev->type == EVENT_NMI) { /* blocked until the handler's IRET (SDM 3A 6.7.1) */
        sv(v)->nmi_blocked = true;
        sv(v)->iret_seen = false;
        sv(v)->vmcb->control.intercept_misc1 |= SVM_INTERCEPT_IRET;
    }
    /* Event injection does not load CR2; the VMM does (APM 2 15.20). */
    if (ev->type == EVENT_EXCEPTION && ev->vector == 14)
        sv(v)->vmcb->save.cr2 = ev->cr2;
}

/* CR4 bits whose change flushes the TLB (SDM 3A 4.10.4.1; APM 2 5.5.3):
 * the VMRUN that follows an intercepted write must do it for the CPU. */
#define CR4_TLB_BITS (CR4_PGE | CR4_PAE | CR4_PSE | CR4_PCIDE | CR4_SMEP | CR4_SMAP | CR4_LA57)

/* An intercepted MOV to CR4 (the only CR write intercept besides CR8's,
 * which the core answers). It faults on reserved bits and on clearing
 * PAE in long mode (APM 3 MOV CRn; SDM 2B MOV CR). CR0 is the guest's
 * own: no write to it reaches this. */
static bool svm_write_cr(struct vcpu *v, unsigned cr, u64 value)
{
    struct svm_vcpu *s = sv(v);
    struct vmcb_save *g = &s->vmcb->save;
    if (cr != 4 || (value & cpuid_guest_cr4_reserved()) || (!(value & CR4_PAE) && (g->efer & EFER_LMA)))
        return false;
    if ((g->cr4 ^ value) & CR4_TLB_BITS)
        s->flush_tlb = true;
    g->cr4 = value;
    return true;
}

static bool svm_interrupt_window_open(struct vcpu *v)
{
    const struct vmcb *vmcb = sv(v)->vmcb;
    /* A shadow ends with the instruction it covers; if Zazen completed
     * that instruction (RIP moved), it is over already. */
    bool shadow = (vmcb->control.interrupt_shadow & 1) && vmcb->save.rip == v->rip;
    return (v->rflags & RFLAGS_IF) && !shadow && !(vmcb->control.eventinj & SVM_EVENT_VALID);
}

static bool svm_msr_read(struct vcpu *v, u32 msr, u64 *value)
{
    const struct vmcb_save *g = &sv(v)->vmcb->save;
    switch (msr) {
    case MSR_EFER: *value = g->efer & ~EFER_SVME; return true; /* SVM is not offered to guests */
    case MSR_IA32_PAT: *value = g->g_pat; return true;
    /* DebugCtl: VMRUN switches it only with LBR virtualization (APM 2
     * 15.23), which the test platforms lack: it reads 0 and takes only 0. */
    case MSR_IA32_DEBUGCTL: *value = 0; return true;
    default: return false;
    }
}

static bool svm_msr_write(struct vcpu *v, u32 msr, u64 value)
{
    struct vmcb_save *g = &sv(v)->vmcb->save;
    switch (msr) {
    case MSR_EFER:
        /* LMA is the CPU's to set (APM 2 14.6.1); SVME stays on for VMRUN. */
        g->efer = (value & ~EFER_LMA) | (g->efer & EFER_LMA) | EFER_SVME;
        return true;
    case MSR_IA32_PAT: g->g_pat = value; return true;
    case MSR_IA32_DEBUGCTL: return value == 0;
    default: return false;
    }
}

const struct arch_ops svm_ops = {
    .name = "AMD-V",
    .check_features = svm_check_features,
    .cpu_enable = svm_cpu_enable,
    .domain_create = svm_domain_create,
    .domain_destroy = svm_domain_destroy,
    .remap = svm_remap,
    .vcpu_create = svm_vcpu_create,
    .vcpu_destroy = svm_vcpu_destroy,
    .vcpu_reset = svm_vcpu_reset,
    .vcpu_enter_flat32 = svm_vcpu_enter_flat32,
    .vcpu_startup = svm_vcpu_startup,
    .vcpu_load = svm_vcpu_load,
    .set_tsc_offset = svm_set_tsc_offset,
    .vcpu_put = svm_vcpu_put,
    .vcpu_run = svm_vcpu_run,
    .get_sregs = svm_get_sregs,
    .get_emu_sregs = svm_get_emu_sregs,
    .get_code_sregs = svm_get_emu_sregs,
    .inject_event = svm_inject_event,
    .interrupt_window_open = svm_interrupt_window_open,
    .request_interrupt_window = svm_request_interrupt_window,
    .nmi_window_open = svm_nmi_window_open,
    .nmi_blocked = svm_nmi_blocked,
    .set_segments = svm_set_segments,
    .single_step_trap = svm_single_step_trap,
    .request_nmi_window = svm_request_nmi_window,
    .write_cr = svm_write_cr,
    .msr_read = svm_msr_read,
    .msr_write = svm_msr_write,
    .write_tpr = svm_write_tpr,
};
