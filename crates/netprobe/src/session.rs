//! One test's data plane on one side: socket setup shared by client and server, and the threads
//! that run the measurement. The control plane (tokio) hands over here once the test is agreed.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockRef, Socket, Type};

use crate::data::rr::{self, RrOutcome};
use crate::data::{tag_of, tcp_stream, udp_stream, Window, HEADER_BYTES};
use crate::protocol::{
    Flow, ReceiveWait, SideResult, SocketReadback, SocketRequest, StreamSide, TcpInfoReadback,
    TestKind, TestRequest, UdpCounts,
};
use crate::sys::{self, CpuTime};

/// Which end of the test this process is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    Client,
    Server,
}

/// Bytes of the hello on every TCP data connection: cookie, stream index, direction flag.
const DATA_HELLO_BYTES: usize = 16 + 4 + 1;

/// A data socket that cannot send or (request/response) receive for this long means the peer
/// is gone: a vanished host sends no RST, and without a deadline a write would block for the
/// kernel's full retransmission timeout.
pub(crate) const STALL_TIMEOUT: Duration = Duration::from_secs(5);

/// UDP receive buffer asked for by default, so a batch of paced datagrams is not dropped by the
/// receiver's socket before the test even measures the network (the kernel may clamp it).
const UDP_DEFAULT_RCVBUF: usize = 4 << 20;

/// A TCP data connection and its part in the test.
#[derive(Debug)]
pub(crate) struct DataStream {
    pub(crate) index: u32,
    /// The client sends on it (forward); else the server does.
    pub(crate) client_sends: bool,
    pub(crate) stream: TcpStream,
}

/// The data-plane sockets of one test on one side.
#[derive(Debug)]
pub(crate) enum DataSockets {
    Tcp(Vec<DataStream>),
    Udp(UdpSocket),
    CrrClient(SocketAddr),
    CrrServer(TcpListener),
}

/// What one side measured.
#[derive(Debug, Default)]
pub(crate) struct SideOutput {
    pub(crate) side: SideResult,
    pub(crate) rr: Option<RrOutcome>,
}

/// The connections a TCP test uses: `(index, client_sends)` for each.
pub(crate) fn planned_streams(req: &TestRequest) -> Vec<(u32, bool)> {
    match (req.kind, req.flow) {
        (TestKind::TcpStream, Flow::Forward) => (0..req.streams).map(|i| (i, true)).collect(),
        (TestKind::TcpStream, Flow::Reverse) => (0..req.streams).map(|i| (i, false)).collect(),
        (TestKind::TcpStream, Flow::Bidirectional) => (0..req.streams)
            .map(|i| (i, true))
            .chain((0..req.streams).map(|i| (req.streams + i, false)))
            .collect(),
        (TestKind::TcpRr, _) => (0..req.streams).map(|i| (i, true)).collect(),
        _ => Vec::new(),
    }
}

/// Applies the requested options to a data socket. MSS must be set before connect or listen.
pub(crate) fn apply_options(socket: &Socket, opts: &SocketRequest, tcp: bool) -> io::Result<()> {
    if let Some(b) = opts.send_buffer_bytes {
        socket.set_send_buffer_size(b as usize)?;
    }
    if let Some(b) = opts.recv_buffer_bytes {
        socket.set_recv_buffer_size(b as usize)?;
    }
    if tcp {
        if let Some(mss) = opts.mss_bytes {
            socket.set_tcp_mss(mss)?;
        }
        socket.set_tcp_nodelay(opts.no_delay)?;
        if let Some(name) = &opts.congestion {
            sys::set_congestion(socket, name).map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!(
                        "congestion control {name:?} is not available ({e}); see \
                         /proc/sys/net/ipv4/tcp_available_congestion_control"
                    ),
                )
            })?;
        }
    }
    Ok(())
}

