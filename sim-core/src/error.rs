//! Host-side errors: problems with images, options or machine construction. Guest
//! misbehaviour never becomes an [`Error`]; it becomes an architectural event.

use crate::GuestPhys;

/// A host-side error with a message that tells the user what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A RAM layout or mapping problem.
    #[error("guest RAM: {0}")]
    Ram(String),
    /// Two devices claim overlapping address ranges.
    #[error("bus: range {start:#x}..{end:#x} of `{name}` overlaps `{other}`")]
    Overlap { start: u64, end: u64, name: String, other: String },
    /// A load target falls outside guest RAM.
    #[error("image segment at {addr}..+{len:#x} is not inside guest RAM{hint}")]
    OutsideRam { addr: GuestPhys, len: u64, hint: String },
    /// Any other invalid configuration.
    #[error("{0}")]
    Config(String),
    /// An I/O error with the path or object it concerns.
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

/// Result alias for host-side operations.
pub type Result<T> = std::result::Result<T, Error>;
