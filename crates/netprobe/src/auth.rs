//! Mutual proof of a pre-shared key, replay-safe.
//!
//! Each side sends a fresh 32-byte nonce. The client proves the key with
//! `HMAC-SHA256(key, "netprobe-v1 client" || client_nonce || server_nonce)`, the server with the
//! same over `"netprobe-v1 server"`. A recorded proof is useless later because the other side's
//! nonce will differ, and the role labels stop a proof from being reflected back.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Which side computes the proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The connecting side.
    Client,
    /// The accepting side.
    Server,
}

/// A pre-shared key. Its `Debug` output never shows the bytes.
#[derive(Clone)]
pub struct PreSharedKey(Vec<u8>);

impl std::fmt::Debug for PreSharedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PreSharedKey(..)")
    }
}

/// The shortest key the CLI accepts without `--allow-weak-key`: a short key is guessed
/// (a 1-character key fell in 11 tries), and the controller's own keys are 64 hex characters.
pub const MIN_KEY_CHARS: usize = 16;

/// Whether `key` is long enough to use without `--allow-weak-key`.
///
/// # Errors
/// A message naming the length, the minimum and the two fixes.
pub fn check_strength(key: &str) -> std::result::Result<(), String> {
    let n = key.chars().count();
    if n < MIN_KEY_CHARS {
        return Err(format!(
            "the key has {n} characters, fewer than {MIN_KEY_CHARS}: it can be guessed; use a \
             longer one (`openssl rand -hex 16`), or pass --allow-weak-key to accept the risk"
        ));
    }
    Ok(())
}

impl PreSharedKey {
    /// Wraps key material; an empty key is refused because it proves nothing.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Option<Self> {
        let bytes = bytes.into();
        (!bytes.is_empty()).then_some(Self(bytes))
    }

    /// A fresh random 32-byte key, hex-encoded, as the controller uses per run.
    pub fn random_hex() -> String {
        probe_core::contract::random_key_hex()
    }

    fn mac(&self, side: Side, client_nonce: &[u8; 32], server_nonce: &[u8; 32]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(match side {
            Side::Client => b"netprobe-v1 client",
            Side::Server => b"netprobe-v1 server",
        });
        mac.update(client_nonce);
        mac.update(server_nonce);
        mac
    }

    /// The proof `side` sends.
    pub fn prove(&self, side: Side, client_nonce: &[u8; 32], server_nonce: &[u8; 32]) -> [u8; 32] {
        self.mac(side, client_nonce, server_nonce)
            .finalize()
            .into_bytes()
            .into()
    }

    /// Checks a proof from `side` in constant time.
    pub fn verify(
        &self,
        side: Side,
        client_nonce: &[u8; 32],
        server_nonce: &[u8; 32],
        proof: &[u8; 32],
    ) -> bool {
        self.mac(side, client_nonce, server_nonce)
            .verify_slice(proof)
            .is_ok()
    }
}

/// A fresh random nonce.
pub fn nonce() -> [u8; 32] {
    rand::random()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proofs_verify_only_with_the_same_key_nonces_and_side() {
        let key = PreSharedKey::new("secret").unwrap();
        let other = PreSharedKey::new("other").unwrap();
        let (cn, sn) = (nonce(), nonce());
        let proof = key.prove(Side::Client, &cn, &sn);
        assert!(key.verify(Side::Client, &cn, &sn, &proof));
        assert!(!other.verify(Side::Client, &cn, &sn, &proof));
        assert!(
            !key.verify(Side::Server, &cn, &sn, &proof),
            "reflected proof"
        );
        assert!(
            !key.verify(Side::Client, &cn, &nonce(), &proof),
            "replayed proof"
        );
    }

    #[test]
    fn empty_key_is_refused_and_debug_hides_the_key() {
        assert!(PreSharedKey::new("").is_none());
        let key = PreSharedKey::new("hunter2").unwrap();
        assert!(!format!("{key:?}").contains("hunter2"));
        assert_eq!(PreSharedKey::random_hex().len(), 64);
    }
}
