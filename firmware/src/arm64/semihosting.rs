//! Arm semihosting for AArch64 guests ("Semihosting for AArch32 and AArch64", Arm, version
//! 2.0 and later): a pure decoder of the console and exit operations.
//!
//! The board traps `HLT #0xF000` (the AArch64 semihosting call), passes the operation number
//! (`w0`), the parameter pointer (`x1`) and a guest-memory reader to [`call`], writes
//! [`SemihostOutcome::x0`] back when it is `Some` and carries out the action.
//!
//! Operations handled by [`call`]: SYS_OPEN (the console `:tt` only), SYS_CLOSE, SYS_WRITEC,
//! SYS_WRITE0, SYS_WRITE, SYS_ISTTY, SYS_EXIT and SYS_EXIT_EXTENDED. [`Semihost::call`] adds
//! the operations that need board state: SYS_CLOCK, SYS_TIME, SYS_HEAPINFO (from a
//! [`SemihostEnv`]) and SYS_ERRNO. Every other operation returns -1 and does nothing. There
//! is no console input: opening `:tt` for reading fails.
//!
//! The console handles are fixed values ([`STDOUT_HANDLE`], [`STDERR_HANDLE`]); SYS_OPEN of
//! `:tt` returns them, SYS_CLOSE of them succeeds and leaves them usable, and SYS_WRITE to
//! any other handle writes nothing. Parameter blocks are AArch64 ones: fields are 64 bits.

use sim_core::GuestVirt;

/// Open a file; only `:tt` (the console) is supported.
pub const SYS_OPEN: u32 = 0x01;
/// Close a handle.
pub const SYS_CLOSE: u32 = 0x02;
/// Write the byte at `x1` to the console.
pub const SYS_WRITEC: u32 = 0x03;
/// Write the NUL-terminated string at `x1` to the console.
pub const SYS_WRITE0: u32 = 0x04;
/// Write a buffer to a handle.
pub const SYS_WRITE: u32 = 0x05;
/// Is a handle an interactive device?
pub const SYS_ISTTY: u32 = 0x09;
/// `angel_SWIreason_ReportException`: report an exception or exit to the debugger.
pub const SYS_EXIT: u32 = 0x18;
/// Exit with a reason and subcode on AArch32 too (semihosting v2.0).
pub const SYS_EXIT_EXTENDED: u32 = 0x20;
/// Centiseconds since execution started.
pub const SYS_CLOCK: u32 = 0x10;
/// Seconds since 1970-01-01T00:00:00Z.
pub const SYS_TIME: u32 = 0x11;
/// errno of the last failed call.
pub const SYS_ERRNO: u32 = 0x13;
/// Heap and stack placement.
pub const SYS_HEAPINFO: u32 = 0x16;
/// Exit reason of a normal application exit; the subcode is the exit status.
pub const ADP_STOPPED_APPLICATION_EXIT: u64 = 0x2_0026;

/// Handle SYS_OPEN returns for `:tt` opened for writing ("w" modes 4-7).
pub const STDOUT_HANDLE: u64 = 1;
/// Handle SYS_OPEN returns for `:tt` opened for appending ("a" modes 8-11), which
/// semihosting v2.0 defines as the error stream.
pub const STDERR_HANDLE: u64 = 2;

/// Longest string SYS_WRITE0 looks through for its terminating NUL, and most bytes one
/// SYS_WRITE moves; a longer SYS_WRITE writes this many and reports the rest unwritten.
pub const MAX_TRANSFER: usize = 1 << 20;

/// The semihosting return value -1.
const MINUS_ONE: u64 = u64::MAX;

/// A console stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// What the board must do after a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SemihostAction {
    /// Nothing besides writing `x0`.
    None,
    /// Write `bytes` to the host's stream.
    Output { stream: Stream, bytes: Vec<u8> },
    /// Write `bytes` to guest memory at virtual address `addr` (SYS_HEAPINFO's block); if
    /// that fails the board sets `x0` to -1.
    WriteMem { addr: u64, bytes: Vec<u8> },
    /// Stop the machine: the guest reported `reason` with `subcode` (SYS_EXIT,
    /// SYS_EXIT_EXTENDED). [`exit_status`] turns them into a process exit status.
    Exit { reason: u64, subcode: u64 },
}

