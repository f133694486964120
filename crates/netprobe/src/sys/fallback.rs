//! Portable fallbacks: no TCP_INFO, no pinning, no per-thread CPU time, no zero-copy.

use std::io;
use std::os::fd::RawFd;

use probe_core::report::TcpInfoSnapshot;

use super::CpuTime;

fn unsupported(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!("{what} is unsupported on this platform; run without it"),
    )
}

pub(crate) fn tcp_info(_fd: RawFd) -> Option<TcpInfoSnapshot> {
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

pub(crate) fn recv_discard(_fd: RawFd, _scratch: &mut [u8], _len: usize) -> io::Result<usize> {
    Err(unsupported("--zerocopy receive"))
}

#[derive(Debug)]
pub(crate) struct ZeroCopySource;

impl ZeroCopySource {
    pub(crate) fn new(_len: usize) -> io::Result<Self> {
        Err(unsupported("--zerocopy"))
    }
}

pub(crate) fn sendfile_all(_socket: RawFd, _source: &ZeroCopySource) -> io::Result<usize> {
    Err(unsupported("--zerocopy"))
}

pub(crate) fn set_congestion(_socket: &socket2::Socket, _name: &str) -> io::Result<()> {
    Err(unsupported("--congestion"))
}

pub(crate) fn congestion(_socket: &socket2::Socket) -> Option<String> {
    None
}
