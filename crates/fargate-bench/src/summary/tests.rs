//! The model's own rules: how a placement is written and read, and how units serialize.

use super::*;

#[test]
fn a_placement_reads_back_what_it_writes_and_orders_by_size_then_arch() {
    let mut all: Vec<Placement> = ["2x4", "1x2 ARM64", "0.25x0.5", "1x2 X86_64", "1x2"]
        .iter()
        .map(|t| t.parse().unwrap())
        .collect();
    all.sort();
    let text: Vec<String> = all.iter().map(ToString::to_string).collect();
    assert_eq!(text, ["0.25x0.5", "1x2", "1x2 X86_64", "1x2 ARM64", "2x4"]);
    let json = serde_json::to_string(&all[3]).unwrap();
    assert_eq!(json, "\"1x2 ARM64\"");
    assert_eq!(serde_json::from_str::<Placement>(&json).unwrap(), all[3]);
    for bad in ["", "1x9", "1x2 SPARC", "1x2 ARM64 x"] {
        assert!(bad.parse::<Placement>().is_err(), "{bad:?}");
    }
}

#[test]
fn units_serialize_as_before() {
    let text = serde_json::to_string(&[Unit::BitsPerSec, Unit::BytesPerSec]).unwrap();
    assert_eq!(text, r#"["bit/s","B/s"]"#);
    assert_eq!(Unit::TransactionsPerSec.format(26164.4), "26164/s");
    assert_eq!(Unit::BitsPerSec.format_per_dollar(2.5e9), "2.5");
}
