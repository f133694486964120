//! Which way a bulk TCP sender hands its payload to the socket ([`SendPath`]).

use std::io;

use crate::protocol::{SendPath, TestRequest};
use crate::sys::ZeroCopySource;

/// A sender's payload source.
#[derive(Debug)]
pub(super) struct Source {
    /// `Some`: splice from these pipes (or, for `--zerocopy` and `splice` past a pipe's size,
    /// a memfd); `None`: copy from user space.
    pub(super) splice: Option<ZeroCopySource>,
    /// Why `auto` copied, in words for the report.
    pub(super) fallback: Option<String>,
}

/// The source for an unpaced sender of `len`-byte writes. `auto` splices where a pipe holds
/// one write and copies otherwise (saying why); `splice` and `--zerocopy` insist, so their
/// errors are the caller's.
pub(super) fn source(req: &TestRequest, len: usize) -> io::Result<Source> {
    source_with(req, len, ZeroCopySource::pipes_only)
}

fn source_with(
    req: &TestRequest,
    len: usize,
    pipes: impl FnOnce(usize) -> io::Result<ZeroCopySource>,
) -> io::Result<Source> {
    let (splice, fallback) = match (req.zerocopy, req.send_path) {
        (true, _) | (false, SendPath::Splice) => (Some(ZeroCopySource::new(len)?), None),
        (false, SendPath::Copy) => (None, None),
        (false, SendPath::Auto) => match pipes(len) {
            Ok(source) => (Some(source), None),
            Err(e) => (
                None,
                Some(format!(
                    "the sender copied: a pipe could not hold its {len}-byte writes for \
                     splicing ({e}); smaller writes (-l) or a larger \
                     /proc/sys/fs/pipe-max-size let it splice"
                )),
            ),
        },
    };
    Ok(Source { splice, fallback })
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use crate::protocol::TestKind;

    fn request(send_path: SendPath, zerocopy: bool) -> TestRequest {
        let mut r = TestRequest::new(TestKind::TcpStream, std::time::Duration::from_secs(1));
        r.send_path = send_path;
        r.zerocopy = zerocopy;
        r
    }

    #[test]
    fn auto_splices_where_a_pipe_holds_the_write() {
        let s = source(&request(SendPath::Auto, false), 128 << 10).unwrap();
        assert!(s.splice.is_some());
        assert_eq!(s.fallback, None);
    }

    #[test]
    fn auto_copies_and_says_why_when_the_pipes_are_refused() {
        let refused = |_| Err(io::Error::from_raw_os_error(libc::EPERM));
        let s = source_with(&request(SendPath::Auto, false), 4 << 20, refused).unwrap();
        assert!(s.splice.is_none());
        let why = s.fallback.unwrap();
        assert!(why.contains("4194304-byte writes"), "{why}");
        assert!(why.contains("pipe-max-size"), "{why}");
    }

    #[test]
    fn copy_never_splices_and_splice_or_zerocopy_always_do() {
        let copy = source(&request(SendPath::Copy, false), 128 << 10).unwrap();
        assert!(copy.splice.is_none() && copy.fallback.is_none());
        let refused = |_| Err(io::Error::from_raw_os_error(libc::EPERM));
        for (path, zerocopy) in [(SendPath::Splice, false), (SendPath::Auto, true)] {
            let s = source_with(&request(path, zerocopy), 64 << 10, refused).unwrap();
            assert!(s.splice.is_some(), "{path:?} zerocopy={zerocopy}");
        }
    }
}
