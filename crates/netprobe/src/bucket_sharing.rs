//! One bucket or two (`netprobe client --shared-bucket`): drain the requested direction until
//! its baseline holds, then at once run the other direction until its own baseline holds, and
//! say whether the second found the bucket the first emptied ([`probe_core::bucket_sharing`]).
//!
//! Two tests on one server, back to back (the server must take two: not `--once`): a token
//! bucket belongs to the task's interface, not to a connection, so new connections a moment
//! later meet the same bucket.

use probe_core::report::Direction;
use probe_core::Report;

use crate::client::{run_test, ClientConfig};
use crate::error::Result;
use crate::protocol::Flow;

/// Runs the drain, then the other direction; returns the drain's report with the other
/// direction's regime and the verdict in `metrics.bucket_sharing`, and the other run's
/// warnings (marked as such).
///
/// # Errors
/// Whatever either test's [`run_test`] returns (a `--once` server is gone for the second).
pub async fn run(config: &ClientConfig) -> Result<Report> {
    let mut report = run_test(config).await?;
    let mut other = config.clone();
    other.request.flow = match config.request.flow {
        Flow::Reverse => Flow::Forward,
        _ => Flow::Reverse,
    };
    let other_report = run_test(&other).await?;
    let drained = match config.request.flow {
        Flow::Reverse => Direction::ServerToClient,
        _ => Direction::ClientToServer,
    };
    let regime_of = |r: &Report| {
        r.metrics
            .throughput
            .first()
            .and_then(|t| t.regime.clone())
            .unwrap_or(probe_core::regime::Regime::Undecided {
                ran_ns: r.measured_duration_ns,
                why: "no throughput was measured".into(),
            })
    };
    report.metrics.bucket_sharing = Some(probe_core::bucket_sharing::analyze(
        drained,
        &regime_of(&report),
        &regime_of(&other_report),
    ));
    report.warnings.extend(
        other_report
            .warnings
            .into_iter()
            .map(|w| format!("the other direction: {w}")),
    );
    Ok(report)
}
