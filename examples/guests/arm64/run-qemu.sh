#!/bin/bash
# run-qemu.sh <name> [extra qemu args...] -- boot bin/<name>.elf under QEMU TCG
# (virt board with a GICv3, as chimera's virt) and print the guest's serial
# output on stdout (CRs removed), then "status=<n>" (QEMU's exit status;
# 0 after PSCI SYSTEM_OFF, 124 on timeout) on stderr.
cd "$(dirname "$0")"
name=$1; shift
tmp=$(mktemp)
timeout 20 qemu-system-aarch64 -accel tcg -M virt,gic-version=3 -cpu max -m 128 \
    -nographic -no-reboot "$@" -kernel bin/$name.elf </dev/null >"$tmp"
rc=$?
tr -d '\r' <"$tmp"
rm -f "$tmp"
echo "status=$rc" >&2
exit 0