fn tcp_socket(addr: &SocketAddr, opts: &SocketRequest) -> io::Result<Socket> {
    let socket = Socket::new(
        Domain::for_address(*addr),
        Type::STREAM,
        Some(Protocol::TCP),
    )?;
    apply_options(&socket, opts, true)?;
    Ok(socket)
}

/// Binds the server's data listener next to the control connection's local address.
pub(crate) fn bind_data_listener(
    local_ip: std::net::IpAddr,
    req: &TestRequest,
) -> io::Result<TcpListener> {
    let addr = SocketAddr::new(local_ip, 0);
    let socket = tcp_socket(&addr, &req.socket)?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    // accept() honours SO_RCVTIMEO on Linux: workers wake up to check their deadline.
    socket.set_read_timeout(Some(Duration::from_millis(200)))?;
    Ok(socket.into())
}

/// Binds a UDP data socket with the requested buffers (and a large receive buffer by default).
pub(crate) fn bind_udp(local: SocketAddr, opts: &SocketRequest) -> io::Result<UdpSocket> {
    let socket = Socket::new(Domain::for_address(local), Type::DGRAM, Some(Protocol::UDP))?;
    if opts.recv_buffer_bytes.is_none() {
        let _ = socket.set_recv_buffer_size(UDP_DEFAULT_RCVBUF);
    }
    apply_options(&socket, opts, false)?;
    socket.bind(&local.into())?;
    Ok(socket.into())
}

/// Client: opens the TCP data connections and sends each its hello.
pub(crate) fn connect_streams(
    server: SocketAddr,
    req: &TestRequest,
    cookie: &[u8; 16],
) -> io::Result<Vec<DataStream>> {
    planned_streams(req)
        .into_iter()
        .map(|(index, client_sends)| {
            let socket = tcp_socket(&server, &req.socket)?;
            socket.connect_timeout(&server.into(), Duration::from_secs(5))?;
            let mut stream: TcpStream = socket.into();
            stream.set_write_timeout(Some(STALL_TIMEOUT))?;
            if req.kind == TestKind::TcpRr {
                stream.set_read_timeout(Some(STALL_TIMEOUT))?;
            }
            let mut hello = [0u8; DATA_HELLO_BYTES];
            hello[..16].copy_from_slice(cookie);
            hello[16..20].copy_from_slice(&index.to_le_bytes());
            hello[20] = u8::from(client_sends);
            stream.write_all(&hello)?;
            Ok(DataStream {
                index,
                client_sends,
                stream,
            })
        })
        .collect()
}

/// Server: accepts the planned data connections; strangers and bad hellos are dropped.
pub(crate) fn accept_streams(
    listener: &TcpListener,
    req: &TestRequest,
    cookie: &[u8; 16],
    deadline: Instant,
) -> io::Result<Vec<DataStream>> {
    let planned = planned_streams(req);
    let mut streams: Vec<DataStream> = Vec::with_capacity(planned.len());
    while streams.len() < planned.len() {
        if Instant::now() >= deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "only {} of {} data connections arrived; a firewall or security group may \
                     block the data port",
                    streams.len(),
                    planned.len()
                ),
            ));
        }
        let (mut stream, _) = match listener.accept() {
            Ok(pair) => pair,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                continue
            }
            Err(e) => return Err(e),
        };
        stream.set_read_timeout(Some(Duration::from_secs(2)))?;
        let mut hello = [0u8; DATA_HELLO_BYTES];
        if stream.read_exact(&mut hello).is_err() || &hello[..16] != cookie {
            continue;
        }
        let index = u32::from_le_bytes(hello[16..20].try_into().expect("4 bytes"));
        let client_sends = hello[20] == 1;
        let expected = planned.contains(&(index, client_sends));
        let duplicate = streams.iter().any(|s| s.index == index);
        if !expected || duplicate {
            continue;
        }
        stream.set_read_timeout(None)?;
        stream.set_write_timeout(Some(STALL_TIMEOUT))?;
        let sock = SockRef::from(&stream);
        apply_options_after_accept(&sock, &req.socket)?;
        streams.push(DataStream {
            index,
            client_sends,
            stream,
        });
    }
    streams.sort_by_key(|s| s.index);
    Ok(streams)
}

