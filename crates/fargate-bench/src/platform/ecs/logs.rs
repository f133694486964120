//! Task output from CloudWatch Logs (the `awslogs` driver, blocking mode), read within the
//! account's GetLogEvents quota.
//!
//! GetLogEvents allows 10 calls per second per account and Region and the quota cannot be raised
//! (CloudWatch Logs quotas). So every page is read through the process-wide
//! [`RateLimiter`]; each task keeps a [`LogCursor`], so a later read
//! asks only for what is new (one call when nothing is); and throttling means "not yet": what
//! was read is kept and the next read resumes where this one stopped, never a failed item.
//!
//! Paging follows the GetLogEvents reference: "Partially full or empty pages don't necessarily
//! mean that pagination is finished. As long as the nextBackwardToken or nextForwardToken
//! returned is NOT equal to the nextToken that you passed into the API call, there might be more
//! log events available", and a `startTime` (the task's creation) "to reduce the chances of
//! empty pages".

use std::future::Future;

use aws_sdk_cloudwatchlogs::error::{DisplayErrorContext, ProvideErrorMetadata};

use super::api::EcsApi;
use super::limiter::RateLimiter;
use super::sdk::is_throttling;
use super::taskdef::log_stream;
use super::{err, EcsPlatform};
use crate::error::Result;

/// Pages one read may take before it yields (a result line is at most a few events; a page
/// holds up to 10,000): the rest is read on the next call, the quota shared fairly meanwhile.
const MAX_PAGES_PER_READ: usize = 20;

/// One page of a stream, as GetLogEvents answers it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogPage {
    /// The events' messages, oldest first.
    pub messages: Vec<String>,
    /// `nextForwardToken`.
    pub next_forward: Option<String>,
}

/// A failed GetLogEvents call, reduced to what the reader decides on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFailure {
    /// AWS's error code (`ThrottlingException`, `ResourceNotFoundException`...).
    pub code: Option<String>,
    /// AWS's message.
    pub message: Option<String>,
    /// The whole error, for the user.
    pub detail: String,
}

/// Where pages come from: CloudWatch Logs through the SDK, or a test's script.
pub trait LogSource: Send + Sync {
    /// One GetLogEvents call on `stream`, from the head (at `start_ms`) or from `token`.
    fn page(
        &self,
        stream: &str,
        start_ms: Option<i64>,
        token: Option<&str>,
    ) -> impl Future<Output = std::result::Result<LogPage, LogFailure>> + Send;

    /// Whether the log group every task writes to exists (DescribeLogGroups). A script that
    /// does not say has one.
    fn group_exists(&self) -> impl Future<Output = std::result::Result<bool, LogFailure>> + Send {
        async { Ok(true) }
    }
}

/// An SDK error reduced to what the reader decides on.
fn log_failure<E>(e: aws_sdk_cloudwatchlogs::error::SdkError<E>) -> LogFailure
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
{
    LogFailure {
        code: e.code().map(str::to_owned),
        message: e.message().map(str::to_owned),
        detail: DisplayErrorContext(&e).to_string(),
    }
}

/// The SDK's CloudWatch Logs client on one log group.
#[derive(Debug, Clone)]
pub struct SdkLogs {
    /// The client.
    pub client: aws_sdk_cloudwatchlogs::Client,
    /// The log group every task writes to.
    pub group: String,
}

impl LogSource for SdkLogs {
    async fn page(
        &self,
        stream: &str,
        start_ms: Option<i64>,
        token: Option<&str>,
    ) -> std::result::Result<LogPage, LogFailure> {
        let out = self
            .client
            .get_log_events()
            .log_group_name(&self.group)
            .log_stream_name(stream)
            // "If you are using a previous nextForwardToken value as the nextToken in this
            // operation, you must specify true for startFromHead" (GetLogEvents).
            .start_from_head(true)
            .set_start_time(start_ms)
            .set_next_token(token.map(str::to_owned))
            .send()
            .await
            .map_err(log_failure)?;
        Ok(LogPage {
            messages: out
                .events()
                .iter()
                .filter_map(|e| e.message())
                .map(|m| m.trim_end().to_owned())
                .collect(),
            next_forward: out.next_forward_token().map(str::to_owned),
        })
    }

    async fn group_exists(&self) -> std::result::Result<bool, LogFailure> {
        let out = self
            .client
            .describe_log_groups()
            .log_group_name_prefix(&self.group)
            .send()
            .await
            .map_err(log_failure)?;
        Ok(out
            .log_groups()
            .iter()
            .any(|g| g.log_group_name() == Some(self.group.as_str())))
    }
}

/// How far one task's log has been read.
#[derive(Debug, Clone, Default)]
pub struct LogCursor {
    /// Every line read so far.
    pub lines: Vec<String>,
    /// The forward token to resume from (`None`: from the head).
    token: Option<String>,
    /// GetLogEvents calls made for this task.
    pub calls: u32,
    /// Of those, the ones CloudWatch Logs throttled.
    pub throttled: u32,
}

