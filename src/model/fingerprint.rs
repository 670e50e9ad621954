//! Content hashes: a saved plan, a recorded account and the state compare
//! specs by the hash of their canonical JSON.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// `sha256:<hex>` of a value's canonical JSON: compact, object keys sorted.
/// Specs serialize canonically by construction (their fields are declared in
/// alphabetical order; a test checks every kind), so the JSON streams straight
/// into the hash.
pub fn fingerprint(spec: &impl Serialize) -> String {
    /// Feeds the JSON into the hash without building the string.
    struct Hashing(Sha256);
    impl std::io::Write for Hashing {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.update(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut hashing = Hashing(Sha256::new());
    // Writing into a sink that cannot fail cannot fail.
    let _ = serde_json::to_writer(&mut hashing, spec);
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    out.push_str(&hex(&hashing.0.finalize()));
    out
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
}
