/* Exceptions Zazen intercepts only to hand them back: #DB and #AC. */
#ifndef ZAZEN_REFLECT_H
#define ZAZEN_REFLECT_H

#include "vcpu.h"

/* Delivers the intercepted #DB or #AC to the guest as the CPU would have
 * (the backend has already put a #DB's DR6 bits in place), unless it is
 * the latest of an endless chain: then the domain ends. */
void reflect_exception(struct vcpu *v, struct vm_exit *e);

/* How many deliveries in a row that let the guest run no instruction end
 * the domain. A real CPU would keep at it forever; no guest that can make
 * progress produces more than one or two. */
#define REFLECT_CHAIN_LIMIT 1000

#endif
