; debug.asm ending with a data breakpoint on the #DB handler's IST frame.
%define STORM_DATA
%include "debug.asm"
