//! Bulk UDP at a target rate: a paced sender that sleeps between batches instead of spinning,
//! and a receiver that counts loss, duplicates, reordering and RFC 3550 jitter.

use std::io;
use std::net::UdpSocket;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use super::{read_header, write_header, ReceiveWaiter, Window};
use crate::protocol::UdpCounts;
use crate::sys;

/// Sequence number of the "here I am" datagram a receiving client sends so the server learns
/// where to send (works through NAT and security groups that track flows).
pub(crate) const HELLO_SEQ: u64 = u64::MAX;

/// Below this gap between datagrams the sender works in batches: it sleeps this long and then
/// sends everything that fell due, so a 1 Gbit/s stream costs a fraction of a core.
const BATCH_SLEEP: Duration = Duration::from_micros(500);

/// How far a paced sender may fall behind its schedule before it gives up the missed send
/// slots instead of sending them in one burst. A sender that was descheduled for 50 ms and then
/// caught up at once overflowed a shaped link's queue: on a loaded 2-vCPU host a 1 Gbit/s `tbf`
/// link lost 5-15 % of a 900 Mbit/s stream that way, loss the link would never show at that rate.
/// 10 ms rides out the timer and scheduling delays of a VM (2 ms still gave up 0.5 % of a
/// 1 Gbit/s stream on an idle 2-vCPU guest) while a burst stays within what queues absorb.
const MAX_CATCH_UP: Duration = Duration::from_millis(10);

/// What a paced sender did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Sent {
    /// Datagrams sent (sequence numbers used).
    pub(crate) datagrams: u64,
    /// Send slots given up because the sender fell more than [`MAX_CATCH_UP`] behind.
    pub(crate) skipped: u64,
    /// Sends that found the socket's own queue full (and then waited, or were refused with
    /// `ENOBUFS`): the sending host held the sender back, not the path and not the CPU.
    pub(crate) queue_full: u64,
}

/// Sequence numbers tracked exactly for duplicates; older stragglers are counted as reordered.
const SEQ_WINDOW: u64 = 1 << 20;

/// Sends datagrams of `buf.len()` bytes on a connected socket until the window's send deadline.
/// `rate_bits_per_sec` of `None` sends as fast as the socket allows; a rate is kept as a
/// schedule that is never caught up by more than [`MAX_CATCH_UP`] at once.
pub(crate) fn send(
    socket: &UdpSocket,
    window: &Window,
    tag: u64,
    rate_bits_per_sec: Option<u64>,
    buf: &mut [u8],
) -> io::Result<Sent> {
    let gap = rate_bits_per_sec.map(|rate| {
        Duration::from_nanos(((buf.len() as u128 * 8 * 1_000_000_000) / rate.max(1) as u128) as u64)
    });
    let mut seq = 0u64;
    let mut skipped = 0u64;
    let mut queue_full = 0u64;
    let fd = socket.as_raw_fd();
    let mut next_due = window.t0;
    loop {
        let now = Instant::now();
        if now >= window.send_until() {
            break;
        }
        if let Some(g) = gap {
            let behind = now.saturating_duration_since(next_due);
            if behind > MAX_CATCH_UP {
                let missed = ((behind - MAX_CATCH_UP).as_nanos() / g.as_nanos().max(1)) as u64;
                skipped += missed;
                next_due += Duration::from_nanos(missed.saturating_mul(g.as_nanos() as u64));
            }
        }
        // Send everything due by now (all of it when unpaced).
        while gap.is_none() || next_due <= now {
            let send_ns = now.duration_since(window.t0).as_nanos() as u64;
            write_header(buf, tag, seq, send_ns);
            // Try without sleeping first: a full queue here is the sender's own interface or
            // qdisc holding it back, which the report must not call a lack of CPU.
            let sent = match sys::send_dont_wait(fd, buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    queue_full += 1;
                    socket.send(buf)
                }
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    queue_full += 1;
                    Err(e)
                }
                other => other,
            };
            match sent {
                Ok(_) => {}
                // A refused port (ICMP) or a full queue: the datagram is lost, which is what the
                // receiver will count; keep the schedule.
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::ConnectionRefused | io::ErrorKind::Interrupted
                    ) || e.raw_os_error() == Some(libc::ENOBUFS) => {}
                Err(e) => return Err(e),
            }
            seq += 1;
            match gap {
                Some(g) => next_due += g,
                None => break,
            }
        }
        if let Some(g) = gap {
            let wait = next_due.saturating_duration_since(Instant::now());
            if g < BATCH_SLEEP {
                std::thread::sleep(BATCH_SLEEP);
            } else if !wait.is_zero() {
                std::thread::sleep(wait);
            }
        }
    }
    Ok(Sent {
        datagrams: seq,
        skipped,
        queue_full,
    })
}

/// Tracks which sequence numbers arrived, in a sliding bitmap.
struct SeqTracker {
    bits: Vec<u64>,
    highest: Option<u64>,
    counts: UdpCounts,
    last_transit_ns: Option<i128>,
}

