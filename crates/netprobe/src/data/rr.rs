//! Request/response tests: closed loop (one request in flight) and open loop (requests leave on a
//! fixed schedule; latency counts from the *intended* send time, so a stall is charged to every
//! request it delayed), over TCP, UDP and fresh TCP connections (`tcp-crr`).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use probe_core::LatencyHistogram;

use super::open_loop::{ns_since, spawn_sender, Schedule};
use super::{busy, read_header, write_header, Window};
use crate::session::STALL_TIMEOUT;

/// Idle read timeout of echo servers, after which they check whether the test is over.
const ECHO_POLL: Duration = Duration::from_millis(250);

/// How the waiting side of a round trip waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RrWait {
    /// Sleep in the kernel until data comes (the default).
    Block,
    /// Spin on non-blocking receives ([`busy`]).
    BusyPoll,
}

/// What a busy-polling client says when the server stops answering.
const SERVER_SILENT: &str = "no answer from the peer within 5 s mid-test (busy-polling): it \
                             stopped responding (frozen, overloaded, or the path dropped its \
                             packets)";

/// What an echo server says when the client goes quiet without closing.
const CLIENT_SILENT: &str = "peer went silent past the end of the test";

/// What one request/response stream measured.
#[derive(Debug, Clone, Default)]
pub(crate) struct RrOutcome {
    /// Round trips; corrected in open loop.
    pub(crate) rtt: LatencyHistogram,
    /// Open loop only: from the actual send time.
    pub(crate) uncorrected: Option<LatencyHistogram>,
    /// `tcp-crr` only: connect times.
    pub(crate) connect: Option<LatencyHistogram>,
    pub(crate) transactions: u64,
    /// Completed round trips over the whole test, warm-up included (what the CPU time of the
    /// side was spent on).
    pub(crate) round_trips: u64,
    pub(crate) timeouts: u64,
    pub(crate) errors: u64,
    pub(crate) interval_transactions: Vec<u64>,
}

impl RrOutcome {
    fn new(window: &Window) -> Self {
        Self {
            interval_transactions: vec![0; window.interval_count()],
            ..Default::default()
        }
    }

    #[inline]
    fn count(&mut self, window: &Window, done_at: Instant, rtt_ns: u64) -> bool {
        match window.slot(done_at) {
            Some(slot) => {
                self.rtt.record(rtt_ns);
                self.transactions += 1;
                self.interval_transactions[slot] += 1;
                true
            }
            None => false,
        }
    }

    /// Adds another stream's outcome.
    pub(crate) fn merge(&mut self, other: &RrOutcome) {
        let _ = self.rtt.merge(&other.rtt);
        merge_opt(&mut self.uncorrected, &other.uncorrected);
        merge_opt(&mut self.connect, &other.connect);
        self.transactions += other.transactions;
        self.round_trips += other.round_trips;
        self.timeouts += other.timeouts;
        self.errors += other.errors;
        for (a, b) in self
            .interval_transactions
            .iter_mut()
            .zip(&other.interval_transactions)
        {
            *a += b;
        }
    }
}

fn merge_opt(into: &mut Option<LatencyHistogram>, from: &Option<LatencyHistogram>) {
    match (into.as_mut(), from) {
        (Some(a), Some(b)) => {
            let _ = a.merge(b);
        }
        (None, Some(b)) => *into = Some(b.clone()),
        _ => {}
    }
}

fn elapsed_ns(window: &Window, t: Instant) -> u64 {
    ns_since(window.t0, t)
}

