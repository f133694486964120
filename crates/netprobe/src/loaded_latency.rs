//! Latency under load around the data plane: the client's probe round trips and the sender's
//! retransmits per interval turned into [`probe_core::loaded_latency`]'s input, read against the
//! stream's regime.

use probe_core::loaded_latency::{self, ProbeSeries};
use probe_core::Report;

use crate::data::load_probe::LOST;
use crate::protocol::{Flow, SideResult, TestRequest};

/// Adds the latency-under-load answer to the client's `report` of a test that asked for one:
/// `probe_rtt_ns` is what the client's prober recorded (or why it failed), `sender` the side
/// that sent the stream. A probe that failed leaves the stream's figures as they are and says
/// why in a warning.
pub(crate) fn add(
    report: &mut Report,
    req: &TestRequest,
    probe_rtt_ns: Result<&[u32], &str>,
    sender: &SideResult,
) {
    let Some(per_sec) = req.latency_under_load else {
        return;
    };
    let rtt = match probe_rtt_ns {
        Ok(rtt) => rtt,
        Err(why) => {
            report.warnings.push(format!(
                "latency under load not measured: the probe failed ({why}); the stream's \
                 figures stand"
            ));
            return;
        }
    };
    let Some(t) = report.metrics.throughput.first() else {
        return;
    };
    let Some(regime) = t.regime.as_ref() else {
        return;
    };
    let rtt: Vec<Option<u64>> = rtt
        .iter()
        .map(|r| (*r != LOST).then_some(u64::from(*r)))
        .collect();
    let segment_bytes = sender
        .streams
        .iter()
        .filter(|s| s.sender)
        .find_map(|s| s.tcp_info.map(|t| t.snd_mss_bytes))
        .filter(|mss| *mss > 0);
    let series = ProbeSeries {
        per_sec: f64::from(per_sec),
        rtt_ns: &rtt,
        interval_ns: req.interval_ms.saturating_mul(1_000_000),
        interval_retransmits: sender.interval_retransmits.as_deref(),
        segment_bytes,
    };
    let found = loaded_latency::analyze(&series, regime, t.measured_ns);
    report.metrics.latency_under_load = Some(found);
}

/// Which side sent the stream of a one-direction `tcp-stream`: the client unless reversed.
pub(crate) fn client_sends(req: &TestRequest) -> bool {
    req.flow != Flow::Reverse
}
