//! One test's data plane on one side: socket setup shared by client and server, and the threads
//! that run the measurement. The control plane (tokio) hands over here once the test is agreed.

use std::io;
use std::net::UdpSocket;
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use crate::data::busy::SO_BUSY_POLL_USEC;
use crate::data::load_probe;
use crate::data::pacing::RateProfile;
use crate::data::rr::{self, RrOutcome, RrWait};
use crate::data::{paced_stream, tag_of, tcp_stream, udp_stream, Window, HEADER_BYTES};
use crate::protocol::{
    BusyPollSocket, Flow, SideResult, StreamSide, TestKind, TestRequest, UdpCounts,
};
use crate::sys::{self, CpuTime};

mod placement;
mod pressure;
mod send_path;
mod setup;

use placement::{allowed_cpus, receivers_poll};
pub(crate) use setup::{
    accept_streams, bind_data_listener, bind_udp, connect_streams, DataSockets, DataStream,
};
use setup::{readback, tcp_info};

/// Which end of the test this process is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    Client,
    Server,
}

/// A data socket that cannot send or (request/response) receive for this long means the peer
/// is gone: a vanished host sends no RST, and without a deadline a write would block for the
/// kernel's full retransmission timeout.
pub(crate) const STALL_TIMEOUT: Duration = Duration::from_secs(5);

/// A data socket's read or write deadline passing mid-test surfaces as EAGAIN ("Resource
/// temporarily unavailable"); say what it means instead.
fn name_a_silent_peer(e: io::Error) -> io::Error {
    if matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    ) && e.raw_os_error().is_some()
    {
        io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "no answer from the peer within {} s mid-test: it stopped responding (frozen, \
                 overloaded, or the path dropped its packets)",
                STALL_TIMEOUT.as_secs()
            ),
        )
    } else {
        e
    }
}

/// What one side measured.
#[derive(Debug, Default)]
pub(crate) struct SideOutput {
    pub(crate) side: SideResult,
    pub(crate) rr: Option<RrOutcome>,
    /// Latency under load, the client: each probe's round trip in ns, in the order sent
    /// ([`load_probe::LOST`] for those that never came back).
    pub(crate) probe_rtt_ns: Option<Vec<u32>>,
    /// Why the latency probe gave nothing, when it failed: the stream's results stand, so the
    /// report warns instead of failing the test.
    pub(crate) probe_error: Option<String>,
}

/// What one data thread produced.
#[derive(Debug, Default)]
struct ThreadOutput {
    stream: Option<StreamSide>,
    rr: Option<RrOutcome>,
    udp: Option<UdpCounts>,
    udp_sent: u64,
    udp_skipped: u64,
    udp_queue_full: u64,
    cpu: CpuTime,
    /// A bulk receive ran on this thread, polling.
    polled: bool,
    /// A TCP stream sender ran on this thread: whether it spliced.
    spliced: Option<bool>,
    /// Why this thread's sender copied where `--send-path auto` would have spliced.
    send_path_fallback: Option<String>,
    /// Payload bytes sent and received, warm-up and tail included.
    moved_bytes: u64,
    /// Round trips completed or answered, warm-up included.
    round_trips: u64,
    /// What `SO_BUSY_POLL` did on this thread's socket (busy-poll tests).
    busy_poll_socket: BusyPollSocket,
}

/// Everything a data thread needs, borrowed from `run_side`.
#[derive(Clone, Copy)]
struct Ctx<'a> {
    req: &'a TestRequest,
    window: &'a Window,
    cookie: &'a [u8; 16],
    is_client: bool,
    stop_serving: Instant,
    /// Bulk receivers poll instead of sleeping.
    poll: bool,
}

impl Ctx<'_> {
    fn message(&self) -> usize {
        self.req.message_bytes as usize
    }

    fn response(&self) -> usize {
        self.req.response_bytes as usize
    }

    fn per_stream_rate(&self) -> Option<f64> {
        self.req
            .rate
            .map(|r| r as f64 / f64::from(self.req.streams.max(1)))
    }

    fn timeout(&self) -> Duration {
        Duration::from_millis(self.req.request_timeout_ms.max(1))
    }

    fn rr_wait(&self) -> RrWait {
        if self.req.busy_poll {
            RrWait::BusyPoll
        } else {
            RrWait::Block
        }
    }

    /// Busy-poll tests: asks the data socket `fd` to poll the device too.
    fn busy_poll_socket(&self, fd: std::os::fd::RawFd) -> BusyPollSocket {
        if self.req.busy_poll {
            sys::set_busy_poll(fd, SO_BUSY_POLL_USEC)
        } else {
            BusyPollSocket::NotAsked
        }
    }
}

