/* The PC around a guest: every chip of the device model, wired together.
 * Pure like the chips: the hypervisor supplies guest RAM accessors and
 * callbacks (console output, reset, power-off), and asks this file which
 * interrupt the vCPU should take next.
 *
 * Two variants: PC_PCI (i440FX/PIIX3 with the IDE function and its bus
 * master, I/O APIC, ACPI PM) and PC_ISA (the legacy chips only: no PCI
 * configuration space, no I/O APIC, IDE on its ISA ports). */
#ifndef ZAZEN_DEVMODEL_PC_H
#define ZAZEN_DEVMODEL_PC_H

#include "acpi_pm.h"
#include "devmodel.h"
#include "fw_cfg.h"
#include "ide.h"
#include "ioapic.h"
#include "kbc.h"
#include "lapic.h"
#include "pci.h"
#include "pic.h"
#include "piix.h"
#include "pit.h"
#include "rtc.h"
#include "sysctl.h"
#include "uart.h"

#define PC_IOAPIC_BASE 0xfec00000ull
#define PC_ACPI_PM_BASE 0xb000
#define PC_SCI_GSI 9
#define PC_MAX_CPUS 16 /* local APICs: IDs 0 to 15 */

/* PC_PVH: the container of a Xen PVH domain. Its chips exist as on the
 * ISA PC but only the local APIC, the ACPI PM block (power-off, the PM
 * timer) and the 8254 answer on the bus: every other port reads all ones
 * and ignores writes, as on Xen, where a PVH domain has no device model.
 * The 8254 stays because Linux's early TSC calibration
 * (quick_pit_calibrate) polls its channel 2 up to 100,000 times while it
 * reads all ones; its IRQ0 reaches no one (no 8259 or I/O APIC is
 * reachable). */
enum pc_kind { PC_PCI, PC_ISA, PC_PVH };

struct pc_config {
    enum pc_kind kind;
    u64 ram_size;
    struct ide_disk *disks[4]; /* primary master/slave, secondary master/slave */
    struct rtc_time time;      /* the wall-clock time at the domain's time 0 */
    void (*com1_tx)(void *ctx, u8 byte);
    void (*reset)(void *ctx);
    void (*poweroff)(void *ctx);
    void (*post)(void *ctx, u8 code);
    pam_changed_fn pam_changed; /* PC_PCI: the i440FX's PAM moved a segment of C0000h-FFFFFh */
    void *ctx;
    /* CPUs, 1 to PC_MAX_CPUS (0 counts as 1), each with a local APIC whose
     * ID is its number. With more than one, the APICs share a system bus
     * (docs/smp.md): current_cpu says whose CPU makes a device access
     * (the APIC page answers with that CPU's APIC), and cpu_signal that a
     * CPU has an interrupt, INIT or start-up message to look at. */
    unsigned cpus;
    bool x2apic; /* the APICs offer x2APIC mode (hvm domains only) */
    u8 maxphyaddr; /* CPUID's MAXPHYADDR: IA32_APIC_BASE's bits above it are reserved; 0: 52 */
    unsigned (*current_cpu)(void *ctx);
    void (*cpu_signal)(void *ctx, unsigned cpu);
};

struct pc {
    enum pc_kind kind;
    struct dm_clock clock;
    struct io_bus bus;
    struct dm_irq irq;
    struct dm_memory mem;
    struct dm_env env;
    struct pic pic;
    struct pit pit;
    struct uart com1, com2;
    struct rtc rtc;
    struct kbc kbc;
    struct acpi_pm pm;
    struct sysctl sysctl;
    struct ide ide;
    struct lapic lapic[PC_MAX_CPUS]; /* lapic[i]: CPU i's */
    unsigned cpus;
    struct lapic_system_bus apic_bus; /* with cpus > 1 */
    /* The pages the APICs answer at, with how many claim each (one page
     * for all unless a guest moves its APIC: apic_bus.claim_page). */
    struct apic_page {
        u64 base;
        unsigned users;
    } apic_pages[PC_MAX_CPUS];
    unsigned lowest_priority_next;    /* where lowest-priority ties start (round robin) */
    unsigned (*current_cpu)(void *ctx);
    void (*cpu_signal)(void *ctx, unsigned cpu);
    void *ctx;
    struct fw_cfg fw_cfg; /* QEMU's firmware configuration device, for firmware written for QEMU */
    struct ioapic ioapic; /* PC_PCI only */
    struct pci_bus pci;   /* PC_PCI only */
    struct piix piix;     /* PC_PCI only */
    u8 irq0_eoi_watch;    /* the vector every local APIC's eoi_watch holds (pc_gate_timers) */
};

/* Builds and wires every chip; false and a sentence if a chip cannot be
 * set up (a bus range clash is a bug, not a guest error). */
bool pc_init(struct pc *pc, const struct dm_memory *mem, const struct pc_config *cfg, char *why, size_t why_size);
/* The devices' power-on state (a guest-requested reset keeps RAM and time). */
void pc_reset(struct pc *pc);
/* The interrupt controllers' state as text, one line per chip (the ACPI
 * PM block's SCI, the 8259s, the I/O APIC's pins that are unmasked or
 * driven, each local APIC's IRR/ISR/TMR): where an interrupt waits or is
 * stuck. For the host's `debug-keys i`. Returns the length written. */
