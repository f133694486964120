//! The one error type of `memprobe`.

/// Shorthand for results whose error is [`MemError`].
pub type Result<T, E = MemError> = std::result::Result<T, E>;

/// Everything that can go wrong measuring memory.
#[derive(Debug, thiserror::Error)]
pub enum MemError {
    /// The requested array size does not fit in the memory this container may use.
    #[error(
        "--size {requested_bytes} bytes per array needs {total_bytes} bytes for three arrays, \
         but only {headroom_bytes} bytes are free under the memory limit; use a smaller --size \
         or give the task more memory"
    )]
    SizeTooLarge {
        /// Per array.
        requested_bytes: u64,
        /// All arrays.
        total_bytes: u64,
        /// What may be used.
        headroom_bytes: u64,
    },
    /// An option is invalid.
    #[error("invalid option: {0}")]
    Config(String),
    /// Memory could not be allocated.
    #[error("cannot allocate {bytes} bytes for {what}")]
    Alloc {
        /// Size.
        bytes: u64,
        /// Purpose.
        what: String,
    },
    /// A kernel produced wrong values: the hardware, the compiler or this code is broken.
    #[error(
        "validation failed after the {kernel} kernel ({implementation}): element {index} is \
         {found}, expected {expected}; the figures of this run cannot be trusted"
    )]
    Validation {
        /// Kernel.
        kernel: String,
        /// Implementation.
        implementation: String,
        /// First wrong element.
        index: usize,
        /// Its value.
        found: f64,
        /// What it should be.
        expected: f64,
    },
    /// Pinning a worker failed.
    #[error("cannot pin a worker to CPU {cpu}")]
    Pin {
        /// CPU.
        cpu: u32,
        /// Cause.
        source: std::io::Error,
    },
    /// Encoding the report failed.
    #[error(transparent)]
    Report(#[from] probe_core::CoreError),
}