fn apply_options_after_accept(sock: &SockRef<'_>, opts: &SocketRequest) -> io::Result<()> {
    // Buffers and MSS were inherited from the listener; no-delay and congestion are per socket.
    sock.set_tcp_nodelay(opts.no_delay)?;
    if let Some(name) = &opts.congestion {
        sys::set_congestion(sock, name)?;
    }
    Ok(())
}

fn readback(stream: &TcpStream, index: u32, sender: bool) -> StreamSide {
    let sock = SockRef::from(stream);
    StreamSide {
        index,
        socket: SocketReadback {
            send_buffer_bytes: sock.send_buffer_size().ok().map(|b| b as u64),
            recv_buffer_bytes: sock.recv_buffer_size().ok().map(|b| b as u64),
            mss_bytes: sock.tcp_mss().ok().map(u64::from),
            no_delay: sock.tcp_nodelay().ok(),
            congestion: sys::congestion(&sock),
        },
        sender,
        ..Default::default()
    }
}

fn tcp_info(stream: &TcpStream) -> Option<TcpInfoReadback> {
    sys::tcp_info(stream.as_raw_fd())
}

/// What one data thread produced.
#[derive(Debug, Default)]
struct ThreadOutput {
    stream: Option<StreamSide>,
    rr: Option<RrOutcome>,
    udp: Option<UdpCounts>,
    udp_sent: u64,
    udp_skipped: u64,
    cpu: CpuTime,
    /// A bulk receive ran on this thread, polling.
    polled: bool,
}

/// Everything a data thread needs, borrowed from `run_side`.
#[derive(Clone, Copy)]
struct Ctx<'a> {
    req: &'a TestRequest,
    window: Window,
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
}

