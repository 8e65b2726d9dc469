/* Exit handlers, one per vendor-neutral exit reason (or family), each in
 * the file of its subject. vmm/exit.c wires them into the dispatch table. */
#ifndef ZAZEN_HANDLERS_H
#define ZAZEN_HANDLERS_H

#include "vcpu.h"

typedef void (*exit_handler)(struct vcpu *v, struct vm_exit *e);

void handle_io(struct vcpu *v, struct vm_exit *e);          /* vmm/io.c */
void handle_cpuid(struct vcpu *v, struct vm_exit *e);       /* vmm/cpuid.c */
void handle_msr_read(struct vcpu *v, struct vm_exit *e);    /* vmm/msr.c */
void handle_msr_write(struct vcpu *v, struct vm_exit *e);   /* vmm/msr.c */
void msr_load_guest_state(struct vcpu *v);                  /* vmm/msr.c: MSRs the guest uses without exits */
void handle_nested_fault(struct vcpu *v, struct vm_exit *e);/* vmm/mmio.c */

/* Exit dispatch, the one entry point of the run loop (vmm/exit.c). */
void exit_dispatch(struct vcpu *v, struct vm_exit *e);

/* Queues a hardware exception for the guest (#UD, #GP(0), ...). */
void vcpu_inject_exception(struct vcpu *v, u8 vector, bool has_error, u32 error);
/* Queues a #PF with the address for CR2. */
void vcpu_inject_page_fault(struct vcpu *v, u32 error, u64 address);

#define VECTOR_DE 0
#define VECTOR_UD 6
#define VECTOR_GP 13
#define VECTOR_PF 14

#endif
