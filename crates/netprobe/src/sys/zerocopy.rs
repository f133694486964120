//! The `--zerocopy` send path (Linux): the payload reaches the socket by page reference, never
//! copied from user space.
//!
//! First choice: the payload's pages are spliced once into a pipe (`vmsplice`), and every send
//! duplicates those references into a second pipe (`tee`) that `splice` hands to the socket. On
//! a 2-vCPU KVM guest (`scripts/bench-net.sh`, split placement) this carried 60 Gbit/s over
//! loopback where plain copying carried 54, and `sendfile` from a memfd, the path it replaced,
//! about 50: `sendfile` pays a page-cache lookup and a fresh pipe buffer per 4 KiB page
//! (`filemap_get_entry`, `shmem_file_splice_read`), `tee` only takes page references.
//! Where a pipe cannot hold one write (over `/proc/sys/fs/pipe-max-size`) the memfd and
//! `sendfile` path is used instead.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

const PAGE_BYTES: usize = 4096;

/// One write's worth of payload, ready to be sent without copies.
#[derive(Debug)]
pub(crate) struct ZeroCopySource {
    len: usize,
    path: Path,
}

#[derive(Debug)]
enum Path {
    Pipes(TeePipes),
    File(OwnedFd),
}

/// The pipes of the `tee` path. Fields drop in order: the pipes (and their page references)
/// before the payload they point into.
#[derive(Debug)]
struct TeePipes {
    /// Holds the payload's pages for the whole test; only ever `tee`d from, never drained.
    source_read: OwnedFd,
    /// Held open: a pipe without a writer would read as ended.
    _source_write: OwnedFd,
    /// Takes one write's references and gives them to the socket.
    scratch_read: OwnedFd,
    scratch_write: OwnedFd,
    _payload: Vec<u8>,
}

impl ZeroCopySource {
    /// A source of `len` bytes of payload.
    pub(crate) fn new(len: usize) -> io::Result<Self> {
        let path = match TeePipes::new(len) {
            Ok(pipes) => Path::Pipes(pipes),
            Err(_) => Path::File(payload_file(len)?),
        };
        Ok(Self { len, path })
    }

    /// A source of `len` bytes on the `tee` path only: an error where a pipe cannot hold one
    /// write or the kernel refuses the pipes, so the caller can copy instead (the memfd of
    /// [`ZeroCopySource::new`] would hold a second copy of the payload that no memory budget
    /// counts).
    pub(crate) fn pipes_only(len: usize) -> io::Result<Self> {
        Ok(Self {
            len,
            path: Path::Pipes(TeePipes::new(len)?),
        })
    }

    /// Whether the `tee` path is in use (else `sendfile`).
    #[cfg(test)]
    fn uses_pipes(&self) -> bool {
        matches!(self.path, Path::Pipes(_))
    }
}

fn payload_byte(i: usize) -> u8 {
    (i % 251) as u8
}

impl TeePipes {
    fn new(len: usize) -> io::Result<Self> {
        // Page-aligned, so every pipe buffer is one whole page.
        let mut payload = vec![0u8; len + PAGE_BYTES];
        let start = payload.as_ptr().align_offset(PAGE_BYTES).min(PAGE_BYTES);
        for (i, b) in payload[start..start + len].iter_mut().enumerate() {
            *b = payload_byte(i);
        }
        let (source_read, source_write) = pipe_holding(len)?;
        let (scratch_read, scratch_write) = pipe_holding(len)?;
        let mut done = 0;
        while done < len {
            let chunk = &payload[start + done..start + len];
            let iov = libc::iovec {
                iov_base: chunk.as_ptr() as *mut libc::c_void,
                iov_len: chunk.len(),
            };
            // SAFETY: `iov` describes `chunk`, which lives in `payload`; the struct keeps
            // `payload` alive for as long as the pipes that reference its pages.
            let n = unsafe { libc::vmsplice(source_write.as_raw_fd(), &iov, 1, 0) };
            if n <= 0 {
                return Err(io::Error::last_os_error());
            }
            done += n as usize;
        }
        Ok(Self {
            source_read,
            _source_write: source_write,
            scratch_read,
            scratch_write,
            _payload: payload,
        })
    }

    /// Sends the payload once: `tee` its references into the scratch pipe, `splice` them out.
    fn send(&self, socket: RawFd, len: usize) -> io::Result<usize> {
        // SAFETY: all four descriptors are open pipe ends we own; no user memory is passed.
        let teed = unsafe {
            libc::tee(
                self.source_read.as_raw_fd(),
                self.scratch_write.as_raw_fd(),
                len,
                0,
            )
        };
        if teed <= 0 {
            return Err(io::Error::last_os_error());
        }
        let teed = teed as usize;
        let mut left = teed;
        while left > 0 {
            // SAFETY: as above; null offsets are required for pipes and sockets.
            let n = unsafe {
                libc::splice(
                    self.scratch_read.as_raw_fd(),
                    std::ptr::null_mut(),
                    socket,
                    std::ptr::null_mut(),
                    left,
                    libc::SPLICE_F_MOVE,
                )
            };
            if n < 0 {
                let err = io::Error::last_os_error();
                if err.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                // What is left in the scratch pipe would corrupt the next send: drain it.
                self.drain_scratch(left);
                return Err(err);
            }
            left -= n as usize;
        }
        Ok(teed)
    }

