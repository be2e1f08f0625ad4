//! The CPUID model (SDM Vol 2A, CPUID instruction; leaf layouts from its tables 3-8 ff.).
//!
//! A model is chosen by name and adjusted with `+feature`/`-feature`. Only features the CPU
//! implements can be named, so CPUID never advertises more than exists. Instructions gated by
//! a feature raise #UD when the feature is switched off.

use std::fmt;

/// A CPUID feature flag: where it lives and what it is called.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Feature {
    De,
    Pse,
    Tsc,
    Msr,
    Pae,
    Cx8,
    Apic,
    Sep,
    Mtrr,
    Pge,
    Cmov,
    Pat,
    Clflush,
    Cx16,
    X2apic,
    Movbe,
    Popcnt,
    TscDeadline,
    Rdrand,
    Pcid,
    Fsgsbase,
    Bmi1,
    Smep,
    Bmi2,
    Invpcid,
    Rdseed,
    Adx,
    Smap,
    Umip,
    Pku,
    La57,
    Rdpid,
    LahfLm,
    Abm,
    Syscall,
    Nx,
    Page1g,
    Rdtscp,
    Lm,
    // The floating-point and vector features below are enabled by listing them in TABLE once
    // their instructions are implemented (exec/simd/*.rs). MMX is not implemented.
    Fpu,
    Mmx,
    Fxsr,
    Sse,
    Sse2,
    Sse3,
    Pclmulqdq,
    Ssse3,
    Sse41,
    Sse42,
    Xsave,
}

/// (name, feature, leaf, register index 0=EAX..3=EDX, bit)
const TABLE: &[(&str, Feature, u32, u8, u8)] = &[
    ("fpu", Feature::Fpu, 1, 3, 0),
    ("de", Feature::De, 1, 3, 2),
    ("pse", Feature::Pse, 1, 3, 3),
    ("tsc", Feature::Tsc, 1, 3, 4),
    ("msr", Feature::Msr, 1, 3, 5),
    ("pae", Feature::Pae, 1, 3, 6),
    ("cx8", Feature::Cx8, 1, 3, 8),
    ("apic", Feature::Apic, 1, 3, 9),
    ("sep", Feature::Sep, 1, 3, 11),
    ("mtrr", Feature::Mtrr, 1, 3, 12),
    ("pge", Feature::Pge, 1, 3, 13),
    ("cmov", Feature::Cmov, 1, 3, 15),
    ("pat", Feature::Pat, 1, 3, 16),
    ("clflush", Feature::Clflush, 1, 3, 19),
    ("fxsr", Feature::Fxsr, 1, 3, 24),
    ("sse", Feature::Sse, 1, 3, 25),
    ("sse2", Feature::Sse2, 1, 3, 26),
    ("sse3", Feature::Sse3, 1, 2, 0),
    ("pclmulqdq", Feature::Pclmulqdq, 1, 2, 1),
    ("ssse3", Feature::Ssse3, 1, 2, 9),
    ("cx16", Feature::Cx16, 1, 2, 13),
    ("sse4.1", Feature::Sse41, 1, 2, 19),
    ("sse4.2", Feature::Sse42, 1, 2, 20),
    ("pcid", Feature::Pcid, 1, 2, 17),
    ("x2apic", Feature::X2apic, 1, 2, 21),
    ("movbe", Feature::Movbe, 1, 2, 22),
    ("popcnt", Feature::Popcnt, 1, 2, 23),
    ("tsc-deadline", Feature::TscDeadline, 1, 2, 24),
    ("xsave", Feature::Xsave, 1, 2, 26),
    ("rdrand", Feature::Rdrand, 1, 2, 30),
    ("fsgsbase", Feature::Fsgsbase, 7, 1, 0),
    ("bmi1", Feature::Bmi1, 7, 1, 3),
    ("smep", Feature::Smep, 7, 1, 7),
    ("bmi2", Feature::Bmi2, 7, 1, 8),
    ("invpcid", Feature::Invpcid, 7, 1, 10),
    ("rdseed", Feature::Rdseed, 7, 1, 18),
    ("adx", Feature::Adx, 7, 1, 19),
    ("smap", Feature::Smap, 7, 1, 20),
    ("umip", Feature::Umip, 7, 2, 2),
    ("pku", Feature::Pku, 7, 2, 3),
    ("la57", Feature::La57, 7, 2, 16),
    ("rdpid", Feature::Rdpid, 7, 2, 22),
    ("lahf-lm", Feature::LahfLm, 0x8000_0001, 2, 0),
    ("abm", Feature::Abm, 0x8000_0001, 2, 5),
    ("syscall", Feature::Syscall, 0x8000_0001, 3, 11),
    ("nx", Feature::Nx, 0x8000_0001, 3, 20),
    ("pdpe1gb", Feature::Page1g, 0x8000_0001, 3, 26),
    ("rdtscp", Feature::Rdtscp, 0x8000_0001, 3, 27),
    ("lm", Feature::Lm, 0x8000_0001, 3, 29),
];

