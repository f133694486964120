//! The one wait loop of every backend: ask, and until the answer is there, sleep with backoff
//! up to a deadline. Backends say what to ask and what a timeout means; the loop, its clock
//! and its backoff live here once, tested with tokio's paused clock.

use std::future::Future;
use std::time::Duration;

use crate::error::Result;

/// How long to sleep between asks: starts at `first`, doubles up to `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// First sleep.
    pub first: Duration,
    /// Longest sleep.
    pub max: Duration,
}

impl Backoff {
    /// The same sleep every time (for local state that is cheap to ask).
    pub const fn fixed(every: Duration) -> Self {
        Self {
            first: every,
            max: every,
        }
    }

    /// Doubling from `first` up to `max` (for remote APIs with rate limits).
    pub const fn exponential(first: Duration, max: Duration) -> Self {
        Self { first, max }
    }
}

/// Calls `ask` until it returns `Some`, sleeping by `backoff` between calls. Returns `None`
/// once `deadline` has passed with no answer (`ask` always runs at least once, and once more
/// at or after the deadline, so a last-moment answer is not lost). An error from `ask` ends the
/// wait at once.
///
/// # Errors
/// Whatever `ask` returns.
pub async fn until<T, F, Fut>(deadline: Duration, backoff: Backoff, mut ask: F) -> Result<Option<T>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    let start = tokio::time::Instant::now();
    let mut sleep = backoff.first;
    loop {
        if let Some(answer) = ask().await? {
            return Ok(Some(answer));
        }
        let elapsed = start.elapsed();
        if elapsed >= deadline {
            return Ok(None);
        }
        tokio::time::sleep(sleep.min(deadline - elapsed)).await;
        sleep = (sleep * 2).min(backoff.max);
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use tokio::time::Instant;

    use super::*;
    use crate::BenchError;

    #[tokio::test(start_paused = true)]
    async fn asks_with_backoff_until_answered() {
        let start = Instant::now();
        let asked = RefCell::new(Vec::new());
        let got = until(
            Duration::from_secs(60),
            Backoff::exponential(Duration::from_millis(500), Duration::from_secs(2)),
            || async {
                asked.borrow_mut().push(start.elapsed().as_millis());
                Ok((asked.borrow().len() == 5).then_some("ready"))
            },
        )
        .await
        .unwrap();
        assert_eq!(got, Some("ready"));
        assert_eq!(*asked.borrow(), [0, 500, 1500, 3500, 5500]);
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_at_the_deadline_after_a_last_ask() {
        let start = Instant::now();
        let asked = RefCell::new(0);
        let got: Option<()> = until(
            Duration::from_millis(250),
            Backoff::fixed(Duration::from_millis(100)),
            || async {
                *asked.borrow_mut() += 1;
                Ok(None)
            },
        )
        .await
        .unwrap();
        assert_eq!(got, None);
        assert_eq!(*asked.borrow(), 4, "at 0, 100, 200 and 250 ms");
        assert_eq!(start.elapsed(), Duration::from_millis(250));
    }

    #[tokio::test(start_paused = true)]
    async fn an_error_ends_the_wait_at_once() {
        let r: Result<Option<()>> = until(
            Duration::from_secs(10),
            Backoff::fixed(Duration::from_secs(1)),
            || async {
                Err(BenchError::Backend {
                    backend: "test",
                    what: "gone".into(),
                    source: None,
                })
            },
        )
        .await;
        assert!(r.is_err());
    }
}
