; spin.asm with 3000 windows (about 15 min): a CPU-bound neighbour that
; outlasts a Linux boot and its disk test under TCG on one CPU; the
; storage-io-beside-spinner scenario ends the run once Linux is done.
%define WINDOWS 3000
%include "spin.asm"
