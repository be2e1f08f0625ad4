//! Shared by the host-oracle tests: an executable page to run instruction bytes natively.

extern "C" {
    #[link_name = "mmap"]
    fn libc_mmap(
        addr: *mut std::ffi::c_void,
        len: usize,
        prot: i32,
        flags: i32,
        fd: i32,
        off: i64,
    ) -> *mut std::ffi::c_void;
}

/// One read/write/execute page per test thread (the tests run in parallel), mapped once.
pub fn exec_page() -> *mut u8 {
    thread_local! {
        static PAGE: usize = {
            // SAFETY: an anonymous private RWX mapping (PROT 7, MAP_PRIVATE|MAP_ANONYMOUS);
            // checked for failure below.
            let p = unsafe { libc_mmap(std::ptr::null_mut(), 4096, 7, 0x22, -1, 0) };
            assert!(!p.is_null() && p as isize != -1, "mmap of an executable page failed");
            p as usize
        };
    }
    PAGE.with(|p| *p as *mut u8)
}
