//! Typed guest addresses: a physical and a virtual address never mix by accident.

use std::fmt;
use std::ops::{Add, Sub};

macro_rules! addr_type {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name(pub u64);

        impl $name {
            /// The raw address value.
            #[inline]
            pub const fn raw(self) -> u64 {
                self.0
            }
            /// Adds `off` with wrap-around (guest arithmetic is modular).
            #[inline]
            pub const fn wrapping_add(self, off: u64) -> Self {
                Self(self.0.wrapping_add(off))
            }
            /// Adds `off`, or `None` on overflow.
            #[inline]
            pub fn checked_add(self, off: u64) -> Option<Self> {
                self.0.checked_add(off).map(Self)
            }
            /// Offset inside a 4 KiB page.
            #[inline]
            pub const fn page_offset(self) -> u64 {
                self.0 & 0xfff
            }
            /// The address rounded down to its 4 KiB page.
            #[inline]
            pub const fn page_base(self) -> Self {
                Self(self.0 & !0xfff)
            }
        }
        impl Add<u64> for $name {
            type Output = Self;
            #[inline]
            fn add(self, rhs: u64) -> Self {
                Self(self.0.wrapping_add(rhs))
            }
        }
        impl Sub<$name> for $name {
            type Output = u64;
            #[inline]
            fn sub(self, rhs: $name) -> u64 {
                self.0.wrapping_sub(rhs.0)
            }
        }
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({:#x})"), self.0)
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{:#x}", self.0)
            }
        }
    };
}

addr_type!(
    /// A guest physical address.
    GuestPhys
);
addr_type!(
    /// A guest virtual (linear) address.
    GuestVirt
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_helpers() {
        let a = GuestPhys(0x1234_5678);
        assert_eq!(a.page_base(), GuestPhys(0x1234_5000));
        assert_eq!(a.page_offset(), 0x678);
        assert_eq!(a + 8, GuestPhys(0x1234_5680));
        assert_eq!(GuestVirt(u64::MAX).wrapping_add(2), GuestVirt(1));
        assert_eq!(GuestVirt(u64::MAX).checked_add(1), None);
        assert_eq!(GuestPhys(0x2000) - GuestPhys(0x1000), 0x1000);
        assert_eq!(format!("{:?}", GuestPhys(0x10)), "GuestPhys(0x10)");
    }
}