impl SeqTracker {
    fn new() -> Self {
        Self {
            bits: vec![0; (SEQ_WINDOW / 64) as usize],
            highest: None,
            counts: UdpCounts::default(),
            last_transit_ns: None,
        }
    }

    #[inline]
    fn bit(&mut self, seq: u64) -> (usize, u64) {
        let slot = seq % SEQ_WINDOW;
        ((slot / 64) as usize, 1u64 << (slot % 64))
    }

    #[inline]
    fn record(&mut self, seq: u64, send_ns: u64, recv_ns: u64) {
        match self.highest {
            Some(h) if seq <= h => {
                if h - seq >= SEQ_WINDOW {
                    self.counts.received += 1;
                    self.counts.out_of_order += 1;
                    return;
                }
                let (word, mask) = self.bit(seq);
                if self.bits[word] & mask != 0 {
                    self.counts.duplicates += 1;
                    return;
                }
                self.bits[word] |= mask;
                self.counts.received += 1;
                self.counts.out_of_order += 1;
            }
            _ => {
                let from = self.highest.map_or(0, |h| h + 1);
                if seq - from >= SEQ_WINDOW {
                    self.bits.iter_mut().for_each(|w| *w = 0);
                } else {
                    for s in from..seq {
                        let (word, mask) = self.bit(s);
                        self.bits[word] &= !mask;
                    }
                }
                let (word, mask) = self.bit(seq);
                self.bits[word] |= mask;
                self.highest = Some(seq);
                self.counts.received += 1;
            }
        }
        // RFC 3550 section 6.4.1: J += (|D| - J) / 16 over consecutive arrivals.
        let transit = recv_ns as i128 - send_ns as i128;
        if let Some(last) = self.last_transit_ns {
            let d = (transit - last).unsigned_abs() as f64;
            self.counts.jitter_ns += (d - self.counts.jitter_ns) / 16.0;
        }
        self.last_transit_ns = Some(transit);
    }
}

