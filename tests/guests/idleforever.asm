; idle.asm without an end: an idle domain (HLT between 18.2 Hz ticks)
; that runs until it is destroyed (management tests).
%define TICKS 0xffffffff
%include "idle.asm"