fn tcp_thread(ctx: Ctx<'_>, ds: &DataStream) -> io::Result<ThreadOutput> {
    let s = &ds.stream;
    let mut out = ThreadOutput::default();
    match ctx.req.kind {
        TestKind::TcpStream => {
            let sends = ds.client_sends == ctx.is_client;
            let mut side = readback(s, ds.index, sends);
            if sends {
                out.moved_bytes = match RateProfile::of_request(ctx.req) {
                    Some(profile) => {
                        out.spliced = Some(false);
                        let buf = vec![0x5au8; ctx.message()];
                        paced_stream::send(s, ctx.window, &buf, profile)?
                    }
                    None => {
                        let source = send_path::source(ctx.req, ctx.message())?;
                        out.spliced = Some(source.splice.is_some());
                        out.send_path_fallback = source.fallback;
                        // Only a copying sender needs the payload in user space.
                        let buf = if source.splice.is_some() {
                            Vec::new()
                        } else {
                            vec![0x5au8; ctx.message()]
                        };
                        tcp_stream::send(s, ctx.window, &buf, source.splice.as_ref())?
                    }
                };
            } else {
                let mut buf = vec![0u8; ctx.message().max(128 * 1024)];
                let got = tcp_stream::receive(s, ctx.window, &mut buf, ctx.req.zerocopy, ctx.poll)?;
                out.polled = ctx.poll;
                out.moved_bytes = got.total_bytes;
                side.received_bytes = got.window_bytes;
                side.interval_bytes = got.interval_bytes;
                side.ended_early = got.ended_early;
                side.first_byte_ns = got.first_data_at.map(|t| ctx.window.since_epoch_ns(t));
                side.last_byte_ns = got.last_data_at.map(|t| ctx.window.since_epoch_ns(t));
            }
            side.tcp_info = tcp_info(s);
            out.stream = Some(side);
        }
        TestKind::TcpRr => {
            let mut request = vec![0u8; ctx.message()];
            let mut response = vec![0u8; ctx.response()];
            out.busy_poll_socket = ctx.busy_poll_socket(s.as_raw_fd());
            let wait = ctx.rr_wait();
            if ctx.is_client {
                let outcome = match ctx.per_stream_rate() {
                    Some(rate) => rr::tcp_open(s, ctx.window, rate, &mut request, &mut response)?,
                    None => {
                        let o = rr::tcp_closed(s, ctx.window, wait, &mut request, &mut response)?;
                        s.shutdown(std::net::Shutdown::Write)?;
                        o
                    }
                };
                out.round_trips = outcome.round_trips;
                out.rr = Some(outcome);
            } else {
                out.round_trips =
                    rr::tcp_echo(s, wait, &mut request, &mut response, ctx.stop_serving)?;
            }
            out.moved_bytes = out.round_trips * (ctx.message() + ctx.response()) as u64;
            let mut side = readback(s, ds.index, ctx.is_client);
            side.tcp_info = tcp_info(s);
            out.stream = Some(side);
        }
        _ => {}
    }
    Ok(out)
}

