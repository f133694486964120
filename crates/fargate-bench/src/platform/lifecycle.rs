//! How long a task took to come up: from the controller's launch request until the task ran,
//! with its image pull apart (issue 25, item 3). Start-up is what Fargate's users complain
//! about most (containers-roadmap #678), and every backend already sees it happen: ECS in
//! DescribeTasks' `createdAt`, `pullStartedAt`, `pullStoppedAt` and `startedAt`, docker in the
//! container's `Created` and `State.StartedAt`, the local backend when it spawns the process.
//! Where the controller also sees the task run by itself (ECS: polling DescribeTasks; docker and
//! local: the first output line), that is kept beside it: a probe that prints nothing before
//! its result (a client, memprobe) shows its first line only when it is done, so the first line
//! is a check, not the start-up.
//!
//! Every figure is an offset in milliseconds from the launch request, so a record is read
//! without knowing the backend's clock. These functions take values, never read a clock.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

/// One task's way up, as offsets from the controller's launch request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lifecycle {
    /// Until the task existed: RunTask answered with it (ECS; capacity retries included), the
    /// container was created (docker), the process was spawned (local).
    pub created_ms: u64,
    /// Until its image pull began (ECS `pullStartedAt`; docker: the images are local, so the
    /// pull is empty at creation). `None` where nothing is pulled (local) or it never began.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_started_ms: Option<u64>,
    /// Until its image pull ended (ECS `pullStoppedAt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_stopped_ms: Option<u64>,
    /// Until it ran: ECS `startedAt` (PENDING to RUNNING), docker `State.StartedAt`, the local
    /// process spawned. `None` when it never ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running_ms: Option<u64>,
    /// Until the controller saw it run by itself: ECS, RUNNING in DescribeTasks, on its own
    /// clock (later than `running_ms` by at most the polling interval); docker and local, its
    /// first output line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seen_running_ms: Option<u64>,
}

/// Milliseconds, rounded down, saturating.
fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// `later - earlier` in milliseconds, 0 when a clock step made it negative.
fn between_ms(earlier: i64, later: i64) -> u64 {
    u64::try_from(later.saturating_sub(earlier)).unwrap_or(0)
}

/// The service's timestamps of one ECS task, in milliseconds since the Unix epoch
/// (DescribeTasks: `createdAt`, `pullStartedAt`, `pullStoppedAt`, `startedAt`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EcsTimestamps {
    /// `createdAt`.
    pub created_at: Option<i64>,
    /// `pullStartedAt`.
    pub pull_started_at: Option<i64>,
    /// `pullStoppedAt`.
    pub pull_stopped_at: Option<i64>,
    /// `startedAt`.
    pub started_at: Option<i64>,
}

impl Lifecycle {
    /// From the launch request until the task ran, when it did: its start-up time.
    pub fn startup_ms(&self) -> Option<u64> {
        self.running_ms
    }

    /// How long its image pull took, when one was seen from start to end.
    pub fn pull_ms(&self) -> Option<u64> {
        Some(self.pull_stopped_ms?.saturating_sub(self.pull_started_ms?))
    }

    /// An ECS task's lifecycle: `created` is the time from the launch request to RunTask's
    /// answer on the controller's clock, the rest is the service's own timestamps counted from
    /// `createdAt` (one clock, so no skew between ours and AWS's enters), and `seen_running`
    /// the controller's own observation.
    pub fn ecs(created: Duration, t: EcsTimestamps, seen_running: Option<Duration>) -> Self {
        let created_ms = ms(created);
        let after = |at: Option<i64>| {
            t.created_at
                .zip(at)
                .map(|(c, a)| created_ms + between_ms(c, a))
        };
        Lifecycle {
            created_ms,
            pull_started_ms: after(t.pull_started_at),
            pull_stopped_ms: after(t.pull_stopped_at),
            running_ms: after(t.started_at),
            seen_running_ms: seen_running.map(ms),
        }
    }