size_t pc_describe_interrupts(const struct pc *pc, char *buf, size_t size);
/* Where the interrupt CPU `cpu` should take (when it can) comes from,
 * without taking it: its local APIC's vector (0-255),
 * PC_INTERRUPT_FROM_PIC (the 8259s, through LINT0 in ExtINT mode or an
 * APIC that is off), or PC_INTERRUPT_NONE. Inline for the usual answer,
 * none, with nothing requested at its local APIC (no IRR bit) nor at the
 * master 8259 (no unmasked IRR bit: its INTR is low, the 8259A
 * datasheet's "Interrupt Sequence"). The delivery asks once, then takes
 * what it found (pc_interrupt_take) when the CPU can take it: nothing
 * between changes the answer. */
#define PC_INTERRUPT_NONE (-1)
#define PC_INTERRUPT_FROM_PIC 256
int pc_interrupt_source_slow(const struct pc *pc, unsigned cpu);
static inline int pc_interrupt_source(const struct pc *pc, unsigned cpu)
{
    const struct pic_chip *m = &pc->pic.chip[0];
    if (!pc->lapic[cpu].irr_words && !(m->irr & (u8)~m->imr))
        return PC_INTERRUPT_NONE;
    return pc_interrupt_source_slow(pc, cpu);
}
/* Is there one? The hypervisor's fast way asks after each watched port
 * write (vmm/io.c). */
static inline bool pc_interrupt_pending(const struct pc *pc, unsigned cpu)
{
    return pc_interrupt_source(pc, cpu) != PC_INTERRUPT_NONE;
}
/* The same, for CPU cpu whose local APIC the caller keeps at hand (l:
 * &pc->lapic[cpu]), without working out where it is: asked after every
 * write of the fast way's that may raise a request (vmm/fast_way.h). */
static inline bool pc_interrupt_pending_at(const struct pc *pc, const struct lapic *l, unsigned cpu)
{
    const struct pic_chip *m = &pc->pic.chip[0];
    if (!l->irr_words && !(m->irr & (u8)~m->imr))
        return false;
    return pc_interrupt_source_slow(pc, cpu) != PC_INTERRUPT_NONE;
}
/* Takes the interrupt pc_interrupt_source found (not NONE): its vector,
 * or -1 if the 8259s' request went away (a spurious IRQ 7 is a vector). */
int pc_interrupt_take(struct pc *pc, unsigned cpu, int source);
/* An NMI waits for CPU `cpu` (LAPIC ICR, LINT1 or an IOAPIC entry in NMI mode). */
static inline bool pc_nmi_pending(const struct pc *pc, unsigned cpu) { return lapic_nmi_waiting(&pc->lapic[cpu]); }
/* The CPU's NMIs are blocked (its NMI handler runs): one waits, not two. */
void pc_nmi_blocked(struct pc *pc, unsigned cpu);
/* Takes it (true if there was one). */
bool pc_nmi_ack(struct pc *pc, unsigned cpu);
/* IRQ0's I/O APIC pin: 2 (pin 0 is the 8259's INTR in PC chipsets). */
#define PC_IOAPIC_PIN_IRQ0 2

/* Mutes the timers whose interrupts can reach no one, unmutes the others
 * (pit_mute_irq0), and holds the PIT's owed ticks while the last one
 * raised waits for the guest's acknowledgement (pit_hold_irq0): the core
 * calls it after delivering interrupts on every exit but the quick ones,
 * before delivering them too while a tick is held (pc_irq0_held), and
 * when a vCPU halts. True if it raised IRQ0 (an owed tick, released by
 * an acknowledgement): the delivery that follows takes it. */
bool pc_gate_timers(struct pc *pc);
/* What of pc_gate_timers' inputs a port write to a watched device (bus.h
 * BUS_WRITES_WATCHED, the UART, and BUS_WRITES_REQUESTS, the 8259s and their ELCR) can change:
 * the master 8259's IMR, IRR and ISR bits of IR0, packed. Its other
 * inputs (the PIT's counter 0, the local APICs' LINT0 and enable bit, the
 * I/O APIC's pin 2) move only by device time or by writes that take the
 * whole way, which gates after them. */
static inline u32 pc_irq0_gate_inputs(const struct pc *pc)
{
    return pic_chip_ir0_bits(&pc->pic.chip[0]);
}
/* After a watched write, given pc_irq0_gate_inputs before it: must the
 * gate run again? Only if those inputs moved (its answer is the same for
 * the same inputs), or while IRQ0's I/O APIC pin is live (irq0_eoi_watch:
 * the write's own interrupt could reach a local APIC as IRQ0's vector).
 * The same after device time and a delivery alone (a halted vCPU's
 * wake, vmm/vcpu.c): a PIT tick that came sets IR0's request (or, muted,
 * came not at all), and an INTA of IRQ0 moves its IRR and ISR bits. */
static inline bool pc_gate_inputs_moved(const struct pc *pc, u32 inputs_before)
{
    return pc->irq0_eoi_watch || pc_irq0_gate_inputs(pc) != inputs_before;
}
/* Does the PIT's last tick wait for the guest's acknowledgement? Only
 * then can an exit's EOI release an owed one before the delivery. */
static inline bool pc_irq0_held(const struct pc *pc) { return pc->pit.ch[0].tick.held; }

#endif
