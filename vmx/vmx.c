/* The Intel VT-x backend. Filled by the VT-x issue; until then choosing it
 * reports that it is missing instead of failing silently. */
#include "../vmm/arch.h"
#include "../vmm/format.h"

static bool vmx_cpu_enable(char *why, size_t why_size)
{
    snprintf(why, why_size, "the VT-x backend is not built yet");
    return false;
}

const struct arch_ops vmx_ops = {
    .name = "VT-x",
    .cpu_enable = vmx_cpu_enable,
};