fn udp_thread(ctx: Ctx<'_>, socket: &UdpSocket) -> io::Result<ThreadOutput> {
    let tag = tag_of(ctx.cookie);
    let mut request = vec![0u8; ctx.message().max(HEADER_BYTES)];
    let mut out = ThreadOutput::default();
    match ctx.req.kind {
        TestKind::UdpStream => {
            let client_sends = ctx.req.flow == Flow::Forward;
            if client_sends == ctx.is_client {
                if !ctx.is_client {
                    wait_for_udp_hello(socket, tag, ctx.window.end())?;
                }
                let profile = RateProfile::of_request(ctx.req);
                let sent = udp_stream::send(socket, ctx.window, tag, profile, &mut request)?;
                out.moved_bytes = sent.datagrams * ctx.message() as u64;
                out.udp_sent = sent.datagrams;
                out.udp_skipped = sent.skipped;
                out.udp_queue_full = sent.queue_full;
            } else {
                let mut buf = vec![0u8; 65_536];
                let grace = Duration::from_millis(500);
                let counts = udp_stream::receive(
                    socket,
                    ctx.window,
                    tag,
                    &mut buf,
                    grace,
                    ctx.is_client,
                    ctx.poll,
                )?;
                out.moved_bytes = counts.received * ctx.message() as u64;
                out.udp = Some(counts);
                out.polled = ctx.poll;
            }
        }
        TestKind::UdpRr => {
            let mut response = vec![0u8; ctx.response()];
            out.busy_poll_socket = ctx.busy_poll_socket(socket.as_raw_fd());
            let wait = ctx.rr_wait();
            if ctx.is_client {
                let (w, t) = (ctx.window, ctx.timeout());
                let outcome = match ctx.per_stream_rate() {
                    Some(rate) => {
                        rr::udp_open(socket, w, tag, rate, t, &mut request, &mut response)?
                    }
                    None => rr::udp_closed(socket, w, wait, tag, t, &mut request, &mut response)?,
                };
                out.round_trips = outcome.round_trips;
                out.rr = Some(outcome);
            } else {
                let mut big = vec![0u8; 65_536];
                let stop = ctx.stop_serving;
                out.round_trips = rr::udp_echo(socket, wait, tag, &mut big, &mut response, stop)?;
            }
            out.moved_bytes = out.round_trips * (ctx.message() + ctx.response()) as u64;
        }
        _ => {}
    }
    Ok(out)
}

