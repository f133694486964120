//! Bulk UDP at a target rate: a paced sender that keeps an absolute schedule and sleeps between
//! batches instead of spinning, and a receiver that counts loss, duplicates, reordering and RFC 3550 jitter.

use std::io;
use std::net::UdpSocket;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use super::pacing::{Pacer, RateProfile};
use super::{read_header, write_header, ReceiveWaiter, Window};
use crate::protocol::UdpCounts;
use crate::sys;

/// Sequence number of the "here I am" datagram a receiving client sends so the server learns
/// where to send (works through NAT and security groups that track flows).
pub(crate) const HELLO_SEQ: u64 = u64::MAX;

/// Most datagrams a paced sender sends back to back before it reads the clock again: a sender
/// that woke late pays what it owes in bursts of this many (about 90 kB of 1400-byte
/// datagrams), as iperf3 sends at most a few datagrams per pass of its loop.
const MAX_BURST: u64 = 64;

/// Most bytes one segmented send carries (an IP packet's payload, with room for headers).
const MAX_SEGMENTED_BYTES: usize = 65_000;

/// Most datagrams one segmented send carries (`UDP_MAX_SEGMENTS` of older kernels).
const MAX_SEGMENTS: usize = 64;

/// Longest a paced sender sleeps at once, so an until-baseline window that was ended early by
/// agreement is noticed soon (the profile may owe nothing for a long time).
const MAX_NAP: Duration = Duration::from_millis(50);

/// What a paced sender did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Sent {
    /// Datagrams sent (sequence numbers used).
    pub(crate) datagrams: u64,
    /// Send slots given up: the sender fell further behind than
    /// [`super::pacing::CATCH_UP_HORIZON`], or still owed them when the window closed.
    pub(crate) skipped: u64,
    /// Datagrams whose send found the socket's own queue full (and then waited, or were
    /// refused with `ENOBUFS`): the sending host held the sender back, not the path and not
    /// the CPU.
    pub(crate) queue_full: u64,
}

/// Sequence numbers tracked exactly for duplicates; older stragglers are counted as reordered.
const SEQ_WINDOW: u64 = 1 << 20;

/// Sends datagrams of `buf.len()` bytes on a connected socket until the window's send deadline.
/// `profile` of `None` sends as fast as the socket allows; a rate (or a rate profile) is kept
/// as an absolute schedule from the window's `t0` (see [`Pacer`]): a sender that wakes late
/// sends what fell due meanwhile, in bursts of at most [`MAX_BURST`]. A paced sender hands the
/// kernel several datagrams per system call where it can cut them itself (UDP segmentation
/// offload): a sender short of CPU (a loaded 2-vCPU task) then still keeps its rate, since a
/// batch costs about what one datagram did.
pub(crate) fn send(
    socket: &UdpSocket,
    window: &Window,
    tag: u64,
    profile: Option<RateProfile>,
    buf: &mut [u8],
) -> io::Result<Sent> {
    let size = buf.len();
    let fd = socket.as_raw_fd();
    let mut pacer = profile.map(|p| Pacer::new(window.t0, p, size, MAX_BURST));
    let mut per_send = if pacer.is_some() {
        segmented_batch(fd, size)
    } else {
        1
    };
    let mut batch = buf.repeat(per_send);
    let mut seq = 0u64;
    let mut queue_full = 0u64;
    loop {
        let now = Instant::now();
        if now >= window.send_until() {
            break;
        }
        // Send what is owed by now, one bounded burst (one datagram per pass when unpaced).
        let mut due = match pacer.as_mut() {
            Some(p) => p.take(now),
            None => 1,
        };
        let send_ns = now.duration_since(window.t0).as_nanos() as u64;
        while due > 0 {
            let n = due.min(per_send as u64) as usize;
            let out = &mut batch[..n * size];
            for (k, datagram) in out.chunks_exact_mut(size).enumerate() {
                write_header(datagram, tag, seq + k as u64, send_ns);
            }
            match send_one(socket, fd, out) {
                Ok(full) => queue_full += u64::from(full) * n as u64,
                // The interface cannot cut datagrams after all (no checksum offload, say):
                // from here on, one datagram per send; this batch goes again that way.
                Err(e) if per_send > 1 && segmentation_refused(&e) => {
                    let _ = sys::set_udp_segment(fd, 0);
                    per_send = 1;
                    continue;
                }
                Err(e) => return Err(e),
            }
            seq += n as u64;
            due -= n as u64;
        }
        if let Some(p) = pacer.as_ref() {
            let nap = p
                .sleep_after(Instant::now())
                .unwrap_or(MAX_NAP)
                .min(MAX_NAP);
            if !nap.is_zero() {
                std::thread::sleep(nap);
            }
        }
    }
    if let Some(p) = pacer.as_mut() {
        p.finish(window.send_until());
    }
    Ok(Sent {
        datagrams: seq,
        skipped: pacer.map_or(0, |p| p.skipped()),
        queue_full,
    })
}

/// How many `size`-byte datagrams one send may carry: several once the kernel agreed to cut
/// them (`UDP_SEGMENT`), else one.
fn segmented_batch(fd: std::os::fd::RawFd, size: usize) -> usize {
    let n = (MAX_SEGMENTED_BYTES / size.max(1)).min(MAX_SEGMENTS);
    match u16::try_from(size) {
        Ok(size) if n > 1 && sys::set_udp_segment(fd, size).is_ok() => n,
        _ => 1,
    }
}

/// Errors with which a send of several datagrams at once says the path cannot segment them.
fn segmentation_refused(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EIO | libc::EINVAL | libc::EOPNOTSUPP | libc::EMSGSIZE)
    )
}

/// Sends one datagram (or one segmented batch); returns whether it found the socket's queue
/// full. Tries without sleeping first: a full queue here is the sender's own interface or qdisc holding it back,
/// which the report must not call a lack of CPU.
#[inline]
fn send_one(socket: &UdpSocket, fd: std::os::fd::RawFd, buf: &[u8]) -> io::Result<bool> {
    let mut queue_full = false;
    let sent = match sys::send_dont_wait(fd, buf) {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
            queue_full = true;
            socket.send(buf)
        }
        Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
            queue_full = true;
            Err(e)
        }
        other => other,
    };
    match sent {
        Ok(_) => Ok(queue_full),
        // A refused port (ICMP) or a full queue: the datagram is lost, which is what the
        // receiver will count; keep the schedule.
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::ConnectionRefused | io::ErrorKind::Interrupted
            ) || e.raw_os_error() == Some(libc::ENOBUFS) =>
        {
            Ok(queue_full)
        }
        Err(e) => Err(e),
    }
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
        let outcome = send(
            &tx,
            &window,
            7,
            Some(RateProfile::constant(40_000_000)),
            &mut buf,
        )
        .unwrap();
        let sent = outcome.datagrams;
        let (counts, _rx) = receiver.join().unwrap();
        // An absolute schedule: never ahead of the rate, and every slot of it either sent or
        // (by a sender short of CPU for longer than the catch-up horizon, or still owing at
        // the end) given up, none twice.
        assert_eq!(sent + outcome.skipped, 2500, "{outcome:?}");
        // Only a last wake-up later than 100 ms (a very loaded machine) leaves a fifth unsent.
        assert!(outcome.skipped * 5 < 2500, "{outcome:?}");
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