    /// A container's lifecycle on this machine's wall clock (the Docker engine's and ours):
    /// requested, created, started, and its first output line. The images are local, so the
    /// pull is empty, at creation.
    pub fn container(
        requested: SystemTime,
        created: SystemTime,
        started: Option<SystemTime>,
        first_output: Option<SystemTime>,
    ) -> Self {
        let after = |t: SystemTime| ms(t.duration_since(requested).unwrap_or_default());
        let created_ms = after(created);
        Lifecycle {
            created_ms,
            pull_started_ms: Some(created_ms),
            pull_stopped_ms: Some(created_ms),
            running_ms: started.map(after),
            seen_running_ms: first_output.map(after),
        }
    }

    /// A process's lifecycle: spawned (and so running) `created` after the request, its first
    /// output line `first_output` after it; nothing is pulled.
    pub fn process(created: Duration, first_output: Option<Duration>) -> Self {
        Lifecycle {
            created_ms: ms(created),
            pull_started_ms: None,
            pull_stopped_ms: None,
            running_ms: Some(ms(created)),
            seen_running_ms: first_output.map(ms),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ecs_task_is_counted_from_the_request_on_the_services_clock() {
        // RunTask answered 300 ms after the request; AWS's clock is 2 h ahead of ours, which
        // does not matter: only differences of its own timestamps are used.
        let base = 1_800_000_000_000 + 7_200_000;
        let t = EcsTimestamps {
            created_at: Some(base),
            pull_started_at: Some(base + 4_000),
            pull_stopped_at: Some(base + 9_500),
            started_at: Some(base + 12_000),
        };
        let l = Lifecycle::ecs(
            Duration::from_millis(300),
            t,
            Some(Duration::from_millis(12_900)),
        );
        assert_eq!(l.created_ms, 300);
        assert_eq!(l.pull_started_ms, Some(4_300));
        assert_eq!(l.pull_stopped_ms, Some(9_800));
        assert_eq!(l.startup_ms(), Some(12_300));
        assert_eq!(l.pull_ms(), Some(5_500));
        assert_eq!(l.seen_running_ms, Some(12_900));
    }

    #[test]
    fn a_task_that_never_ran_has_no_start_up() {
        let t = EcsTimestamps {
            created_at: Some(1_000),
            pull_started_at: Some(2_000),
            ..EcsTimestamps::default()
        };
        let l = Lifecycle::ecs(Duration::from_millis(50), t, None);
        assert_eq!(l.startup_ms(), None);
        assert_eq!(
            l.pull_ms(),
            None,
            "a pull never seen to end has no duration"
        );
        // No createdAt at all: nothing can be placed.
        let l = Lifecycle::ecs(Duration::ZERO, EcsTimestamps::default(), None);
        assert_eq!((l.running_ms, l.pull_started_ms), (None, None));
    }

    #[test]
    fn a_container_pulls_nothing_and_runs_when_the_engine_starts_it() {
        let requested = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let l = Lifecycle::container(
            requested,
            requested + Duration::from_millis(180),
            Some(requested + Duration::from_millis(420)),
            Some(requested + Duration::from_millis(640)),
        );
        assert_eq!(l.created_ms, 180);
        assert_eq!(l.pull_ms(), Some(0));
        assert_eq!(l.startup_ms(), Some(420));
        assert_eq!(l.seen_running_ms, Some(640));
        // A clock step backwards is not a negative start-up.
        let l = Lifecycle::container(requested, requested - Duration::from_secs(1), None, None);
        assert_eq!((l.created_ms, l.running_ms), (0, None));
    }

    #[test]
    fn a_process_runs_once_spawned_and_reads_back_as_it_was_written() {
        let l = Lifecycle::process(Duration::from_millis(2), Some(Duration::from_millis(35)));
        assert_eq!((l.startup_ms(), l.pull_ms()), (Some(2), None));
        let json = serde_json::to_string(&l).unwrap();
        assert_eq!(
            json,
            r#"{"created_ms":2,"running_ms":2,"seen_running_ms":35}"#
        );
        assert_eq!(serde_json::from_str::<Lifecycle>(&json).unwrap(), l);
    }
}
