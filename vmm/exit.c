/* The exit dispatcher: every exit, whichever backend produced it, is
 * counted per domain and handed to the handler its reason indexes.
 * The small handlers live here; the larger ones in their own files. */
#include "arch.h"
#include "console.h"
#include "cpu_access.h"
#include "domain.h"
#include "domain_type.h"
#include "double_fault.h"
#include "emulate.h"
#include "handlers.h"
#include "reflect.h"
#include "sched.h"
#include "tpr.h"
#include "x86.h"


/* SDM 3A Table 6-1: the exceptions that are faults (#DB, a fault or a
 * trap, is left out: its handler decides about RF). */
static bool fault_class(u8 vector)
{
    return vector < 32 && ((1u << vector) & (BIT(0) | BIT(5) | BIT(6) | BIT(7) | BIT(10) | BIT(11) | BIT(12) |
                                             BIT(13) | BIT(14) | BIT(16) | BIT(17) | BIT(19) | BIT(20) | BIT(21)));
}

/* A fault is delivered with RF = 1 in the pushed RFLAGS, so that the
 * return does not hit an instruction breakpoint again (SDM 3A 6.6,
 * 3B 17.3.1.1); the CPU does so for the faults it raises itself, not for
 * an event a VM entry or VMRUN injects, so Zazen sets it (KVM does too).
 * Delivery clears RF again in the handler's RFLAGS. */
static void inject_exception(struct vcpu *v, const struct vcpu_event *ev)
{
    if (fault_class(ev->vector))
        v->rflags |= RFLAGS_RF;
    arch->inject_event(v, ev);
}

void vcpu_inject_exception(struct vcpu *v, u8 vector, bool has_error, u32 error)
{
    struct vcpu_event ev = {EVENT_EXCEPTION, vector, has_error, error, 0};
    inject_exception(v, &ev);
}

void vcpu_inject_page_fault(struct vcpu *v, u32 error, u64 address)
{
    struct vcpu_event ev = {EVENT_EXCEPTION, VECTOR_PF, true, error, address};
    inject_exception(v, &ev);
}

/* HLT: with interrupts disabled nothing can ever wake the vCPU (SDM 2B
 * HLT), which is how small guests say they are done. With interrupts
 * enabled the vCPU waits for one: the scheduler blocks it until a device
 * can raise one (vmm/vcpu.c) and runs others meanwhile. */
/* With several vCPUs, HLT with interrupts disabled is how an OS parks a
 * CPU it took offline (another vCPU may start it again with INIT): the
 * domain is done only when no vCPU is left that could. */
static bool others_can_run(const struct vcpu *v)
{
    const struct domain *d = v->domain;
    for (unsigned i = 0; i < d->vcpu_count; i++) {
        const struct vcpu *o = d->vcpus[i];
        if (o != v && !o->halted_masked && !o->wait_for_sipi)
            return true;
    }
    return false;
}

static void handle_hlt(struct vcpu *v, struct vm_exit *e)
{
    vcpu_complete_instruction(v, e);
    if (v->rflags & RFLAGS_IF) {
        v->halted = true;
        vcpu_stop_fast(v);
    } else if (v->domain->vcpu_count > 1 && others_can_run(v)) {
        v->halted = true;
        v->halted_masked = true;
        vcpu_stop_fast(v);
    } else {
        domain_end_kind(v->domain, END_POWEROFF, "halted with interrupts disabled"); /* Xen's hvm_hlt rule */
    }
}

/* double_fault_check's memory: the CPU's own accesses, through RAM. */
struct df_memory {
    struct vcpu *v;
    const struct vcpu_sregs *s;
};

static bool df_memory_access(void *ctx, u64 linear, void *data, unsigned size, bool write)
{
    const struct df_memory *m = ctx;
    return guest_supervisor_ram(m->v, m->s, linear, data, size, write);
}

static enum df_verdict check_double_fault(struct vcpu *v, const struct vcpu_sregs *s, char *why, size_t size)
{
    struct df_memory m = {v, s};
    return double_fault_check(s, v->gpr[GPR_RSP], df_memory_access, &m, why, size);
}

/* The vCPU's state at its shutdown, and what its #DF's delivery meets
 * there (double_fault.h), before the domain's end: where a guest that
 * triple-faults went wrong, as Xen prints a crashed domain's registers. */
