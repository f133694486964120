//! Latency under load (`--latency-under-load`): a low-rate round-trip probe on a UDP flow of its
//! own beside a `tcp-stream`, through the same path, so its round trips show what the stream's
//! limit does to other traffic: a shaper's queue makes them grow, a policer loses them.
//!
//! The client sends probe `i` at `i / per_sec` after the start of the measured window and
//! records when each one comes back; the server echoes them from a socket bound to the data
//! port's number. Neither side is a hot path (a probe every millisecond at most), so each wait
//! sets its own read timeout. The analysis is [`probe_core::loaded_latency`]'s.

use std::io;
use std::net::UdpSocket;
use std::time::{Duration, Instant};

use super::{read_header, write_header, Window};

/// A probe not back this long after it left is lost: longer than any queue a shaper plausibly
/// holds (`tbf latency 200ms`), short enough not to hold the result up for long.
pub(crate) const LATE_AFTER: Duration = Duration::from_secs(2);

/// Bytes of a probe and of its echo (sockperf's default message).
pub(crate) const PROBE_BYTES: usize = 64;

/// How often an idle echo checks whether the test is over.
const ECHO_POLL: Duration = Duration::from_millis(50);

/// What the prober keeps for a probe that did not come back.
pub(crate) const LOST: u32 = u32::MAX;

/// Ignorable receive errors: a timeout, a signal, or the ICMP answer to a probe sent before
/// the peer's socket was up.
fn quiet(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock
            | io::ErrorKind::TimedOut
            | io::ErrorKind::Interrupted
            | io::ErrorKind::ConnectionRefused
    )
}

fn ns_between(from: Instant, to: Instant) -> u64 {
    u64::try_from(to.saturating_duration_since(from).as_nanos()).unwrap_or(u64::MAX)
}

/// Client: sends `per_sec` probes a second from the window's start to its end (which an
/// until-baseline window may move earlier) and returns each one's round trip in nanoseconds
/// in the order sent, [`LOST`] for those not back within [`LATE_AFTER`].
pub(crate) fn probe(
    socket: &UdpSocket,
    window: &Window,
    tag: u64,
    per_sec: u32,
) -> io::Result<Vec<u32>> {
    let per_sec = u64::from(per_sec.max(1));
    let capacity =
        usize::try_from(window.duration.as_nanos() * u128::from(per_sec) / 1_000_000_000 + 1)
            .unwrap_or(usize::MAX);
    let mut rtt: Vec<u32> = Vec::with_capacity(capacity);
    let mut out = [0u8; PROBE_BYTES];
    let mut back = [0u8; 2048];
    let start = window.start();
    let due = |i: u64| start + Duration::from_nanos(i * 1_000_000_000 / per_sec);
    let (mut sent, mut answered) = (0u64, 0u64);
    loop {
        let now = Instant::now();
        let end = window.end();
        let sending = (sent as usize) < capacity && due(sent) < end;
        if sending && due(sent) <= now {
            write_header(&mut out, tag, sent, ns_between(start, now));
            match socket.send(&out) {
                Ok(_) => {}
                // Not sent (the peer's port not up yet, or our queue full): lost, as on a path.
                Err(e) if quiet(&e) => {}
                Err(e) => return Err(e),
            }
            rtt.push(LOST);
            sent += 1;
            continue;
        }
        let give_up = end + LATE_AFTER;
        if now >= give_up || (!sending && answered == sent) {
            return Ok(rtt);
        }
        let wake = if sending { due(sent) } else { give_up };
        let wait = wake
            .saturating_duration_since(now)
            .max(Duration::from_micros(50));
        socket.set_read_timeout(Some(wait))?;
        match socket.recv(&mut back) {
            Ok(n) => {
                let now = Instant::now();
                let Some((t, seq, sent_ns)) = read_header(&back[..n]) else {
                    continue;
                };
                let Some(slot) = usize::try_from(seq).ok().and_then(|i| rtt.get_mut(i)) else {
                    continue;
                };
                let took = ns_between(start, now).saturating_sub(sent_ns);
                if t == tag && *slot == LOST && took <= LATE_AFTER.as_nanos() as u64 {
                    *slot = u32::try_from(took).unwrap_or(LOST - 1);
                    answered += 1;
                }
            }
            Err(e) if quiet(&e) => {}
            Err(e) => return Err(e),
        }
    }
}

/// Server: echoes every probe carrying `tag` until the client has stopped waiting for them
/// ([`LATE_AFTER`] past the window's end, which may move earlier); returns how many it echoed.
pub(crate) fn echo(socket: &UdpSocket, window: &Window, tag: u64) -> io::Result<u64> {
    socket.set_read_timeout(Some(ECHO_POLL))?;
    let mut buf = [0u8; 2048];
    let mut echoed = 0u64;
    loop {
        match socket.recv_from(&mut buf) {
            Ok((n, from)) => {
                if matches!(read_header(&buf[..n]), Some((t, _, _)) if t == tag) {
                    let len = n.min(PROBE_BYTES);
                    match socket.send_to(&buf[..len], from) {
                        Ok(_) => echoed += 1,
                        Err(e) if quiet(&e) => {}
                        Err(e) => return Err(e),
                    }
                }
            }
            Err(e) if quiet(&e) => {}
            Err(e) => return Err(e),
        }
        if Instant::now() >= window.end() + LATE_AFTER + ECHO_POLL {
            return Ok(echoed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (UdpSocket, UdpSocket) {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        client.connect(server.local_addr().unwrap()).unwrap();
        (client, server)
    }

    #[test]
    fn every_probe_comes_back_over_loopback_and_stragglers_are_not_waited_for() {
        let (client, server) = pair();
        let ms = Duration::from_millis;
        let window = Window::fixed(Instant::now(), ms(50), ms(500), ms(100));
        let started = Instant::now();
        let (rtt, echoed) = std::thread::scope(|s| {
            let echo = s.spawn(|| echo(&server, &window, 7).unwrap());
            let rtt = probe(&client, &window, 7, 100).unwrap();
            (rtt, echo.join().unwrap())
        });
        // 100/s over 0.5 s; none lost, so the prober returns at the window's end.
        assert_eq!(rtt.len(), 50);
        assert!(rtt.iter().all(|r| *r != LOST && *r < 50_000_000), "{rtt:?}");
        assert_eq!(echoed, 50);
        assert!(started.elapsed() < ms(50 + 500 + LATE_AFTER.as_millis() as u64 + 300));
    }

    #[test]
    fn unanswered_probes_are_lost_after_the_grace_and_strangers_are_ignored() {
        let (client, server) = pair();
        let ms = Duration::from_millis;
        let window = Window::fixed(Instant::now(), ms(0), ms(200), ms(100));
        let started = Instant::now();
        let rtt = std::thread::scope(|s| {
            // A peer that answers with the wrong tag, and only the first few.
            s.spawn(|| {
                let mut buf = [0u8; 128];
                server.set_read_timeout(Some(ms(500))).unwrap();
                for _ in 0..3 {
                    let Ok((n, from)) = server.recv_from(&mut buf) else {
                        return;
                    };
                    buf[0] ^= 0xff;
                    server.send_to(&buf[..n], from).unwrap();
                }
            });
            probe(&client, &window, 9, 50).unwrap()
        });
        assert_eq!(rtt.len(), 10);
        assert!(rtt.iter().all(|r| *r == LOST));
        assert!(started.elapsed() >= ms(200) + LATE_AFTER);
    }
}
