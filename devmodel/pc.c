/* See pc.h. Interrupt routing follows the PC/AT and the MultiProcessor
 * Specification 1.4 (virtual wire mode, 3.6.2.2; ISA IRQ0 on I/O APIC pin
 * 2, the override the ACPI MADT will describe); CMOS contents follow the
 * IBM PC/AT Technical Reference and common BIOS practice. */
#include "pc.h"
#include "../vmm/format.h"
#include "../vmm/string.h"

/* ---- interrupt lines ---- */

/* An ISA IRQ goes to its 8259 input and to the matching I/O APIC pin;
 * IRQ0 is wired to pin 2, the I/O APIC's pin 0 being the 8259's INTR
 * in PC chipsets. */
static unsigned ioapic_pin_of(unsigned gsi) { return gsi == 0 ? PC_IOAPIC_PIN_IRQ0 : gsi; }

static void pc_set_irq(void *ctx, unsigned gsi, bool level)
{
    struct pc *pc = ctx;
    if (gsi < 16)
        pic_set_irq(&pc->pic, gsi, level);
    if (pc->kind == PC_PCI && gsi < 24 && gsi != 2)
        ioapic_set_irq(&pc->ioapic, ioapic_pin_of(gsi), level);
}

static void ioapic_to_lapic(void *ctx, const struct apic_message *m)
{
    struct pc *pc = ctx;
    lapic_deliver(&pc->lapic, m);
}

static void lapic_eoi_to_ioapic(void *ctx, u8 vector)
{
    struct pc *pc = ctx;
    if (pc->kind == PC_PCI)
        ioapic_eoi(&pc->ioapic, vector);
}

bool pc_interrupt_pending(const struct pc *pc)
{
    if (lapic_pending(&pc->lapic) >= 0)
        return true;
    return lapic_passes_extint(&pc->lapic) && pic_intr(&pc->pic);
}

bool pc_nmi_ack(struct pc *pc) { return lapic_take_nmi(&pc->lapic); }

int pc_interrupt_ack(struct pc *pc)
{
    int vector = lapic_pending(&pc->lapic);
    if (vector >= 0) {
        lapic_ack(&pc->lapic, (u8)vector);
        return vector;
    }
    if (lapic_passes_extint(&pc->lapic) && pic_intr(&pc->pic))
        return pic_inta(&pc->pic);
    return -1;
}

/* ---- CMOS ---- */

static void set_cmos_word(struct rtc *r, u8 index, u64 value)
{
    if (value > 0xffff)
        value = 0xffff;
    rtc_nvram_write(r, index, (u8)value);
    rtc_nvram_write(r, (u8)(index + 1), (u8)(value >> 8));
}

/* Memory sizes where BIOSes and OSes look for them: base memory in KiB
 * (15h), extended memory above 1 MiB in KiB (17h, and 30h as POST found
 * it; at most FFFFh), memory above 16 MiB in 64 KiB units (34h, where
 * SeaBIOS takes its RAM size from when fw_cfg has no etc/e820), above
 * 4 GiB in 64 KiB units (5Bh-5Dh), and the CPU count less one (5Fh, as
 * SeaBIOS and QEMU have it). */
static void fill_cmos(struct pc *pc, u64 ram)
{
    struct rtc *r = &pc->rtc;
    set_cmos_word(r, 0x15, 640);
    u64 above_1m = ram > (1u << 20) ? (ram - (1u << 20)) >> 10 : 0;
    set_cmos_word(r, 0x17, above_1m);
    set_cmos_word(r, 0x30, above_1m);
    set_cmos_word(r, 0x34, ram > (16u << 20) ? (ram - (16u << 20)) >> 16 : 0);
    rtc_nvram_write(r, 0x5b, 0);
    rtc_nvram_write(r, 0x5c, 0);
    rtc_nvram_write(r, 0x5d, 0);
    rtc_nvram_write(r, 0x5f, 0); /* one vCPU per domain */
    rtc_nvram_write(r, 0x10, 0x00); /* no floppy drives */
    rtc_nvram_write(r, 0x14, 0x02); /* equipment: FPU present, EGA/VGA, no floppy */
}