    fn drain_scratch(&self, mut left: usize) {
        let mut sink = [0u8; PAGE_BYTES];
        while left > 0 {
            // SAFETY: `sink` is writable for its length, which bounds the read.
            let n = unsafe {
                libc::read(
                    self.scratch_read.as_raw_fd(),
                    sink.as_mut_ptr().cast(),
                    sink.len().min(left),
                )
            };
            if n <= 0 {
                return;
            }
            left -= n as usize;
        }
    }
}

/// A pipe whose capacity is at least `len` bytes.
fn pipe_holding(len: usize) -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors are fresh and owned by nothing else.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    let want = libc::c_int::try_from(len.max(PAGE_BYTES))
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "write size too large"))?;
    // SAFETY: F_SETPIPE_SZ takes an int; the kernel rounds it up to a power of two pages.
    let got = unsafe { libc::fcntl(write.as_raw_fd(), libc::F_SETPIPE_SZ, want) };
    if got < want {
        return Err(io::Error::last_os_error());
    }
    Ok((read, write))
}

/// A memfd filled with the payload, for `sendfile`.
fn payload_file(len: usize) -> io::Result<OwnedFd> {
    // SAFETY: the name is a valid NUL-terminated string; flags are valid.
    let raw = unsafe { libc::memfd_create(c"netprobe-payload".as_ptr(), libc::MFD_CLOEXEC) };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `raw` is a fresh descriptor that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    let file = std::fs::File::from(fd.try_clone()?);
    let payload: Vec<u8> = (0..len).map(payload_byte).collect();
    std::io::Write::write_all(&mut &file, &payload)?;
    Ok(fd)
}

/// Sends the whole source once on `socket`; returns the bytes sent (a short count when an error
/// follows some progress).
pub(crate) fn send_zero_copy(socket: RawFd, source: &ZeroCopySource) -> io::Result<usize> {
    match &source.path {
        Path::Pipes(pipes) => pipes.send(socket, source.len),
        Path::File(file) => sendfile_all(socket, file.as_raw_fd(), source.len),
    }
}

fn sendfile_all(socket: RawFd, file: RawFd, len: usize) -> io::Result<usize> {
    let mut offset: libc::off_t = 0;
    let mut sent = 0usize;
    while sent < len {
        // SAFETY: both descriptors are open; `offset` is a valid off_t the kernel advances.
        let n = unsafe { libc::sendfile(socket, file, &mut offset, len - sent) };
        if n < 0 {
            let err = io::Error::last_os_error();
            if sent > 0 {
                return Ok(sent);
            }
            return Err(err);
        }
        if n == 0 {
            break;
        }
        sent += n as usize;
    }
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// Sends the source `times` times and returns what the peer read.
    fn carried(source: &ZeroCopySource, times: usize) -> Vec<u8> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            server.read_to_end(&mut got).unwrap();
            got
        });
        for _ in 0..times {
            assert_eq!(
                send_zero_copy(client.as_raw_fd(), source).unwrap(),
                source.len
            );
        }
        drop(client);
        reader.join().unwrap()
    }

    fn expected(len: usize, times: usize) -> Vec<u8> {
        (0..times)
            .flat_map(|_| (0..len).map(payload_byte))
            .collect()
    }

    #[test]
    fn tee_path_sends_the_payload_intact_every_time() {
        let len = 128 * 1024;
        let source = ZeroCopySource::new(len).unwrap();
        assert!(source.uses_pipes(), "128 KiB fits a pipe on any Linux");
        assert!(carried(&source, 20) == expected(len, 20));
    }

    #[test]
    fn sendfile_path_sends_the_payload_intact_every_time() {
        let len = 100_000;
        let source = ZeroCopySource {
            len,
            path: Path::File(payload_file(len).unwrap()),
        };
        assert!(carried(&source, 5) == expected(len, 5));
    }

    #[test]
    fn a_write_larger_than_a_pipe_falls_back_to_sendfile() {
        let max: usize = std::fs::read_to_string("/proc/sys/fs/pipe-max-size")
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let source = ZeroCopySource::new(max * 2).unwrap();
        // Root may raise a pipe past the limit (CAP_SYS_RESOURCE); anyone else falls back.
        let root = std::fs::read_to_string("/proc/self/status")
            .unwrap()
            .lines()
            .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"));
        if !root {
            assert!(!source.uses_pipes());
        }
        assert!(carried(&source, 1) == expected(max * 2, 1));
    }
}