/// Closed-loop TCP client: write a request, read the whole response, repeat.
pub(crate) fn tcp_closed(
    stream: &TcpStream,
    window: &Window,
    wait: RrWait,
    request: &mut [u8],
    response: &mut [u8],
) -> io::Result<RrOutcome> {
    let busy = wait == RrWait::BusyPoll;
    stream.set_nonblocking(busy)?;
    let mut out = RrOutcome::new(window);
    let until = window.end();
    let mut io = stream;
    let mut seq = 0u64;
    let mut sent_at = Instant::now();
    while sent_at < until {
        write_header(request, 0, seq, 0);
        if busy {
            let deadline = sent_at + STALL_TIMEOUT;
            busy::write_all(io, request, deadline, SERVER_SILENT)?;
            if !busy::read_exact(io, response, deadline, SERVER_SILENT)? {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        } else {
            io.write_all(request)?;
            io.read_exact(response)?;
        }
        let done = Instant::now();
        out.count(window, done, done.duration_since(sent_at).as_nanos() as u64);
        out.round_trips += 1;
        seq += 1;
        sent_at = done; // one clock read per transaction
    }
    stream.set_nonblocking(false)?;
    Ok(out)
}

/// Open-loop TCP client at `rate` requests per second on this connection.
pub(crate) fn tcp_open(
    stream: &TcpStream,
    window: &Window,
    rate: f64,
    request: &mut [u8],
    response: &mut [u8],
) -> io::Result<RrOutcome> {
    let schedule = Schedule::new(window, rate);
    let writer = stream.try_clone()?;
    let closer = stream.try_clone()?;
    let sender = spawn_sender(
        schedule,
        window.clone(),
        0,
        request.to_vec(),
        move |req| (&writer).write_all(req),
        // The echo side sees EOF once every request is out, and so the reader here too.
        move || closer.shutdown(std::net::Shutdown::Write),
    );
    let mut out = RrOutcome::new(window);
    let mut uncorrected = LatencyHistogram::new();
    let mut io = stream;
    let mut received = 0u64;
    loop {
        match io.read_exact(response) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(e),
        }
        let now = Instant::now();
        let Some((_, seq, actual_ns)) = read_header(response) else {
            continue;
        };
        received += 1;
        out.round_trips += 1;
        let rt = schedule.round_trip(seq, actual_ns, elapsed_ns(window, now));
        let intended_at = window.t0 + Duration::from_nanos(schedule.intended_ns(seq));
        if window.slot(intended_at).is_some()
            && out.count(window, intended_at.max(window.start()), rt.corrected_ns)
        {
            uncorrected.record(rt.uncorrected_ns);
        }
    }
    let (sent, _) = sender
        .join()
        .map_err(|_| io::Error::other("open-loop sender thread panicked"))??;
    out.errors += sent.saturating_sub(received);
    out.uncorrected = Some(uncorrected);
    Ok(out)
}

/// Echo server for one TCP connection: read a request, answer with a response that repeats the
/// request's header, until the peer closes or `give_up` passes.
pub(crate) fn tcp_echo(
    stream: &TcpStream,
    wait: RrWait,
    request: &mut [u8],
    response: &mut [u8],
    give_up: Instant,
) -> io::Result<u64> {
    let busy = wait == RrWait::BusyPoll;
    if busy {
        stream.set_nonblocking(true)?;
    } else {
        stream.set_read_timeout(Some(ECHO_POLL))?;
    }
    let mut io = stream;
    let mut served = 0u64;
    loop {
        let got = if busy {
            busy::read_exact(io, request, give_up, CLIENT_SILENT)?
        } else {
            read_exact_polling(&mut io, request, give_up)?
        };
        if !got {
            return Ok(served);
        }
        response[..super::HEADER_BYTES].copy_from_slice(&request[..super::HEADER_BYTES]);
        if busy {
            busy::write_all(io, response, give_up, CLIENT_SILENT)?;
        } else {
            io.write_all(response)?;
        }
        served += 1;
    }
}

