//! Reading the files people name (suites, price tables, ECS configs), bounded: `--suite
//! /dev/zero` must be an error, not a read without end.

use std::io::Read as _;
use std::path::Path;

/// Largest suite, price table or ECS config read. Real ones are a few KiB.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// The text of `path`, at most `max` bytes.
///
/// # Errors
/// What went wrong, in words that name the limit: the caller adds the file and its role.
pub fn read_text(path: &Path, max: u64) -> Result<String, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read it: {e}"))?;
    let mut bytes = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read it: {e}"))?;
    if bytes.len() as u64 > max {
        return Err(format!(
            "it is larger than {} KiB, the most read from such a file; is it the right file?",
            max >> 10
        ));
    }
    String::from_utf8(bytes).map_err(|_| "it is not UTF-8 text".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endless_file_is_refused_after_the_limit() {
        let e = read_text(Path::new("/dev/zero"), 4096).unwrap_err();
        assert!(e.contains("larger than 4 KiB"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.toml");
        std::fs::write(&p, "a = 1\n").unwrap();
        assert_eq!(read_text(&p, 4096).unwrap(), "a = 1\n");
        std::fs::write(&p, [0xff, 0xfe]).unwrap();
        assert!(read_text(&p, 4096).unwrap_err().contains("UTF-8"));
        assert!(read_text(&dir.path().join("none"), 4096)
            .unwrap_err()
            .contains("cannot read it"));
    }
}
