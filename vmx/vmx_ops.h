/* VMX instructions as C functions (SDM 3C ch. 31, "VMX instruction
 * reference"). Each reports failure (VMfailInvalid: CF=1; VMfailValid:
 * ZF=1) as false. */
#ifndef ZAZEN_VMX_VMX_OPS_H
#define ZAZEN_VMX_VMX_OPS_H

#include "../vmm/types.h"

static inline bool vmxon(u64 pa)
{
    bool ok;
    __asm__ volatile("vmxon %1; setnbe %0" : "=qm"(ok) : "m"(pa) : "cc", "memory");
    return ok;
}

static inline bool vmclear(u64 pa)
{
    bool ok;
    __asm__ volatile("vmclear %1; setnbe %0" : "=qm"(ok) : "m"(pa) : "cc", "memory");
    return ok;
}

static inline bool vmptrld(u64 pa)
{
    bool ok;
    __asm__ volatile("vmptrld %1; setnbe %0" : "=qm"(ok) : "m"(pa) : "cc", "memory");
    return ok;
}

static inline u64 vmread(u64 field)
{
    u64 value = 0;
    __asm__ volatile("vmread %1, %0" : "=r"(value) : "r"(field) : "cc");
    return value;
}

/* VMsucceed clears CF and ZF (SDM 3C 31.2 "Conventions"): the "above"
 * condition, given to the compiler as a flag output, so a caller that
 * ignores it pays no SETcc and one that tests it branches on the flags. */
static inline bool vmwrite(u64 field, u64 value)
{
    bool ok;
    __asm__ volatile("vmwrite %2, %1" : "=@cca"(ok) : "r"(field), "r"(value));
    return ok;
}

struct invept_descriptor {
    u64 eptp, reserved;
};
struct invvpid_descriptor {
    u64 vpid, linear_address;
};

#define INVEPT_SINGLE_CONTEXT 1
#define INVEPT_ALL_CONTEXT 2
#define INVVPID_SINGLE_CONTEXT 1
#define INVVPID_ALL_CONTEXT 2

static inline void invept(u64 type, u64 eptp)
{
    struct invept_descriptor d = {eptp, 0};
    __asm__ volatile("invept %0, %1" ::"m"(d), "r"(type) : "cc", "memory");
}

static inline void invvpid(u64 type, u16 vpid)
{
    struct invvpid_descriptor d = {vpid, 0};
    __asm__ volatile("invvpid %0, %1" ::"m"(d), "r"(type) : "cc", "memory");
}

#endif