/// The result of one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SemihostOutcome {
    /// New value of `x0`, or `None` where the operation returns nothing and `x0` keeps
    /// its value (SYS_WRITEC, SYS_WRITE0 on success, and the exits, which do not return).
    pub x0: Option<u64>,
    pub action: SemihostAction,
}

impl SemihostOutcome {
    fn ret(v: u64) -> Self {
        Self { x0: Some(v), action: SemihostAction::None }
    }
    fn output(x0: Option<u64>, stream: Stream, bytes: Vec<u8>) -> Self {
        Self { x0, action: SemihostAction::Output { stream, bytes } }
    }
}

/// The host exit status for a guest exit, as QEMU computes it: the subcode for
/// ADP_Stopped_ApplicationExit, 1 for every other reason (semihosting/arm-compat-semi.c).
pub fn exit_status(reason: u64, subcode: u64) -> i32 {
    if reason == ADP_STOPPED_APPLICATION_EXIT {
        subcode as i32
    } else {
        1
    }
}

/// Reads 64-bit parameter-block field `i` at `block`.
fn field<F: FnMut(GuestVirt, &mut [u8]) -> bool>(read: &mut F, block: u64, i: u64) -> Option<u64> {
    let mut b = [0u8; 8];
    let at = block.checked_add(i * 8)?;
    read(GuestVirt(at), &mut b).then(|| u64::from_le_bytes(b))
}

/// Reads `len` bytes at `addr`, in pieces that never cross a 4 KiB page so that a reader
/// translating page by page sees no access straddling two pages.
fn bytes<F: FnMut(GuestVirt, &mut [u8]) -> bool>(read: &mut F, addr: u64, len: usize) -> Option<Vec<u8>> {
    let mut out = vec![0u8; len];
    let mut done = 0;
    while done < len {
        let at = addr.checked_add(done as u64)?;
        let n = (0x1000 - (at & 0xfff) as usize).min(len - done);
        if !read(GuestVirt(at), &mut out[done..done + n]) {
            return None;
        }
        done += n;
    }
    Some(out)
}

/// Reads the NUL-terminated string at `addr` (without the NUL), at most [`MAX_TRANSFER`]
/// bytes long.
fn c_string<F: FnMut(GuestVirt, &mut [u8]) -> bool>(read: &mut F, addr: u64) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut at = addr;
    while out.len() < MAX_TRANSFER {
        // Up to 256 bytes, within one page.
        let n = (0x1000 - (at & 0xfff) as usize).min(256);
        let mut chunk = [0u8; 256];
        if !read(GuestVirt(at), &mut chunk[..n]) {
            return None;
        }
        if let Some(end) = chunk[..n].iter().position(|&b| b == 0) {
            out.extend_from_slice(&chunk[..end]);
            return Some(out);
        }
        out.extend_from_slice(&chunk[..n]);
        at = at.checked_add(n as u64)?;
    }
    None
}

fn console(handle: u64) -> Option<Stream> {
    match handle {
        STDOUT_HANDLE => Some(Stream::Stdout),
        STDERR_HANDLE => Some(Stream::Stderr),
        _ => None,
    }
}

