/* See svm_check.h. The rules, in the order of APM 2 15.5.1 ("VMRUN:
 * illegal guest state"), first failure first. */
#include "svm_check.h"
#include "../vmm/format.h"
#include "../vmm/x86.h"

/* EFER bits that may be set: SCE, LME, LMA, NXE, SVME, LMSLE, FFXSR, TCE
 * (APM 2 3.1.7); the rest must be zero. */
#define EFER_DEFINED (EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE | EFER_SVME | BIT(13) | BIT(14) | BIT(15))

static const char *rule(const struct vmcb *v)
{
    const struct vmcb_save *g = &v->save;
    const struct vmcb_control *c = &v->control;
    static char buf[96];
    if (!(g->efer & EFER_SVME))
        return "guest EFER.SVME is clear";
    if (!(g->cr0 & CR0_CD) && (g->cr0 & CR0_NW))
        return "guest CR0.NW set with CR0.CD clear";
    if (g->cr0 >> 32)
        return "guest CR0 bits 63:32 set";
    if (g->cr3 >> 52)
        return "guest CR3 sets bits above the physical-address width";
    if (g->cr4 >> 32)
        return "guest CR4 bits 63:32 set";
    if (g->dr6 >> 32 || g->dr7 >> 32)
        return "guest DR6/DR7 bits 63:32 set";
    if (g->efer & ~EFER_DEFINED) {
        snprintf(buf, sizeof(buf), "guest EFER %llx sets must-be-zero bits", (unsigned long long)g->efer);
        return buf;
    }
    bool long_paging = (g->efer & EFER_LME) && (g->cr0 & CR0_PG);
    if (long_paging && !(g->cr4 & CR4_PAE))
        return "guest EFER.LME and CR0.PG without CR4.PAE";
    if (long_paging && !(g->cr0 & CR0_PE))
        return "guest EFER.LME and CR0.PG without CR0.PE";
    if (long_paging && (g->cr4 & CR4_PAE) && (g->cs.attrib & BIT(9)) && (g->cs.attrib & BIT(10)))
        return "guest CS has both L and D set in long mode";
    if (!(c->intercept_misc2 & BIT(0)))
        return "the VMRUN intercept is clear";
    if (c->guest_asid == 0)
        return "guest ASID is 0 (the host's)";
    if (c->eventinj & BIT(31)) {
        unsigned type = (c->eventinj >> 8) & 7;
        if (type == 1 || type > 4)
            return "EVENTINJ has a reserved event type";
        if (type == 3 && (c->eventinj & 0xff) == 2)
            return "EVENTINJ injects vector 2 as an exception (NMI must use type 2)";
    }
    return NULL;
}

void svm_check_vmcb(const struct vmcb *vmcb, char *out, size_t size)
{
    const char *r = rule(vmcb);
    snprintf(out, size, "%s", r ? r : "Zazen's checks find no bad field");
}
