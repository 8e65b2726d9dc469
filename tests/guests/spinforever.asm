; spin.asm without an end: a CPU-bound domain that runs until it is
; destroyed (management tests).
%define WINDOWS 0xffffffff
%include "spin.asm"
