/* A domain's PC (devmodel/pc.c) as the hypervisor runs it: guest RAM for
 * DMA, console output, resets and power-off, the virtual clock, and the
 * interrupt each entry delivers. */
#ifndef ZAZEN_PLATFORM_H
#define ZAZEN_PLATFORM_H

#include "vcpu.h"

struct domain;
struct bootinfo;

bool platform_create(struct domain *d, const struct bootinfo *bi, char *why, size_t why_size);
/* Brings the domain's clock up to v's TSC, firing due device timers, and
 * hands typed input to its COM1 and keyboard. */
void platform_update_time(struct vcpu *v);
/* (The same for a quick exit, platform_update_time_quick, is inline:
 * vmm/platform_time.h.) */
/* Hands typed input waiting for the domain to its console (COM1, the
 * keyboard, or the PVH console ring) as far as it has room; with the
 * domain's devices locked. Part of every whole time update; alone, when
 * a vCPU is told input came (domain_console_input's sched_notify). */
void platform_take_console_input(struct domain *d);
/* The host TSC at which the domain's next device timer falls due; ~0: none. */
u64 platform_next_device_tsc(const struct vcpu *v);
/* Before an entry: inject the pending interrupt if the guest can take it,
 * or ask for an exit when it can. */
void platform_deliver_interrupts(struct vcpu *v);
/* Shows what the guest's COM1 and debug console hold of an unfinished
 * line (it went quiet, halts, or its domain ends). */
void platform_flush_output(struct domain *d);
/* Ends them as they are (the domain ended). */
void platform_finish_output(struct domain *d);
/* A reset the guest asked for (port 64h, 92h, CF9h) is carried out here,
 * between exits: vCPU and devices back to power-on, RAM kept. */
void platform_handle_reset(struct domain *d);
/* A byte of the domain's console output (COM1 for hvm, the PV console
 * for pvh): both make the same "(name) text" lines. */
void platform_console_byte(struct domain *d, u8 byte);
/* The built-in BIOS's tables (E820, ACPI, SMBIOS) in the domain's RAM. */
void platform_write_bios_tables(struct domain *d);
/* The same without a word: devices and vCPUs to their power-on state. */
void platform_reset(struct domain *d);

#endif
