/* The vendor-neutral vCPU. The core sees guest registers only through this
 * structure and the backend operations of vmm/arch.h; nothing outside vmx/
 * and svm/ touches a VMCS or a VMCB. */
#ifndef ZAZEN_VCPU_H
#define ZAZEN_VCPU_H

#include "exit.h"
#include "lock.h"
#include "sched.h"
#include "types.h"
#include "x86emu.h"

struct domain;

enum gpr {
    GPR_RAX, GPR_RCX, GPR_RDX, GPR_RBX, GPR_RSP, GPR_RBP, GPR_RSI, GPR_RDI,
    GPR_R8, GPR_R9, GPR_R10, GPR_R11, GPR_R12, GPR_R13, GPR_R14, GPR_R15,
    GPR_COUNT
};

enum seg_reg { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_LDTR, SEG_TR, SEG_COUNT };

/* A segment register with its hidden part. attr uses the descriptor's
 * access byte in bits 0-7 and its flags nibble (AVL, L, D/B, G) in bits
 * 8-11 (the VMCB's compressed form, APM 2 15.5.1); bit 16 marks an
 * unusable segment (VMX). */
struct segment {
    u16 selector;
    u16 attr;
    u32 limit;
    u64 base;
    bool unusable;
};

#define SEG_ATTR_TYPE(a) ((a) & 0xf)
#define SEG_ATTR_S BIT(4)
#define SEG_ATTR_DPL(a) (((a) >> 5) & 3)
#define SEG_ATTR_P BIT(7)
#define SEG_ATTR_L BIT(9)
#define SEG_ATTR_DB BIT(10)
#define SEG_ATTR_G BIT(11)

struct descriptor_table {
    u64 base;
    u16 limit;
};

/* Control and segment state, fetched from the backend on demand (the exit
 * fast path does not need it). */
struct vcpu_sregs {
    struct segment seg[SEG_COUNT];
    struct descriptor_table gdtr, idtr;
    u64 cr0, cr2, cr3, cr4, efer;
    u8 cpl;
};

/* An event to deliver at the next entry (SDM 3C 26.6, APM 2 15.20). */
enum event_type { EVENT_EXTERNAL_INTR, EVENT_NMI, EVENT_EXCEPTION, EVENT_SOFTWARE_INTR };
struct vcpu_event {
    enum event_type type;
    u8 vector;
    bool has_error;
    u32 error;
    u64 cr2; /* for a #PF: the faulting address the guest's CR2 receives */
};

struct lapic;

