//! Portable fallbacks: no TCP_INFO, no pinning, no per-thread CPU time, no zero-copy; plain
//! POSIX `recv` for the polling receiver.

use std::io;
use std::os::fd::RawFd;

use probe_core::contract::TcpInfoReadback;

use super::{CpuTime, RecvFlags};

fn unsupported(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!("{what} is unsupported on this platform; run without it"),
    )
}

pub(crate) fn tcp_info(_fd: RawFd) -> Option<TcpInfoReadback> {
    None
}

pub(crate) fn pin_current_thread(cpus: &[u32]) -> io::Result<()> {
    if cpus.is_empty() {
        Ok(())
    } else {
        Err(unsupported("CPU pinning"))
    }
}

pub(crate) fn thread_cpu_time() -> CpuTime {
    CpuTime::default()
}

pub(crate) fn recv(fd: RawFd, buf: &mut [u8], flags: RecvFlags) -> io::Result<usize> {
    if flags.discard {
        return Err(unsupported("--zerocopy receive"));
    }
    let bits = if flags.dont_wait {
        libc::MSG_DONTWAIT
    } else {
        0
    };
    // SAFETY: `buf` is writable for its whole length, which is what we pass.
    let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), bits) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

#[derive(Debug)]
pub(crate) struct ZeroCopySource;

impl ZeroCopySource {
    pub(crate) fn new(_len: usize) -> io::Result<Self> {
        Err(unsupported("--zerocopy"))
    }

    pub(crate) fn pipes_only(_len: usize) -> io::Result<Self> {
        Err(unsupported("splicing sends"))
    }
}

pub(crate) fn send_zero_copy(_socket: RawFd, _source: &ZeroCopySource) -> io::Result<usize> {
    Err(unsupported("--zerocopy"))
}

pub(crate) fn set_congestion(_socket: &socket2::Socket, _name: &str) -> io::Result<()> {
    Err(unsupported("--congestion"))
}

pub(crate) fn congestion(_socket: &socket2::Socket) -> Option<String> {
    None
}

pub(crate) fn receive_drops(_fd: RawFd) -> Option<u64> {
    None
}

/// One `send` that never sleeps: `WouldBlock` when the socket's send queue is full (its
/// interface or qdisc is holding earlier datagrams), so a sender can tell that apart from
/// being descheduled.
pub(crate) fn set_udp_segment(_fd: RawFd, _size: u16) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "UDP segmentation offload is Linux only",
    ))
}

pub(crate) fn send_dont_wait(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is readable for its whole length, which is what we pass.
    let n = unsafe { libc::send(fd, buf.as_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

pub(crate) fn set_busy_poll(_fd: RawFd, _usec: u32) -> crate::protocol::BusyPollSocket {
    crate::protocol::BusyPollSocket::Unsupported
}
