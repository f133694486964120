//! Loading and validating whole suites: defaults, presets, overrides and the stored form.

use super::*;

fn parse(text: &str) -> Result<Suite> {
    Suite::from_toml(text)
}

#[test]
fn the_default_suite_is_valid_and_short() {
    let s = Suite::default_suite();
    assert_eq!(SuiteFile::default_suite().validate().unwrap(), s);
    let secs: f64 =
        s.tests.iter().map(TestSpec::expected_secs).sum::<f64>() * f64::from(s.repetitions);
    assert!(secs <= 60.0, "{secs}");
}

#[test]
fn a_suite_may_carry_ecs_settings() {
    let s = parse(
        "sizes = [\"1x2\"]\n[[test]]\nkind = \"tcp-rr\"\n[ecs]\ncluster = \"bench\"\nsubnet = \"subnet-1\"\n",
    )
    .unwrap();
    let ecs = s.ecs.unwrap();
    assert_eq!(
        (ecs.cluster.as_str(), ecs.subnet.as_str()),
        ("bench", "subnet-1")
    );
}

#[test]
fn flags_override_the_suite_where_they_apply() {
    let o = SuiteOverrides {
        tests: vec![TestKind::UDP_STREAM, TestKind::Memory, TestKind::TCP_STREAM],
        duration: Some(3.0),
        receive_wait: Some(ReceiveWait::Block),
        repetitions: Some(2),
        sizes: vec!["0.5x1".into()],
        concurrency: None,
        architectures: vec!["ARM64".into()],
    };
    let s = Suite::load(SuiteSource::Default { ecs: false }, &o).unwrap();
    assert_eq!(s.sizes, [TaskSize::parse("0.5x1").unwrap()]);
    assert_eq!(s.repetitions, 2);
    assert_eq!(s.architectures, [Arch::Arm]);
    assert_eq!(s.tests[0].rate.as_deref(), Some("1G"));
    assert_eq!(s.tests[1].quick, Some(true));
    assert_eq!(s.tests[1].duration, None, "memory has no duration");
    assert_eq!(s.tests[2].receive_wait, Some(ReceiveWait::Block));
    assert_eq!(s.tests[2].duration, Some(3.0));
    let bad = SuiteOverrides {
        duration: Some(-5.0),
        ..Default::default()
    };
    let e = Suite::load(SuiteSource::Default { ecs: false }, &bad)
        .unwrap_err()
        .to_string();
    assert!(e.contains("duration = -5"), "{e}");
}

#[test]
fn presets_and_the_ecs_default_are_valid_and_say_what_they_are() {
    for (name, _, text) in PRESETS {
        let suite = Suite::load(SuiteSource::Preset(name), &Default::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(suite.sizes.len(), 10, "{name}");
        assert!(text.starts_with(&format!("# {name}:")), "{name}");
        assert!(suite.tests.iter().any(|t| t.kind == TestKind::Memory));
    }
    let sizing = Suite::preset("sizing").unwrap();
    let stream = &sizing.tests[0];
    assert!(stream.until_baseline);
    assert_eq!(
        stream.expected_secs(),
        1200.0,
        "planned and priced at its cap"
    );
    let args = stream.probe_args();
    assert!(args.contains(&"--until-baseline".to_owned()), "{args:?}");
    assert!(
        args.windows(2).any(|w| w[0] == "--time" && w[1] == "1200"),
        "{args:?}"
    );
    let ecs = Suite::load(SuiteSource::Default { ecs: true }, &Default::default()).unwrap();
    assert!(ecs.tests[0].until_baseline);
    let e = Suite::preset("fastest").unwrap_err().to_string();
    assert!(e.contains("published-2021, sizing"), "{e}");
}

/// `run.json` stores a suite as its file has it, and reads it back validated: the same
/// suite, sizes and architectures by their names.
#[test]
fn a_stored_suite_reads_back_as_it_was_run() {
    let s = parse(
        "sizes = [\"1X2\", \"0.25x0.5\"]\narchitectures = [\"arm64\", \"x86_64\"]\n\
         [[test]]\nkind = \"tcp-rr\"\n",
    )
    .unwrap();
    assert_eq!(s.architectures, [Arch::Arm, Arch::X86]);
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["sizes"], serde_json::json!(["1x2", "0.25x0.5"]));
    assert_eq!(
        json["architectures"],
        serde_json::json!(["ARM64", "X86_64"])
    );
    assert_eq!(json["test"][0]["kind"], "tcp-rr");
    assert_eq!(serde_json::from_value::<Suite>(json.clone()).unwrap(), s);
    let mut bad = json;
    bad["repetitions"] = serde_json::json!(0);
    let e = serde_json::from_value::<Suite>(bad)
        .unwrap_err()
        .to_string();
    assert!(e.contains("repetitions = 0"), "{e}");
}

