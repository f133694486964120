//! Data sockets of one test, set up the same way on both sides: options applied before
//! connect or listen, TCP data connections announced with the test's cookie, and what each
//! socket really did read back at the end.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockRef, Socket, Type};

use super::STALL_TIMEOUT;
use crate::protocol::{
    Flow, SocketReadback, SocketRequest, StreamSide, TcpInfoReadback, TestKind, TestRequest,
};
use crate::sys;

/// Bytes of the hello on every TCP data connection: cookie, stream index, direction flag.
const DATA_HELLO_BYTES: usize = 16 + 4 + 1;

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

pub(super) fn readback(stream: &TcpStream, index: u32, sender: bool) -> StreamSide {
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

pub(super) fn tcp_info(stream: &TcpStream) -> Option<TcpInfoReadback> {
    sys::tcp_info(stream.as_raw_fd())
}