fn tcp_thread(ctx: Ctx<'_>, ds: &DataStream) -> io::Result<ThreadOutput> {
    let s = &ds.stream;
    let mut out = ThreadOutput::default();
    match ctx.req.kind {
        TestKind::TcpStream => {
            let sends = ds.client_sends == ctx.is_client;
            let mut side = readback(s, ds.index, sends);
            if sends {
                let source = if ctx.req.zerocopy {
                    Some(sys::ZeroCopySource::new(ctx.message())?)
                } else {
                    None
                };
                let buf = vec![0x5au8; ctx.message()];
                tcp_stream::send(s, &ctx.window, &buf, source.as_ref())?;
            } else {
                let mut buf = vec![0u8; ctx.message().max(128 * 1024)];
                let got =
                    tcp_stream::receive(s, &ctx.window, &mut buf, ctx.req.zerocopy, ctx.poll)?;
                out.polled = ctx.poll;
                side.received_bytes = got.window_bytes;
                side.interval_bytes = got.interval_bytes;
                side.ended_early = got.ended_early;
            }
            side.tcp_info = tcp_info(s);
            out.stream = Some(side);
        }
        TestKind::TcpRr => {
            let mut request = vec![0u8; ctx.message()];
            let mut response = vec![0u8; ctx.response()];
            if ctx.is_client {
                let outcome = match ctx.per_stream_rate() {
                    Some(rate) => rr::tcp_open(s, &ctx.window, rate, &mut request, &mut response)?,
                    None => {
                        let o = rr::tcp_closed(s, &ctx.window, &mut request, &mut response)?;
                        s.shutdown(std::net::Shutdown::Write)?;
                        o
                    }
                };
                out.rr = Some(outcome);
            } else {
                rr::tcp_echo(s, &mut request, &mut response, ctx.stop_serving)?;
            }
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
                let sent = udp_stream::send(socket, &ctx.window, tag, ctx.req.rate, &mut request)?;
                out.udp_sent = sent.datagrams;
                out.udp_skipped = sent.skipped;
            } else {
                let mut buf = vec![0u8; 65_536];
                let grace = Duration::from_millis(500);
                let counts = udp_stream::receive(
                    socket,
                    &ctx.window,
                    tag,
                    &mut buf,
                    grace,
                    ctx.is_client,
                    ctx.poll,
                )?;
                out.udp = Some(counts);
                out.polled = ctx.poll;
            }
        }
        TestKind::UdpRr => {
            let mut response = vec![0u8; ctx.response()];
            if ctx.is_client {
                let (w, t) = (&ctx.window, ctx.timeout());
                out.rr = Some(match ctx.per_stream_rate() {
                    Some(rate) => {
                        rr::udp_open(socket, w, tag, rate, t, &mut request, &mut response)?
                    }
                    None => rr::udp_closed(socket, w, tag, t, &mut request, &mut response)?,
                });
            } else {
                let mut big = vec![0u8; 65_536];
                rr::udp_echo(socket, tag, &mut big, &mut response, ctx.stop_serving)?;
            }
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

/// Whether bulk receivers on this side poll: asked for, or (`Auto`) when each of the side's
/// `data_threads` can have a whole CPU: the pinned CPUs, else the process's, capped by the
/// cgroup quota. A fractional-vCPU task never polls: spinning would spend its quota.
fn receivers_poll(wait: ReceiveWait, data_threads: usize, pinned: &[u32]) -> bool {
    match wait {
        ReceiveWait::Poll => true,
        ReceiveWait::Block => false,
        ReceiveWait::Auto => {
            let mut cpus = probe_core::host::effective_cpus();
            if !pinned.is_empty() {
                cpus = cpus.min(distinct(pinned) as f64);
            }
            data_threads as f64 <= cpus.floor()
        }
    }
}

fn distinct(cpus: &[u32]) -> usize {
    cpus.iter().collect::<std::collections::BTreeSet<_>>().len()
}

/// How many CPUs this side's data threads may be scheduled on (a quota limits time, not
/// placement, so it does not count here).
fn allowed_cpus(pinned: &[u32]) -> u32 {
    if pinned.is_empty() {
        probe_core::host::affinity_cpu_count().map_or(u32::MAX, |n| n as u32)
    } else {
        distinct(pinned) as u32
    }
}

/// Runs this side of the test from `window.t0`; blocks until it is done.
pub(crate) fn run_side(
    end: End,
    req: &TestRequest,
    sockets: DataSockets,
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
        window,
        cookie,
        is_client: end == End::Client,
        stop_serving: window.send_until() + Duration::from_secs(3),
        poll: receivers_poll(req.receive_wait, threads, cpus),
    };
    let results: Vec<io::Result<ThreadOutput>> = std::thread::scope(|scope| {
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
                                &ctx.window,
                                cookie,
                                &mut request,
                                &mut response,
                            )?;
                            ThreadOutput {
                                rr: Some(outcome),
                                ..Default::default()
                            }
                        }
                        DataSockets::CrrServer(listener) => {
                            let mut response = vec![0u8; ctx.response()];
                            let stop = ctx.window.send_until();
                            rr::tcp_crr_serve(
                                listener,
                                cookie,
                                ctx.message(),
                                &mut response,
                                stop,
                            )?;
                            ThreadOutput::default()
                        }
                    };
                    out.cpu = sys::thread_cpu_time().since(cpu0);
                    Ok(out)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(io::Error::other("a data thread panicked")))
            })
            .collect()
    });

    let mut output = SideOutput {
        side: SideResult {
            measured_ns: window.duration.as_nanos() as u64,
            pinned_cpus: cpus.to_vec(),
            allowed_cpus,
            ..Default::default()
        },
        rr: None,
    };
    for result in results {
        let t = result?;
        output.side.cpu.user_ns += t.cpu.user_ns;
        output.side.cpu.system_ns += t.cpu.system_ns;
        output.side.udp_sent += t.udp_sent;
        output.side.udp_skipped += t.udp_skipped;
        output.side.receivers_polled |= t.polled;
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