/// Receives until the window's send deadline plus `grace`. When `hello_to_sender` is set (the
/// client receiving in reverse mode) it announces itself until the first datagram arrives.
/// With `poll` it reads without sleeping while datagrams keep coming (see
/// [`crate::protocol::ReceiveWait`]).
pub(crate) fn receive(
    socket: &UdpSocket,
    window: &Window,
    tag: u64,
    buf: &mut [u8],
    grace: Duration,
    hello_to_sender: bool,
    poll: bool,
) -> io::Result<UdpCounts> {
    socket.set_read_timeout(Some(Duration::from_millis(50)))?;
    let mut tracker = SeqTracker::new();
    tracker.counts.interval_bytes = vec![0; window.interval_count()];
    let mut hello = [0u8; super::HEADER_BYTES];
    write_header(&mut hello, tag, HELLO_SEQ, 0);
    if hello_to_sender {
        let _ = socket.send(&hello);
    }
    let fd = socket.as_raw_fd();
    let mut waiter = ReceiveWaiter::new(poll, false);
    loop {
        let result = sys::recv(fd, buf, waiter.flags());
        let now = Instant::now();
        match result {
            Ok(n) => {
                waiter.got_data();
                let Some((got_tag, seq, send_ns)) = read_header(&buf[..n]) else {
                    continue;
                };
                if got_tag != tag || seq == HELLO_SEQ {
                    continue;
                }
                let recv_ns = now.duration_since(window.t0).as_nanos() as u64;
                tracker.record(seq, send_ns, recv_ns);
                if let Some(slot) = window.slot(now) {
                    tracker.counts.window_bytes += n as u64;
                    tracker.counts.interval_bytes[slot] += n as u64;
                    window.publish(slot, n as u64);
                }
            }
            Err(e) if waiter.empty_poll(&e, now) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                        | io::ErrorKind::ConnectionRefused
                ) =>
            {
                if hello_to_sender && tracker.counts.received == 0 {
                    let _ = socket.send(&hello);
                }
            }
            Err(e) => return Err(e),
        }
        if now >= window.send_until() + grace {
            break;
        }
    }
    tracker.counts.socket_drops = sys::receive_drops(fd);
    Ok(tracker.counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracker_counts_loss_duplicates_and_reordering() {
        let mut t = SeqTracker::new();
        for seq in [0, 1, 3, 2, 2, 5] {
            t.record(seq, 0, 0);
        }
        assert_eq!(t.counts.received, 5); // 0 1 2 3 5 (4 lost)
        assert_eq!(t.counts.duplicates, 1);
        assert_eq!(t.counts.out_of_order, 1);
    }

    #[test]
    fn jitter_follows_rfc3550() {
        let mut t = SeqTracker::new();
        // transit times 100, 110, 100: D = 10 then 10 -> J = 10/16, then + (10 - J)/16
        t.record(0, 0, 100);
        t.record(1, 1000, 1110);
        t.record(2, 2000, 2100);
        let j1 = 10.0 / 16.0;
        let j2 = j1 + (10.0 - j1) / 16.0;
        assert!((t.counts.jitter_ns - j2).abs() < 1e-9);
    }

    #[test]
    fn paced_sender_holds_its_rate_on_loopback() {
        let (rx, tx) = connected_pair();
        let rx_port = rx.local_addr().unwrap().port();
        let window = Window::fixed(
            Instant::now(),
            Duration::ZERO,
            Duration::from_millis(400),
            Duration::from_millis(100),
        );
        let w = window.clone();
        let receiver = std::thread::spawn(move || {
            let mut buf = vec![0u8; 2048];
            let counts = receive(
                &rx,
                &w,
                7,
                &mut buf,
                Duration::from_millis(200),
                false,
                false,
            )
            .unwrap();
            (counts, rx) // keep the socket open so its kernel counters can be read
        });
        let mut buf = vec![0u8; 1000];
        // 40 Mbit/s of 1000-byte datagrams: 5000 per second, 2500 in 500 ms (window + tail).
        let sent = send(&tx, &window, 7, Some(40_000_000), &mut buf)
            .unwrap()
            .datagrams;
        let (counts, _rx) = receiver.join().unwrap();
        // Paced, never bursting to catch up: a sender descheduled by a busy 2-core machine
        // (the test suite's other threads) falls a little behind, never ahead.
        assert!((2000..=2700).contains(&sent), "sent {sent}");
        // On a loaded machine the receiving thread can be descheduled long enough for its socket
        // buffer to overflow; the kernel counts those drops, and every datagram must be either
        // received or dropped there, never lost in our accounting.
        let kernel_drops = udp_socket_drops(rx_port);
        assert_eq!(counts.socket_drops, Some(kernel_drops));
        assert_eq!(
            counts.received + kernel_drops,
            sent,
            "kernel dropped {kernel_drops}"
        );
        assert!(
            kernel_drops * 20 < sent,
            "more than 5% dropped: {kernel_drops} of {sent}"
        );
        assert_eq!(counts.duplicates, 0);
    }

    #[test]
    fn a_late_sender_skips_its_missed_slots_instead_of_bursting() {
        let (_rx, tx) = connected_pair();
        // The schedule began 100 ms ago, as if the sender had been descheduled that long.
        let window = Window::fixed(
            Instant::now() - Duration::from_millis(100),
            Duration::ZERO,
            Duration::from_millis(300),
            Duration::from_millis(100),
        );
        let mut buf = vec![0u8; 1000];
        // 5000 datagrams per second: 500 slots missed, of which 10 ms (50) may be caught up.
        let sent = send(&tx, &window, 7, Some(40_000_000), &mut buf).unwrap();
        // At most 10 ms of the missed 100 ms were caught up (more skips only if this machine
        // deschedules the sender again), and every slot of the 400 ms schedule (window + tail)
        // was either sent or given up.
        assert!((449..=600).contains(&sent.skipped), "{sent:?}");
        assert!(
            (1900..=2005).contains(&(sent.datagrams + sent.skipped)),
            "{sent:?}"
        );
    }

    #[test]
    fn a_full_receive_buffer_is_reported_as_socket_drops() {
        let (rx, tx) = connected_pair();
        let rx_port = rx.local_addr().unwrap().port();
        socket2::SockRef::from(&rx)
            .set_recv_buffer_size(4096)
            .unwrap();
        let window = Window::fixed(
            Instant::now(),
            Duration::ZERO,
            Duration::from_millis(50),
            Duration::from_millis(50),
        );
        // Everything is sent before the receiver reads: a 4 KiB buffer holds only a few.
        let mut datagram = vec![0u8; 1000];
        for seq in 0..500 {
            write_header(&mut datagram, 7, seq, 0);
            tx.send(&datagram).unwrap();
        }
        let mut buf = vec![0u8; 2048];
        let counts = receive(
            &rx,
            &window,
            7,
            &mut buf,
            Duration::from_millis(100),
            false,
            false,
        )
        .unwrap();
        let drops = counts.socket_drops.expect("SO_MEMINFO on Linux");
        assert!(drops > 400, "{counts:?}");
        assert_eq!(counts.received + drops, 500);
        assert_eq!(drops, udp_socket_drops(rx_port));
    }

    /// A receiving socket and a sending socket connected to it, on loopback.
    fn connected_pair() -> (UdpSocket, UdpSocket) {
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        tx.connect(rx.local_addr().unwrap()).unwrap();
        (rx, tx)
    }

    /// The `drops` column of `/proc/net/udp` for the socket bound to 127.0.0.1:`port`.
    fn udp_socket_drops(port: u16) -> u64 {
        let table = std::fs::read_to_string("/proc/net/udp").unwrap();
        let local = format!("0100007F:{port:04X}");
        table
            .lines()
            .skip(1)
            .map(|line| line.split_whitespace().collect::<Vec<_>>())
            .find(|fields| fields.get(1) == Some(&local.as_str()))
            .and_then(|fields| fields.last()?.parse().ok())
            .unwrap_or_else(|| panic!("no /proc/net/udp row for {local}"))
    }
}
