# Zazen build. `make` builds build/zazen.efi; `make run` boots it under
# QEMU with the default guests; `make test` runs every test and ends with
# "N passed, N failed". Missing Debian packages are installed by
# tools/need.sh, which says what it installs.

BUILD   := build
CC      := gcc
LD      := ld
NASM    := nasm
OBJCOPY := objcopy

# The hypervisor: freestanding C11, no SSE (guest vector state stays live in
# the registers across exits), position independent (UEFI relocates us),
# frame pointers for panic backtraces.
CFLAGS := -std=c11 -O2 -g -Wall -Wextra -Werror -ffreestanding -fno-builtin \
          -fno-stack-protector -fno-stack-check -mno-red-zone -mgeneral-regs-only \
          -fpic -fvisibility=hidden -fno-omit-frame-pointer -fno-strict-aliasing \
          -fcf-protection=none -maccumulate-outgoing-args -falign-jumps=1 -falign-loops=1 -falign-labels=1 -MMD -MP
EFI_CFLAGS := -I/usr/include/efi -I/usr/include/efi/x86_64 -fshort-wchar -DEFI_FUNCTION_WRAPPER
NASMFLAGS := -f elf64 -g

CORE_C := $(wildcard vmm/*.c) $(wildcard vmm/storage/*.c) $(wildcard vmm/xen/*.c) $(wildcard svm/*.c) $(wildcard vmx/*.c) $(wildcard devmodel/*.c) guest-bios/tables.c
CORE_ASM := $(wildcard vmm/*.asm) $(wildcard svm/*.asm) $(wildcard vmx/*.asm) guest-bios/embed.asm
CORE_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(CORE_C)) $(patsubst %.asm,$(BUILD)/%.o,$(CORE_ASM))
UEFI_OBJ := $(BUILD)/boot/uefi.o
MB2_OBJ := $(BUILD)/boot/multiboot2_entry.o $(BUILD)/boot/multiboot2.o

EFI_LIB := /usr/lib
EFI_CRT0 := $(EFI_LIB)/crt0-efi-x86_64.o
EFI_LDS := $(EFI_LIB)/elf_x86_64_efi.lds

GUESTS := $(patsubst tests/guests/%.asm,$(BUILD)/guests/%.bin,$(wildcard tests/guests/*.asm))
# The disk the device guest reads: sector n says "ZAZEN-TEST-SECTOR n".
TESTDISK := $(BUILD)/guests/testdisk.img
# The BIOS-services guest (a disk image) as the boot image of El Torito
# CDs in floppy and hard-disk emulation (tools/mkeltorito.sh, xorriso).
ELTORITO_CDS := $(BUILD)/guests/bioscalls-floppy.iso $(BUILD)/guests/bioscalls-harddisk.iso

comma := ,
.PHONY: all deps run test test-thirdparty thirdparty unit bench bench-pv bench-quick bench-kvm iso linux-disk linux-iso firmware clean
all: $(BUILD)/zazen.efi $(BUILD)/zazen.elf $(GUESTS) $(TESTDISK)

deps:
	@tools/need.sh build

$(BUILD)/.deps-build:
	@tools/need.sh build
	@mkdir -p $(@D) && touch $@

# V=1 shows the whole commands.
Q := $(if $(V),,@)

$(BUILD)/%.o: %.c | $(BUILD)/.deps-build
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/boot/uefi.o: boot/uefi.c | $(BUILD)/.deps-build
	@mkdir -p $(@D)
	@echo "  CC      $< (GNU-EFI)"
	$(Q)$(CC) $(CFLAGS) $(EFI_CFLAGS) -c $< -o $@

$(BUILD)/%.o: %.asm | $(BUILD)/.deps-build
	@mkdir -p $(@D)
	@echo "  NASM    $<"
	$(Q)$(NASM) $(NASMFLAGS) $< -o $@

# GNU-EFI's files come with the packages .deps-build installs: on a fresh
# machine they appear only once it has run (make -j would otherwise stop
# at once on "no rule to make target /usr/lib/libefi.a").
$(EFI_LIB)/libefi.a $(EFI_LIB)/libgnuefi.a $(EFI_CRT0) $(EFI_LDS): | $(BUILD)/.deps-build
	@test -f $@ || { echo "$@ is missing: tools/need.sh build should have installed gnu-efi"; exit 1; }

# GNU-EFI's libefi brings its own memcpy/memset; ours must win, because
# after ExitBootServices nothing of the firmware era may run in the core.
$(BUILD)/efi/libefi.a: $(EFI_LIB)/libefi.a | $(BUILD)/.deps-build
	@mkdir -p $(@D)
	$(OBJCOPY) -W memcpy -W memset $< $@

# GNU-EFI's linker script puts .bss inside .data, so every zeroed byte
# (stacks, rings, the trace, the storage buffers: most of the image) would
# be stored in zazen.efi. Our objects' .bss is renamed .zbss, which the
# script does not name: ld places it as a section of its own after the
# others, and objcopy makes it a PE section with no raw data, which the
# UEFI loader fills with zeros (PE/COFF: "if SizeOfRawData is less than
# VirtualSize, the remainder of the section is zero-filled"). SizeOfImage
# covers it, so LoadedImage->ImageSize still spans the whole core.
$(BUILD)/zazen-efi.o: $(UEFI_OBJ) $(CORE_OBJ)
	$(LD) -r -o $@.tmp $(UEFI_OBJ) $(CORE_OBJ)
	$(OBJCOPY) --rename-section .bss=.zbss $@.tmp $@
	@rm -f $@.tmp

$(BUILD)/zazen.so: $(BUILD)/zazen-efi.o $(BUILD)/efi/libefi.a
	$(LD) -nostdlib -znocombreloc -shared -Bsymbolic -T $(EFI_LDS) $(EFI_CRT0) $(BUILD)/zazen-efi.o \
	      $(BUILD)/efi/libefi.a $(EFI_LIB)/libgnuefi.a -o $@
	@readelf -S $@ | grep -q ' \.zbss ' || { echo "zazen.so: no .zbss section"; exit 1; }

$(BUILD)/zazen.efi: $(BUILD)/zazen.so
	$(OBJCOPY) -j .text -j .sdata -j .data -j .zbss -j .dynamic -j .dynsym -j .rel -j .rela \
	           -j '.rel.*' -j '.rela.*' -j .reloc --target efi-app-x86_64 --subsystem=10 $< $@
	@echo "built $@ ($$(stat -c %s $@) bytes)"

# The guest BIOS: a flat 64 KiB ROM, embedded in the hypervisor.
$(BUILD)/guest-bios/bios.bin: guest-bios/bios.asm | $(BUILD)/.deps-build
	@mkdir -p $(@D)
	@echo "  NASM    $< (guest BIOS ROM)"
	$(Q)$(NASM) -f bin $< -o $@
	@test $$(stat -c %s $@) -eq 65536 || { echo "guest BIOS is not 64 KiB"; exit 1; }

# Carried XZ-compressed (56 of its 64 KiB are padding): vmm/domain.c
# unpacks it with Zazen's own XZ decoder (CRC32 check, which it verifies).
$(BUILD)/guest-bios/bios.bin.xz: $(BUILD)/guest-bios/bios.bin
	$(Q)xz --format=xz --check=crc32 -9e -c $< > $@

$(BUILD)/guest-bios/embed.o: guest-bios/embed.asm $(BUILD)/guest-bios/bios.bin.xz
	@mkdir -p $(@D)
	@echo "  NASM    $<"
	$(Q)$(NASM) $(NASMFLAGS) $< -o $@

# The multiboot2 image for GRUB (and so for Bochs, which has no UEFI).
$(BUILD)/zazen.elf: $(MB2_OBJ) $(CORE_OBJ) boot/multiboot2.ld
	$(LD) -nostdlib -static -z max-page-size=0x1000 --no-warn-rwx-segments -T boot/multiboot2.ld $(MB2_OBJ) $(CORE_OBJ) -o $@
	@echo "built $@ ($$(stat -c %s $@) bytes)"

# A GRUB rescue ISO booting zazen.elf with a config and the files it names:
#   make iso [ISO_CONFIG=tests/configs/default.cfg]
ISO_CONFIG ?= tests/configs/default.cfg
iso: $(BUILD)/zazen.elf $(GUESTS)
	@tools/need.sh grub
	tools/mkiso.sh $(ISO_CONFIG) $(BUILD)/zazen.iso $(GUESTS)

# The stock Debian Linux guest, from Debian packages (downloaded into
# build/linux/debs, never installed): an MBR disk (SYSLINUX, FAT16 boot
# partition, ext2 data partition) and a GRUB CD with the same kernel and
# initramfs, whose /init runs a disk test. Not part of `all`. The kernel is
# linux-image-amd64's dependency when the image is made: `make -B` remakes.
# tools/qemu-linux.sh disk|isa|iso boots them on plain QEMU.
LINUX_TOOLS := tools/mklinuxinitrd.sh tools/linux-init
linux-disk: $(BUILD)/linux/linux.img
linux-iso: $(BUILD)/linux/linux.iso

$(BUILD)/linux/linux.img: tools/mklinuxdisk.sh $(LINUX_TOOLS)
	@tools/need.sh linux
	tools/mklinuxdisk.sh $@

$(BUILD)/linux/linux.iso: tools/mklinuxiso.sh $(LINUX_TOOLS)
	@tools/need.sh linux
	tools/mklinuxiso.sh $@

# The same disk with an interactive shell instead of the test: `make run`.
$(BUILD)/linux/linux-shell.img: tools/mklinuxdisk.sh $(LINUX_TOOLS)
	@tools/need.sh linux
	LINUX_APPEND="zazen.shell=1" tools/mklinuxdisk.sh $@

# The same disk, waiting after its test for the host's management (the
# ACPI power button powers off, Ctrl-Alt-Del reboots): make test.
$(BUILD)/linux/linux-mgmt.img: tools/mklinuxdisk.sh $(LINUX_TOOLS)
	@tools/need.sh linux
	LINUX_APPEND="zazen.wait=1" tools/mklinuxdisk.sh $@

# The same disk, stopping with its partition mounted right after the first
# run's sync, for the power-cut test (make test).
$(BUILD)/linux/linux-cut.img: tools/mklinuxdisk.sh $(LINUX_TOOLS)
	@tools/need.sh linux
	LINUX_APPEND="zazen.cut=mounted" tools/mklinuxdisk.sh $@

# The same disk with SYSLINUX configured as people write syslinux.cfg for a
# serial console (tools/mklinuxdisk.sh SYSLINUX_STYLE): SERIAL and TIMEOUT 0
# (boots at once), PROMPT 1 (waits at boot:), UI menu.c32 (waits in the menu).
$(BUILD)/linux/linux-syslinux-%.img: tools/mklinuxdisk.sh $(LINUX_TOOLS)
	@tools/need.sh linux
	SYSLINUX_STYLE=$* tools/mklinuxdisk.sh $@

# The GRUB CD with a serial terminal and a menu that waits.
$(BUILD)/linux/linux-grub-serial.iso: tools/mklinuxiso.sh $(LINUX_TOOLS)
	@tools/need.sh linux
	GRUB_STYLE=serial tools/mklinuxiso.sh $@

# The Linux disk's MBR and boot partition as the boot image of a
# hard-disk-emulation CD (El Torito 1.0 5.3: an image with one partition;
# sfdisk drops the data partition's entry).
$(BUILD)/linux/linux-harddisk-eltorito.iso: $(BUILD)/linux/linux.img tools/mkeltorito.sh
	@tools/need.sh grub
	head -c $$(((2048 + 65536) * 512)) $< > $@.img
	sfdisk -q --delete $@.img 2
	tools/mkeltorito.sh harddisk $@.img $@
	rm -f $@.img

# SYSLINUX rescue floppies (1.2, 1.44, 2.88 MB) chain-loading the first
# hard disk, on floppy-emulation CDs.
$(BUILD)/guests/syslinux-floppy-%.img: tools/mksyslinuxfloppy.sh
	@tools/need.sh linux
	tools/mksyslinuxfloppy.sh $* $@

$(BUILD)/guests/syslinux-floppy-1200.iso: $(BUILD)/guests/syslinux-floppy-1200.img tools/mkeltorito.sh
	@tools/need.sh grub
	tools/mkeltorito.sh floppy1200 $< $@
$(BUILD)/guests/syslinux-floppy-1440.iso: $(BUILD)/guests/syslinux-floppy-1440.img tools/mkeltorito.sh
	@tools/need.sh grub
	tools/mkeltorito.sh floppy $< $@
$(BUILD)/guests/syslinux-floppy-2880.iso: $(BUILD)/guests/syslinux-floppy-2880.img tools/mkeltorito.sh
	@tools/need.sh grub
	tools/mkeltorito.sh floppy2880 $< $@

# What the boot-loader scenarios boot (tests/scenarios.py).
LOADER_IMAGES := $(BUILD)/linux/linux-syslinux-serial.img $(BUILD)/linux/linux-syslinux-prompt.img \
                 $(BUILD)/linux/linux-syslinux-menu.img $(BUILD)/linux/linux-grub-serial.iso \
                 $(patsubst %,$(BUILD)/guests/syslinux-floppy-%.iso,1200 1440 2880)
THIRDPARTY_IMAGES := $(LOADER_IMAGES) $(BUILD)/linux/linux-harddisk-eltorito.iso

# The same disk, powering off as soon as userspace starts: make bench.
$(BUILD)/linux/linux-boot.img: tools/mklinuxdisk.sh $(LINUX_TOOLS)
	@tools/need.sh linux
	LINUX_APPEND="zazen.stop=userspace" tools/mklinuxdisk.sh $@

# Third-party software from Debian packages (tools/mkthirdparty.sh, into
# build/thirdparty, never installed): the quick kernels make test boots
# directly (Xen, ipxe.lkrn, memtest86+), then the CDs and disks of
# make test-thirdparty (the Debian installer, memtest86+ from SYSLINUX and
# GRUB, iPXE's CD, SYSLINUX's menu.c32 and HDT).
THIRDPARTY_QUICK := $(BUILD)/thirdparty/xen-4.17-amd64 $(BUILD)/thirdparty/ipxe.lkrn $(BUILD)/thirdparty/memtest86+x64.bin
$(THIRDPARTY_QUICK) &: tools/mkthirdparty.sh
	@tools/need.sh thirdparty
	tools/mkthirdparty.sh quick

$(BUILD)/thirdparty/.all: tools/mkthirdparty.sh
	@tools/need.sh thirdparty
	tools/mkthirdparty.sh all
	@touch $@

thirdparty: $(BUILD)/thirdparty/.all

# Third-party PC firmware for `firmware =` tests, from Debian packages
# (downloaded into build/firmware/debs, never installed): SeaBIOS
# (bios-256k.bin, bios.bin) and U-Boot for QEMU x86 (u-boot.rom).
FIRMWARE := $(BUILD)/firmware/bios-256k.bin $(BUILD)/firmware/bios.bin $(BUILD)/firmware/u-boot.rom
firmware: $(FIRMWARE)

$(FIRMWARE) &: tools/mkfirmware.sh
	@tools/need.sh linux
	tools/mkfirmware.sh $(BUILD)/firmware

$(BUILD)/guests/bioscalls-floppy.iso: $(BUILD)/guests/bioscalls.bin tools/mkeltorito.sh
	@tools/need.sh grub
	@echo "  CD      $@ (floppy emulation)"
	$(Q)tools/mkeltorito.sh floppy $< $@

$(BUILD)/guests/bioscalls-harddisk.iso: $(BUILD)/guests/bioscalls.bin tools/mkeltorito.sh
	@tools/need.sh grub
	@echo "  CD      $@ (hard-disk emulation)"
	$(Q)tools/mkeltorito.sh harddisk $< $@

$(TESTDISK): tests/guests/mkdisk.py
	@mkdir -p $(@D)
	@echo "  MKDISK  $@"
	$(Q)python3 tests/guests/mkdisk.py $@ 4096

# Test guests: flat ROM images that start at the reset vector. nasm
# writes what each includes (a variant includes its base guest) to .d.
$(BUILD)/guests/%.bin: tests/guests/%.asm $(wildcard tests/guests/*.inc) | $(BUILD)/.deps-build
	@mkdir -p $(@D)
	@echo "  NASM    $< (guest ROM)"
	$(Q)$(NASM) -f bin -I tests/guests/ -M -MT $@ -MF $@.d -MP $<
	$(Q)$(NASM) -f bin -I tests/guests/ $< -o $@

# The bench guest: a boot sector and its payload, padded to two whole
# cylinders (16 heads, 63 sectors) so Bochs's BIOS boots it as it is.
$(BUILD)/bench/bench.img: tests/bench/bench-guest.asm | $(BUILD)/.deps-build
	@mkdir -p $(@D)
	@echo "  NASM    $< (bench disk)"
	$(Q)$(NASM) -f bin $< -o $@.tmp && truncate -s 1032192 $@.tmp && mv $@.tmp $@

# The KVM-API runner for the bench's KVM column: a static Linux program
# (it runs in the KVM host's initramfs, tools/bench/mkkvmiso.sh), built
# with the host's compiler.
$(BUILD)/bench/kvm-bench: tools/bench/kvm-bench.c | $(BUILD)/.deps-build
	@mkdir -p $(@D)
	@echo "  CC      $< (static, host)"
	$(Q)gcc -std=gnu11 -O2 -Wall -Wextra -Werror -static -o $@ $<

# ---- running ----

run: all $(BUILD)/linux/linux-shell.img
	@tools/need.sh qemu
	python3 tests/harness/qemu_run.py --config tests/configs/default.cfg

# ---- tests ----

test: all $(ELTORITO_CDS) $(LOADER_IMAGES) $(BUILD)/linux/linux.img $(BUILD)/linux/linux.iso \
      $(BUILD)/linux/linux-shell.img $(BUILD)/linux/linux-mgmt.img $(BUILD)/linux/linux-cut.img \
      $(THIRDPARTY_QUICK) $(FIRMWARE)
	@tools/need.sh qemu
	@tools/need.sh grub
	@tools/need.sh bochs
	@tools/need.sh fuzz
	@tools/need.sh bench
	python3 tests/run.py

# The slow third-party scenarios (tests/scenarios.py THIRDPARTY): the
# Debian installer, memtest86+'s first pass, iPXE's CD, menu.c32 and HDT,
# the 32-bit kernel, direct Linux boot on Bochs VT-x, SeaBIOS to Linux and U-Boot on Bochs VT-x. About 40 minutes
# on a busy two-core machine.
test-thirdparty: all $(ELTORITO_CDS) $(THIRDPARTY_IMAGES) $(BUILD)/linux/linux.img $(THIRDPARTY_QUICK) $(BUILD)/thirdparty/.all $(BUILD)/linux/linux.iso $(FIRMWARE)
	@tools/need.sh qemu
	@tools/need.sh grub
	@tools/need.sh bochs
	python3 tests/run.py --thirdparty

# ---- bench ----

# Exit-path lengths (Bochs, VT-x and AMD-V), a Linux boot's exits and
# instructions (Bochs) and wall time (QEMU), footprint: a markdown table,
# CSV and a PNG chart in build/bench/ (tests/bench/bench.py). bench-quick:
# exit paths and footprint only.
bench: all $(BUILD)/bench/bench.img $(BUILD)/bench/kvm-bench $(BUILD)/linux/linux-boot.img $(BUILD)/linux/linux.img
	@tools/need.sh qemu
	@tools/need.sh grub
	@tools/need.sh bochs
	@tools/need.sh bench
	python3 tests/bench/bench.py

# Zazen's exit paths beside KVM's (Debian's kernel as the host under
# Bochs, default mitigations and mitigations=off): what `make bench` also
# prints, alone. KVM_BACKENDS=VT-x for one vendor.
bench-kvm: all $(BUILD)/bench/bench.img $(BUILD)/bench/kvm-bench $(BUILD)/linux/linux-boot.img
	@tools/need.sh grub
	@tools/need.sh bochs
	@tools/need.sh bench
	python3 tests/bench/bench.py --kvm --kvm-backends $(or $(KVM_BACKENDS),VT-x$(comma)AMD-V)

# Only full against paravirtual (issue 16; docs/paravirt.md): the same
# kernel and initramfs as hvm and pvh, on QEMU and Bochs.
bench-pv: all $(BUILD)/linux/linux-boot.img $(BUILD)/linux/linux.img
	@tools/need.sh qemu
	@tools/need.sh bochs
	python3 tests/bench/bench.py --pv all

bench-quick: all $(BUILD)/bench/bench.img
	@tools/need.sh grub
	@tools/need.sh bochs
	@tools/need.sh bench
	python3 tests/bench/bench.py --quick

unit: | $(BUILD)/.deps-build
	python3 tests/run.py --only unit

# ---- fuzzing ----

# libFuzzer targets for the pure parts (tests/fuzz/fuzz_NAME.c: the
# instruction emulator, each device's registers, the config parser), built
# with clang under ASan and UBSan as build/fuzz/NAME from the sources each
# one's "fuzz-sources:" line names.
#   make fuzz [FUZZ_SECONDS=60]    runs every target for FUZZ_SECONDS each
#   make fuzz-NAME                 runs one (make -j2 fuzz: two at a time)
#   FUZZ_FLAGS=...                 more libFuzzer options (-jobs=4, -runs=N)
# Each target grows its corpus in build/fuzz/corpus/NAME (kept between
# runs, shared with make test's short runs) and leaves a crashing input in
# build/fuzz/artifacts/NAME/; `build/fuzz/NAME FILE` replays it.
FUZZ_CC := clang
FUZZ_CFLAGS := -std=c11 -DZAZEN_HOST -g -O1 -fsanitize=fuzzer,address,undefined \
               -fno-sanitize-recover=undefined -Wall -Wextra -I.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_HEADERS := $(wildcard tests/fuzz/*.h) tests/unit/dm_fake.h $(wildcard vmm/*.h) $(wildcard devmodel/*.h)
fuzz_sources = $(shell sed -n 's|.*fuzz-sources:\(.*\)\*/.*|\1|p' tests/fuzz/fuzz_$(1).c)

.PHONY: fuzz fuzz-build fuzz-deps $(addprefix fuzz-,$(FUZZ_TARGETS))
fuzz: $(addprefix fuzz-,$(FUZZ_TARGETS))
fuzz-build: $(addprefix $(BUILD)/fuzz/,$(FUZZ_TARGETS))
fuzz-deps: $(BUILD)/.deps-fuzz

$(BUILD)/.deps-fuzz:
	@tools/need.sh fuzz
	@mkdir -p $(@D) && touch $@

define FUZZ_TARGET
FUZZ_SRC_$(1) := $(call fuzz_sources,$(1))
$(BUILD)/fuzz/$(1): tests/fuzz/fuzz_$(1).c $$(FUZZ_SRC_$(1)) $(FUZZ_HEADERS) | $(BUILD)/.deps-fuzz
	@mkdir -p $$(@D)
	@echo "  FUZZCC  $$@"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $$< $$(FUZZ_SRC_$(1)) -o $$@

fuzz-$(1): $(BUILD)/fuzz/$(1)
	@mkdir -p $(BUILD)/fuzz/corpus/$(1) $(BUILD)/fuzz/artifacts/$(1)
	UBSAN_OPTIONS=$$$${UBSAN_OPTIONS:-print_stacktrace=1} $(BUILD)/fuzz/$(1) -max_total_time=$$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix=$(BUILD)/fuzz/artifacts/$(1)/ $(if $(wildcard tests/fuzz/$(1).dict),-dict=tests/fuzz/$(1).dict) \
	    $$(FUZZ_FLAGS) $(BUILD)/fuzz/corpus/$(1)
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call FUZZ_TARGET,$(t))))

clean:
	rm -rf $(BUILD)

-include $(patsubst %.o,%.d,$(CORE_OBJ) $(UEFI_OBJ) $(MB2_OBJ)) $(addsuffix .d,$(GUESTS))