/// Named CPU models.
pub const MODELS: &[(&str, &str)] = &[
    ("max", "every feature chimera implements"),
    ("base", "a conservative x86-64 baseline (long mode, NX, SYSCALL, APIC, CX8/CX16, CMOV, PAT)"),
];

/// Error for an unknown model or feature name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuidError(pub String);

impl fmt::Display for CpuidError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for CpuidError {}

/// A configured CPUID model.
#[derive(Clone, Debug)]
pub struct CpuidModel {
    name: String,
    enabled: Vec<Feature>,
    /// Number of logical processors in the package (for leaf 1 / 0xB).
    pub cpus: u32,
}

impl CpuidModel {
    /// Builds model `name` with `overrides` like `["+la57", "-bmi2"]`.
    pub fn new(name: &str, overrides: &[String]) -> Result<Self, CpuidError> {
        let base: Vec<Feature> = match name {
            "max" => TABLE.iter().map(|t| t.1).collect(),
            "base" => {
                use Feature::*;
                vec![
                    De, Pse, Tsc, Msr, Pae, Cx8, Apic, Sep, Mtrr, Pge, Cmov, Pat, Clflush, Cx16, LahfLm,
                    Syscall, Nx, Lm, Fpu, Fxsr, Sse, Sse2,
                ]
            }
            _ => {
                let names: Vec<_> = MODELS.iter().map(|m| m.0).collect();
                return Err(CpuidError(format!("unknown CPU model `{name}` (known: {})", names.join(", "))));
            }
        };
        let mut m = Self { name: name.to_string(), enabled: base, cpus: 1 };
        for o in overrides {
            let (on, fname) = match o.split_at_checked(1) {
                Some(("+", rest)) => (true, rest),
                Some(("-", rest)) => (false, rest),
                _ => return Err(CpuidError(format!("feature override `{o}` must start with + or -"))),
            };
            let f = Self::feature_by_name(fname)?;
            m.enabled.retain(|&e| e != f);
            if on {
                m.enabled.push(f);
            }
        }
        Ok(m)
    }

    /// Looks a feature up by its name.
    pub fn feature_by_name(name: &str) -> Result<Feature, CpuidError> {
        TABLE.iter().find(|t| t.0 == name).map(|t| t.1).ok_or_else(|| {
            let names: Vec<_> = TABLE.iter().map(|t| t.0).collect();
            CpuidError(format!("unknown CPU feature `{name}` (implemented: {})", names.join(" ")))
        })
    }