/// Decodes one semihosting call: `op` is `w0`, `x1` the parameter (a pointer for every
/// operation handled here) and `read(addr, buf)` fills `buf` from guest virtual memory at
/// `addr` in the caller's translation regime, returning false if any byte is unreadable.
/// Unreadable parameters make the call fail with -1 (or, for SYS_WRITE, report every byte
/// unwritten).
pub fn call<F: FnMut(GuestVirt, &mut [u8]) -> bool>(op: u32, x1: u64, mut read: F) -> SemihostOutcome {
    let read = &mut read;
    match op {
        // Semihosting spec SYS_WRITEC: x1 points to the character; returns nothing.
        SYS_WRITEC => match bytes(read, x1, 1) {
            Some(b) => SemihostOutcome::output(None, Stream::Stdout, b),
            None => SemihostOutcome::ret(MINUS_ONE),
        },
        // SYS_WRITE0: x1 points to a NUL-terminated string; returns nothing.
        SYS_WRITE0 => match c_string(read, x1) {
            Some(s) => SemihostOutcome::output(None, Stream::Stdout, s),
            None => SemihostOutcome::ret(MINUS_ONE),
        },
        // SYS_WRITE: block {handle, data, length}; returns the number of bytes NOT written.
        SYS_WRITE => {
            let (Some(handle), Some(data), Some(len)) =
                (field(read, x1, 0), field(read, x1, 1), field(read, x1, 2))
            else {
                return SemihostOutcome::ret(MINUS_ONE);
            };
            let Some(stream) = console(handle) else {
                return SemihostOutcome::ret(len);
            };
            let n = len.min(MAX_TRANSFER as u64);
            match bytes(read, data, n as usize) {
                Some(b) => SemihostOutcome::output(Some(len - n), stream, b),
                None => SemihostOutcome::ret(len),
            }
        }
        // SYS_OPEN: block {name, mode, name length}; returns a handle or -1. The special
        // name ":tt" is the console: modes "w" (4-7) open stdout and, since semihosting
        // v2.0, modes "a" (8-11) open stderr.
        SYS_OPEN => {
            let (Some(name), Some(mode), Some(len)) =
                (field(read, x1, 0), field(read, x1, 1), field(read, x1, 2))
            else {
                return SemihostOutcome::ret(MINUS_ONE);
            };
            if len != 3 || bytes(read, name, 3).as_deref() != Some(b":tt") {
                return SemihostOutcome::ret(MINUS_ONE);
            }
            SemihostOutcome::ret(match mode {
                4..=7 => STDOUT_HANDLE,
                8..=11 => STDERR_HANDLE,
                _ => MINUS_ONE,
            })
        }
        // SYS_CLOSE: block {handle}; 0 on success, -1 on failure.
        SYS_CLOSE => match field(read, x1, 0).and_then(console) {
            Some(_) => SemihostOutcome::ret(0),
            None => SemihostOutcome::ret(MINUS_ONE),
        },
        // SYS_ISTTY: block {handle}; 1 for an interactive device, -1 for an error.
        SYS_ISTTY => match field(read, x1, 0).and_then(console) {
            Some(_) => SemihostOutcome::ret(1),
            None => SemihostOutcome::ret(MINUS_ONE),
        },
        // SYS_EXIT on AArch64 and SYS_EXIT_EXTENDED: block {reason, subcode}.
        SYS_EXIT | SYS_EXIT_EXTENDED => match (field(read, x1, 0), field(read, x1, 1)) {
            (Some(reason), Some(subcode)) => {
                SemihostOutcome { x0: None, action: SemihostAction::Exit { reason, subcode } }
            }
            _ => SemihostOutcome::ret(MINUS_ONE),
        },
        _ => SemihostOutcome::ret(MINUS_ONE),
    }
}

/// errno values (Linux/glibc numbering, the host's C library on which semihosting errno is
/// modelled: semihosting spec SYS_ERRNO) set by failed calls.
pub mod errno {
    /// Name not found (SYS_OPEN of anything but `:tt`).
    pub const ENOENT: u64 = 2;
    /// Handle is not a console.
    pub const EBADF: u64 = 9;
    /// Parameter block or buffer not readable.
    pub const EFAULT: u64 = 14;
    /// Operation not implemented.
    pub const ENOSYS: u64 = 38;
}

/// What the board knows for SYS_CLOCK, SYS_TIME and SYS_HEAPINFO.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SemihostEnv {
    /// Virtual time since the machine started, in centiseconds (SYS_CLOCK).
    pub clock_cs: u64,
    /// Seconds since the Unix epoch (SYS_TIME).
    pub time_s: u64,
    /// Heap base, heap limit, stack base, stack limit (SYS_HEAPINFO block order).
    pub heap: [u64; 4],
}

/// Per-machine semihosting state: the errno that SYS_ERRNO reports.
#[derive(Debug, Default)]
pub struct Semihost {
    errno: u64,
}

