#!/bin/bash
# run-qemu.sh <name> [extra qemu args...] -- boot bin/<name>.elf under QEMU TCG
# and print the guest's serial output on stdout (the SeaBIOS/iPXE "sercon"
# preamble up to "Booting from ROM.." and CRs removed), then "status=<n>"
# (QEMU's exit status) on stderr.
name=$1; shift
tmp=$(mktemp)
timeout 20 qemu-system-x86_64 -accel tcg -M pc -cpu max -m 128 -nographic -no-reboot \
    -device isa-debug-exit,iobase=0xf4,iosize=4 "$@" -kernel bin/$name.elf </dev/null >"$tmp"
rc=$?
perl -0pe 's/\A.*?Booting from ROM\.+//s; s/\r//g; s/\A\n+//s' "$tmp"
rm -f "$tmp"
echo "status=$rc" >&2
exit 0