/// How a read ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadEnd {
    /// The forward token stopped moving: everything written so far is in the cursor.
    UpToDate,
    /// The stream does not exist yet (the container has written nothing).
    NoStream,
    /// CloudWatch Logs throttled the call (after the SDK's own retries): not yet.
    Throttled,
    /// The read took its share of pages; more may follow.
    MorePages,
}

/// Reads what is new in `stream` into `cursor`, each page through `limiter`. A missing log
/// group is the only error besides AWS's own (other than throttling), and it is the caller's to
/// tell apart (moto names the group for a missing stream too).
///
/// # Errors
/// A GetLogEvents error other than throttling or a missing stream.
pub async fn advance<S: LogSource>(
    source: &S,
    limiter: &RateLimiter,
    stream: &str,
    start_ms: Option<i64>,
    cursor: &mut LogCursor,
) -> std::result::Result<ReadEnd, LogFailure> {
    for _ in 0..MAX_PAGES_PER_READ {
        let turn = limiter.acquire().await;
        cursor.calls += 1;
        let asked = cursor.token.clone();
        let answer = source.page(stream, start_ms, asked.as_deref()).await;
        drop(turn);
        let page = match answer {
            Ok(page) => page,
            Err(f) if f.code.as_deref().is_some_and(is_throttling) => {
                cursor.throttled += 1;
                return Ok(ReadEnd::Throttled);
            }
            Err(f)
                if f.code.as_deref() == Some("ResourceNotFoundException")
                    && !names_the_group(f.message.as_deref()) =>
            {
                return Ok(ReadEnd::NoStream);
            }
            Err(f) => return Err(f),
        };
        cursor.lines.extend(page.messages);
        match page.next_forward {
            // The token stopped moving (or there is none): the end, for now.
            None => return Ok(ReadEnd::UpToDate),
            Some(next) if Some(&next) == asked.as_ref() => return Ok(ReadEnd::UpToDate),
            Some(next) => cursor.token = Some(next),
        }
    }
    Ok(ReadEnd::MorePages)
}

/// When to stop waiting for a finished task's result line.
///
/// Time alone is not the measure: at a high concurrency every read waits its turn at the
/// limiter, and a 30 s wall-clock allowance could pass before a task's second read came back
/// (48 pairs at concurrency 16 lost one result that way). So the wait ends only once reads that
/// CloudWatch Logs answered (not throttled) span `settle` from the first such answer and number
/// at least [`SETTLE_ANSWERS`]; or, whatever happened, after `give_up`.
#[derive(Debug, Clone)]
pub struct Settle {
    began: tokio::time::Instant,
    first_answer: Option<tokio::time::Instant>,
    answers: u32,
    settle: std::time::Duration,
    give_up: std::time::Duration,
}

/// Answered reads a finished task's log gets at least before its result line is given up on.
pub const SETTLE_ANSWERS: u32 = 5;

impl Settle {
    /// Starts waiting now.
    pub fn new(settle: std::time::Duration, give_up: std::time::Duration) -> Self {
        Self {
            began: tokio::time::Instant::now(),
            first_answer: None,
            answers: 0,
            settle,
            give_up,
        }
    }

    /// Records how a read ended.
    pub fn read(&mut self, end: ReadEnd) {
        if end != ReadEnd::Throttled {
            self.answers += 1;
            self.first_answer
                .get_or_insert_with(tokio::time::Instant::now);
        }
    }

    /// Whether to stop waiting.
    pub fn done(&self) -> bool {
        let settled = self
            .first_answer
            .is_some_and(|f| f.elapsed() >= self.settle)
            && self.answers >= SETTLE_ANSWERS;
        settled || self.began.elapsed() >= self.give_up
    }
}

/// Whether a ResourceNotFoundException is about the log group (not the stream): CloudWatch Logs
/// says "The specified log group does not exist." for one and "...log stream..." for the other.
fn names_the_group(message: Option<&str>) -> bool {
    message.is_some_and(|m| m.to_ascii_lowercase().contains("log group"))
}

impl<A: EcsApi, L: LogSource> EcsPlatform<A, L> {
    fn missing_group(&self) -> crate::BenchError {
        err(format!(
            "CloudWatch Logs group {:?} does not exist in {}: create it (scripts/deploy.sh \
             does) or set log_group / --log-group to the group the stack created",
            self.settings.log_group, self.region
        ))
    }

    /// Fails before any launch when the log group is missing: every task would run, bill and
    /// leave no result.
    pub(super) async fn check_log_group(&self) -> crate::error::Result<()> {
        let found = self.logs.group_exists().await.map_err(|f| {
            err(format!(
                "DescribeLogGroups [{}]: {}",
                f.code.unwrap_or_default(),
                f.detail
            ))
        })?;
        if found {
            Ok(())
        } else {
            Err(self.missing_group())
        }
    }