static void end_with_triple_fault(struct vcpu *v, const struct vcpu_sregs *s)
{
    char why[160];
    enum df_verdict verdict = check_double_fault(v, s, why, sizeof(why));
    struct domain *d = v->domain;
    /* Two lines: each within the console's line (percpu.line, 256). */
    kprintf("zazen: domain %s (id %u) vcpu %u at its triple fault: RSP %llx RFLAGS %llx CR0 %llx CR3 %llx CR4 %llx "
            "EFER %llx IDT %llx+%x\n",
            d->name, d->id, v->id, (unsigned long long)v->gpr[GPR_RSP], (unsigned long long)v->rflags,
            (unsigned long long)s->cr0, (unsigned long long)s->cr3, (unsigned long long)s->cr4,
            (unsigned long long)s->efer, (unsigned long long)s->idtr.base, s->idtr.limit);
    kprintf("zazen: domain %s (id %u) vcpu %u at its triple fault: its #DF: %s: %s\n", d->name, d->id, v->id,
            df_verdict_name(verdict), why);
    domain_end(d, "triple fault at %04x:%08llx", s->seg[SEG_CS].selector, (unsigned long long)v->rip);
}

static void handle_triple_fault(struct vcpu *v, struct vm_exit *e)
{
    (void)e;
    struct vcpu_sregs s;
    arch->get_sregs(v, &s);
    end_with_triple_fault(v, &s);
}

/* INVD would throw away cache lines the host wrote; WBINVD is harmless.
 * Both become no-ops: guest memory is always coherent here. */
static void handle_skip(struct vcpu *v, struct vm_exit *e) { vcpu_complete_instruction(v, e); }

/* PAUSE-loop exiting (VT-x) or the PAUSE filter (AMD-V), armed for the
 * vCPUs of a domain with several: the guest spins, most likely on a lock
 * whose holder is a vCPU of its own that waits for a CPU. The PAUSE is
 * done (it only hints), and this vCPU gives its CPU up if another waits
 * (docs/smp.md, "Spinning guests"). */
static void handle_pause(struct vcpu *v, struct vm_exit *e)
{
    vcpu_complete_instruction(v, e);
    if (v->domain->vcpu_count > 1)
        sched_yield(v);
}

/* No nested virtualization, no MONITOR/MWAIT: CPUID does not offer
 * them, so the instructions fault as on a CPU without them. */
static void handle_undefined(struct vcpu *v, struct vm_exit *e)
{
    (void)e;
    vcpu_inject_exception(v, VECTOR_UD, false, 0);
}

/* VMCALL/VMMCALL: the domain type's (hvm: -ENOSYS; pvh: Xen's hypercalls). */
static void handle_hypercall(struct vcpu *v, struct vm_exit *e) { v->domain->type->hypercall(v, e); }

static void handle_nothing(struct vcpu *v, struct vm_exit *e)
{
    (void)v;
    (void)e;
}

/* A guest write to a control-register bit the backend keeps (VT-x's
 * guest/host masks, SDM 3C 25.6.6). MOV to CR uses 32 bits outside
 * 64-bit mode; LMSW sets PE but never clears it; CLTS clears TS (SDM 2A/2B). */
static void handle_cr_access(struct vcpu *v, struct vm_exit *e)
{
    if (e->cr.cr == 8) {
        handle_cr8_access(v, e);
        return;
    }
    struct vcpu_sregs s;
    arch->get_sregs(v, &s);
    u64 value;
    if (e->cr.access == CR_MOV_TO && e->cr.gpr == CR_GPR_UNKNOWN && !decode_cr_write(v, e)) {
        domain_end(v->domain, "cannot decode the MOV to CR%u at RIP %llx", e->cr.cr, (unsigned long long)v->rip);
        return;
    }
    switch (e->cr.access) {
    case CR_MOV_TO:
        value = v->gpr[e->cr.gpr];
        if (!(s.efer & EFER_LMA))
            value = (u32)value;
        break;
    case CR_CLTS: value = s.cr0 & ~CR0_TS; break;
    case CR_LMSW: value = (s.cr0 & ~0xfull) | (e->cr.lmsw_data & 0xf) | (s.cr0 & CR0_PE); break;
    default:
        domain_end(v->domain, "unexpected read of CR%u intercepted", e->cr.cr);
        return;
    }
    if (!arch->write_cr(v, e->cr.access == CR_MOV_TO ? e->cr.cr : 0, value)) {
        vcpu_inject_exception(v, VECTOR_GP, true, 0);
        return;
    }
    vcpu_complete_instruction(v, e);
}

static void handle_entry_failed(struct vcpu *v, struct vm_exit *e)
{
    domain_end(v->domain, "VM entry failed: %s", e->entry.detail);
}

