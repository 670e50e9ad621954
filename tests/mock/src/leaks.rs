//! What tests ask of any text roster wrote: whether a secret hides in it.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// Whether a base64 run in `text`, read from any of its first four characters
/// and in either alphabet (standard or URL-safe), decodes to bytes that hold
/// `needle`.
pub fn base64_holds(text: &str, needle: &[u8]) -> bool {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || "+/-_".contains(c)))
        .any(|run| {
            let std: String = run
                .chars()
                .map(|c| match c {
                    '-' => '+',
                    '_' => '/',
                    c => c,
                })
                .collect();
            (0..4).any(|skip| {
                let body = std.get(skip..).unwrap_or("");
                let body = &body[..body.len() / 4 * 4];
                STANDARD
                    .decode(body)
                    .is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle))
            })
        })
}
