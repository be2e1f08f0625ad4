#!/usr/bin/env python3
"""gen-fpsimd-rand.py -- generates fpsimd_rand.inc, the test table of the fpsimd_rand guest.

Random A64 FP/AdvSIMD encodings (data processing, and SIMD&FP loads and stores on a
scratch buffer), filtered through `aarch64-linux-gnu-objdump` so that only valid Armv8.0
instructions remain (extensions after Armv8.0, which chimera does not advertise, are
dropped), each with random register contents rich in FP special values (zeros, infinities,
quiet and signalling NaNs, denormals, values near the rounding boundaries) and a random
FPCR (RMode, FZ, DN, AHP). The guest runs each instruction and prints a digest of the
whole register file, FPSR, NZCV and the buffer; expected/fpsimd_rand.txt is QEMU's output.

Usage: ./gen-fpsimd-rand.py [seed] > fpsimd_rand.inc   (deterministic for a seed)
"""
import random, re, subprocess, sys, tempfile

seed = int(sys.argv[1]) if len(sys.argv) > 1 else 2026
rnd = random.Random(seed)
mode = "all"

def special(esize):
    """A random FP value of `esize` bits, biased to special cases."""
    E, F = {16: (5, 10), 32: (8, 23), 64: (11, 52)}[esize]
    r = rnd.random()
    s = rnd.getrandbits(1) << (E + F)
    emax = (1 << E) - 1
    if r < 0.08: return s                                  # zero
    if r < 0.14: return s | emax << F                      # inf
    if r < 0.20: return s | emax << F | 1 << (F-1) | rnd.getrandbits(F-1)  # qnan
    if r < 0.26: return s | emax << F | max(1, rnd.getrandbits(F-1))     # snan
    if r < 0.34: return s | rnd.getrandbits(F)                         # denormal
    if r < 0.42: return s | rnd.choice([1, 2, emax-1, emax-2]) << F | rnd.getrandbits(F)
    if r < 0.55: return s | (((1 << (E-1)) - 1 + rnd.randint(-3, 3)) << F) | (rnd.getrandbits(3) << (F-3))
    if r < 0.65: return rnd.getrandbits(esize)
    if r < 0.72: return s | (((1 << (E-1)) - 1 + rnd.randint(0, 70)) << F) | (rnd.getrandbits(F) & ~((1 << rnd.randint(0, F)) - 1))
    return s | rnd.randint(1, emax-1) << F | rnd.getrandbits(F)

def intval(esize):
    r = rnd.random()
    m = (1 << esize) - 1
    if r < 0.1: return 0
    if r < 0.2: return m
    if r < 0.3: return 1 << (esize-1)
    if r < 0.4: return (1 << (esize-1)) - 1
    if r < 0.5: return rnd.randint(0, 16)
    if r < 0.6: return (-rnd.randint(1, 16)) & m
    return rnd.getrandbits(esize)

