/* Detection of AMD-V (APM 2 15.4: CPUID Fn8000_0001 ECX[SVM], and
 * VM_CR.SVMDIS, bit 4 of MSR C001_0114h) and of VT-x (SDM 3C 23.6 and
 * 23.7: CPUID.1:ECX.VMX[bit 5], IA32_FEATURE_CONTROL lock and VMXON-outside-
 * SMX bits). */
#include "virt_detect.h"
#include "arch.h"
#include "format.h"
#include "x86.h"

#define CPUID_1_ECX_VMX BIT(5)
#define CPUID_80000001_ECX_SVM BIT(2)
#define VM_CR_SVMDIS BIT(4)
#define FEATURE_CONTROL_LOCK BIT(0)
#define FEATURE_CONTROL_VMXON_OUTSIDE_SMX BIT(2)

const char *virt_kind_name(enum virt_kind k)
{
    return k == VIRT_SVM ? "AMD-V (SVM)" : k == VIRT_VMX ? "Intel VT-x (VMX)" : "none";
}

static bool has_svm(void)
{
    return cpuid(0x80000000, 0).eax >= 0x80000001 && (cpuid(0x80000001, 0).ecx & CPUID_80000001_ECX_SVM);
}

enum virt_kind virt_detect(char *why, size_t why_size, bool (*read_msr)(u32 msr, u64 *value))
{
    bool svm = has_svm();
    bool vmx = (cpuid(1, 0).ecx & CPUID_1_ECX_VMX) != 0;
    u64 v;
    if (svm) {
        if (read_msr(MSR_VM_CR, &v) && (v & VM_CR_SVMDIS)) {
            snprintf(why, why_size, "AMD-V is disabled by the firmware (VM_CR.SVMDIS is set): enable SVM in the firmware setup");
            return VIRT_NONE;
        }
        return svm_ops.check_features(why, why_size) ? VIRT_SVM : VIRT_NONE;
    }
    if (vmx) {
        /* The firmware may have locked IA32_FEATURE_CONTROL: read it, never assume. */
        if (!read_msr(MSR_IA32_FEATURE_CONTROL, &v))
            v = 0;
        if ((v & FEATURE_CONTROL_LOCK) && !(v & FEATURE_CONTROL_VMXON_OUTSIDE_SMX)) {
            snprintf(why, why_size, "VT-x is disabled by the firmware (IA32_FEATURE_CONTROL is locked without VMXON): enable it in the firmware setup");
            return VIRT_NONE;
        }
        return vmx_ops.check_features(why, why_size) ? VIRT_VMX : VIRT_NONE;
    }
    snprintf(why, why_size, "this CPU has neither AMD-V (CPUID 8000_0001h ECX.SVM) nor Intel VT-x (CPUID 1 ECX.VMX)");
    return VIRT_NONE;
}