/// Server side of a reverse UDP stream: learn where the client listens from its hello, then
/// send only there.
fn wait_for_udp_hello(socket: &UdpSocket, tag: u64, deadline: Instant) -> io::Result<()> {
    socket.set_read_timeout(Some(Duration::from_millis(100)))?;
    let mut buf = [0u8; 128];
    while Instant::now() < deadline {
        match socket.recv_from(&mut buf) {
            Ok((n, from)) => {
                if let Some((t, seq, _)) = crate::data::read_header(&buf[..n]) {
                    if t == tag && seq == udp_stream::HELLO_SEQ {
                        return socket.connect(from);
                    }
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::TimedOut,
        "the client never announced its UDP address; a firewall may block UDP",
    ))
}

/// The TCP sockets this side sends a stream on, for the sampler's retransmit counts.
fn sending_fds(sockets: &DataSockets, req: &TestRequest, is_client: bool) -> Vec<RawFd> {
    match sockets {
        DataSockets::Tcp(streams) if req.kind == TestKind::TcpStream => streams
            .iter()
            .filter(|s| s.client_sends == is_client)
            .map(|s| s.stream.as_raw_fd())
            .collect(),
        _ => Vec::new(),
    }
}

/// Runs this side of the test from `window.t0`; blocks until it is done. `load_probe`: the
/// latency-under-load probe's UDP socket (the client probes on it, the server echoes).
pub(crate) fn run_side(
    end: End,
    req: &TestRequest,
    sockets: DataSockets,
    load_probe: Option<UdpSocket>,
    window: Window,
    cookie: &[u8; 16],
    cpus: &[u32],
) -> io::Result<SideOutput> {
    let threads = match &sockets {
        DataSockets::Tcp(streams) => streams.len(),
        DataSockets::Udp(_) => 1,
        DataSockets::CrrClient(_) | DataSockets::CrrServer(_) => req.streams as usize,
    };
    let allowed_cpus = allowed_cpus(cpus);
    let ctx = Ctx {
        req,
        window: &window,
        cookie,
        is_client: end == End::Client,
        stop_serving: window.send_until() + Duration::from_secs(3),
        poll: receivers_poll(req.receive_wait, threads, cpus),
    };
    let senders = sending_fds(&sockets, req, end == End::Client);
    let (results, pressure, probed) = std::thread::scope(|scope| {
        let (data_done, stop_sampling) = std::sync::mpsc::channel::<()>();
        let window = &window;
        let sampler = scope.spawn(move || {
            pressure::sample(
                window,
                &pressure::HostCounters::new(senders),
                &stop_sampling,
            )
        });
        let prober = load_probe.as_ref().map(|socket| {
            let tag = tag_of(cookie);
            let per_sec = req.latency_under_load.unwrap_or(1);
            scope.spawn(move || match end {
                End::Client => load_probe::probe(socket, window, tag, per_sec).map(Some),
                End::Server => load_probe::echo(socket, window, tag).map(|_| None),
            })
        });
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let sockets = &sockets;
                scope.spawn(move || -> io::Result<ThreadOutput> {
                    if !cpus.is_empty() {
                        sys::pin_current_thread(&[cpus[i % cpus.len()]])?;
                    }
                    let cpu0 = sys::thread_cpu_time();
                    let mut out = match sockets {
                        DataSockets::Tcp(streams) => tcp_thread(ctx, &streams[i])?,
                        DataSockets::Udp(socket) => udp_thread(ctx, socket)?,
                        DataSockets::CrrClient(server) => {
                            let mut request = vec![0u8; ctx.message()];
                            let mut response = vec![0u8; ctx.response()];
                            let outcome = rr::tcp_crr(
                                *server,
                                ctx.window,
                                cookie,
                                &mut request,
                                &mut response,
                            )?;
                            ThreadOutput {
                                round_trips: outcome.round_trips,
                                rr: Some(outcome),
                                ..Default::default()
                            }
                        }
                        DataSockets::CrrServer(listener) => {
                            let mut response = vec![0u8; ctx.response()];
                            let stop = ctx.window.send_until();
                            let served = rr::tcp_crr_serve(
                                listener,
                                cookie,
                                ctx.message(),
                                &mut response,
                                stop,
                            )?;
                            ThreadOutput {
                                round_trips: served,
                                ..Default::default()
                            }
                        }
                    };
                    out.cpu = sys::thread_cpu_time().since(cpu0);
                    Ok(out)
                })
            })
            .collect();
        let results: Vec<io::Result<ThreadOutput>> = handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(io::Error::other("a data thread panicked")))
                    .map_err(name_a_silent_peer)
            })
            .collect();
        drop(data_done);
        let probed = prober.map(|p| {
            p.join()
                .unwrap_or_else(|_| Err(io::Error::other("the latency probe thread panicked")))
        });
        (results, sampler.join().unwrap_or_default(), probed)
    });

    let mut output = SideOutput {
        side: SideResult {
            measured_ns: window.measured().as_nanos() as u64,
            pinned_cpus: cpus.to_vec(),
            allowed_cpus,
            interval_throttled_ns: pressure.throttled_ns,
            interval_steal_ns: pressure.steal_ns,
            interval_retransmits: pressure.retransmits,
            ..Default::default()
        },
        rr: None,
        probe_rtt_ns: None,
        probe_error: None,
    };
    match probed {
        Some(Ok(rtt)) => output.probe_rtt_ns = rtt,
        Some(Err(e)) => output.probe_error = Some(e.to_string()),
        None => {}
    }
    for result in results {
        let t = result?;
        output.side.cpu.user_ns += t.cpu.user_ns;
        output.side.cpu.system_ns += t.cpu.system_ns;
        output.side.cpu.voluntary_switches += t.cpu.voluntary_switches;
        output.side.udp_sent += t.udp_sent;
        output.side.udp_skipped += t.udp_skipped;
        output.side.udp_queue_full += t.udp_queue_full;
        output.side.receivers_polled |= t.polled;
        match t.spliced {
            Some(true) => output.side.spliced_senders += 1,
            Some(false) => output.side.copied_senders += 1,
            None => {}
        }
        if t.send_path_fallback.is_some() {
            output.side.send_path_fallback = t.send_path_fallback;
        }
        output.side.moved_bytes += t.moved_bytes;
        output.side.round_trips += t.round_trips;
        if t.busy_poll_socket != BusyPollSocket::NotAsked {
            output.side.busy_poll_socket = t.busy_poll_socket;
        }
        if let Some(stream) = t.stream {
            output.side.streams.push(stream);
        }
        if let Some(udp) = t.udp {
            output.side.udp = Some(udp);
        }
        if let Some(rr) = t.rr {
            match output.rr.as_mut() {
                Some(all) => all.merge(&rr),
                None => output.rr = Some(rr),
            }
        }
    }
    output.side.streams.sort_by_key(|s| s.index);
    Ok(output)
}
