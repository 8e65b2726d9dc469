; markers.asm with the other domain's markers.
%define MARK 0x5a5a0000
%include "markers.asm"
