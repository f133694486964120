//! A task's output from CloudWatch Logs, read again until its result line shows up: the log
//! is eventually consistent, and the awslogs driver ships a batch every 5 s.

use std::time::Duration;

use super::api::EcsApi;
use super::logs::{LogSource, ReadEnd, Settle};
use super::EcsPlatform;
use crate::error::Result;
use crate::platform::poll::{self, Backoff};
use crate::platform::TaskId;

/// How long CloudWatch Logs is given to show a finished task's result line, counted in answered
/// reads ([`Settle`]): a read queued behind the limiter does not use it up.
pub(super) const LOG_SETTLE: Duration = Duration::from_secs(30);

/// How long a finished task's log is read at most, whatever the queue.
pub(super) const LOG_GIVE_UP: Duration = Duration::from_secs(600);

/// How often a finished task's log is read again while its result line has not shown up: from
/// 1 s, doubling to 5 s, the awslogs driver's own batch interval (nothing can show up faster).
pub(super) const LOG_REREAD: Backoff =
    Backoff::exponential(Duration::from_secs(1), Duration::from_secs(5));

fn has_result(lines: &[String]) -> bool {
    lines
        .iter()
        .any(|l| l.contains(probe_core::result_line::MARKER))
}

impl<A: EcsApi, L: LogSource> EcsPlatform<A, L> {
    /// Every line the task wrote, once its result line is there (or the log has settled
    /// without one, or [`LOG_GIVE_UP`] has passed).
    pub(super) async fn read_output(&self, task: &TaskId) -> Result<Vec<String>> {
        let t = self.arn_of(task)?;
        // A task that never ran has nothing on its way: one answered read says all.
        let never_ran = t.started.is_none();
        let settle = std::sync::Mutex::new(Settle::new(LOG_SETTLE, LOG_GIVE_UP));
        let last = std::sync::Mutex::new(Vec::new());
        // Each ask reads until it has taken every page there is (a read yields after its share
        // of pages; the limiter keeps the turns fair meanwhile); between asks, LOG_REREAD.
        let found = poll::until(LOG_GIVE_UP, LOG_REREAD, || async {
            loop {
                let (lines, end) = self.read_log(&t.arn).await?;
                let done = {
                    let mut settle = settle.lock().expect("settle lock");
                    settle.read(end);
                    let answered = end != ReadEnd::Throttled && end != ReadEnd::MorePages;
                    has_result(&lines) || (never_ran && answered) || settle.done()
                };
                if done {
                    return Ok(Some(lines));
                }
                *last.lock().expect("lines lock") = lines;
                if end != ReadEnd::MorePages {
                    return Ok(None);
                }
            }
        })
        .await?;
        Ok(found.unwrap_or_else(|| last.into_inner().expect("lines lock")))
    }
}
