; bigdisk.asm, then writes of 64 KiB until one fails: the ,volatile big
; disk's overlay in RAM used up (storage-bigdisk-volatile).
%define FILL
%include "bigdisk.asm"
