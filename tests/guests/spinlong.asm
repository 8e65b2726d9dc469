; spin.asm with 60 windows (about 18 s): a CPU-bound neighbour that
; outlasts a Linux boot.
%define WINDOWS 60
%include "spin.asm"
