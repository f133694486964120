//! A rate limiter shared by every task of a process, for the AWS calls whose quota is per
//! account and Region and cannot be raised.
//!
//! CloudWatch Logs allows GetLogEvents 10 requests per second per account and Region, and the
//! quota cannot be changed (CloudWatch Logs quotas, "GetLogEvents"). Each waiting task asking on
//! its own would pass it at a concurrency of about 8 (the 2026-12 ECS review, N1, reproduced 10
//! of 16 pairs failing at concurrency 16), so every read of every task takes its turn here, at
//! a rate well under the quota to leave room for the console and other tools of the account.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

/// GetLogEvents calls per second this process makes at most: half the account's hard quota.
pub const LOG_READS_PER_SEC: u32 = 5;
const _: () = assert!(
    LOG_READS_PER_SEC < 10,
    "under the account's quota of 10 per second"
);

/// Spaces calls at least `interval` apart, one at a time, first come first served, with no
/// burst: the quota is a rate per second, and a burst from many tasks at once is what trips it.
///
/// One call at a time matters as much as the spacing: the quota counts calls as they arrive at
/// the service, and calls started 200 ms apart can arrive bunched when one is held up on its
/// way (a busy machine). With each call started only after the previous one has finished and
/// its turn has come, arrivals are also at least a turn apart but for the first: at most
/// `per_sec + 1` in any second.
#[derive(Debug)]
pub struct RateLimiter {
    interval: Duration,
    next_free: Mutex<Option<Instant>>,
}

/// A turn at a [`RateLimiter`]: the next caller waits until it is dropped (the call has ended).
#[derive(Debug)]
pub struct Turn<'a> {
    _held: tokio::sync::MutexGuard<'a, Option<Instant>>,
}

impl RateLimiter {
    /// At most `per_sec` calls started in any second (spaced `1 / per_sec` apart).
    pub fn per_second(per_sec: u32) -> Self {
        Self {
            interval: Duration::from_secs(1) / per_sec.max(1),
            next_free: Mutex::new(None),
        }
    }

    /// The spacing between two calls.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Waits for this call's turn: the previous call has ended and its spacing has passed.
    /// Turns are handed out in the order callers arrive (tokio's mutex is fair). Hold the
    /// [`Turn`] for the duration of the call.
    pub async fn acquire(&self) -> Turn<'_> {
        let mut next = self.next_free.lock().await;
        let now = Instant::now();
        let turn = next.map_or(now, |n| n.max(now));
        tokio::time::sleep_until(turn).await;
        *next = Some(turn + self.interval);
        Turn { _held: next }
    }
}

static LOG_READS: LazyLock<Arc<RateLimiter>> =
    LazyLock::new(|| Arc::new(RateLimiter::per_second(LOG_READS_PER_SEC)));

/// The process-wide GetLogEvents limiter: every ECS platform of this process shares it, so two
/// runs driven by one library user do not together pass the account's quota either.
pub fn log_reads() -> Arc<RateLimiter> {
    Arc::clone(&LOG_READS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn many_callers_at_once_are_spaced_under_the_quota() {
        let limiter = Arc::new(RateLimiter::per_second(5));
        let start = Instant::now();
        let mut handles = Vec::new();
        for _ in 0..32 {
            let l = Arc::clone(&limiter);
            handles.push(tokio::spawn(async move {
                let _turn = l.acquire().await;
                start.elapsed()
            }));
        }
        let mut at = Vec::new();
        for h in handles {
            at.push(h.await.unwrap());
        }
        at.sort();
        // 32 calls at 5/s: the first at once, the last 31 intervals of 200 ms later.
        assert_eq!(at[0], Duration::ZERO);
        assert_eq!(at[31], Duration::from_millis(200 * 31));
        // No window of one second holds more than 5 calls (10/s is the account's quota).
        for w in at.windows(6) {
            assert!(w[5] - w[0] >= Duration::from_secs(1), "{w:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_that_takes_long_holds_the_next_one() {
        let limiter = Arc::new(RateLimiter::per_second(5));
        let start = Instant::now();
        let slow = {
            let l = Arc::clone(&limiter);
            tokio::spawn(async move {
                let _turn = l.acquire().await;
                // A call held up for 700 ms on its way.
                tokio::time::sleep(Duration::from_millis(700)).await;
            })
        };
        tokio::task::yield_now().await;
        let next = {
            let l = Arc::clone(&limiter);
            tokio::spawn(async move {
                let _turn = l.acquire().await;
                start.elapsed()
            })
        };
        slow.await.unwrap();
        // Not at 200 ms, its spacing, but once the slow call has ended: the two cannot arrive
        // at the service together.
        assert_eq!(next.await.unwrap(), Duration::from_millis(700));
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_limiter_does_not_bank_turns() {
        let limiter = RateLimiter::per_second(5);
        drop(limiter.acquire().await);
        tokio::time::sleep(Duration::from_secs(10)).await;
        let start = Instant::now();
        drop(limiter.acquire().await);
        drop(limiter.acquire().await);
        // After a quiet spell the next call goes at once, and the one after waits its spacing:
        // quiet time is not saved up for a burst.
        assert_eq!(start.elapsed(), Duration::from_millis(200));
    }

    #[test]
    fn the_shared_limiter_is_one_for_the_process_and_under_the_quota() {
        assert!(Arc::ptr_eq(&log_reads(), &log_reads()));
        assert_eq!(log_reads().interval(), Duration::from_millis(200));
    }
}