/// Reads exactly `buf.len()` bytes, tolerating read timeouts until `give_up`.
/// `Ok(false)` means a clean end of stream before any byte.
fn read_exact_polling(io: &mut &TcpStream, buf: &mut [u8], give_up: Instant) -> io::Result<bool> {
    let mut filled = 0;
    while filled < buf.len() {
        match io.read(&mut buf[filled..]) {
            Ok(0) if filled == 0 => return Ok(false),
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => filled += n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) =>
            {
                if Instant::now() >= give_up {
                    return Err(busy::silent(CLIENT_SILENT));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return Ok(false),
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// Closed-loop UDP client; a request unanswered within `timeout` is counted and skipped.
pub(crate) fn udp_closed(
    socket: &UdpSocket,
    window: &Window,
    wait: RrWait,
    tag: u64,
    timeout: Duration,
    request: &mut [u8],
    response: &mut [u8],
) -> io::Result<RrOutcome> {
    let busy = wait == RrWait::BusyPoll;
    if busy {
        socket.set_nonblocking(true)?;
    } else {
        socket.set_read_timeout(Some(timeout))?;
    }
    let mut out = RrOutcome::new(window);
    let until = window.end();
    let mut seq = 0u64;
    let mut sent_at = Instant::now();
    while sent_at < until {
        write_header(request, tag, seq, 0);
        if let Err(e) = socket.send(request) {
            // A full send buffer of a non-blocking socket: the request is lost, and so timed out.
            if !(busy && e.kind() == io::ErrorKind::WouldBlock) {
                return Err(e);
            }
        }
        let deadline = sent_at + timeout;
        let mut spin = busy::Spin::default();
        loop {
            match socket.recv(response) {
                Ok(n) => {
                    let now = Instant::now();
                    match read_header(&response[..n]) {
                        Some((t, s, _)) if t == tag && s == seq => {
                            out.count(window, now, now.duration_since(sent_at).as_nanos() as u64);
                            out.round_trips += 1;
                            sent_at = now;
                            break;
                        }
                        // A late answer to an earlier, timed-out request, or a stranger.
                        _ if now < deadline => continue,
                        _ => {
                            out.timeouts += u64::from(window.slot(now).is_some());
                            sent_at = now;
                            break;
                        }
                    }
                }
                Err(e) if busy && e.kind() == io::ErrorKind::WouldBlock => {
                    if spin.empty(deadline) {
                        let now = Instant::now();
                        out.timeouts += u64::from(window.slot(now).is_some());
                        sent_at = now;
                        break;
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::ConnectionRefused
                    ) =>
                {
                    let now = Instant::now();
                    out.timeouts += u64::from(window.slot(now).is_some());
                    sent_at = now;
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        seq += 1;
    }
    socket.set_nonblocking(false)?;
    Ok(out)
}

/// Open-loop UDP client; requests still unanswered `timeout` after the last send are timeouts.
pub(crate) fn udp_open(
    socket: &UdpSocket,
    window: &Window,
    tag: u64,
    rate: f64,
    timeout: Duration,
    request: &mut [u8],
    response: &mut [u8],
) -> io::Result<RrOutcome> {
    let schedule = Schedule::new(window, rate);
    let writer = socket.try_clone()?;
    let sender = spawn_sender(
        schedule,
        window.clone(),
        tag,
        request.to_vec(),
        move |req| match writer.send(req) {
            // The echo server is not up yet or went away: the request counts as lost.
            Err(e) if e.kind() != io::ErrorKind::ConnectionRefused => Err(e),
            _ => Ok(()),
        },
        || Ok(()),
    );
    socket.set_read_timeout(Some(Duration::from_millis(20)))?;
    let stop = window.end() + timeout;
    let mut out = RrOutcome::new(window);
    let mut uncorrected = LatencyHistogram::new();
    loop {
        let result = socket.recv(response);
        let now = Instant::now();
        if let Ok(n) = result {
            if let Some((t, seq, actual_ns)) = read_header(&response[..n]) {
                let rt = schedule.round_trip(seq, actual_ns, elapsed_ns(window, now));
                let intended_at = window.t0 + Duration::from_nanos(schedule.intended_ns(seq));
                let late = rt.corrected_ns > timeout.as_nanos() as u64;
                if t == tag && !late {
                    out.round_trips += 1;
                    if let Some(slot) = window.slot(intended_at) {
                        out.rtt.record(rt.corrected_ns);
                        out.transactions += 1;
                        out.interval_transactions[slot] += 1;
                        uncorrected.record(rt.uncorrected_ns);
                    }
                }
            }
        }
        if now >= stop {
            break;
        }
    }
    let (_, sent_in_window) = sender
        .join()
        .map_err(|_| io::Error::other("open-loop sender thread panicked"))??;
    out.timeouts = sent_in_window.saturating_sub(out.transactions);
    out.uncorrected = Some(uncorrected);
    Ok(out)
}

/// UDP echo server: answers datagrams carrying `tag` with `response` bytes until `stop`.
pub(crate) fn udp_echo(
    socket: &UdpSocket,
    wait: RrWait,
    tag: u64,
    request: &mut [u8],
    response: &mut [u8],
    stop: Instant,
) -> io::Result<u64> {
    let busy = wait == RrWait::BusyPoll;
    if busy {
        socket.set_nonblocking(true)?;
    } else {
        socket.set_read_timeout(Some(Duration::from_millis(50)))?;
    }
    let mut served = 0u64;
    let mut spin = busy::Spin::default();
    // Connected to the client once its first request is in: each answer then skips the route
    // lookup of an addressed send, and datagrams from anyone else never reach the socket.
    let mut connected = false;
    loop {
        match socket.recv_from(request) {
            Ok((n, from)) => {
                if let Some((t, _, _)) = read_header(&request[..n]) {
                    if t == tag {
                        response[..super::HEADER_BYTES]
                            .copy_from_slice(&request[..super::HEADER_BYTES]);
                        if !connected {
                            connected = socket.connect(from).is_ok();
                        }
                        let _ = if connected {
                            socket.send(response)
                        } else {
                            socket.send_to(response, from)
                        };
                        served += 1;
                    }
                }
            }
            Err(e) if busy && e.kind() == io::ErrorKind::WouldBlock => {
                if spin.empty(stop) {
                    return Ok(served);
                }
                continue;
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                        | io::ErrorKind::ConnectionRefused
                ) => {}
            Err(e) => return Err(e),
        }
        if Instant::now() >= stop {
            return Ok(served);
        }
    }
}

/// `tcp-crr` client: connect, send cookie and request, read the response, wait for the server
/// to close (the server closes first so TIME_WAIT does not eat the client's ephemeral ports).
pub(crate) fn tcp_crr(
    server: SocketAddr,
    window: &Window,
    cookie: &[u8; 16],
    request: &mut [u8],
    response: &mut [u8],
) -> io::Result<RrOutcome> {
    let mut out = RrOutcome::new(window);
    let mut connect = LatencyHistogram::new();
    let mut hello = Vec::with_capacity(16 + request.len());
    hello.extend_from_slice(cookie);
    hello.extend_from_slice(request);
    let mut eof_probe = [0u8; 1];
    let until = window.end();
    let mut start = Instant::now();
    while start < until {
        let attempt = (|| -> io::Result<(Instant, Instant)> {
            let mut stream = TcpStream::connect_timeout(&server, Duration::from_secs(1))?;
            let connected = Instant::now();
            stream.set_nodelay(true)?;
            stream.set_read_timeout(Some(Duration::from_secs(2)))?;
            stream.write_all(&hello)?;
            stream.read_exact(response)?;
            let done = Instant::now();
            let _ = stream.read(&mut eof_probe);
            Ok((connected, done))
        })();
        match attempt {
            Ok((connected, done)) => {
                out.round_trips += 1;
                if out.count(window, done, done.duration_since(start).as_nanos() as u64) {
                    connect.record(connected.duration_since(start).as_nanos() as u64);
                }
                start = Instant::now();
            }
            Err(_) => {
                start = Instant::now();
                out.errors += u64::from(window.slot(start).is_some());
            }
        }
    }
    out.connect = Some(connect);
    Ok(out)
}

/// `tcp-crr` server worker: accepts connections carrying `cookie` until `stop`.
pub(crate) fn tcp_crr_serve(
    listener: &TcpListener,
    cookie: &[u8; 16],
    request_len: usize,
    response: &mut [u8],
    stop: Instant,
) -> io::Result<u64> {
    let mut hello = vec![0u8; 16 + request_len];
    let mut served = 0u64;
    while Instant::now() < stop {
        let mut stream = match listener.accept() {
            Ok((s, _)) => s,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) =>
            {
                continue
            }
            Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => continue,
            Err(e) => return Err(e),
        };
        let _ = stream.set_nodelay(true);
        let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
        if stream.read_exact(&mut hello).is_err() || &hello[..16] != cookie {
            continue; // a stranger or a broken client: drop it
        }
        response[..super::HEADER_BYTES].copy_from_slice(&hello[16..16 + super::HEADER_BYTES]);
        if stream.write_all(response).is_ok() {
            served += 1;
        }
    }
    Ok(served)
}
