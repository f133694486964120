//! Bulk TCP: a sender that writes until the window (plus a short tail) is over, and a receiver
//! that counts what arrives inside the window, per interval.

use std::io::{self, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use super::{ReceiveWaiter, Window};
use crate::sys::{self, ZeroCopySource};

/// How long a receiver waits past the sender's stop for the end of the stream.
const DRAIN_GRACE: Duration = Duration::from_secs(3);

/// What a receiver counted on one stream.
#[derive(Debug, Clone, Default)]
pub(crate) struct Received {
    pub(crate) window_bytes: u64,
    /// Every byte received, warm-up and tail included (what the receiver's CPU time paid for).
    pub(crate) total_bytes: u64,
    pub(crate) interval_bytes: Vec<u64>,
    /// The stream ended (EOF or error) before the window closed.
    pub(crate) ended_early: bool,
    /// When the first and the last payload bytes arrived, inside the window or not.
    pub(crate) first_data_at: Option<Instant>,
    pub(crate) last_data_at: Option<Instant>,
}

/// Writes `buf` (or the zero-copy source) until the window's send deadline, then half-closes.
pub(crate) fn send(
    stream: &TcpStream,
    window: &Window,
    buf: &[u8],
    zerocopy: Option<&ZeroCopySource>,
) -> io::Result<u64> {
    let fd = stream.as_raw_fd();
    let mut writer = stream;
    let mut sent = 0u64;
    loop {
        let n = match zerocopy {
            Some(source) => sys::send_zero_copy(fd, source)?,
            None => match writer.write(buf) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            },
        };
        sent += n as u64;
        // Re-read each time: an until-baseline window can be ended early by agreement.
        if Instant::now() >= window.send_until() {
            break;
        }
    }
    stream.shutdown(Shutdown::Write)?;
    Ok(sent)
}

/// Reads until end of stream, counting bytes whose read completed inside the window. With
/// `poll` it reads without sleeping while data keeps coming (see [`crate::protocol::ReceiveWait`]);
/// with `zerocopy` the bytes are consumed in the kernel and never copied out.
pub(crate) fn receive(
    stream: &TcpStream,
    window: &Window,
    buf: &mut [u8],
    zerocopy: bool,
    poll: bool,
) -> io::Result<Received> {
    stream.set_read_timeout(Some(Duration::from_millis(250)))?;
    let mut interval_bytes = vec![0u64; window.interval_count()];
    let mut window_bytes = 0u64;
    let mut total_bytes = 0u64;
    let fd = stream.as_raw_fd();
    let mut waiter = ReceiveWaiter::new(poll, zerocopy);
    let mut eof_at = None;
    let (mut first_data_at, mut last_data_at) = (None, None);
    loop {
        let result = sys::recv(fd, buf, waiter.flags());
        let now = Instant::now();
        match result {
            Ok(0) => {
                eof_at = Some(now);
                break;
            }
            Ok(n) => {
                waiter.got_data();
                total_bytes += n as u64;
                // Two stores of the time already read: the quiet time between refill phases.
                first_data_at = first_data_at.or(Some(now));
                last_data_at = Some(now);
                if let Some(slot) = window.slot(now) {
                    interval_bytes[slot] += n as u64;
                    window_bytes += n as u64;
                    window.publish(slot, n as u64);
                }
            }
            Err(e) if waiter.empty_poll(&e, now) => {}
            // The blocking read's timeout.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                if now >= window.send_until() + DRAIN_GRACE {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {
                eof_at = Some(now);
                break;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(Received {
        window_bytes,
        total_bytes,
        interval_bytes,
        ended_early: eof_at.is_none_or(|t| t < window.end()),
        first_data_at,
        last_data_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receiver_counts_only_the_window_blocking_or_polling() {
        for poll in [false, true] {
            receiver_counts_only_the_window(poll);
        }
    }

    fn receiver_counts_only_the_window(poll: bool) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        let window = Window::fixed(
            Instant::now(),
            Duration::from_millis(100),
            Duration::from_millis(300),
            Duration::from_millis(100),
        );
        let w = window.clone();
        let sender = std::thread::spawn(move || {
            let buf = vec![0u8; 64 * 1024];
            send(&client, &w, &buf, None).unwrap()
        });
        let mut buf = vec![0u8; 64 * 1024];
        let received = receive(&server, &window, &mut buf, false, poll).unwrap();
        let sent = sender.join().unwrap();
        assert_eq!(received.interval_bytes.len(), 3);
        assert!(received.interval_bytes.iter().all(|b| *b > 0));
        assert_eq!(
            received.window_bytes,
            received.interval_bytes.iter().sum::<u64>()
        );
        // Warm-up and tail are excluded, so the window saw strictly less than was sent.
        assert!(received.window_bytes < sent);
        assert!(!received.ended_early);
        let (first, last) = (
            received.first_data_at.unwrap(),
            received.last_data_at.unwrap(),
        );
        assert!(window.t0 <= first && first < last, "{first:?} {last:?}");
        assert!(last >= window.end(), "the tail arrives after the window");
    }
}
