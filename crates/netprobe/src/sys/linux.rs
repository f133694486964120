//! Linux implementations. Each `unsafe` block is a single libc call on a descriptor or buffer we
//! own, with its size passed alongside.

use std::io;
use std::os::fd::RawFd;

use probe_core::contract::TcpInfoReadback;

use super::{CpuTime, RecvFlags};
use crate::protocol::BusyPollSocket;

/// Reads `TCP_INFO`. The kernel's struct grows over releases, so fields are read at their fixed
/// offsets from a zeroed buffer, and only when the returned length covers them.
pub(crate) fn tcp_info(fd: RawFd) -> Option<TcpInfoReadback> {
    let mut buf = [0u8; 256];
    let mut len = buf.len() as libc::socklen_t;
    // SAFETY: `buf` is writable for `len` bytes and `len` points to a valid socklen_t.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            buf.as_mut_ptr().cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return None;
    }
    let len = len as usize;
    let u32_at = |off: usize| {
        (off + 4 <= len).then(|| u32::from_ne_bytes(buf[off..off + 4].try_into().unwrap()))
    };
    let u64_at = |off: usize| {
        (off + 8 <= len).then(|| u64::from_ne_bytes(buf[off..off + 8].try_into().unwrap()))
    };
    // Offsets in struct tcp_info (include/uapi/linux/tcp.h).
    const SND_MSS: usize = 16;
    const PMTU: usize = 60;
    const RTT_US: usize = 68;
    const RTTVAR_US: usize = 72;
    const SND_CWND: usize = 80;
    const TOTAL_RETRANS: usize = 100;
    const DELIVERY_RATE: usize = 160;
    Some(TcpInfoReadback {
        total_retransmits: u64::from(u32_at(TOTAL_RETRANS)?),
        srtt_ns: u64::from(u32_at(RTT_US)?) * 1_000,
        rttvar_ns: u64::from(u32_at(RTTVAR_US)?) * 1_000,
        snd_cwnd_segments: u64::from(u32_at(SND_CWND)?),
        snd_mss_bytes: u64::from(u32_at(SND_MSS)?),
        pmtu_bytes: u64::from(u32_at(PMTU)?),
        delivery_rate_bits_per_sec: u64_at(DELIVERY_RATE).map(|bytes| bytes * 8),
    })
}

/// Pins the calling thread to `cpus`. An empty list leaves the affinity as it is.
pub(crate) fn pin_current_thread(cpus: &[u32]) -> io::Result<()> {
    if cpus.is_empty() {
        return Ok(());
    }
    // SAFETY: cpu_set_t is plain data; all-zero is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    for &cpu in cpus {
        if cpu as usize >= libc::CPU_SETSIZE as usize {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("CPU {cpu} is beyond CPU_SETSIZE"),
            ));
        }
        // SAFETY: cpu is below CPU_SETSIZE, checked above.
        unsafe { libc::CPU_SET(cpu as usize, &mut set) };
    }
    // SAFETY: pid 0 is the calling thread; `set` is a valid cpu_set_t of the size passed.
    let rc = unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) };
    if rc == 0 {
        Ok(())
    } else {
        let os = io::Error::last_os_error();
        Err(io::Error::new(
            os.kind(),
            format!(
                "cannot pin a data thread to CPU(s) {cpus:?} (sched_setaffinity: {os}): \
                 this host allows CPUs {}; choose from those (--cpus / --server-cpus)",
                allowed_cpus_text()
            ),
        ))
    }
}

/// The calling thread's allowed CPUs as the kernel lists them (`Cpus_allowed_list`).
fn allowed_cpus_text() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
                .map(|v| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

/// User and system time of the calling thread.
pub(crate) fn thread_cpu_time() -> CpuTime {
    // SAFETY: rusage is plain data, filled by the kernel.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable rusage.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) };
    if rc != 0 {
        return CpuTime::default();
    }
    let ns = |tv: libc::timeval| tv.tv_sec as u64 * 1_000_000_000 + tv.tv_usec as u64 * 1_000;
    CpuTime {
        user_ns: ns(usage.ru_utime),
        system_ns: ns(usage.ru_stime),
        voluntary_switches: usage.ru_nvcsw.max(0) as u64,
    }
}

/// One `recv` with the data-plane flags: `discard` consumes the bytes without copying them to
/// user space (`MSG_TRUNC` on TCP, the `--zerocopy` receive), `dont_wait` returns `WouldBlock`
/// instead of sleeping (the polling receiver). Returns the bytes consumed, 0 at end of stream.
pub(crate) fn recv(fd: RawFd, buf: &mut [u8], flags: RecvFlags) -> io::Result<usize> {
    let mut bits = 0;
    if flags.discard {
        bits |= libc::MSG_TRUNC;
    }
    if flags.dont_wait {
        bits |= libc::MSG_DONTWAIT;
    }
    // SAFETY: `buf` is writable for its whole length, which is what we pass; with MSG_TRUNC
    // the kernel writes nothing, and a kernel that ignores the flag copies within that length.
    let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), bits) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// Sets `TCP_CONGESTION`.
pub(crate) fn set_congestion(socket: &socket2::Socket, name: &str) -> io::Result<()> {
    socket.set_tcp_congestion(name.as_bytes())
}

