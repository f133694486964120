//! Nanosecond latency histograms that merge losslessly and travel as standard HdrHistogram blobs.

use base64::Engine as _;
use hdrhistogram::serialization::{Deserializer, Serializer as _, V2DeflateSerializer};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize, Serializer};

use crate::error::{CoreError, Result};

/// Significant decimal digits kept for every latency histogram: 0.1 % value resolution, which is
/// below the run-to-run noise of any network or memory latency we measure.
pub const SIGNIFICANT_DIGITS: u8 = 3;

/// Largest value the histogram holds without resizing: 100 s, beyond any timeout we use.
pub const PREALLOCATED_MAX_NS: u64 = 100_000_000_000;

/// An HdrHistogram of nanosecond values with 3 significant digits that grows as needed.
///
/// Serialized in JSON as a string: base64 (standard alphabet, padded) of the HdrHistogram V2
/// encoding compressed with DEFLATE, the format `HistogramLogReader` and the Java, C, Go and
/// Python implementations read. Percentiles of several streams, tasks or runs are computed by
/// [`merge`](Self::merge)-ing histograms, never by averaging percentiles.
#[derive(Clone)]
pub struct LatencyHistogram {
    inner: Histogram<u64>,
}

impl std::fmt::Debug for LatencyHistogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LatencyHistogram")
            .field("count", &self.inner.len())
            .field("min", &self.inner.min())
            .field("max", &self.inner.max())
            .finish()
    }
}

impl PartialEq for LatencyHistogram {
    fn eq(&self, other: &Self) -> bool {
        self.inner == other.inner
    }
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl LatencyHistogram {
    /// An empty histogram, sized up front for values up to [`PREALLOCATED_MAX_NS`] so that
    /// recording in a measurement loop never allocates; larger values still fit (it resizes).
    pub fn new() -> Self {
        let mut inner = Histogram::new_with_bounds(1, PREALLOCATED_MAX_NS, SIGNIFICANT_DIGITS)
            .expect("bounds and 3 significant digits are valid");
        inner.auto(true);
        Self { inner }
    }

    /// Records one value in nanoseconds. Never fails and never drops a value: the histogram
    /// resizes itself, and only a value beyond the largest representable (about 2^62) is clamped.
    #[inline]
    pub fn record(&mut self, value_ns: u64) {
        self.record_n(value_ns, 1);
    }

    /// Records `count` occurrences of one value.
    #[inline]
    pub fn record_n(&mut self, value_ns: u64, count: u64) {
        if self.inner.record_n(value_ns, count).is_err() {
            self.inner.saturating_record_n(value_ns, count);
        }
    }

    /// Adds every value of `other` into `self`, exactly as if they had been recorded here.
    ///
    /// # Errors
    /// Only if the merged range cannot be represented, which auto-resizing histograms avoid.
    pub fn merge(&mut self, other: &LatencyHistogram) -> Result<()> {
        self.inner
            .add(&other.inner)
            .map_err(|e| CoreError::HistogramMerge {
                reason: format!("{e:?}"),
            })
    }

    /// Number of recorded values.
    pub fn count(&self) -> u64 {
        self.inner.len()
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// Value at quantile `q` in `[0, 1]`, in nanoseconds (0 for an empty histogram).
    pub fn value_at_quantile(&self, q: f64) -> u64 {
        self.inner.value_at_quantile(q.clamp(0.0, 1.0))
    }

    /// The underlying HdrHistogram, for tools that want every bucket.
    pub fn as_hdr(&self) -> &Histogram<u64> {
        &self.inner
    }

    /// The summary every report shows, or `None` when nothing was recorded (an empty histogram
    /// has no minimum, mean or percentiles, and reports leave such values out).
    pub fn summary(&self) -> Option<HistogramSummary> {
        if self.inner.is_empty() {
            return None;
        }
        let h = &self.inner;
        Some(HistogramSummary {
            count: h.len(),
            min_ns: h.min(),
            mean_ns: h.mean(),
            stddev_ns: h.stdev(),
            p50_ns: h.value_at_quantile(0.50),
            p90_ns: h.value_at_quantile(0.90),
            p99_ns: h.value_at_quantile(0.99),
            p99_9_ns: h.value_at_quantile(0.999),
            p99_99_ns: h.value_at_quantile(0.9999),
            max_ns: h.max(),
        })
    }

    /// Base64 of the V2+DEFLATE encoding.
    pub fn to_base64(&self) -> String {
        let mut bytes = Vec::new();
        V2DeflateSerializer::new()
            .serialize(&self.inner, &mut bytes)
            .expect("serializing into a Vec cannot fail");
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    /// Decodes base64 of the V2 (optionally DEFLATE-compressed) encoding.
    ///
    /// # Errors
    /// [`CoreError::HistogramDecode`] if the text is not base64 or not an HdrHistogram.
    pub fn from_base64(text: &str) -> Result<Self> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|e| CoreError::HistogramDecode {
                reason: format!("not base64: {e}"),
            })?;
        let mut inner: Histogram<u64> = Deserializer::new()
            .deserialize(&mut bytes.as_slice())
            .map_err(|e| CoreError::HistogramDecode {
                reason: format!("not an HdrHistogram V2 encoding: {e:?}"),
            })?;
        inner.auto(true);
        Ok(Self { inner })
    }
}

impl Serialize for LatencyHistogram {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_base64())
    }
}