/* ---- building ---- */

static bool fail(char *why, size_t size, const char *chip)
{
    snprintf(why, size, "cannot set up the %s", chip);
    return false;
}

bool pc_init(struct pc *pc, const struct dm_memory *mem, const struct pc_config *cfg, char *why, size_t why_size)
{
    memset(pc, 0, sizeof(*pc));
    pc->kind = cfg->kind;
    clock_init(&pc->clock);
    bus_init(&pc->bus);
    pc->irq = (struct dm_irq){pc_set_irq, pc};
    pc->mem = *mem;
    pc->env = (struct dm_env){&pc->bus, &pc->clock, &pc->irq, &pc->mem};
    struct dm_env *env = &pc->env;

    if (!pic_init(&pc->pic, env))
        return fail(why, why_size, "8259 PICs");
    if (!pit_init(&pc->pit, env))
        return fail(why, why_size, "8254 PIT");
    if (!uart_init(&pc->com1, env, 0x3f8, 4, cfg->com1_tx, cfg->ctx) || !uart_init(&pc->com2, env, 0x2f8, 3, NULL, NULL))
        return fail(why, why_size, "16550 UARTs");
    if (!rtc_init(&pc->rtc, env, &cfg->time))
        return fail(why, why_size, "RTC");
    fill_cmos(pc, cfg->ram_size);
    if (!kbc_init(&pc->kbc, env, cfg->reset, cfg->ctx))
        return fail(why, why_size, "8042 keyboard controller");
    if (!acpi_pm_init(&pc->pm, env, PC_ACPI_PM_BASE, PC_SCI_GSI, cfg->poweroff, cfg->reset, cfg->ctx))
        return fail(why, why_size, "ACPI PM block");
    if (!sysctl_init(&pc->sysctl, env, cfg->reset, cfg->post, cfg->ctx))
        return fail(why, why_size, "ports 92h and 80h");
    if (!lapic_init(&pc->lapic, env, 0, true, lapic_eoi_to_ioapic, pc))
        return fail(why, why_size, "local APIC");
    if (!fw_cfg_init(&pc->fw_cfg, env))
        return fail(why, why_size, "fw_cfg device");
    struct ide_disk *disks[4];
    memcpy(disks, cfg->disks, sizeof(disks));
    if (!ide_init(&pc->ide, env, disks))
        return fail(why, why_size, "IDE controller");
    if (cfg->kind == PC_PCI) {
        if (!ioapic_init(&pc->ioapic, env, PC_IOAPIC_BASE, ioapic_to_lapic, pc))
            return fail(why, why_size, "I/O APIC");
        if (!pci_init(&pc->pci, env) || !piix_init(&pc->piix, env, &pc->pci, &pc->ide, cfg->pam_changed, cfg->ctx))
            return fail(why, why_size, "PCI chipset");
    }
    if (cfg->kind == PC_PVH) { /* the bus again, with the chips a PVH domain reaches */
        bus_init(&pc->bus);
        if (!lapic_init(&pc->lapic, env, 0, true, lapic_eoi_to_ioapic, pc) || !pit_init(&pc->pit, env) ||
            !acpi_pm_init(&pc->pm, env, PC_ACPI_PM_BASE, PC_SCI_GSI, cfg->poweroff, cfg->reset, cfg->ctx))
            return fail(why, why_size, "PVH container");
    }
    return true;
}

void pc_reset(struct pc *pc)
{
    pic_reset(&pc->pic);
    pit_reset(&pc->pit);
    uart_reset(&pc->com1);
    uart_reset(&pc->com2);
    rtc_reset(&pc->rtc);
    kbc_reset(&pc->kbc);
    acpi_pm_reset(&pc->pm);
    sysctl_reset(&pc->sysctl);
    lapic_reset(&pc->lapic);
    fw_cfg_reset(&pc->fw_cfg);
    if (pc->kind == PC_PCI) {
        ioapic_reset(&pc->ioapic);
        pci_reset(&pc->pci);
        piix_reset(&pc->piix); /* resets the IDE too, and releases the bus-master ports */
    } else {
        ide_reset(&pc->ide);
    }
}