/* A double fault the guest cannot take is a triple fault (SDM 3A 6.15,
 * interrupt 8). Backends intercept #DF so Zazen sees it coming even on a
 * CPU that resets instead of raising its shutdown intercept (Bochs 2.7
 * does for AMD-V guests); a #DF whose delivery nothing blocks
 * (double_fault_check: gate, code segment, stack) is delivered. */
static void handle_double_fault(struct vcpu *v)
{
    struct vcpu_sregs s;
    arch->get_sregs(v, &s);
    char why[160];
    if (check_double_fault(v, &s, why, sizeof(why)) == DF_BLOCKED) {
        end_with_triple_fault(v, &s);
        return;
    }
    vcpu_inject_exception(v, 8, true, 0);
}

static void handle_exception(struct vcpu *v, struct vm_exit *e)
{
    if (e->exception.vector == VECTOR_DB || e->exception.vector == VECTOR_AC) {
        reflect_exception(v, e);
        return;
    }
    v->reflect_chain.count = 0;
    if (e->exception.vector == 8) {
        handle_double_fault(v);
        return;
    }
    domain_end(v->domain, "unexpected intercepted exception %u at RIP %llx", e->exception.vector,
               (unsigned long long)v->rip);
}

static void handle_unhandled(struct vcpu *v, struct vm_exit *e)
{
    domain_end(v->domain, "unhandled %s exit 0x%x (info 0x%llx, 0x%llx) at RIP %llx", arch->name,
               e->unhandled.raw_reason, (unsigned long long)e->unhandled.info1,
               (unsigned long long)e->unhandled.info2, (unsigned long long)v->rip);
}

static const exit_handler handlers[EXIT_REASON_COUNT] = {
    [EXIT_NONE] = handle_nothing,
    [EXIT_IO] = handle_io,
    [EXIT_CPUID] = handle_cpuid,
    [EXIT_MSR_READ] = handle_msr_read,
    [EXIT_MSR_WRITE] = handle_msr_write,
    [EXIT_HLT] = handle_hlt,
    [EXIT_HYPERCALL] = handle_hypercall,
    [EXIT_NESTED_FAULT] = handle_nested_fault,
    [EXIT_TRIPLE_FAULT] = handle_triple_fault,
    [EXIT_INVD] = handle_skip,
    [EXIT_WBINVD] = handle_skip,
    [EXIT_VIRT_INSN] = handle_undefined,
    [EXIT_MONITOR_MWAIT] = handle_undefined,
    [EXIT_XSETBV] = handle_xsetbv,
    [EXIT_PAUSE] = handle_pause,
    [EXIT_EXTERNAL_INTR] = handle_nothing,
    [EXIT_IRQ_WINDOW] = handle_nothing,
    [EXIT_NMI_WINDOW] = handle_nothing,
    [EXIT_TIMER] = handle_nothing,
    [EXIT_INIT_SIGNAL] = handle_nothing,
    [EXIT_EXCEPTION] = handle_exception,
    [EXIT_CR_ACCESS] = handle_cr_access,
    [EXIT_TASK_SWITCH] = handle_task_switch,
    [EXIT_ENTRY_FAILED] = handle_entry_failed,
    [EXIT_UNHANDLED] = handle_unhandled,
};

/* Exits that say nothing about whether the guest ran an instruction:
 * they leave a chain of reflected exceptions alone (vmm/reflect.c). */
#define EXITS_WITHOUT_PROGRESS \
    (BIT(EXIT_EXTERNAL_INTR) | BIT(EXIT_IRQ_WINDOW) | BIT(EXIT_NMI_WINDOW) | BIT(EXIT_TIMER) | BIT(EXIT_EXCEPTION))

/* The instruction that needed a CPU-access window has run (an exit of
 * another kind came): the window's writes are forgotten. Out of line, so
 * that the common path stays a jump to the handler (the port-I/O round
 * trip is what Linux's PIT calibration measures). */
static __attribute__((noinline)) void close_windows_then(struct vcpu *v, struct vm_exit *e, enum exit_reason r)
{
    cpu_access_close_windows(v->domain);
    handlers[r](v, e);
}

void exit_dispatch(struct vcpu *v, struct vm_exit *e)
{
    enum exit_reason r = e->reason < EXIT_REASON_COUNT ? e->reason : EXIT_UNHANDLED;
    v->domain->exit_counts[r]++;
    if (!((EXITS_WITHOUT_PROGRESS >> r) & 1))
        v->reflect_chain.count = 0;
    if (__builtin_expect(v->domain->cpu_window_count != 0, 0) && r != EXIT_NESTED_FAULT) {
        close_windows_then(v, e, r);
        return;
    }
    handlers[r](v, e);
}