    /// Reads what is new in the task's log and returns every line so far, with how the read
    /// ended. The task's cursor is kept between calls.
    pub(super) async fn read_log(&self, arn: &str) -> Result<(Vec<String>, ReadEnd)> {
        let mut cursor = self
            .log_cursors
            .lock()
            .expect("log cursors lock")
            .remove(arn)
            .unwrap_or_default();
        let start_ms = self.created_ms(arn);
        let read = advance(
            &self.logs,
            &self.log_limiter,
            &log_stream(arn),
            start_ms,
            &mut cursor,
        )
        .await;
        let lines = cursor.lines.clone();
        self.log_cursors
            .lock()
            .expect("log cursors lock")
            .insert(arn.to_owned(), cursor);
        match read {
            Ok(end) => Ok((lines, end)),
            Err(f) if names_the_group(f.message.as_deref()) => {
                self.check_log_group().await?;
                Ok((lines, ReadEnd::NoStream))
            }
            Err(f) => Err(err(format!(
                "GetLogEvents [{}]: {}",
                f.code.unwrap_or_default(),
                f.detail
            ))),
        }
    }

    /// GetLogEvents calls made and throttled so far, over every task.
    pub fn log_calls(&self) -> (u32, u32) {
        self.log_cursors
            .lock()
            .expect("log cursors lock")
            .values()
            .fold((0, 0), |(c, t), cur| (c + cur.calls, t + cur.throttled))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::Mutex;
    use std::time::Duration;

    use super::*;

    /// Answers from a script, recording each call's token and time.
    struct Script {
        answers: Mutex<VecDeque<std::result::Result<LogPage, LogFailure>>>,
        asked: Mutex<Vec<(Option<String>, Duration)>>,
        start: tokio::time::Instant,
    }

    impl Script {
        fn new(answers: Vec<std::result::Result<LogPage, LogFailure>>) -> Self {
            Self {
                answers: Mutex::new(answers.into()),
                asked: Mutex::new(Vec::new()),
                start: tokio::time::Instant::now(),
            }
        }
        fn tokens(&self) -> Vec<Option<String>> {
            self.asked
                .lock()
                .unwrap()
                .iter()
                .map(|(t, _)| t.clone())
                .collect()
        }
    }

    impl LogSource for Script {
        async fn page(
            &self,
            _stream: &str,
            _start_ms: Option<i64>,
            token: Option<&str>,
        ) -> std::result::Result<LogPage, LogFailure> {
            self.asked
                .lock()
                .unwrap()
                .push((token.map(str::to_owned), self.start.elapsed()));
            self.answers
                .lock()
                .unwrap()
                .pop_front()
                .expect("the script ran out: the reader asked once too often")
        }
    }

    fn page(lines: &[&str], next: &str) -> std::result::Result<LogPage, LogFailure> {
        Ok(LogPage {
            messages: lines.iter().map(|s| (*s).to_owned()).collect(),
            next_forward: Some(next.to_owned()),
        })
    }

    fn failure(code: &str, message: &str) -> std::result::Result<LogPage, LogFailure> {
        Err(LogFailure {
            code: Some(code.to_owned()),
            message: Some(message.to_owned()),
            detail: format!("{code}: {message}"),
        })
    }

    #[tokio::test(start_paused = true)]
    async fn empty_pages_with_a_moving_token_do_not_end_the_read() {
        // What GetLogEvents may answer: two empty pages before the events, then the end (the
        // same token back). The earlier reader stopped at the first empty page and lost the
        // result line.
        let source = Script::new(vec![
            page(&[], "f/1"),
            page(&[], "f/2"),
            page(&["listening", "RESULT {..}"], "f/3"),
            page(&[], "f/3"),
        ]);
        let limiter = RateLimiter::per_second(5);
        let mut cursor = LogCursor::default();
        let end = advance(&source, &limiter, "s", None, &mut cursor)
            .await
            .unwrap();
        assert_eq!(end, ReadEnd::UpToDate);
        assert_eq!(cursor.lines, ["listening", "RESULT {..}"]);
        assert_eq!(
            source.tokens(),
            [
                None,
                Some("f/1".into()),
                Some("f/2".into()),
                Some("f/3".into())
            ]
        );
        assert_eq!(cursor.calls, 4);
    }

    #[tokio::test(start_paused = true)]
    async fn a_later_read_asks_only_for_what_is_new() {
        let source = Script::new(vec![
            page(&["a"], "f/1"),
            page(&[], "f/1"),
            // Nothing new: one call.
            page(&[], "f/1"),
            // New lines.
            page(&["b", "c"], "f/3"),
            page(&[], "f/3"),
        ]);
        let limiter = RateLimiter::per_second(5);
        let mut cursor = LogCursor::default();
        for _ in 0..3 {
            let end = advance(&source, &limiter, "s", Some(7), &mut cursor)
                .await
                .unwrap();
            assert_eq!(end, ReadEnd::UpToDate);
        }
        assert_eq!(cursor.lines, ["a", "b", "c"]);
        assert_eq!(
            source.tokens(),
            [
                None,
                Some("f/1".into()),
                Some("f/1".into()),
                Some("f/1".into()),
                Some("f/3".into())
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_is_not_yet_and_the_next_read_resumes() {
        let source = Script::new(vec![
            page(&["a"], "f/1"),
            failure("ThrottlingException", "Rate exceeded"),
            page(&["b"], "f/2"),
            page(&[], "f/2"),
        ]);
        let limiter = RateLimiter::per_second(5);
        let mut cursor = LogCursor::default();
        let end = advance(&source, &limiter, "s", None, &mut cursor)
            .await
            .unwrap();
        assert_eq!(end, ReadEnd::Throttled);
        assert_eq!(cursor.lines, ["a"], "what was read before is kept");
        let end = advance(&source, &limiter, "s", None, &mut cursor)
            .await
            .unwrap();
        assert_eq!(end, ReadEnd::UpToDate);
        assert_eq!(cursor.lines, ["a", "b"]);
        assert_eq!(
            source.tokens()[2],
            Some("f/1".into()),
            "resumed, not restarted"
        );
        assert_eq!((cursor.calls, cursor.throttled), (4, 1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_missing_stream_is_not_yet_and_a_missing_group_is_an_error() {
        let source = Script::new(vec![
            failure(
                "ResourceNotFoundException",
                "The specified log stream does not exist.",
            ),
            failure(
                "ResourceNotFoundException",
                "The specified log group does not exist.",
            ),
            failure("AccessDeniedException", "not authorized: logs:GetLogEvents"),
        ]);
        let limiter = RateLimiter::per_second(5);
        let mut cursor = LogCursor::default();
        assert_eq!(
            advance(&source, &limiter, "s", None, &mut cursor).await,
            Ok(ReadEnd::NoStream)
        );
        let group = advance(&source, &limiter, "s", None, &mut cursor)
            .await
            .unwrap_err();
        assert!(names_the_group(group.message.as_deref()));
        let denied = advance(&source, &limiter, "s", None, &mut cursor)
            .await
            .unwrap_err();
        assert_eq!(denied.code.as_deref(), Some("AccessDeniedException"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_long_stream_yields_after_its_share_of_pages() {
        let answers = (1..=MAX_PAGES_PER_READ + 1)
            .map(|i| page(&["x"], &format!("f/{i}")))
            .collect();
        let source = Script::new(answers);
        let limiter = RateLimiter::per_second(5);
        let mut cursor = LogCursor::default();
        let end = advance(&source, &limiter, "s", None, &mut cursor)
            .await
            .unwrap();
        assert_eq!(end, ReadEnd::MorePages);
        assert_eq!(cursor.lines.len(), MAX_PAGES_PER_READ);
        // Every page went through the limiter: 20 pages at 5/s took 3.8 s of paused time.
        let asked = source.asked.lock().unwrap();
        assert_eq!(
            asked.last().unwrap().1,
            Duration::from_millis(200) * (MAX_PAGES_PER_READ as u32 - 1)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_wait_for_a_result_counts_answers_not_the_queue() {
        let mut settle = Settle::new(Duration::from_secs(30), Duration::from_secs(600));
        // 50 s queued behind the limiter before the first answer: not yet given up.
        tokio::time::sleep(Duration::from_secs(50)).await;
        settle.read(ReadEnd::NoStream);
        assert!(!settle.done());
        // Throttled reads are not answers.
        for _ in 0..10 {
            settle.read(ReadEnd::Throttled);
        }
        tokio::time::sleep(Duration::from_secs(40)).await;
        assert!(
            !settle.done(),
            "30 s after the first answer, but one answer only"
        );
        for _ in 0..4 {
            settle.read(ReadEnd::UpToDate);
        }
        assert!(settle.done(), "five answers over 40 s");
        // Whatever happens, ten minutes end it.
        let mut stuck = Settle::new(Duration::from_secs(30), Duration::from_secs(600));
        stuck.read(ReadEnd::Throttled);
        tokio::time::sleep(Duration::from_secs(599)).await;
        assert!(!stuck.done());
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(stuck.done());
    }

    #[test]
    fn a_missing_group_is_told_from_a_missing_stream() {
        assert!(names_the_group(Some(
            "The specified log group does not exist."
        )));
        assert!(!names_the_group(Some(
            "The specified log stream does not exist."
        )));
        assert!(!names_the_group(None));
    }
}
