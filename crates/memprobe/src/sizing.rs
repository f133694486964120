//! How big the arrays are: at least 4x the last-level cache (STREAM's rule) and at most a safe
//! share of the memory this container may still use, so a 512 MiB task is never OOM-killed.

use crate::buffer::ALIGN;
use crate::error::{MemError, Result};

/// Share of the memory headroom the three bandwidth arrays may take together.
pub const HEADROOM_SHARE: f64 = 0.6;

/// Last-level cache assumed when sysfs says nothing (larger than most server parts' per-core
/// share, so arrays stay out of cache).
pub const ASSUMED_LLC_BYTES: u64 = 32 << 20;

/// Inputs to [`choose`].
#[derive(Debug, Clone, Copy)]
pub struct SizingInput {
    /// LLC from sysfs, when known.
    pub llc_bytes: Option<u64>,
    /// Memory this process may still use.
    pub headroom_bytes: Option<u64>,
    /// `--size`, bytes per array.
    pub requested_bytes: Option<u64>,
    /// The most the automatic size may be (a short run's cap; `--size` is not capped).
    pub cap_bytes: Option<u64>,
}

/// The chosen size and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Sizing {
    /// Bytes per array.
    pub array_bytes: u64,
    /// LLC size the rule used.
    pub llc_bytes: u64,
    /// Where that LLC size came from.
    pub llc_source: &'static str,
    /// Set when both rules could not hold.
    pub warning: Option<String>,
}

fn round_down(bytes: u64) -> u64 {
    (bytes / ALIGN as u64 * ALIGN as u64).max(ALIGN as u64)
}

/// Chooses the per-array size.
///
/// # Errors
/// [`MemError::SizeTooLarge`] when `--size` would not fit under the memory limit.
pub fn choose(input: SizingInput) -> Result<Sizing> {
    let (llc, source) = match input.llc_bytes {
        Some(l) => (l, "sysfs"),
        None => (
            ASSUMED_LLC_BYTES,
            "assumed (sysfs has no cache information)",
        ),
    };
    let cap = input
        .headroom_bytes
        .map(|h| round_down((h as f64 * HEADROOM_SHARE / 3.0) as u64));
    if let Some(req) = input.requested_bytes {
        let total = req.saturating_mul(3);
        if let Some(h) = input.headroom_bytes {
            if total as f64 > h as f64 * 0.9 {
                return Err(MemError::SizeTooLarge {
                    requested_bytes: req,
                    total_bytes: total,
                    headroom_bytes: h,
                });
            }
        }
        let warning = (req < 4 * llc).then(|| {
            format!(
                "--size {req} bytes per array is under 4x the last-level cache ({llc} bytes): \
                 figures include cache hits"
            )
        });
        return Ok(Sizing {
            array_bytes: req.max(64),
            llc_bytes: llc,
            llc_source: source,
            warning,
        });
    }
    let want = round_down(4 * llc);
    if let Some(short) = input.cap_bytes.map(round_down) {
        if short < want && cap.is_none_or(|cap| short <= cap) {
            return Ok(Sizing {
                array_bytes: short,
                llc_bytes: llc,
                llc_source: source,
                warning: Some(format!(
                    "arrays are {short} bytes, under 4x the last-level cache ({llc} bytes), as \
                     a short run caps them: figures may include cache hits (run without \
                     --quick for the full size)"
                )),
            });
        }
    }
    match cap {
        Some(cap) if cap < want => Ok(Sizing {
            array_bytes: cap,
            llc_bytes: llc,
            llc_source: source,
            warning: Some(format!(
                "arrays are {cap} bytes, under 4x the last-level cache ({llc} bytes), to stay \
                 inside the memory limit: figures may include cache hits"
            )),
        }),
        _ => Ok(Sizing {
            array_bytes: want,
            llc_bytes: llc,
            llc_source: source,
            warning: None,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_times_the_llc_when_memory_allows() {
        let s = choose(SizingInput {
            llc_bytes: Some(32 << 20),
            headroom_bytes: Some(8 << 30),
            requested_bytes: None,
            cap_bytes: None,
        })
        .unwrap();
        assert_eq!(s.array_bytes, 128 << 20);
        assert!(s.warning.is_none());
        assert_eq!(s.llc_source, "sysfs");
    }

    #[test]
    fn a_512_mib_task_keeps_its_headroom_and_says_so() {
        let s = choose(SizingInput {
            llc_bytes: Some(32 << 20),
            headroom_bytes: Some(500 << 20),
            requested_bytes: None,
            cap_bytes: None,
        })
        .unwrap();
        assert!(s.array_bytes * 3 <= (500 << 20) * 6 / 10);
        assert!(s.warning.as_deref().unwrap().contains("memory limit"));
    }

    #[test]
    fn requested_size_over_the_limit_is_an_error_naming_the_fix() {
        let err = choose(SizingInput {
            llc_bytes: Some(32 << 20),
            headroom_bytes: Some(256 << 20),
            requested_bytes: Some(200 << 20),
            cap_bytes: None,
        })
        .unwrap_err();
        assert!(err.to_string().contains("smaller --size"));
    }

    #[test]
    fn unknown_llc_is_assumed_and_labelled() {
        let s = choose(SizingInput {
            llc_bytes: None,
            headroom_bytes: None,
            requested_bytes: None,
            cap_bytes: None,
        })
        .unwrap();
        assert_eq!(s.llc_bytes, ASSUMED_LLC_BYTES);
        assert!(s.llc_source.starts_with("assumed"));
    }

    #[test]
    fn a_short_run_caps_the_arrays_on_a_large_cache_and_says_so() {
        // A 300 MiB last-level cache would want 1.2 GiB arrays: a quick run stops at its cap.
        let s = choose(SizingInput {
            llc_bytes: Some(300 << 20),
            headroom_bytes: Some(20 << 30),
            requested_bytes: None,
            cap_bytes: Some(64 << 20),
        })
        .unwrap();
        assert_eq!(s.array_bytes, 64 << 20);
        assert!(s.warning.as_deref().unwrap().contains("short run"));
        // The memory limit still wins when it is tighter, and a small cache needs no cap.
        let tight = choose(SizingInput {
            llc_bytes: Some(300 << 20),
            headroom_bytes: Some(200 << 20),
            requested_bytes: None,
            cap_bytes: Some(64 << 20),
        })
        .unwrap();
        assert!(tight.array_bytes * 3 <= (200 << 20) * 6 / 10);
        assert!(tight.warning.as_deref().unwrap().contains("memory limit"));
        let small = choose(SizingInput {
            llc_bytes: Some(8 << 20),
            headroom_bytes: None,
            requested_bytes: None,
            cap_bytes: Some(64 << 20),
        })
        .unwrap();
        assert_eq!((small.array_bytes, small.warning), (32 << 20, None));
    }
}