struct vcpu {
    struct domain *domain;
    unsigned id;
    struct lapic *lapic; /* its local APIC: &domain->pc.lapic[id] */
    /* In HLT with interrupts enabled: it waits for an interrupt (the
     * scheduler blocks it until its next device deadline). */
    bool halted;
    /* An application processor after RESET or INIT: it runs nothing
     * until a start-up IPI (SDM 3A 9.4.4 / 8.4.4, docs/smp.md). */
    bool wait_for_sipi;
    /* In HLT with interrupts disabled, in a domain of several vCPUs (a
     * CPU the OS took offline): only INIT or an NMI ends it (SDM 2B HLT). */
    bool halted_masked;
    /* Blocked in a hypercall (with halted): Xen's SCHEDOP_poll waits for
     * an event channel; its domain type says when it is over
     * (domain_type_ops.poll_ended). */
    bool polling;
    struct sched_vcpu sched;
    /* Added to the host TSC to give the guest's (RDTSC, the devices'
     * clock): it keeps the guest's TSC going forward when the vCPU moves
     * to a CPU whose TSC is behind (vcpu_load). */
    s64 tsc_offset;
    u64 guest_tsc_seen; /* the guest TSC at its last exit (the timebase's, without tsc_adjust) */
    /* IA32_TSC_ADJUST (SDM 3B 17.17.3): what the guest moved its own TSC
     * by, with WRMSR to this MSR or to IA32_TIME_STAMP_COUNTER (each moves
     * both). What the guest reads (RDTSC, the MSR) and compares (the
     * TSC-deadline, the pvclock) is the timebase above plus this; device
     * time follows the timebase alone, one for all the domain's vCPUs.
     * 0 at RESET. */
    s64 tsc_adjust;
    /* Synced with the hardware around every entry by the backend (the
     * TPR: read back after each exit; the core loads it with
     * arch->write_tpr). */
    u64 gpr[GPR_COUNT];
    u64 rip;
    u64 rflags;
    u8 tpr; /* the whole TPR byte, as the backend's copy holds it (vmm/tpr.h) */
    /* Guest registers the CPU holds while this vCPU runs and no VMCS/VMCB
     * switches (vmm/guest_state.c loads them when the vCPU takes the CPU):
     * IA32_TSC_AUX, what RDTSCP and RDPID return in ECX (SDM 2B RDTSCP);
     * the x87/SSE/AVX registers (XSAVE image, or FXSAVE's without XSAVE,
     * 64-byte aligned); XCR0 as the guest set it; DR0-DR3. */
    u64 tsc_aux;
    void *xsave;
    u64 xcr0;
    u64 dr[4];
    int state_cpu; /* the CPU whose registers hold these now, -1: only memory (guest_state.c) */
    bool fpu_pristine; /* xsave holds what a guest that never touched x87/SSE/AVX saves (guest_state.c) */
    u64 x87_loads;     /* FXRSTOR/XRSTOR of this vCPU's image so far (the vCPU's line at its end) */
    /* The exceptions Zazen reflected in a row that the guest took without
     * running an instruction (vmm/reflect.c): an endless chain of them,
     * which would hold a real CPU for good, ends the domain. */
    struct reflect_chain {
        u8 vector;
        unsigned count;
        u16 from_cs, entry_cs; /* the last one was delivered from here... */
        u64 from_rip, entry_rip; /* ...to the handler here */
    } reflect_chain;
    /* The MTRRs as the guest wrote them (vmm/msr.c: IA32_MTRR_DEF_TYPE,
     * the 11 fixed-range and 8 variable-range pairs); they change no
     * memory type: the nested tables decide that. */
    u64 mtrr[28];
    u64 misc_enable; /* IA32_MISC_ENABLE as the guest left it (vmm/msr.c) */
    u64 kvm_system_time; /* MSR_KVM_SYSTEM_TIME_NEW as written (vmm/kvm.c, paravirt = kvm) */
/* IA32_MISC_ENABLE after RESET (SDM 4 Table 2-2): fast strings on (0);
 * Branch Trace Storage (11) and PEBS (12) unavailable, as CPUID offers no
 * debug store; performance monitoring (7) unavailable, as it offers no
 * PMU. */
#define MISC_ENABLE_AT_RESET (BIT(0) | BIT(11) | BIT(12))
    /* The core asked the backend to exit when the guest can take an
     * interrupt (platform_deliver_interrupts). */
    bool irq_window_requested;
    bool nmi_window_requested; /* ...when it can take an NMI */
    /* The last look found no interrupt for the guest (nothing pending):
     * cleared through vcpu_interrupt_may_be_pending. */
    bool no_interrupt_pending;
    /* Nonzero: something fast_reentry must not miss changed since the run
     * loop's top last looked (an interrupt may be pending, the vCPU
     * halted, its domain ended, reset, paused or got a request, an event
     * came for it), so the guest does not go straight back in: the top
     * looks at each. Whoever changes one of those sets it after the
     * change (vcpu_stop_fast, domain_stop_fast); only the top clears it,
     * before it looks. So the fast way's question is one load. A writer on
     * another CPU that misses a check sends its IPI after setting it, and
     * the check is made with interrupts off, so the guest exits again at
     * once (as bhyve's vm_run checks its pending work). */
    u32 fast_stop;
    /* The TPR and TPR threshold the backend last loaded (vmm/tpr.c): a
     * TPR that differs after an exit is the guest's MOV CR8 (or, on
     * VT-x in x2APIC mode, its WRMSR to 808H); the APIC mode the backend
     * last heard of (arch->set_x2apic_mode). */
    u8 tpr_loaded, tpr_threshold_loaded;
    bool x2apic_loaded;
    /* The answers to the CPUID leaves the vCPU asked last (vmm/cpuid.c),
     * each in the slot cpuid_cache_slot names; emptied (cpuid_forget) at
     * RESET and whenever what else an answer depends on changes: XCR0,
     * the local APIC's enable, IA32_MISC_ENABLE. */
    struct cpuid_cached {
        u64 key; /* cpuid_cache_key(leaf, sub-leaf); empty: a key of another slot */
        u32 regs[4]; /* EAX, EBX, ECX, EDX */
    } cpuid_cache[8];
    /* The latest (host TSC) the host timer may be armed for while the
     * guest runs, so that it ends the guest's turn in time (a fast timer
     * write arms it again: platform_timer_written): the slice's end or,
     * on CPU 0, the console's due time, as the run loop's top last
     * computed it; 0 outside a slice. */
    u64 fast_until;
    /* When the exit the fast way times began (FAST_TIMING_SAMPLE). */
    u64 fast_timed_at;
    /* The MMIO write the fast way carries out (mmio_fast_decode, for
     * fast_mmio_write): where, how wide, what, and when: the host TSC as
     * the decoding began, right after the exit, the moment of the write
     * (a timer count written starts then, not after the decoding, which
     * takes hundreds of instructions). */
    struct fast_mmio {
        u64 gpa, value;
        u8 size;
        u64 exit_tsc;
    } fast_mmio;
    /* The last plain MOVs mmio_fast_decode decoded: their bytes (the
     * first len of 15, as two overlapping words) and mode, and what they
     * store. The same bytes in the same mode are the same instruction.
     * Two: a timer's handler writes its EOI, its next count, its EOI... */
    struct fast_mmio_insn {
        u64 word0, word1;
        u8 len, mode;
        struct x86emu_store st;
    } fast_mmio_insn[2];
    u8 fast_mmio_insn_next; /* the one a new decoding replaces */
    /* The page guest_code_in_ram (vmm/emulate.c) last found the fast
     * way's instruction in: its linear page and where its bytes are, with
     * all the translation was made of (the paging registers and CPL, the
     * domain's regions, and each paging-structure entry the walk read,
     * where and what). The walk is a function of those alone, so while
     * they are all the same its answer is too. */
    struct code_page {
        u64 page; /* the linear page + 1; 0: none */
        u64 cr0, cr3, cr4, efer;
        u8 cpl, entries, entry_size;
        u32 generation; /* the domain's mem_generation */
        const u8 *host;
        const u8 *entry_at[4]; /* a walk reads at most four entries (4-level paging) */
        u64 entry[4];
    } code_page;
    void *arch; /* the backend's per-vCPU state (VMCB or VMCS and friends) */
};