/// Issue 24: the `sizing` preset's refill stage is off by default and is the
/// `sizing-refill` preset: the same suite with `refill` on both stream tests, nothing else. The
/// estimate prices the stage: each stream test at its drain and two re-bursts at the 1200 s cap
/// plus 20 minutes idle (4800 s instead of 1200 s), on both of its tasks.
#[test]
fn the_refill_stage_of_sizing_is_off_by_default_and_priced_when_on() {
    use crate::sizes::Prices;
    let sizing = Suite::preset("sizing").unwrap();
    let with_refill = Suite::preset("sizing-refill").unwrap();
    assert!(sizing.tests.iter().all(|t| t.refill.is_empty()));
    let mut stripped = with_refill.clone();
    for t in &mut stripped.tests {
        if t.kind == TestKind::TCP_STREAM {
            assert_eq!(t.refill, ["5m", "15m"], "{}", t.label());
            assert_eq!(t.expected_secs(), 3.0 * 1200.0 + 1200.0);
        }
        t.refill.clear();
    }
    assert_eq!(stripped, sizing, "the refill stage is all that differs");

    let prices = Prices::new(None, None, Arch::X86).unwrap();
    let cost =
        |s: &Suite| crate::estimate::estimate(&crate::plan::expand(s), s.concurrency, &prices);
    let (off, on) = (cost(&sizing), cost(&with_refill));
    assert_eq!(on.tasks, off.tasks);
    // 3 repetitions x 2 stream tests x 2 tasks, each billed 3600 s more, at every size.
    let extra_usd: f64 = sizing
        .sizes
        .iter()
        .map(|size| 12.0 * prices.hourly_for(Arch::X86, *size).unwrap())
        .sum();
    let extra_hours = 10.0 * 12.0;
    assert!(
        (on.task_hours - off.task_hours - extra_hours).abs() < 1e-6,
        "{off:?} {on:?}"
    );
    assert!(
        (on.usd.unwrap() - off.usd.unwrap() - extra_usd).abs() < 1e-6,
        "{off:?} {on:?}"
    );
}

/// Issue 25: the `fleet` preset samples the CPU generation mix cheaply: every size on both
/// architectures, ten repetitions of a quick memory test (one task) and a 10 s stream after a
/// 1 s warm-up (two), each task short enough that Fargate's one-minute minimum is most of its
/// bill, priced in the estimate: 600 tasks, each memory task billed 60 s, each pair 91 s
/// (server: start allowance 20, its client's start 60, the test 11) + 60 s (client, 31 raised
/// to the minimum).
#[test]
fn the_fleet_preset_is_many_short_tasks_on_both_architectures_and_is_priced() {
    use crate::sizes::Prices;
    let fleet = Suite::preset("fleet").unwrap();
    assert_eq!(fleet.architectures, [Arch::X86, Arch::Arm]);
    assert_eq!(fleet.repetitions, 10);
    let kinds: Vec<TestKind> = fleet.tests.iter().map(|t| t.kind).collect();
    assert_eq!(kinds, [TestKind::Memory, TestKind::TCP_STREAM]);
    assert!(fleet.tests.iter().all(|t| t.expected_secs() <= 11.0));
    let prices = Prices::new(None, None, Arch::X86).unwrap();
    let plan = crate::plan::expand(&fleet);
    let e = crate::estimate::estimate(&plan, fleet.concurrency, &prices);
    assert_eq!(e.tasks, 10 * 10 * 2 * 3);
    let per_size_secs = 10.0 * 2.0 * (60.0 + 91.0 + 60.0);
    assert!(
        (e.task_hours - 10.0 * per_size_secs / 3600.0).abs() < 1e-9,
        "{e:?}"
    );
    let by_hand: f64 = (fleet.sizes.iter())
        .flat_map(|size| Arch::ALL.map(|arch| prices.hourly_for(arch, *size).unwrap()))
        .map(|hourly| 10.0 * (60.0 + 91.0 + 60.0) * hourly / 3600.0)
        .sum();
    assert!(
        (e.usd.unwrap() - by_hand).abs() < 1e-9,
        "{e:?} against {by_hand}"
    );
    assert_eq!(
        e.by_arch.len(),
        2,
        "each architecture priced at its own rate"
    );
}