/// Reads `TCP_CONGESTION` back.
pub(crate) fn congestion(socket: &socket2::Socket) -> Option<String> {
    let raw = socket.tcp_congestion().ok()?;
    let text = String::from_utf8_lossy(&raw);
    Some(text.trim_end_matches('\0').to_owned())
}

/// Datagrams (or segments) the kernel dropped at this socket since it was created, mostly
/// because its receive buffer was full (`SO_MEMINFO`, `SK_MEMINFO_DROPS`): the share of UDP
/// loss that happened in the receiving host rather than on the path.
pub(crate) fn receive_drops(fd: RawFd) -> Option<u64> {
    const SO_MEMINFO: libc::c_int = 55;
    let mut info = [0u32; 9];
    let mut len = std::mem::size_of_val(&info) as libc::socklen_t;
    // SAFETY: `info` is writable for `len` bytes and `len` points to a valid socklen_t.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            SO_MEMINFO,
            info.as_mut_ptr().cast(),
            &mut len,
        )
    };
    let drops = libc::SK_MEMINFO_DROPS as usize;
    (rc == 0 && len as usize > drops * 4).then(|| u64::from(info[drops]))
}

/// One `send` that never sleeps: `WouldBlock` when the socket's send queue is full (its
/// interface or qdisc is holding earlier datagrams), so a sender can tell that apart from
/// being descheduled.
pub(crate) fn send_dont_wait(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is readable for its whole length, which is what we pass.
    let n = unsafe { libc::send(fd, buf.as_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// Asks a data socket to busy-poll the device's receive queue for `usec` microseconds when a
/// receive finds it empty (`SO_BUSY_POLL`). Raising it above `net.core.busy_read` needs
/// `CAP_NET_ADMIN`: `EPERM` is an answer here, not an error, since the caller spins in user
/// space either way.
pub(crate) fn set_busy_poll(fd: RawFd, usec: u32) -> BusyPollSocket {
    let value = libc::c_int::try_from(usec).unwrap_or(libc::c_int::MAX);
    // SAFETY: `value` is a readable c_int and its size is what we pass.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_BUSY_POLL,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        return BusyPollSocket::Set { usec };
    }
    match io::Error::last_os_error().raw_os_error() {
        Some(libc::EPERM) | Some(libc::EACCES) => BusyPollSocket::NotPermitted,
        _ => BusyPollSocket::Unsupported,
    }
}

/// `UDP_SEGMENT` (include/uapi/linux/udp.h): the libc crate names it for uClibc only.
const UDP_SEGMENT: libc::c_int = 103;

/// Turns on UDP segmentation offload (Linux 4.18+): each later send of several `size`-byte
/// datagrams laid end to end leaves as one buffer that the stack (or the interface) cuts into
/// datagrams, so a paced sender pays one system call and one trip through the stack for a batch.
pub(crate) fn set_udp_segment(fd: RawFd, size: u16) -> io::Result<()> {
    let value = libc::c_int::from(size);
    // SAFETY: `value` is a c_int that lives across the call; its size is what we pass.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_UDP,
            UDP_SEGMENT,
            std::ptr::addr_of!(value).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn tcp_info_of_a_connected_socket() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let _server = listener.accept().unwrap();
        let info = tcp_info(client.as_raw_fd()).unwrap();
        assert!(info.snd_mss_bytes > 0);
        assert!(info.snd_cwnd_segments > 0);
    }

    #[test]
    fn thread_cpu_time_grows_with_work() {
        let before = thread_cpu_time();
        let mut x = 0u64;
        for i in 0..50_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        let used = thread_cpu_time().since(before);
        assert!(used.user_ns + used.system_ns > 0);
    }

    #[test]
    fn busy_poll_is_set_or_refused_by_name() {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let got = set_busy_poll(socket.as_raw_fd(), 50);
        // Root (these tests' usual runner) may set it; anyone else gets EPERM, named.
        let root = effective_uid_is_root();
        assert_eq!(
            got,
            if root {
                BusyPollSocket::Set { usec: 50 }
            } else {
                BusyPollSocket::NotPermitted
            }
        );
        // Lowering to what `net.core.busy_read` allows needs no privilege.
        assert_eq!(
            set_busy_poll(socket.as_raw_fd(), 0),
            BusyPollSocket::Set { usec: 0 }
        );
    }

    /// Effective uid 0, read from `/proc/self/status` (no unsafe in tests).
    fn effective_uid_is_root() -> bool {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("Uid:"))
                    .and_then(|v| v.split_whitespace().nth(1).map(|e| e == "0"))
            })
            .unwrap_or(false)
    }

    #[test]
    fn discard_consumes_the_bytes_without_copying_them() {
        use std::io::Write;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        client.write_all(&[7u8; 64 * 1024]).unwrap();
        drop(client);
        let mut scratch = vec![0u8; 16 * 1024];
        let mut total = 0;
        loop {
            let discard = RecvFlags {
                discard: true,
                dont_wait: false,
            };
            let n = recv(server.as_raw_fd(), &mut scratch, discard).unwrap();
            if n == 0 {
                break;
            }
            total += n;
        }
        assert_eq!(total, 64 * 1024);
        // MSG_TRUNC on TCP discards in the kernel: the buffer was never written.
        assert!(scratch.iter().all(|b| *b == 0));
    }
}
