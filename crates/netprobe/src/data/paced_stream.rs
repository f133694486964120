//! A TCP sender that follows a rate profile (`--rate-profile`): the workload's pattern, not as
//! fast as the path allows. What the path cannot take yet (the socket blocks) stays owed and
//! goes as soon as the path allows, nothing given up: the backlog `fargate-bench simulate`
//! models, so what arrives can be held against its prediction.

use std::io::{self, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use super::pacing::{Pacer, RateProfile};
use super::Window;

/// Writes owed before the sender reads the clock again (each write is `buf`, a blocking
/// write: the path holds the sender back here while the rest stays owed).
const MAX_BURST: u64 = 16;

/// Longest sleep at once, so the end of the window is noticed soon during a long pause.
const MAX_NAP: Duration = Duration::from_millis(50);

/// Writes `buf` each time the profile has another `buf.len()` bytes due, from the window's
/// `t0` until its send deadline, then half-closes. Returns the bytes written.
pub(crate) fn send(
    stream: &TcpStream,
    window: &Window,
    buf: &[u8],
    profile: RateProfile,
) -> io::Result<u64> {
    let mut pacer = Pacer::new(window.t0, profile, buf.len(), MAX_BURST).catching_up_everything();
    let mut writer = stream;
    loop {
        let now = Instant::now();
        if now >= window.send_until() {
            break;
        }
        for _ in 0..pacer.take(now) {
            writer.write_all(buf)?;
        }
        let nap = pacer
            .sleep_after(Instant::now())
            .unwrap_or(MAX_NAP)
            .min(MAX_NAP)
            .min(
                window
                    .send_until()
                    .saturating_duration_since(Instant::now()),
            );
        if !nap.is_zero() {
            std::thread::sleep(nap);
        }
    }
    stream.shutdown(Shutdown::Write)?;
    Ok(pacer.sent() * buf.len() as u64)
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::net::TcpListener;

    use super::*;

    /// 20 ms of 80 Mbit/s (200 kB), a 30 ms pause, then 20 ms of 40 Mbit/s (100 kB): on
    /// loopback, which takes it all at once, the receiver gets exactly the profile's bytes.
    #[test]
    fn a_profile_sends_its_bytes_and_no_more() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            (&server).read_to_end(&mut got).unwrap();
            got.len()
        });
        let window = Window::fixed(
            Instant::now(),
            Duration::ZERO,
            Duration::from_millis(200),
            Duration::from_millis(100),
        );
        let ms = 1_000_000;
        let profile =
            RateProfile::stepped(&[(20 * ms, 80_000_000), (30 * ms, 0), (20 * ms, 40_000_000)]);
        let started = Instant::now();
        let sent = send(&client, &window, &[7u8; 1000], profile).unwrap();
        assert_eq!(sent, 300_000);
        assert_eq!(reader.join().unwrap(), 300_000);
        assert!(
            started.elapsed() >= Duration::from_millis(290),
            "ran the whole window"
        );
    }
}
