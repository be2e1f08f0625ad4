#!/usr/bin/env python3
"""set-iters.py IN.elf N OUT.elf -- copy a wl_* guest image with the quadword
at ELF symbol `iters` set to N (the workload's iteration count; see the header
of wl_loop.S).  Pure Python, ELF64 little-endian only."""
import struct
import sys


def symbol_file_offset(data, name):
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3a)
    secs = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    for sh in secs:
        if sh[1] != 2:                      # SHT_SYMTAB
            continue
        strtab = secs[sh[6]]
        for off in range(sh[4], sh[4] + sh[5], sh[9]):
            st_name, _info, _other, st_shndx, st_value, _size = struct.unpack_from("<IBBHQQ", data, off)
            end = data.index(b"\0", strtab[4] + st_name)
            if data[strtab[4] + st_name:end] == name:
                sec = secs[st_shndx]        # (name, type, flags, addr, offset, ...)
                return sec[4] + st_value - sec[3]
    raise SystemExit("symbol %s not found" % name.decode())


def main():
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    data = bytearray(open(sys.argv[1], "rb").read())
    off = symbol_file_offset(data, b"iters")
    struct.pack_into("<Q", data, off, int(sys.argv[2], 0))
    open(sys.argv[3], "wb").write(data)


if __name__ == "__main__":
    main()