impl<'de> Deserialize<'de> for LatencyHistogram {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        LatencyHistogram::from_base64(&text).map_err(serde::de::Error::custom)
    }
}

/// Count, extremes, mean, spread and tail percentiles of one histogram, in nanoseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistogramSummary {
    /// Number of values.
    pub count: u64,
    /// Smallest value.
    pub min_ns: u64,
    /// Arithmetic mean.
    pub mean_ns: f64,
    /// Population standard deviation.
    pub stddev_ns: f64,
    /// Median.
    pub p50_ns: u64,
    /// 90th percentile.
    pub p90_ns: u64,
    /// 99th percentile.
    pub p99_ns: u64,
    /// 99.9th percentile.
    pub p99_9_ns: u64,
    /// 99.99th percentile.
    pub p99_99_ns: u64,
    /// Largest value.
    pub max_ns: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn from_values(values: &[u64]) -> LatencyHistogram {
        let mut h = LatencyHistogram::new();
        for &v in values {
            h.record(v);
        }
        h
    }

    #[test]
    fn empty_histogram_has_no_summary() {
        assert!(LatencyHistogram::new().summary().is_none());
    }

    #[test]
    fn summary_percentiles_are_within_three_significant_digits() {
        let h = from_values(&(1..=10_000).collect::<Vec<_>>());
        let s = h.summary().unwrap();
        assert_eq!(s.count, 10_000);
        assert_eq!(s.min_ns, 1);
        assert!((s.p50_ns as f64 - 5000.0).abs() <= 5.0, "{}", s.p50_ns);
        assert!((s.p99_ns as f64 - 9900.0).abs() <= 10.0, "{}", s.p99_ns);
        assert!((s.max_ns as f64 - 10_000.0).abs() <= 10.0);
        assert!((s.mean_ns - 5000.5).abs() < 5.0);
    }

    #[test]
    fn base64_round_trip_keeps_every_bucket() {
        let h = from_values(&[1, 10, 100, 1_000, 1_000_000, 5_000_000_000]);
        let back = LatencyHistogram::from_base64(&h.to_base64()).unwrap();
        assert_eq!(back, h);
    }

    #[test]
    fn garbage_is_a_decode_error() {
        assert!(matches!(
            LatencyHistogram::from_base64("%%%"),
            Err(CoreError::HistogramDecode { .. })
        ));
        assert!(matches!(
            LatencyHistogram::from_base64("aGVsbG8="),
            Err(CoreError::HistogramDecode { .. })
        ));
    }

    proptest! {
        #[test]
        fn merge_equals_recording_everything_in_one(
            a in prop::collection::vec(1u64..10_000_000_000, 0..200),
            b in prop::collection::vec(1u64..10_000_000_000, 0..200),
            c in prop::collection::vec(1u64..10_000_000_000, 0..200),
        ) {
            let (ha, hb, hc) = (from_values(&a), from_values(&b), from_values(&c));
            // (a + b) + c
            let mut left = ha.clone();
            left.merge(&hb).unwrap();
            left.merge(&hc).unwrap();
            // a + (b + c)
            let mut bc = hb.clone();
            bc.merge(&hc).unwrap();
            let mut right = ha.clone();
            right.merge(&bc).unwrap();
            // c + b + a
            let mut reversed = hc.clone();
            reversed.merge(&hb).unwrap();
            reversed.merge(&ha).unwrap();
            let all: Vec<u64> = a.iter().chain(&b).chain(&c).copied().collect();
            let whole = from_values(&all);
            for q in [0.0, 0.5, 0.9, 0.99, 1.0] {
                prop_assert_eq!(left.value_at_quantile(q), right.value_at_quantile(q));
                prop_assert_eq!(left.value_at_quantile(q), reversed.value_at_quantile(q));
                prop_assert_eq!(left.value_at_quantile(q), whole.value_at_quantile(q));
            }
            prop_assert_eq!(left.count(), whole.count());
            prop_assert_eq!(left.summary(), whole.summary());
        }

        #[test]
        fn quantiles_are_monotonic(values in prop::collection::vec(1u64..1_000_000_000, 1..300)) {
            let h = from_values(&values);
            let mut last = 0;
            for i in 0..=100 {
                let v = h.value_at_quantile(i as f64 / 100.0);
                prop_assert!(v >= last);
                last = v;
            }
        }
    }
}
