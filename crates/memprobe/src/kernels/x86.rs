//! x86_64 kernels: AVX-512, AVX2 and SSE2, each with cached and non-temporal stores.
//!
//! Loads and cached stores are volatile vector accesses: they compile to one aligned vector
//! move each, and volatility stops the compiler from replacing a copy loop with `memcpy`
//! (whose own non-temporal threshold would then decide what we measure) or from dropping a
//! pass whose result is unused. Non-temporal stores are fenced (`sfence`) before the caller
//! stops the clock.
//!
//! Every function here requires: `dst`/`src` valid for `n` elements, aligned to the vector
//! width, and the named CPU feature present (checked by [`super::Isa::detect`]).

macro_rules! simd_kernels {
    (
        $name:ident, $feat:literal, $V:ty, $lanes:expr,
        $stream:ident, $set1:ident, $add:ident, $mul:ident, $zero:ident
    ) => {
        pub(crate) mod $name {
            use std::arch::x86_64::*;
            use std::ptr::{read_volatile, write_volatile};

            const L: usize = $lanes;

            macro_rules! get {
                ($p:expr) => {
                    read_volatile($p.cast::<$V>())
                };
            }
            macro_rules! put {
                ($nt:expr, $p:expr, $v:expr) => {
                    if $nt {
                        $stream($p, $v)
                    } else {
                        write_volatile($p.cast::<$V>(), $v)
                    }
                };
            }

            /// `dst = src`.
            #[target_feature(enable = $feat)]
            pub(crate) unsafe fn copy<const NT: bool>(dst: *mut f64, src: *const f64, n: usize) {
                // SAFETY: the module contract (valid, aligned, feature present).
                unsafe {
                    let body = n - n % L;
                    let mut i = 0;
                    while i < body {
                        put!(NT, dst.add(i), get!(src.add(i)));
                        i += L;
                    }
                    while i < n {
                        *dst.add(i) = *src.add(i);
                        i += 1;
                    }
                    if NT {
                        _mm_sfence();
                    }
                }
            }

            /// `dst = s * src`.
            #[target_feature(enable = $feat)]
            pub(crate) unsafe fn scale<const NT: bool>(
                dst: *mut f64,
                src: *const f64,
                s: f64,
                n: usize,
            ) {
                // SAFETY: the module contract.
                unsafe {
                    let sv = $set1(s);
                    let body = n - n % L;
                    let mut i = 0;
                    while i < body {
                        put!(NT, dst.add(i), $mul(sv, get!(src.add(i))));
                        i += L;
                    }
                    while i < n {
                        *dst.add(i) = s * *src.add(i);
                        i += 1;
                    }
                    if NT {
                        _mm_sfence();
                    }
                }
            }

            /// `dst = x + y`.
            #[target_feature(enable = $feat)]
            pub(crate) unsafe fn add<const NT: bool>(
                dst: *mut f64,
                x: *const f64,
                y: *const f64,
                n: usize,
            ) {
                // SAFETY: the module contract.
                unsafe {
                    let body = n - n % L;
                    let mut i = 0;
                    while i < body {
                        put!(NT, dst.add(i), $add(get!(x.add(i)), get!(y.add(i))));
                        i += L;
                    }
                    while i < n {
                        *dst.add(i) = *x.add(i) + *y.add(i);
                        i += 1;
                    }
                    if NT {
                        _mm_sfence();
                    }
                }
            }

            /// `dst = x + s * y`.
            #[target_feature(enable = $feat)]
            pub(crate) unsafe fn triad<const NT: bool>(
                dst: *mut f64,
                x: *const f64,
                y: *const f64,
                s: f64,
                n: usize,
            ) {
                // SAFETY: the module contract.
                unsafe {
                    let sv = $set1(s);
                    let body = n - n % L;
                    let mut i = 0;
                    while i < body {
                        put!(
                            NT,
                            dst.add(i),
                            $add(get!(x.add(i)), $mul(sv, get!(y.add(i))))
                        );
                        i += L;
                    }
                    while i < n {
                        *dst.add(i) = *x.add(i) + s * *y.add(i);
                        i += 1;
                    }
                    if NT {
                        _mm_sfence();
                    }
                }
            }

            /// `dst = v` everywhere.
            #[target_feature(enable = $feat)]
            pub(crate) unsafe fn fill<const NT: bool>(dst: *mut f64, v: f64, n: usize) {
                // SAFETY: the module contract.
                unsafe {
                    let vv = $set1(v);
                    let body = n - n % L;
                    let mut i = 0;
                    while i < body {
                        put!(NT, dst.add(i), vv);
                        i += L;
                    }
                    while i < n {
                        *dst.add(i) = v;
                        i += 1;
                    }
                    if NT {
                        _mm_sfence();
                    }
                }
            }

            /// Sum of `src`, with four independent accumulators so loads are not serialised
            /// behind one dependency chain of additions.
            #[target_feature(enable = $feat)]
            pub(crate) unsafe fn sum(src: *const f64, n: usize) -> f64 {
                // SAFETY: the module contract.
                unsafe {
                    let (mut s0, mut s1, mut s2, mut s3) = ($zero(), $zero(), $zero(), $zero());
                    let body = n - n % (4 * L);
                    let mut i = 0;
                    while i < body {
                        s0 = $add(s0, get!(src.add(i)));
                        s1 = $add(s1, get!(src.add(i + L)));
                        s2 = $add(s2, get!(src.add(i + 2 * L)));
                        s3 = $add(s3, get!(src.add(i + 3 * L)));
                        i += 4 * L;
                    }
                    let lanes: [f64; L] = std::mem::transmute($add($add(s0, s1), $add(s2, s3)));
                    let mut total: f64 = lanes.iter().sum();
                    while i < n {
                        total += *src.add(i);
                        i += 1;
                    }
                    total
                }
            }
        }
    };
}

simd_kernels!(
    avx512,
    "avx512f",
    __m512d,
    8,
    _mm512_stream_pd,
    _mm512_set1_pd,
    _mm512_add_pd,
    _mm512_mul_pd,
    _mm512_setzero_pd
);
simd_kernels!(
    avx2,
    "avx2",
    __m256d,
    4,
    _mm256_stream_pd,
    _mm256_set1_pd,
    _mm256_add_pd,
    _mm256_mul_pd,
    _mm256_setzero_pd
);
simd_kernels!(
    sse2,
    "sse2",
    __m128d,
    2,
    _mm_stream_pd,
    _mm_set1_pd,
    _mm_add_pd,
    _mm_mul_pd,
    _mm_setzero_pd
);
