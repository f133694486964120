//! Busy-poll waiting for round trips (`--busy-poll`): the waiting side loops on non-blocking
//! receives instead of sleeping in the kernel.
//!
//! A blocking round trip pays two wake-ups: the server's thread for the request and the
//! client's for the response. Waking a sleeping thread runs on the sender's side (in its system
//! call on loopback, in the interrupt on a NIC), and on a virtual machine an idle vCPU must
//! also be brought back by the hypervisor, which costs tens of microseconds. A spinning
//! receiver is already running: the data is seen on its next receive. The price is a CPU per
//! waiting side for the whole test, which the report states as CPU time per round trip.

use std::io::{self, Read, Write};
use std::time::Instant;

/// `SO_BUSY_POLL` asked for on busy-polling sockets: each non-blocking receive then also polls
/// the device's receive queue once (loopback has none; a NIC with NAPI does).
pub(crate) const SO_BUSY_POLL_USEC: u32 = 50;

/// Empty receives between two clock reads for the deadline.
const CLOCK_EVERY: u32 = 16;

/// The empty receives of one wait.
#[derive(Debug, Default)]
pub(crate) struct Spin {
    empty: u32,
}

impl Spin {
    /// Counts one more empty receive and says whether `deadline` has passed (the clock is read
    /// once every [`CLOCK_EVERY`] tries).
    ///
    /// It never yields the CPU: a `sched_yield` every 8 tries put the spinner behind every
    /// other runnable task for a whole time slice, and with compilers on both vCPUs the p50
    /// round trip went from tens of microseconds to 13 ms. A spinner needs a CPU of its own.
    #[inline]
    pub(crate) fn empty(&mut self, deadline: Instant) -> bool {
        self.empty = self.empty.wrapping_add(1);
        self.empty.is_multiple_of(CLOCK_EVERY) && Instant::now() >= deadline
    }
}

/// A wait that ran past its deadline: `what` says whose silence it was.
pub(crate) fn silent(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, what.to_owned())
}

/// Reads exactly `buf.len()` bytes from a non-blocking stream, spinning while it is empty.
/// `Ok(false)` is a clean end of stream (or a reset) before any byte; past `deadline` the error
/// is [`silent`] with `what`.
pub(crate) fn read_exact<R: Read>(
    mut io: R,
    buf: &mut [u8],
    deadline: Instant,
    what: &str,
) -> io::Result<bool> {
    let mut filled = 0;
    let mut spin = Spin::default();
    while filled < buf.len() {
        match io.read(&mut buf[filled..]) {
            Ok(0) if filled == 0 => return Ok(false),
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if spin.empty(deadline) {
                    return Err(silent(what));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset && filled == 0 => {
                return Ok(false)
            }
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// Writes all of `buf` to a non-blocking stream, spinning while its send buffer is full.
pub(crate) fn write_all<W: Write>(
    mut io: W,
    buf: &[u8],
    deadline: Instant,
    what: &str,
) -> io::Result<()> {
    let mut done = 0;
    let mut spin = Spin::default();
    while done < buf.len() {
        match io.write(&buf[done..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if spin.empty(deadline) {
                    return Err(silent(what));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream};
    use std::time::Duration;

    fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let a = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (b, _) = listener.accept().unwrap();
        a.set_nonblocking(true).unwrap();
        b.set_nonblocking(true).unwrap();
        (a, b)
    }

    #[test]
    fn a_spinning_read_gathers_a_message_written_in_pieces() {
        let (a, b) = pair();
        let writer = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(5);
            for piece in [&[1u8, 2][..], &[3, 4, 5]] {
                write_all(&a, piece, deadline, "test").unwrap();
                std::thread::sleep(Duration::from_millis(20));
            }
            a
        });
        let mut buf = [0u8; 5];
        let deadline = Instant::now() + Duration::from_secs(5);
        assert!(read_exact(&b, &mut buf, deadline, "test").unwrap());
        assert_eq!(buf, [1, 2, 3, 4, 5]);
        drop(writer.join().unwrap());
        assert!(
            !read_exact(&b, &mut buf, deadline, "test").unwrap(),
            "a clean close before any byte"
        );
    }

    #[test]
    fn a_silent_peer_ends_the_spin_at_the_deadline_with_its_name() {
        let (_a, b) = pair();
        let start = Instant::now();
        let mut buf = [0u8; 8];
        let e = read_exact(
            &b,
            &mut buf,
            start + Duration::from_millis(50),
            "the server went silent",
        )
        .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        assert_eq!(e.to_string(), "the server went silent");
        let waited = start.elapsed();
        assert!(
            waited >= Duration::from_millis(50) && waited < Duration::from_secs(2),
            "{waited:?}"
        );
    }

    #[test]
    fn the_clock_is_read_only_every_few_empty_tries() {
        let mut spin = Spin::default();
        let past = Instant::now();
        let seen: Vec<bool> = (0..CLOCK_EVERY).map(|_| spin.empty(past)).collect();
        assert!(seen[..CLOCK_EVERY as usize - 1].iter().all(|d| !d));
        assert!(seen[CLOCK_EVERY as usize - 1], "a passed deadline is seen");
    }
}