/* The CPUID cache's key (vmm/cpuid.c), one compare for the leaf and
 * sub-leaf, and the slot a leaf and sub-leaf go in. An empty slot holds
 * a key that belongs in another slot, so no lookup matches it. */
static inline u64 cpuid_cache_key(u32 leaf, u32 subleaf) { return (u64)subleaf << 32 | leaf; }
static inline unsigned cpuid_cache_slot(u32 leaf, u32 subleaf) { return (leaf + subleaf) % 8; }

/* The TSC offset the hardware adds for v's RDTSC (VMCS TSC offset, VMCB
 * TSC_OFFSET): the timebase's and the guest's own adjustment. */
static inline u64 vcpu_tsc_offset(const struct vcpu *v) { return (u64)v->tsc_offset + (u64)v->tsc_adjust; }

/* The guest moved its TSC by delta (vmm/msr.c: IA32_TSC_ADJUST or
 * IA32_TIME_STAMP_COUNTER): the backend's offset, the local APIC's
 * TSC-deadline and the pvclock areas follow (vmm/vcpu.c). */
void vcpu_move_tsc(struct vcpu *v, s64 delta);

/* After changing what fast_reentry looks at (vcpu.fast_stop). */
static inline void vcpu_stop_fast(struct vcpu *v) { atomic_or(&v->fast_stop, 1u); }

/* Something may have made an interrupt pending for v (its TPR fell, a
 * device may have raised one): the next look finds out. */
static inline void vcpu_interrupt_may_be_pending(struct vcpu *v)
{
    v->no_interrupt_pending = false;
    vcpu_stop_fast(v);
}

/* Runs v on this CPU until `until` (host TSC), or until it halts, its
 * domain ends or this CPU must reschedule (vmm/vcpu.c). */
enum slice_end vcpu_run_slice(struct vcpu *v, u64 until);

/* The fast way (docs/exit-paths.md): a backend calls it right after an
 * exit of a reason it marks fast (CPUID, WRMSR, IN or OUT: one byte,
 * word or doubleword, not INS or OUTS), having read only the exit
 * reason, RIP, RFLAGS, the instruction's length (0: unknown), the GPRs
 * the reason uses and, for I/O, the port and size (| FAST_IO_OUT for an
 * OUT). FAST_NO: nothing changed; the backend builds the
 * exit record and returns it. Otherwise the core carried the instruction
 * out as the full way would (counted, traced, RIP moved past it), and
 * FAST_BACK_IN: nothing the run loop's top looks at changed, the backend
 * enters the guest again at once, clearing an STI/MOV SS shadow as it
 * does when RIP moved; FAST_DONE: the backend returns EXIT_NONE (nothing
 * left to dispatch) and the run loop goes through its top. */
enum fast_way { FAST_NO, FAST_DONE, FAST_BACK_IN };
/* vcpu_fast_exit itself is inline, in vmm/fast_way.h, with
 * vcpu_fast_port, which the backend asks for an IN or OUT. */

/* The state after RESET: the backend's registers (arch->vcpu_reset) and
 * the core's (vmm/vcpu.c). */
void vcpu_reset(struct vcpu *v);

/* The rest of completing an instruction Zazen carried out: a length to
 * decode, an instruction pointer that wraps, a single-step trap. */
void vcpu_complete_instruction_slow(struct vcpu *v, const struct vm_exit *e);

/* After Zazen carried out the exiting instruction (CPUID, I/O, RDMSR...):
 * RIP moves past it, as the CPU would have moved it. The fast way, one
 * add, unless the length is unknown (AMD-V without NRIP save), RFLAGS.TF
 * asks for a #DB after it (SDM 3A 17.3.1.4), or the instruction pointer
 * may wrap (it crosses a 64 KiB boundary: IP wraps there in 16-bit code,
 * EIP at 4 GiB in 32-bit code, SDM 3A 3.3.7). The STI/MOV SS shadow it
 * covered ends with it (the backends clear it when RIP moved). */
static inline void vcpu_complete_instruction(struct vcpu *v, const struct vm_exit *e)
{
    if (__builtin_expect(e->insn_len && !(v->rflags & BIT(8) /* TF */) && (v->rip & 0xffff) + e->insn_len <= 0xffff, 1))
        v->rip += e->insn_len;
    else
        vcpu_complete_instruction_slow(v, e);
}

#endif
