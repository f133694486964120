//! Quantities with `k`/`M`/`G` suffixes, parsed one way everywhere.
//!
//! Byte sizes take binary suffixes (`128K` = 131,072 bytes, as iperf3 and the kernel count
//! buffers); rates take decimal ones (`1G` = 10^9 bit/s, as links are sold). A fraction is
//! allowed where the result is a whole number (`1.5K` = 1536 bytes), so `0.0001` is refused
//! rather than silently rounded to nothing.

use crate::error::{CoreError, Result};

/// Largest rate accepted anywhere: 10 Tbit/s (or 10^13 requests per second), far above any
/// link a task has; `1e30` is a typo, not a rate.
pub const MAX_RATE: u64 = 10_000_000_000_000;

/// `128K` = 131,072; `1M` = 1,048,576; `1400` = 1400. At least 1 byte.
///
/// # Errors
/// [`CoreError::Quantity`] naming the text and an example of a valid one.
pub fn parse_bytes(text: &str) -> Result<u64> {
    let value = parse(text, 1024.0, "a size like 1400, 128K or 1M")?;
    if !(1.0..=u64::MAX as f64).contains(&value) || value.fract() != 0.0 {
        return Err(bad(
            text,
            "is not a whole number of bytes of at least 1; give a size like 1400, 128K or 1M",
        ));
    }
    Ok(value as u64)
}

/// Like [`parse_bytes`], for sizes that must fit 32 bits (socket buffers, messages).
///
/// # Errors
/// [`CoreError::Quantity`] when the text is not a size or the size is 4 GiB or more.
pub fn parse_bytes_u32(text: &str) -> Result<u32> {
    let bytes = parse_bytes(text)?;
    u32::try_from(bytes).map_err(|_| bad(text, "is 4 GiB or more; give a size below 4G"))
}

/// `1G` = 10^9; `500M` = 5 x 10^8; `20000` = 20,000. From 1 to [`MAX_RATE`].
///
/// # Errors
/// [`CoreError::Quantity`] naming the text and the range.
pub fn parse_rate(text: &str) -> Result<u64> {
    let value = parse(text, 1000.0, "a rate like 20000, 500M or 1G")?;
    if !(1.0..=MAX_RATE as f64).contains(&value) {
        return Err(bad(
            text,
            "is out of range; give a rate from 1 to 10T, like 20000, 500M or 1G",
        ));
    }
    Ok(value.round() as u64)
}

/// A time as milliseconds: `30s`, `2m`, `1h`, `500ms`, `1.5s`, or bare seconds (`120`).
/// Negative times, `1e3` and the like are refused; zero is left to the caller (a zero idle time
/// parses, and the caller says why it is no good).
///
/// # Errors
/// [`CoreError::Quantity`] naming the text and an example of a valid one.
pub fn parse_duration_ms(text: &str) -> Result<u64> {
    const EXAMPLE: &str = "give a time like 30s, 2m, 500ms or 1.5h";
    let t = text.trim();
    if t.starts_with('-') {
        return Err(bad(text, &format!("is a negative time; {EXAMPLE}")));
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let ms_per_unit = match unit.trim() {
        "ms" => 1.0,
        "" | "s" | "sec" | "secs" => 1e3,
        "m" | "min" | "mins" => 60e3,
        "h" | "hour" | "hours" => 3600e3,
        _ => return Err(bad(text, &format!("is not a time; {EXAMPLE}"))),
    };
    let plain = digits.bytes().any(|b| b.is_ascii_digit())
        && digits.bytes().filter(|b| *b == b'.').count() <= 1;
    let number: f64 = match digits.parse() {
        Ok(n) if plain => n,
        _ => return Err(bad(text, &format!("is not a time; {EXAMPLE}"))),
    };
    let ms = number * ms_per_unit;
    // A week is far beyond any test; past it the number is a typo.
    if ms > 7.0 * 86_400e3 {
        return Err(bad(text, &format!("is longer than a week; {EXAMPLE}")));
    }
    if ms.fract() != 0.0 {
        return Err(bad(
            text,
            &format!("is not a whole number of milliseconds; {EXAMPLE}"),
        ));
    }
    Ok(ms as u64)
}

fn parse(text: &str, base: f64, example: &str) -> Result<f64> {
    let t = text.trim();
    let (digits, mult) = match t.chars().last() {
        Some('k' | 'K') => (&t[..t.len() - 1], base),
        Some('m' | 'M') => (&t[..t.len() - 1], base * base),
        Some('g' | 'G') => (&t[..t.len() - 1], base * base * base),
        Some('t' | 'T') => (&t[..t.len() - 1], base * base * base * base),
        _ => (t, 1.0),
    };
    // Plain decimal notation only: `1e30` or `inf` are typos in a size or a rate.
    let plain = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && digits.bytes().filter(|b| *b == b'.').count() <= 1
        && digits.bytes().any(|b| b.is_ascii_digit());
    if !plain {
        return Err(bad(
            text,
            &format!("is not a number with an optional k/M/G suffix; give {example}"),
        ));
    }
    let number: f64 = digits.parse().map_err(|_| {
        bad(
            text,
            &format!("is not a number with an optional k/M/G suffix; give {example}"),
        )
    })?;
    Ok(number * mult)
}

fn bad(text: &str, why: &str) -> CoreError {
    CoreError::Quantity {
        text: text.to_owned(),
        why: why.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_binary_and_rates_decimal() {
        assert_eq!(parse_bytes("128K").unwrap(), 131_072);
        assert_eq!(parse_bytes("1400").unwrap(), 1400);
        assert_eq!(parse_bytes("1.5k").unwrap(), 1536);
        assert_eq!(parse_bytes("2G").unwrap(), 2 << 30);
        assert_eq!(parse_rate("1G").unwrap(), 1_000_000_000);
        assert_eq!(parse_rate("500M").unwrap(), 500_000_000);
        assert_eq!(parse_rate("2.5k").unwrap(), 2500);
    }

    #[test]
    fn times_take_units_and_bare_seconds() {
        for (text, ms) in [
            ("30s", 30_000),
            ("4s", 4_000),
            ("120", 120_000),
            ("2m", 120_000),
            ("1.5h", 5_400_000),
            ("500ms", 500),
            ("0.25s", 250),
            (" 20 s", 20_000),
            ("0s", 0),
        ] {
            assert_eq!(parse_duration_ms(text).unwrap(), ms, "{text}");
        }
        for (text, why) in [
            ("-4s", "negative"),
            ("soon", "not a time"),
            ("4 parsecs", "not a time"),
            ("", "not a time"),
            ("1e3s", "not a time"),
            ("1.2.3s", "not a time"),
            ("0.5ms", "whole number"),
            ("200h", "week"),
        ] {
            let e = parse_duration_ms(text).unwrap_err().to_string();
            assert!(
                e.contains(&format!("{text:?}")) && e.contains(why),
                "{text}: {e}"
            );
        }
    }

    #[test]
    fn nonsense_is_refused_with_the_text() {
        for text in [
            "lots", "-1", "", "1e30", "inf", "NaN", "1..2K", "K", "0", "0.0001", "0.5",
        ] {
            let e = parse_bytes(text).unwrap_err().to_string();
            assert!(e.contains(&format!("{text:?}")), "{text}: {e}");
        }
        for text in ["1e30", "0", "-5", "fast", "11T"] {
            assert!(parse_rate(text).is_err(), "{text}");
        }
        assert!(parse_bytes_u32("4G")
            .unwrap_err()
            .to_string()
            .contains("4 GiB"));
        assert_eq!(parse_bytes_u32("16M").unwrap(), 16 << 20);
    }
}