    /// The model's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Names of the enabled features.
    pub fn feature_names(&self) -> Vec<&'static str> {
        TABLE.iter().filter(|t| self.has(t.1)).map(|t| t.0).collect()
    }

    /// True if `f` is enabled.
    #[inline]
    pub fn has(&self, f: Feature) -> bool {
        self.enabled.contains(&f)
    }

    fn bits(&self, leaf: u32, reg: u8) -> u32 {
        TABLE.iter().filter(|t| t.2 == leaf && t.3 == reg && self.has(t.1)).fold(0, |acc, t| acc | (1 << t.4))
    }

    /// Executes CPUID for (`leaf`, `subleaf`) on the processor with `apic_id`; `cr4` and `xcr0`
    /// supply the dynamic bits (OSPKE).
    pub fn query(&self, leaf: u32, subleaf: u32, apic_id: u32, cr4: u64) -> [u32; 4] {
        const BRAND: &[u8; 48] = b"chimera x86-64 processor (emulated)\0\0\0\0\0\0\0\0\0\0\0\0\0";
        let word = |i: usize| u32::from_le_bytes(BRAND[i * 4..i * 4 + 4].try_into().unwrap_or([0; 4]));
        let max_basic = 0xd;
        let max_ext = 0x8000_0008;
        match leaf {
            // Vendor "GenuineIntel": this is an Intel-architecture model (VMX and FRED follow).
            0 => [max_basic, 0x756e_6547, 0x6c65_746e, 0x4965_6e69],
            1 => {
                // Family 6, model 0x8f (as a generic modern part), stepping 0. CLFLUSH line 8*8=64.
                let eax = (6 << 8) | (0x8 << 4) | (0xf << 16);
                let ebx = (apic_id << 24) | (self.cpus.min(255) << 16) | (8 << 8);
                let edx = self.bits(1, 3);
                let mut ecx = self.bits(1, 2);
                if self.has(Feature::Xsave) && cr4 & crate::state::cr4::OSXSAVE != 0 {
                    ecx |= 1 << 27; // OSXSAVE
                }
                [eax, ebx, ecx, edx]
            }
            7 if subleaf == 0 => {
                let mut ecx = self.bits(7, 2);
                if self.has(Feature::Pku) && cr4 & crate::state::cr4::PKE != 0 {
                    ecx |= 1 << 4; // OSPKE
                }
                [0, self.bits(7, 1), ecx, self.bits(7, 3)]
            }
            0xb => {
                // x2APIC topology: one SMT thread per core, `cpus` cores (SDM Vol 2A CPUID.0BH).
                let shift = 32 - self.cpus.max(1).next_power_of_two().leading_zeros() - 1;
                match subleaf {
                    0 => [0, 1, 0x100, apic_id],
                    1 => [shift, self.cpus, 0x201 | subleaf, apic_id],
                    _ => [0, 0, subleaf, apic_id],
                }
            }
            // XSAVE state enumeration (SDM Vol 1 13.2): x87 and SSE only, standard format; the
            // size is 576 bytes (legacy region + header) for XCR0 = 1 or 3.
            0xd if self.has(Feature::Xsave) => match subleaf {
                0 => [3, 576, 576, 0],
                // No XSAVEOPT, XSAVEC, XGETBV with ECX=1 or XSAVES.
                _ => [0; 4],
            },
            0x8000_0000 => [max_ext, 0, 0, 0],
            0x8000_0001 => [0, 0, self.bits(0x8000_0001, 2), self.bits(0x8000_0001, 3)],
            0x8000_0002..=0x8000_0004 => {
                let b = ((leaf - 0x8000_0002) * 4) as usize;
                [word(b), word(b + 1), word(b + 2), word(b + 3)]
            }
            0x8000_0008 => {
                let lin = if self.has(Feature::La57) { 57 } else { 48 };
                [(lin << 8) | crate::mmu::MAXPHYADDR, 0, 0, 0]
            }
            _ => [0; 4],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_change_bits() {
        let m = CpuidModel::new("max", &["-bmi2".into()]).unwrap();
        assert!(!m.has(Feature::Bmi2) && m.has(Feature::Bmi1));
        let l7 = m.query(7, 0, 0, 0);
        assert_eq!(l7[1] & (1 << 8), 0);
        assert_ne!(l7[1] & (1 << 3), 0);
        let b = CpuidModel::new("base", &["+la57".into()]).unwrap();
        assert!(b.has(Feature::La57) && !b.has(Feature::Smep));
        assert_eq!(b.query(0x8000_0008, 0, 0, 0)[0] >> 8 & 0xff, 57);
    }

    #[test]
    fn bad_names_are_errors() {
        assert!(CpuidModel::new("pentium", &[]).unwrap_err().0.contains("unknown CPU model"));
        assert!(CpuidModel::new("max", &["+avx512".into()]).unwrap_err().0.contains("avx512"));
        assert!(CpuidModel::new("max", &["bmi1".into()]).is_err());
    }

    #[test]
    fn vendor_and_brand() {
        let m = CpuidModel::new("max", &[]).unwrap();
        let v = m.query(0, 0, 0, 0);
        let mut s = Vec::new();
        for r in [v[1], v[3], v[2]] {
            s.extend_from_slice(&r.to_le_bytes());
        }
        assert_eq!(&s, b"GenuineIntel");
        assert_eq!(m.query(1, 0, 3, 0)[1] >> 24, 3);
        // x87, SSE and SSE2 are advertised; OSXSAVE follows CR4; leaf 0xD enumerates XSAVE.
        let l1 = m.query(1, 0, 0, 0);
        assert_eq!(l1[3] & ((1 << 0) | (1 << 25) | (1 << 26)), (1 << 0) | (1 << 25) | (1 << 26));
        assert_eq!(l1[2] & (1 << 27), 0);
        assert_ne!(m.query(1, 0, 0, crate::state::cr4::OSXSAVE)[2] & (1 << 27), 0);
        assert_eq!(m.query(0xd, 0, 0, 0), [3, 576, 576, 0]);
    }
}
