/* AMD nested page tables (APM 2 15.25). */
#ifndef ZAZEN_SVM_NPT_H
#define ZAZEN_SVM_NPT_H

#include "../vmm/nested_pt.h"

extern const struct nested_pt_format npt_format;

#endif