impl Semihost {
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes one call like [`call`], adding SYS_CLOCK, SYS_TIME, SYS_HEAPINFO and
    /// SYS_ERRNO, and records errno when a call fails: [`errno::ENOSYS`] for an operation
    /// not implemented, [`errno::EBADF`] for a handle that is not a console,
    /// [`errno::ENOENT`] for SYS_OPEN of another name, [`errno::EFAULT`] otherwise.
    pub fn call<F: FnMut(GuestVirt, &mut [u8]) -> bool>(
        &mut self,
        op: u32,
        x1: u64,
        env: &SemihostEnv,
        mut read: F,
    ) -> SemihostOutcome {
        match op {
            // SYS_CLOCK: centiseconds since the start, or -1.
            SYS_CLOCK => SemihostOutcome::ret(env.clock_cs),
            // SYS_TIME: seconds since the epoch.
            SYS_TIME => SemihostOutcome::ret(env.time_s),
            // SYS_ERRNO: the errno of the last failed call; calls that succeed leave it.
            SYS_ERRNO => SemihostOutcome::ret(self.errno),
            // SYS_HEAPINFO: x1 points to a pointer to the four-field block the call fills
            // (heap base, heap limit, stack base, stack limit; 64-bit fields in AArch64).
            // Nothing is said of x0, which keeps its value.
            SYS_HEAPINFO => match field(&mut read, x1, 0) {
                Some(block) => SemihostOutcome {
                    x0: None,
                    action: SemihostAction::WriteMem {
                        addr: block,
                        bytes: env.heap.iter().flat_map(|v| v.to_le_bytes()).collect(),
                    },
                },
                None => {
                    self.errno = errno::EFAULT;
                    SemihostOutcome::ret(MINUS_ONE)
                }
            },
            _ => {
                let known = matches!(
                    op,
                    SYS_OPEN
                        | SYS_CLOSE
                        | SYS_WRITEC
                        | SYS_WRITE0
                        | SYS_WRITE
                        | SYS_ISTTY
                        | SYS_EXIT
                        | SYS_EXIT_EXTENDED
                );
                let handle = if matches!(op, SYS_WRITE | SYS_CLOSE | SYS_ISTTY) {
                    field(&mut read, x1, 0)
                } else {
                    None
                };
                let out = call(op, x1, &mut read);
                let failed = match (op, out.x0) {
                    (SYS_WRITE, Some(n)) => n != 0 && !matches!(out.action, SemihostAction::Output { .. }),
                    (_, Some(v)) => v == MINUS_ONE,
                    _ => false,
                };
                if failed {
                    self.errno = if !known {
                        errno::ENOSYS
                    } else if handle.is_some_and(|h| console(h).is_none()) {
                        errno::EBADF
                    } else if op == SYS_OPEN && field(&mut read, x1, 0).is_some() {
                        errno::ENOENT
                    } else {
                        errno::EFAULT
                    };
                }
                out
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Guest memory: `data` mapped at `base`, nothing else.
    struct Mem {
        base: u64,
        data: Vec<u8>,
        reads: Vec<(u64, usize)>,
    }

    impl Mem {
        fn new(base: u64, len: usize) -> Self {
            Self { base, data: vec![0; len], reads: Vec::new() }
        }
        fn put(&mut self, at: u64, b: &[u8]) {
            let o = (at - self.base) as usize;
            self.data[o..o + b.len()].copy_from_slice(b);
        }
        fn put_block(&mut self, at: u64, fields: &[u64]) {
            for (i, f) in fields.iter().enumerate() {
                self.put(at + 8 * i as u64, &f.to_le_bytes());
            }
        }
        fn call(&mut self, op: u32, x1: u64) -> SemihostOutcome {
            call(op, x1, |a: GuestVirt, buf: &mut [u8]| {
                self.reads.push((a.raw(), buf.len()));
                let Some(o) = a.raw().checked_sub(self.base) else { return false };
                let o = o as usize;
                match self.data.get(o..o + buf.len()) {
                    Some(s) => {
                        buf.copy_from_slice(s);
                        true
                    }
                    None => false,
                }
            })
        }
    }

    const BASE: u64 = 0x4000_0000;

    fn out(stream: Stream, b: &[u8]) -> SemihostAction {
        SemihostAction::Output { stream, bytes: b.to_vec() }
    }

    #[test]
    fn writec_and_write0() {
        let mut m = Mem::new(BASE, 0x3000);
        m.put(BASE + 0x10, b"Z");
        assert_eq!(
            m.call(SYS_WRITEC, BASE + 0x10),
            SemihostOutcome::output(None, Stream::Stdout, b"Z".to_vec())
        );
        m.put(BASE + 0x100, b"hello, world\n\0junk");
        let r = m.call(SYS_WRITE0, BASE + 0x100);
        assert_eq!(r.x0, None);
        assert_eq!(r.action, out(Stream::Stdout, b"hello, world\n"));
        // A string that crosses a page boundary is read page by page.
        m.reads.clear();
        m.put(BASE + 0xffc, b"abcdefgh\0");
        assert_eq!(m.call(SYS_WRITE0, BASE + 0xffc).action, out(Stream::Stdout, b"abcdefgh"));
        assert_eq!(m.reads, [(BASE + 0xffc, 4), (BASE + 0x1000, 256)]);
        // Unterminated up to the end of memory: a fault, nothing written.
        m.put(BASE + 0x2ff0, &[b'x'; 16]);
        assert_eq!(m.call(SYS_WRITE0, BASE + 0x2ff0), SemihostOutcome::ret(MINUS_ONE));
        assert_eq!(m.call(SYS_WRITEC, 0x10), SemihostOutcome::ret(MINUS_ONE));
    }

    #[test]
    fn write_to_console_handles_only() {
        let mut m = Mem::new(BASE, 0x2000);
        m.put(BASE + 0x800, b"to stdout");
        m.put_block(BASE, &[STDOUT_HANDLE, BASE + 0x800, 9]);
        assert_eq!(
            m.call(SYS_WRITE, BASE),
            SemihostOutcome::output(Some(0), Stream::Stdout, b"to stdout".to_vec())
        );
        m.put_block(BASE, &[STDERR_HANDLE, BASE + 0x800, 2]);
        assert_eq!(m.call(SYS_WRITE, BASE), SemihostOutcome::output(Some(0), Stream::Stderr, b"to".to_vec()));
        // Unknown handle: every byte is reported unwritten.
        m.put_block(BASE, &[7, BASE + 0x800, 9]);
        assert_eq!(m.call(SYS_WRITE, BASE), SemihostOutcome::ret(9));
        // Data outside memory: nothing written.
        m.put_block(BASE, &[STDOUT_HANDLE, BASE + 0x1ff0, 0x20]);
        assert_eq!(m.call(SYS_WRITE, BASE), SemihostOutcome::ret(0x20));
        // Zero-length write.
        m.put_block(BASE, &[STDOUT_HANDLE, 0, 0]);
        assert_eq!(m.call(SYS_WRITE, BASE), SemihostOutcome::output(Some(0), Stream::Stdout, vec![]));
        // Parameter block outside memory.
        assert_eq!(m.call(SYS_WRITE, BASE + 0x1ff8), SemihostOutcome::ret(MINUS_ONE));
    }

    #[test]
    fn oversized_write_is_partial() {
        let mut m = Mem::new(BASE, MAX_TRANSFER + 0x1000);
        m.put_block(BASE, &[STDOUT_HANDLE, BASE + 0x1000, MAX_TRANSFER as u64 + 5]);
        let r = m.call(SYS_WRITE, BASE);
        assert_eq!(r.x0, Some(5));
        assert!(matches!(r.action, SemihostAction::Output { ref bytes, .. } if bytes.len() == MAX_TRANSFER));
    }

    #[test]
    fn open_close_istty() {
        let mut m = Mem::new(BASE, 0x1000);
        m.put(BASE + 0x100, b":tt\0");
        m.put(BASE + 0x200, b"/etc/passwd\0");
        for (mode, want) in [(0, MINUS_ONE), (3, MINUS_ONE), (4, STDOUT_HANDLE), (7, STDOUT_HANDLE)] {
            m.put_block(BASE, &[BASE + 0x100, mode, 3]);
            assert_eq!(m.call(SYS_OPEN, BASE).x0, Some(want), "mode {mode}");
        }
        for (mode, want) in [(8, STDERR_HANDLE), (11, STDERR_HANDLE), (12, MINUS_ONE)] {
            m.put_block(BASE, &[BASE + 0x100, mode, 3]);
            assert_eq!(m.call(SYS_OPEN, BASE).x0, Some(want), "mode {mode}");
        }
        m.put_block(BASE, &[BASE + 0x200, 4, 11]);
        assert_eq!(m.call(SYS_OPEN, BASE), SemihostOutcome::ret(MINUS_ONE));
        m.put_block(BASE, &[BASE + 0x100, 4, 2]); // ":t"
        assert_eq!(m.call(SYS_OPEN, BASE), SemihostOutcome::ret(MINUS_ONE));

        m.put_block(BASE, &[STDERR_HANDLE]);
        assert_eq!(m.call(SYS_CLOSE, BASE), SemihostOutcome::ret(0));
        assert_eq!(m.call(SYS_ISTTY, BASE), SemihostOutcome::ret(1));
        m.put_block(BASE, &[99]);
        assert_eq!(m.call(SYS_CLOSE, BASE), SemihostOutcome::ret(MINUS_ONE));
        assert_eq!(m.call(SYS_ISTTY, BASE), SemihostOutcome::ret(MINUS_ONE));
    }

    #[test]
    fn exits() {
        let mut m = Mem::new(BASE, 0x1000);
        m.put_block(BASE, &[ADP_STOPPED_APPLICATION_EXIT, 3]);
        let r = m.call(SYS_EXIT, BASE);
        assert_eq!(r.x0, None);
        assert_eq!(r.action, SemihostAction::Exit { reason: ADP_STOPPED_APPLICATION_EXIT, subcode: 3 });
        assert_eq!(exit_status(ADP_STOPPED_APPLICATION_EXIT, 3), 3);
        assert_eq!(exit_status(ADP_STOPPED_APPLICATION_EXIT, 0), 0);

        m.put_block(BASE, &[0x2_0023, 0]); // ADP_Stopped_RunTimeErrorUnknown
        let r = m.call(SYS_EXIT_EXTENDED, BASE);
        assert_eq!(r.action, SemihostAction::Exit { reason: 0x2_0023, subcode: 0 });
        assert_eq!(exit_status(0x2_0023, 0), 1);

        assert_eq!(m.call(SYS_EXIT, BASE + 0xff8), SemihostOutcome::ret(MINUS_ONE));
    }

    #[test]
    fn unsupported_operations_return_minus_one() {
        let mut m = Mem::new(BASE, 0x1000);
        for op in [0x06, 0x07, 0x0c, 0x10, 0x11, 0x12, 0x13, 0x15, 0x16, 0x30, 0x31, 0x100] {
            assert_eq!(m.call(op, BASE), SemihostOutcome::ret(u64::MAX), "op {op:#x}");
        }
    }

    #[test]
    fn board_state_operations_and_errno() {
        let mut m = Mem::new(BASE, 0x1000);
        let env = SemihostEnv { clock_cs: 250, time_s: 1_767_225_600, heap: [1, 2, 3, 4] };
        let mut sh = Semihost::new();
        let mut go = |m: &mut Mem, op: u32, x1: u64| {
            sh.call(op, x1, &env, |a: GuestVirt, buf: &mut [u8]| {
                let Some(o) = a.raw().checked_sub(m.base) else { return false };
                match m.data.get(o as usize..o as usize + buf.len()) {
                    Some(s) => {
                        buf.copy_from_slice(s);
                        true
                    }
                    None => false,
                }
            })
        };
        assert_eq!(go(&mut m, SYS_CLOCK, 0).x0, Some(250));
        assert_eq!(go(&mut m, SYS_TIME, 0).x0, Some(1_767_225_600));
        assert_eq!(go(&mut m, SYS_ERRNO, 0).x0, Some(0));
        m.put_block(BASE + 0x10, &[BASE + 0x100]);
        let r = go(&mut m, SYS_HEAPINFO, BASE + 0x10);
        assert_eq!(r.x0, None);
        let want: Vec<u8> = [1u64, 2, 3, 4].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(r.action, SemihostAction::WriteMem { addr: BASE + 0x100, bytes: want });
        assert_eq!(go(&mut m, SYS_HEAPINFO, 8).x0, Some(MINUS_ONE));
        assert_eq!(go(&mut m, SYS_ERRNO, 0).x0, Some(errno::EFAULT));
        assert_eq!(go(&mut m, 0x06, BASE).x0, Some(MINUS_ONE)); // SYS_READ
        assert_eq!(go(&mut m, SYS_ERRNO, 0).x0, Some(errno::ENOSYS));
        m.put_block(BASE, &[7, BASE + 0x800, 9]);
        assert_eq!(go(&mut m, SYS_WRITE, BASE).x0, Some(9));
        assert_eq!(go(&mut m, SYS_ERRNO, 0).x0, Some(errno::EBADF));
        m.put(BASE + 0x200, b"abc\0");
        m.put_block(BASE, &[BASE + 0x200, 4, 3]);
        assert_eq!(go(&mut m, SYS_OPEN, BASE).x0, Some(MINUS_ONE));
        assert_eq!(go(&mut m, SYS_ERRNO, 0).x0, Some(errno::ENOENT));
        // A successful call leaves errno alone.
        m.put_block(BASE, &[STDOUT_HANDLE, BASE + 0x200, 3]);
        assert_eq!(go(&mut m, SYS_WRITE, BASE).x0, Some(0));
        assert_eq!(go(&mut m, SYS_ERRNO, 0).x0, Some(errno::ENOENT));
    }
}