/// Issue 24, item 2: `shared_bucket` drains one direction until its baseline holds, then runs
/// the other in the same test; the probe is told, the server is allowed both phases, and the
/// plan and the estimate count both at the cap.
#[test]
fn a_shared_bucket_test_reaches_the_probe_and_is_priced_at_both_phases() {
    let s = Suite::from_toml(
        "sizes = [\"1x2\"]\n[[test]]\nkind = \"tcp-stream\"\nshared_bucket = true\n\
         baseline_hold = 60\n[[test]]\nkind = \"udp-stream\"\nreverse = true\n\
         shared_bucket = true\nmax_duration = 600\n",
    )
    .unwrap();
    let (t, u) = (&s.tests[0], &s.tests[1]);
    assert_eq!(t.label(), "tcp-stream shared-bucket");
    assert_eq!(u.label(), "udp-stream reverse shared-bucket");
    let args = t.probe_args();
    assert!(args.contains(&"--shared-bucket".to_owned()), "{args:?}");
    assert!(args.contains(&"--until-baseline".to_owned()), "{args:?}");
    assert!(
        args.windows(2).any(|w| w[0] == "--time" && w[1] == "1200"),
        "{args:?}"
    );
    let request = t.client_options().unwrap().to_request().unwrap();
    assert!(request.shared_bucket);
    assert_eq!(request.worst_case_ms(), 2_400_000);
    // Both directions at the cap: over the server's default 1800 s, so it is told.
    assert_eq!(t.expected_secs(), 2.0 * 1200.0);
    assert_eq!(t.server_args(), ["--max-duration", "2400"]);
    assert_eq!(u.expected_secs(), 2.0 * 600.0);
    assert!(u.server_args().is_empty(), "2 x 600 s fits the default cap");
    let udp = u.client_options().unwrap().to_request().unwrap();
    assert_eq!(udp.rate, Some(1_000_000_000), "udp-stream's default rate");

    let plain = Suite::from_toml(
        "sizes = [\"1x2\"]\n[[test]]\nkind = \"tcp-stream\"\nuntil_baseline = true\n",
    )
    .unwrap();
    let prices = crate::sizes::Prices::new(None, None, Arch::X86).unwrap();
    let hours = |s: &Suite| {
        crate::estimate::estimate(&crate::plan::expand(s), s.concurrency, &prices).task_hours
    };
    let one = Suite {
        tests: vec![t.clone()],
        ..s.clone()
    };
    // 3 repetitions x 2 tasks, each billed another 1200 s.
    let extra = hours(&one) - hours(&plain);
    assert!(
        (extra - 3.0 * 2.0 * 1200.0 / 3600.0).abs() < 1e-6,
        "{extra}"
    );
}

/// Issue 24, item 2, bad input: `shared_bucket` where it cannot drain one direction and run
/// the other is refused, naming the key and the fix.
#[test]
fn shared_bucket_where_it_cannot_apply_is_refused_with_the_fix() {
    let test = |keys: &str| format!("sizes=[\"1x2\"]\n[[test]]\n{keys}\nshared_bucket = true\n");
    for (text, needle) in [
        (test("kind = \"tcp-rr\""), "not tcp-rr; remove it"),
        (
            test("kind = \"tcp-stream\"\nbidir = true"),
            "remove `bidir`",
        ),
        (
            test("kind = \"tcp-stream\"\nrefill = [\"4s\"]"),
            "not with `refill` or `rate_profile`",
        ),
        (test("kind = \"tcp-stream\"\nomit = 2"), "remove `omit`"),
        (
            test("kind = \"udp-stream\"\nrate = \"unlimited\""),
            "with a `rate` like \"1G\" on udp-stream",
        ),
        (
            test("kind = \"tcp-stream\"\nduration = 60"),
            "no fixed `duration`",
        ),
        (
            test("kind = \"tcp-stream\"\nmax_duration = 1000\nbaseline_hold = 1000"),
            "shorter than the cap",
        ),
        (
            test("kind = \"memory\""),
            "`shared_bucket` does not apply to memory tests",
        ),
    ] {
        let err = Suite::from_toml(&text).unwrap_err().to_string();
        assert!(err.contains(needle), "{text:?} gave {err}");
        assert!(err.contains("test #1"), "{text:?} gave {err}");
    }
}
