//! Portable kernels for CPUs without a dedicated path (aarch64 today). Plain loops with
//! volatile loads so the compiler keeps every pass and never calls `memcpy`; cached stores only.

use std::ptr::read_volatile;

/// `dst = src`.
pub(crate) fn copy(dst: &mut [f64], src: &[f64]) {
    for (d, s) in dst.iter_mut().zip(src) {
        // SAFETY: `s` is a valid reference.
        *d = unsafe { read_volatile(s) };
    }
}

/// `dst = s * src`.
pub(crate) fn scale(dst: &mut [f64], src: &[f64], s: f64) {
    for (d, x) in dst.iter_mut().zip(src) {
        *d = s * *x;
    }
}

/// `dst = x + y`.
pub(crate) fn add(dst: &mut [f64], x: &[f64], y: &[f64]) {
    for ((d, a), b) in dst.iter_mut().zip(x).zip(y) {
        *d = a + b;
    }
}

/// `dst = x + s * y`.
pub(crate) fn triad(dst: &mut [f64], x: &[f64], y: &[f64], s: f64) {
    for ((d, a), b) in dst.iter_mut().zip(x).zip(y) {
        *d = a + s * b;
    }
}

/// `dst = v`.
pub(crate) fn fill(dst: &mut [f64], v: f64) {
    for d in dst.iter_mut() {
        *d = v;
    }
}

/// Sum with four accumulators.
pub(crate) fn sum(src: &[f64]) -> f64 {
    let mut acc = [0.0f64; 4];
    let chunks = src.chunks_exact(4);
    let rest = chunks.remainder();
    for c in chunks {
        for k in 0..4 {
            acc[k] += c[k];
        }
    }
    acc.iter().sum::<f64>() + rest.iter().sum::<f64>()
}