def vec():
    es = rnd.choice([16, 32, 64, 8, 32, 64])
    v = 0
    for k in range(128 // es):
        x = (special(es) if es >= 16 and rnd.random() < 0.7 else intval(es)) & ((1 << es) - 1)
        v |= x << (k * es)
    return v

def templ():
    """Encodings of the sparser groups: two-reg misc, across lanes, FP 1-source,
    conversions, compares, immediates, copy, scalar pairwise, modified immediate."""
    R = rnd.getrandbits
    t = rnd.randrange(11)
    rn, rd = R(5), R(5)
    if t == 0: return R(1)<<30|R(1)<<29|0b01110<<24|R(2)<<22|0b10000<<17|R(5)<<12|2<<10|rn<<5|rd
    if t == 1: return 1<<30|R(1)<<29|0b11110<<24|R(2)<<22|0b10000<<17|R(5)<<12|2<<10|rn<<5|rd
    if t == 2: return R(1)<<30|R(1)<<29|0b01110<<24|R(2)<<22|0b11000<<17|R(5)<<12|2<<10|rn<<5|rd
    if t == 3: return 0b11110<<24|R(2)<<22|1<<21|R(6)<<15|0b10000<<10|rn<<5|rd
    if t == 4: return R(1)<<31|0b11110<<24|R(2)<<22|1<<21|R(2)<<19|R(3)<<16|rn<<5|rd
    if t == 5: return R(1)<<31|0b11110<<24|R(2)<<22|R(2)<<19|R(3)<<16|R(6)<<10|rn<<5|rd
    if t == 6: return 0b11110<<24|R(2)<<22|1<<21|R(5)<<16|0b1000<<10|rn<<5|R(5)
    if t == 7: return 0b11110<<24|R(2)<<22|1<<21|R(8)<<13|0b100<<10|rd
    if t == 8: return R(1)<<30|R(1)<<29|0b01110000<<21|R(5)<<16|R(4)<<11|1<<10|rn<<5|rd
    if t == 9: return 1<<30|R(1)<<29|0b11110<<24|R(2)<<22|0b11000<<17|R(5)<<12|2<<10|rn<<5|rd
    return R(1)<<30|R(1)<<29|0b0111100000<<19|R(3)<<16|R(4)<<12|R(1)<<11|1<<10|R(5)<<5|rd

def ldst_word():
    """SIMD&FP loads and stores: all addressing modes, pairs, literal, structures."""
    R = rnd.getrandbits
    t = rnd.randrange(7)
    rn, rt = R(5), R(5)
    if t == 0:
        size, opc = R(2), R(2)
        return size<<30|0b111101<<24|opc<<22|rnd.randrange(32)<<10|rn<<5|rt
    if t == 1:
        return R(2)<<30|0b111100<<24|R(2)<<22|R(9)<<12|rnd.choice([0,1,3])<<10|rn<<5|rt
    if t == 2:
        return R(2)<<30|0b111100<<24|R(2)<<22|1<<21|R(5)<<16|rnd.choice([2,3,6,7])<<13|R(1)<<12|2<<10|rn<<5|rt
    if t == 3:
        return R(2)<<30|0b10110<<25|R(2)<<23|R(1)<<22|R(7)<<15|R(5)<<10|rn<<5|rt
    if t == 4:
        return R(2)<<30|0b011100<<24|(rnd.randint(-200, 200) & 0x7ffff)<<5|rt
    if t == 5:
        post = R(1)
        rm = R(5) if post else 0
        return R(1)<<30|0b0011000<<23|post<<23|R(1)<<22|rm<<16|rnd.choice([0,2,4,6,7,8,10])<<12|R(2)<<10|rn<<5|rt
    post = R(1)
    rm = R(5) if post else 0
    return R(1)<<30|0b0011010<<23|post<<23|R(1)<<22|R(1)<<21|rm<<16|R(3)<<13|R(1)<<12|R(2)<<10|rn<<5|rt

def arith_word():
    """FP arithmetic, FMA, square root, rounding and conversions on neighbouring registers
    (the pool holds runs of nearly equal values: cancellation, ties, boundaries)."""
    R = rnd.getrandbits
    rn = R(5); rm = (rn + rnd.choice([1, -1, 1])) % 32; ra = (rn + rnd.choice([2, -1, 0])) % 32; rd = R(5)
    ft = rnd.choice([0, 1])
    t = rnd.randrange(5)
    if t == 0:  # 2-source
        return 0b11110<<24|ft<<22|1<<21|rm<<16|rnd.choice([0,1,2,3,8,4,5,6,7])<<12|2<<10|rn<<5|rd
    if t == 1:  # 3-source
        return 0b11111<<24|ft<<22|R(1)<<21|rm<<16|R(1)<<15|ra<<10|rn<<5|rd
    if t == 2:  # sqrt / frint / fcvt
        return 0b11110<<24|ft<<22|1<<21|rnd.choice([3,3,3,4,5,7,8,9,10,11,12,14,15])<<15|0b10000<<10|rn<<5|rd
    if t == 3:  # vector fadd/fsub/fmul/fdiv/fmla/fmls/frecps/frsqrts
        q = 1; sz = R(1)
        u, a, op = rnd.choice([(0,0,0b11010),(0,1,0b11010),(1,0,0b11011),(1,0,0b11111),(0,0,0b11001),(0,1,0b11001),(0,0,0b11111),(0,1,0b11111),(1,1,0b11010)])
        return q<<30|u<<29|0b01110<<24|a<<23|sz<<22|1<<21|rm<<16|op<<11|1<<10|rn<<5|rd
    # conversions fp<->int with rounding modes
    return R(1)<<31|0b11110<<24|ft<<22|1<<21|rnd.choice([0,1,2,3])<<19|rnd.choice([0,1,4,5,2,3])<<16|rn<<5|rd

def gen_word():
    if mode == "arith":
        return arith_word()
    if mode == "ldst":
        return ldst_word()
    if mode == "focus" and rnd.random() < 0.8:
        return templ()
    while True:
        r = rnd.random()
        w = rnd.getrandbits(32)
        w = (w & ~(7 << 25)) | (7 << 25)
        if r < 0.45:   # vector: 0 Q U 0 111 ...
            w &= ~(1 << 31); w &= ~(1 << 28)
        elif r < 0.7:  # scalar simd: 01 U 1 111 ...
            w &= ~(1 << 31); w |= 1 << 30; w |= 1 << 28
        else:          # scalar fp: x0x1 1110/1111
            w &= ~(1 << 30); w |= 1 << 28
            if rnd.random() < 0.7: w &= ~(1 << 29)
            if rnd.random() < 0.6: w &= ~((1 << 23))   # ftype 0/1 mostly
        return w

EXT = re.compile(r"^(aes|sha|sm3|sm4|eor3|rax1|xar|bcax|sdot|udot|usdot|sudot|bf|fmlal|fmlsl|sqrdmlah|sqrdmlsh|fcmla|fcadd|fjcvtzs|frint32|frint64|smmla|ummla|usmmla|\.inst|udf)")
def keep(dis):
    """Valid Armv8.0 FP/AdvSIMD (objdump knows every extension; drop those)."""
    if "undefined" in dis or dis.startswith(".inst") or "<" in dis: return False
    m = dis.split()[0]
    if EXT.match(m): return False
    if m == "pmull" or m == "pmull2":
        if ".1q" in dis: return False
    ops = dis[len(m):]
    # FP16 arithmetic: half-precision registers or .4h/.8h with an f-mnemonic
    if m.startswith("f") or m in ("scvtf", "ucvtf") or m.startswith("fcvt"):
        if m not in ("fcvt", "fcvtl", "fcvtl2", "fcvtn", "fcvtn2", "fcvtxn", "fcvtxn2"):
            if re.search(r"\bh\d+|\.[48]h|\.h\[", ops): return False
        if m == "fmov" and re.search(r"\bh\d+|\.[48]h", ops): return False
    return True


def pick(n, m):
    global mode
    mode = m
    out = []
    while len(out) < n:
        cands = [gen_word() for _ in range(4 * n)]
        with tempfile.NamedTemporaryFile(suffix=".bin") as f:
            f.write(b"".join(w.to_bytes(4, "little") for w in cands))
            f.flush()
            dis = subprocess.run(["aarch64-linux-gnu-objdump", "-D", "-b", "binary", "-m", "aarch64",
                                  "-M", "no-aliases", f.name], capture_output=True, text=True, check=True).stdout
        for line in dis.splitlines():
            mm = re.match(r"\s*[0-9a-f]+:\s+([0-9a-f]{8})\s+(.*)$", line)
            if not mm:
                continue
            w, d = int(mm.group(1), 16), mm.group(2).strip()
            if not keep(d):
                continue
            if m == "ldst":
                rn, rm = (w >> 5) & 31, (w >> 16) & 31
                if rn >= 30 or rn == rm or rm == 30:
                    continue
                if ("ldp" in d or "ldnp" in d) and (w & 31) == ((w >> 10) & 31):
                    continue
            out.append((w, d, m == "ldst"))
            if len(out) == n:
                break
    return out

POOL = 1300
tests = pick(1500, "all") + pick(1500, "focus") + pick(1000, "arith") + pick(1000, "ldst")
pool = [vec() for _ in range(POOL)]
for j in range(1, POOL):
    # Runs of nearly equal values (sign flips, low-bit and exponent perturbations).
    if rnd.random() < 0.5:
        v = pool[j - 1]
        for h in range(2):
            x = (v >> (64 * h)) & (2**64 - 1)
            r = rnd.random()
            if r < 0.3:
                x ^= 1 << 63
            if r < 0.8:
                x ^= rnd.getrandbits(rnd.randint(1, 30))
            elif rnd.random() < 0.5:
                x ^= rnd.getrandbits(rnd.randint(1, 12)) << 23
            else:
                x ^= rnd.getrandbits(8)
            v = (v & ~((2**64 - 1) << (64 * h))) | (x << (64 * h))
        pool[j] = v
xpool = [intval(64) for _ in range(128)]
fpcrs = [0, 0, 0, 1 << 22, 2 << 22, 3 << 22, 1 << 24, 1 << 25, 3 << 24, 1 << 26, 3 << 24 | 1 << 22]
print("/* Generated by gen-fpsimd-rand.py %d: do not edit. */" % seed)
print("#define NTESTS %d" % len(tests))
print("    .data\n    .balign 16\ntests:")
for k, (w, d, mem) in enumerate(tests):
    rn_fix, rm_fix, rm_val, off = 32, 32, 0, 0
    if mem:
        rn, rm = (w >> 5) & 31, (w >> 16) & 31
        rn_fix, off = rn, rnd.choice([1024, 2048, 2048 + 16 * rnd.randint(-8, 8)])
        regoff = (w >> 27) & 7 == 7 and (w >> 21) & 1 and not (w >> 24) & 1
        post = (w >> 24) & 0x3e == 0b001100 and (w >> 23) & 1
        if rm != 31 and (regoff or post):
            rm_fix, rm_val = rm, rnd.randint(0, 64)
    print("    .word 0x%08x, %d, 0x%x, 0x%x  // T%x: %s" % (w, rnd.randint(0, POOL - 300), rnd.choice(fpcrs), rnd.getrandbits(4) << 28, k, d))
    print("    .word %d, %d, %d, %d" % (rnd.randint(0, len(xpool) - 30), rn_fix | rm_fix << 8 | rm_val << 16 | (w & 31) << 24, off, int(mem)))
print("pool:")
for v in pool:
    print("    .quad 0x%016x, 0x%016x" % (v & (2**64 - 1), v >> 64))
print("xpool:")
for x in xpool:
    print("    .quad 0x%016x" % x)
