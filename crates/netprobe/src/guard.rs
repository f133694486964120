//! Who may handshake: per-source bounds on connections waiting for their handshake, and a
//! growing pause after failed key proofs, so neither an idle flood from one address nor key
//! guessing locks everyone else out. Pure: values and `Instant`s in, decisions out.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use probe_core::contract::Refusal;

/// Connections one address may have waiting for their handshake at once.
pub const MAX_PENDING_PER_SOURCE: u32 = 8;

/// The pause after the first failed proof; it doubles with each further failure.
pub const FIRST_PENALTY: Duration = Duration::from_millis(200);

/// The longest pause.
pub const MAX_PENALTY: Duration = Duration::from_secs(10);

/// Sources remembered at most (failed provers are forgotten oldest-blocked first).
const MAX_SOURCES: usize = 4096;

#[derive(Debug, Default, Clone, Copy)]
struct Source {
    pending: u32,
    failures: u32,
    blocked_until: Option<Instant>,
}

/// The state of every source with a pending handshake or a penalty.
#[derive(Debug, Default)]
pub struct Sources {
    map: HashMap<IpAddr, Source>,
}

/// The pause after `failures` failed proofs in a row.
pub fn penalty(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    (FIRST_PENALTY * 2u32.pow(doublings)).min(MAX_PENALTY)
}

impl Sources {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Admits a new connection from `ip` to the handshake, or says why not.
    ///
    /// # Errors
    /// [`Refusal::SlowDown`] while `ip` pays for failed proofs, [`Refusal::Crowded`] when it has
    /// [`MAX_PENDING_PER_SOURCE`] handshakes waiting.
    pub fn admit(&mut self, ip: IpAddr, now: Instant) -> Result<(), Refusal> {
        if self.map.len() >= MAX_SOURCES && !self.map.contains_key(&ip) {
            self.prune(now);
        }
        let s = self.map.entry(ip).or_default();
        if let Some(until) = s.blocked_until.filter(|u| *u > now) {
            return Err(Refusal::SlowDown {
                retry_after_ms: (until - now).as_millis() as u64,
            });
        }
        if s.pending >= MAX_PENDING_PER_SOURCE {
            return Err(Refusal::Crowded {
                cap: MAX_PENDING_PER_SOURCE,
                from_you: " from your address".into(),
            });
        }
        s.pending += 1;
        Ok(())
    }

    /// A handshake from `ip` ended (however it ended).
    pub fn release(&mut self, ip: IpAddr) {
        if let Some(s) = self.map.get_mut(&ip) {
            s.pending = s.pending.saturating_sub(1);
            if s.pending == 0 && s.failures == 0 {
                self.map.remove(&ip);
            }
        }
    }

    /// A key proof from `ip` failed: it waits [`penalty`] before its next is heard.
    pub fn failed_proof(&mut self, ip: IpAddr, now: Instant) {
        let s = self.map.entry(ip).or_default();
        s.failures = s.failures.saturating_add(1);
        s.blocked_until = Some(now + penalty(s.failures));
    }

    /// A key proof from `ip` verified: its record is cleared.
    pub fn proved(&mut self, ip: IpAddr) {
        if let Some(s) = self.map.get_mut(&ip) {
            s.failures = 0;
            s.blocked_until = None;
        }
    }

    /// Sources tracked.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether none is tracked.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    fn prune(&mut self, now: Instant) {
        self.map
            .retain(|_, s| s.pending > 0 || s.blocked_until.is_some_and(|u| u > now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, n])
    }

    #[test]
    fn one_source_cannot_hold_every_slot() {
        let (mut s, now) = (Sources::new(), Instant::now());
        for _ in 0..MAX_PENDING_PER_SOURCE {
            s.admit(ip(1), now).unwrap();
        }
        assert!(matches!(
            s.admit(ip(1), now),
            Err(Refusal::Crowded { cap: 8, .. })
        ));
        s.admit(ip(2), now).unwrap();
        s.release(ip(1));
        s.admit(ip(1), now).unwrap();
    }

    #[test]
    fn failed_proofs_cost_more_and_more_time() {
        assert_eq!(penalty(1), Duration::from_millis(200));
        assert_eq!(penalty(3), Duration::from_millis(800));
        assert_eq!(penalty(40), MAX_PENALTY);
        let (mut s, t0) = (Sources::new(), Instant::now());
        s.admit(ip(1), t0).unwrap();
        s.failed_proof(ip(1), t0);
        s.release(ip(1));
        match s.admit(ip(1), t0 + Duration::from_millis(100)) {
            Err(Refusal::SlowDown { retry_after_ms }) => assert_eq!(retry_after_ms, 100),
            other => panic!("{other:?}"),
        }
        s.admit(ip(2), t0).unwrap(); // others are not slowed
        s.admit(ip(1), t0 + Duration::from_millis(200)).unwrap();
        s.failed_proof(ip(1), t0 + Duration::from_millis(200));
        assert!(s.admit(ip(1), t0 + Duration::from_millis(500)).is_err());
        s.admit(ip(1), t0 + Duration::from_millis(600)).unwrap();
        s.proved(ip(1));
        s.release(ip(1));
        s.release(ip(1));
        s.release(ip(2));
        assert!(s.is_empty());
    }
}
