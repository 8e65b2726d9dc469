/* See vcpu.h. */
#include "arch.h"
#include "guest_state.h"
#include "string.h"

void vcpu_reset(struct vcpu *v)
{
    arch->vcpu_reset(v);
    guest_state_vcpu_reset(v);
    memset(&v->reflect_chain, 0, sizeof(v->reflect_chain));
    v->cr8 = v->cr8_loaded = v->tpr_threshold_loaded = 0; /* as the backend's reset loads them */
}
