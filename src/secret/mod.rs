//! `Secret`: a string that never prints itself; `Redactor`: the one place every
//! form of every secret is taken out of text a vendor sent back.

use base64::Engine;
use std::fmt;
use std::sync::{Arc, RwLock};

mod sanitise;

pub use sanitise::{is_hidden, sanitise, sanitise_lines, without_userinfo};

/// A credential or password. `Debug` and `Display` print `***`; the only way to the
/// value is [`Secret::expose`], which marks each place a secret leaves roster.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Secrets shorter than this are not searched for: they would mangle ordinary
/// words. Every password policy asks for at least 6 characters.
pub const MIN_SECRET: usize = 4;

/// Base64 text shorter than this is not searched for, for the same reason.
const MIN_BASE64: usize = 6;

/// Takes every form of a set of secrets out of text: the raw text; percent-encoded
/// (upper- or lower-case hex, a space as `%20` or `+`, any character encoded or
/// not, as in a query string or a form body); JSON-escaped (`\"`, `\/`, `\u00XX`);
/// HTML character references; and base64, standard or URL-safe, padded or not,
/// whole or embedded at any alignment in a longer base64 text (a Basic auth
/// header, an encoded request). Clones share their secrets, so a token obtained
/// at run time ([`Redactor::add`]) is redacted everywhere the redactor went.
#[derive(Clone, Default)]
pub struct Redactor(Arc<RwLock<Needles>>);

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redactor({} forms)", self.read().list.len())
    }
}

impl Redactor {
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a Secret>) -> Redactor {
        let redactor = Redactor::default();
        redactor.extend(secrets);
        redactor
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Needles> {
        self.0.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Redacts `secret` too, from now on, in this redactor and all its clones.
    pub fn add(&self, secret: &Secret) {
        self.extend([secret]);
    }

    /// Redacts `value` too, like [`Redactor::add`], as a value that may be
    /// a secret but may also be what a vendor rightly shows (a setting such as
    /// DocuSign's `user_id`, given by `${VAR}`, is also an account it lists):
    /// taken out of text, but no reason for [`Redactor::reveals`] to refuse.
    pub fn add_value(&self, value: &Secret) {
        self.push([value], false);
    }

    fn extend<'a>(&self, secrets: impl IntoIterator<Item = &'a Secret>) {
        self.push(secrets, true);
    }

    fn push<'a>(&self, secrets: impl IntoIterator<Item = &'a Secret>, credential: bool) {
        let mut needles = self.0.write().unwrap_or_else(|e| e.into_inner());
        let before = needles.list.len();
        for secret in secrets {
            for form in forms(secret.expose()) {
                needles.list.push((form, credential));
            }
        }
        if needles.list.len() != before {
            needles.index();
        }
    }

    /// A redactor with `extra` secrets besides these; `self` is unchanged.
    pub fn with<'a>(&self, extra: impl IntoIterator<Item = &'a Secret>) -> Redactor {
        let copy = Redactor(Arc::new(RwLock::new(self.read().clone())));
        copy.extend(extra);
        copy
    }

    /// The gate every vendor text passes before it is shown, logged or kept:
    /// `text` with every form of every secret replaced by `***` (overlapping
    /// matches of several secrets become one), then [`sanitise`]d, so that
    /// nothing a vendor wrote can move the cursor, clear a screen, start a
    /// fake line or reorder what is shown.
    pub fn redact(&self, text: &str) -> String {
        sanitise(&without_userinfo(&self.redact_data(text)))
    }

    /// Whether `text` holds a form of a credential this redactor knows (not
    /// counting the values of [`Redactor::add_value`]).
    pub fn reveals(&self, text: &str) -> bool {
        self.cut(text, true) != text
    }

    /// Only the redaction of [`Redactor::redact`], for vendor data that an
    /// escaping writer (the YAML emitter) will write: its characters are kept
    /// so that what is written reads back as the vendor's text.
    pub fn redact_data(&self, text: &str) -> String {
        self.cut(text, false)
    }

    /// `text` with every form of every secret replaced by `***`; with
    /// `credentials_only`, the values of [`Redactor::add_value`] are left.
    fn cut(&self, text: &str, credentials_only: bool) -> String {
        let needles = self.read();
        let bytes = text.as_bytes();
        let mut cut: Vec<(usize, usize)> = Vec::new();
        // Scratch, reused: this runs at every byte of every vendor text.
        let (mut at, mut next, mut firsts) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..bytes.len() {
            // Only the needles whose first character is spelled here are tried.
            firsts.clear();
            spelled_at(bytes, i, &mut firsts);
            let mut end = None;
            for c in &firsts {
                for n in needles.starting.get(c).into_iter().flatten() {
                    let (needle, credential) = &needles.list[*n as usize];
                    if credentials_only && !credential {
                        continue;
                    }
                    let found = matches_at(needle, bytes, i, &mut at, &mut next);
                    end = end.max(found);
                }
            }
            if let Some(end) = end {
                match cut.last_mut() {
                    Some(last) if i <= last.1 => last.1 = last.1.max(end),
                    _ => cut.push((i, end)),
                }
            }
        }
        if cut.is_empty() {
            return text.to_string();
        }
        let mut out = Vec::with_capacity(bytes.len());
        let mut copied = 0;
        for (start, end) in cut {
            out.extend_from_slice(&bytes[copied..start]);
            out.extend_from_slice(b"***");
            copied = end;
        }
        out.extend_from_slice(&bytes[copied..]);
        // Matches begin and end on character boundaries: each spells whole characters.
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// The texts to take out, and for each character the ones that start with it.
#[derive(Clone, Default)]
struct Needles {
    /// Each text, and whether it is a form of a credential.
    list: Vec<(Vec<char>, bool)>,
    starting: std::collections::HashMap<char, Vec<u32>>,
}

impl Needles {
    fn index(&mut self) {
        // One entry per text: a credential's if any of its sources is one.
        self.list.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        self.list.dedup_by(|a, b| a.0 == b.0);
        self.starting.clear();
        for (n, (needle, _)) in self.list.iter().enumerate() {
            if let Some(&c) = needle.first() {
                self.starting.entry(c).or_default().push(n as u32);
            }
        }
    }
}

/// Pushes to `chars` every character that `text` at `pos` spells in one of the
/// ways [`spelled`] knows: raw, percent-encoded, `+`, JSON-escaped, or as an
/// HTML character reference (its inverse).
fn spelled_at(text: &[u8], pos: usize, chars: &mut Vec<char>) {
    let rest = &text[pos.min(text.len())..];
    let utf8 = |bytes: &[u8]| {
        let width = match bytes.first()? {
            0x00..=0x7F => 1,
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => return None,
        };
        std::str::from_utf8(bytes.get(..width)?)
            .ok()?
            .chars()
            .next()
    };
    if let Some(c) = utf8(rest) {
        chars.push(c);
    }
    match rest.first() {
        Some(b'%') => {
            let mut decoded = Vec::with_capacity(4);
            while decoded.len() < 4 && rest.get(3 * decoded.len()) == Some(&b'%') {
                let at = 3 * decoded.len();
                match rest.get(at + 1..at + 3).and_then(hex) {
                    Some(b) => decoded.push(b as u8),
                    None => break,
                }
            }
            if let Some(c) = utf8(&decoded) {
                chars.push(c);
            }
        }
        Some(b'+') => chars.push(' '),
        Some(b'\\') => {
            let short = match rest.get(1) {
                Some(b'"') => Some('"'),
                Some(b'\\') => Some('\\'),
                Some(b'/') => Some('/'),
                Some(b'n') => Some('\n'),
                Some(b'r') => Some('\r'),
                Some(b't') => Some('\t'),
                Some(b'b') => Some('\u{8}'),
                Some(b'f') => Some('\u{c}'),
                _ => None,
            };
            chars.extend(short);
            let unit = |at: usize| {
                (rest.get(at..at + 2) == Some(b"\\u"))
                    .then(|| rest.get(at + 2..at + 6).and_then(hex))
                    .flatten()
            };
            if let Some(high) = unit(0) {
                let c = match (high, unit(6)) {
                    (0xD800..=0xDBFF, Some(low @ 0xDC00..=0xDFFF)) => {
                        char::from_u32(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
                    }
                    _ => char::from_u32(high),
                };
                chars.extend(c);
            }
        }
        Some(b'&') => {
            for (name, c) in [
                (&b"&amp;"[..], '&'),
                (b"&lt;", '<'),
                (b"&gt;", '>'),
                (b"&quot;", '"'),
                (b"&apos;", '\''),
            ] {
                if rest
                    .get(..name.len())
                    .is_some_and(|r| r.eq_ignore_ascii_case(name))
                {
                    chars.push(c);
                }
            }
            if let Some((value, _)) = numeric_reference(rest) {
                chars.extend(char::from_u32(value));
            }
        }
        _ => {}
    }
}

/// The texts searched for a secret: itself and its percent-encoded and
/// JSON-escaped forms (so that one more layer of encoding on top, as when a
/// vendor quotes an already encoded URL, is still found), and the base64
/// encodings of each, whole and as the part of a longer encoding that depends
/// only on its bytes.
fn forms(secret: &str) -> Vec<Vec<char>> {
    if secret.chars().count() < MIN_SECRET {
        return Vec::new();
    }
    let mut out = encoded_forms(secret);
    for other in other_forms(secret) {
        if other.chars().count() >= MIN_SECRET && other.len() >= MIN_BASE64 {
            out.push(other.chars().collect());
        }
    }
    out
}

/// A run of this many characters of a secret is redacted wherever it appears,
/// so that a vendor echoing a truncated token (`tok-abcdef0123...`) shows
/// none of it; a secret this long or shorter is redacted whole only.
pub const TRUNCATED: usize = 12;

/// The other ways a vendor may show a secret it echoes: upper- and
/// lower-cased, its bytes in hex (either case), reversed, its characters
/// separated by spaces, and every run of [`TRUNCATED`] of its characters
/// (as they are, upper- or lower-cased).
fn other_forms(secret: &str) -> Vec<String> {
    let chars: Vec<char> = secret.chars().collect();
    let hex: String = secret.bytes().map(|b| format!("{b:02x}")).collect();
    let (upper, lower) = (secret.to_uppercase(), secret.to_lowercase());
    let mut out = vec![
        hex.to_uppercase(),
        hex,
        chars.iter().rev().collect(),
        chars
            .iter()
            .map(char::to_string)
            .collect::<Vec<_>>()
            .join(" "),
    ];
    for text in [secret, &upper, &lower] {
        let chars: Vec<char> = text.chars().collect();
        if chars.len() > TRUNCATED {
            out.extend(
                chars
                    .windows(TRUNCATED)
                    .map(|w| w.iter().collect::<String>()),
            );
        }
    }
    out.push(upper);
    out.push(lower);
    out
}

/// The secret and its encoded forms (see [`forms`]).
fn encoded_forms(secret: &str) -> Vec<Vec<char>> {
    let json = serde_json::to_string(secret).unwrap_or_default();
    let json = json
        .get(1..json.len().saturating_sub(1))
        .unwrap_or("")
        .to_string();
    let mut texts = vec![
        secret.to_string(),
        percent_encode(secret, "-._~", false),
        percent_encode(secret, "*-._", true),
        json.replace('/', "\\/"),
        json,
    ];
    texts.sort();
    texts.dedup();
    let engines = [
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::URL_SAFE,
    ];
    let mut out = Vec::new();
    for text in texts {
        let bytes = text.as_bytes();
        for engine in &engines {
            let whole = engine.encode(bytes);
            out.push(whole.trim_end_matches('=').to_string());
            out.push(whole);
            for align in 0..3usize {
                // Encoded after `align` bytes of something else: keep the
                // characters whose six bits all come from the text.
                let mut padded = vec![0u8; align];
                padded.extend_from_slice(bytes);
                let encoded = engine.encode(&padded);
                let start = (8 * align).div_ceil(6);
                let end = (8 * (align + bytes.len())) / 6;
                if end > start {
                    out.push(encoded[start..end].to_string());
                }
            }
        }
        out.push(text);
    }
    out.retain(|f| f.chars().count() >= MIN_SECRET && (f.len() >= MIN_BASE64 || f == secret));
    out.into_iter().map(|f| f.chars().collect()).collect()
}

/// `text` percent-encoded, leaving ASCII letters, digits and `keep` as they are
/// (upper-case hex; `plus`: a space as `+`).
fn percent_encode(text: &str, keep: &str, plus: bool) -> String {
    text.bytes()
        .map(|b| match b {
            b' ' if plus => "+".to_string(),
            _ if b.is_ascii_alphanumeric() || keep.as_bytes().contains(&b) => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The end of the longest match of `needle` at `start`: each of its characters
/// written in any of the ways [`spelled`] knows.
fn matches_at(
    needle: &[char],
    text: &[u8],
    start: usize,
    at: &mut Vec<usize>,
    next: &mut Vec<usize>,
) -> Option<usize> {
    at.clear();
    at.push(start);
    for &c in needle {
        next.clear();
        for &pos in at.iter() {
            spelled(c, text, pos, next);
        }
        if next.is_empty() {
            return None;
        }
        next.sort_unstable();
        next.dedup();
        std::mem::swap(at, next);
    }
    at.iter().copied().max()
}

/// Pushes to `ends` where `c` ends if it is written at `pos` in one of the ways
/// text quoting a request writes it: raw, percent-encoded, `+` for a space,
/// JSON-escaped, or as an HTML character reference.
fn spelled(c: char, text: &[u8], pos: usize, ends: &mut Vec<usize>) {
    let rest = &text[pos.min(text.len())..];
    let mut utf8 = [0u8; 4];
    let raw = c.encode_utf8(&mut utf8).as_bytes();
    if rest.starts_with(raw) {
        ends.push(pos + raw.len());
    }
    let Some(&first) = rest.first() else { return };
    match first {
        b'%' => {
            let mut p = 0;
            let all = raw.iter().all(|b| {
                let ok = rest.get(p) == Some(&b'%')
                    && rest.get(p + 1..p + 3).and_then(hex) == Some(u32::from(*b));
                p += 3;
                ok
            });
            if all {
                ends.push(pos + 3 * raw.len());
            }
        }
        b'+' if c == ' ' => ends.push(pos + 1),
        b'\\' => {
            let short = match c {
                '"' => Some(b'"'),
                '\\' => Some(b'\\'),
                '/' => Some(b'/'),
                '\n' => Some(b'n'),
                '\r' => Some(b'r'),
                '\t' => Some(b't'),
                '\u{8}' => Some(b'b'),
                '\u{c}' => Some(b'f'),
                _ => None,
            };
            if short.is_some() && rest.get(1).copied() == short {
                ends.push(pos + 2);
            }
            let mut units = [0u16; 2];
            let units = c.encode_utf16(&mut units);
            let all = units.iter().enumerate().all(|(k, u)| {
                let at = 6 * k;
                rest.get(at..at + 2) == Some(b"\\u")
                    && rest.get(at + 2..at + 6).and_then(hex) == Some(u32::from(*u))
            });
            if all {
                ends.push(pos + 6 * units.len());
            }
        }
        b'&' => {
            let named: &[u8] = match c {
                '&' => b"&amp;",
                '<' => b"&lt;",
                '>' => b"&gt;",
                '"' => b"&quot;",
                '\'' => b"&apos;",
                _ => b"",
            };
            if !named.is_empty()
                && rest
                    .get(..named.len())
                    .is_some_and(|r| r.eq_ignore_ascii_case(named))
            {
                ends.push(pos + named.len());
            }
            if let Some((value, len)) = numeric_reference(rest) {
                if value == u32::from(c) {
                    ends.push(pos + len);
                }
            }
        }
        _ => {}
    }
}

/// An HTML numeric character reference at the start of `rest` (`&#65;`,
/// `&#x41;`): its code point and its length, `;` included.
fn numeric_reference(rest: &[u8]) -> Option<(u32, usize)> {
    if rest.get(..2) != Some(b"&#") {
        return None;
    }
    let hexadecimal = matches!(rest.get(2), Some(b'x' | b'X'));
    let digits = if hexadecimal { 3 } else { 2 };
    let len = rest
        .get(digits..)?
        .iter()
        .take(8)
        .take_while(|b| b.is_ascii_hexdigit())
        .count();
    if len == 0 || rest.get(digits + len) != Some(&b';') {
        return None;
    }
    let number = &rest[digits..digits + len];
    let value = if hexadecimal {
        hex(number)
    } else {
        std::str::from_utf8(number).ok()?.parse().ok()
    }?;
    Some((value, digits + len + 1))
}

/// Hex digits, either case, as a number.
fn hex(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() || digits.len() > 8 {
        return None;
    }
    digits
        .iter()
        .try_fold(0u32, |n, d| Some(n * 16 + char::from(*d).to_digit(16)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};

    const SECRET: &str = "ap+SECRET/x y\"z\\1é?";

    fn redact(text: &str) -> String {
        Redactor::new([&Secret::new(SECRET)]).redact(text)
    }

    fn percent(s: &str, lower: bool, plus: bool) -> String {
        s.bytes()
            .map(|b| match b {
                b' ' if plus => "+".to_string(),
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ if lower => format!("%{b:02x}"),
                _ => format!("%{b:02X}"),
            })
            .collect()
    }

    #[track_caller]
    fn gone(form: &str) {
        let text = format!("before {form} after");
        assert_eq!(redact(&text), "before *** after", "{form}");
    }

    #[test]
    fn never_prints_itself() {
        let s = Secret::new("hunter22");
        assert_eq!(format!("{s} {s:?} {:?}", Some(&s)), "*** *** Some(***)");
        assert_eq!(
            Redactor::new([&s]).redact("token=hunter22&x=1"),
            "token=***&x=1"
        );
    }

    #[test]
    fn raw() {
        gone(SECRET);
    }

    #[test]
    fn percent_encoded_upper_and_lower_case() {
        gone(&percent(SECRET, false, false));
        gone(&percent(SECRET, true, false));
    }

    #[test]
    fn form_urlencoded_with_plus_for_space() {
        gone(&percent(SECRET, false, true));
        // As a form encoder that leaves `*` and `/` alone might.
        gone(&percent(SECRET, true, true).replace("%2f", "/"));
    }

    #[test]
    fn json_escaped() {
        let json = serde_json::to_string(SECRET).unwrap();
        gone(&json[1..json.len() - 1]);
        // As PHP writes it: slashes escaped, non-ASCII as \u.
        gone(r#"ap+SECRET\/x y\"z\\1\u00e9?"#);
        gone(r#"\u0061p+SECRET\/x\u0020y\u0022z\u005c1\u00E9\u003f"#);
    }

    #[test]
    fn a_json_escape_of_another_character_is_not_the_secret() {
        // Only `\n` spells a line feed: `\t` there is other text, kept.
        let r = Redactor::new(&[Secret::new("abc\ndefg")]);
        assert_eq!(r.redact(r#"{"x":"abc\ndefg"}"#), r#"{"x":"***"}"#);
        for other in [r#"abc\tdefg"#, r#"abc\"defg"#, r#"abc\\defg"#] {
            assert_eq!(r.redact(other), other);
        }
    }

    #[test]
    fn encoded_twice() {
        // A vendor quoting, percent-encoded, a URL whose query already was.
        gone(&percent_encode(
            &percent_encode(SECRET, "*-._", true),
            "-._~",
            false,
        ));
        // JSON-escaped, then percent-encoded.
        let json = serde_json::to_string(SECRET).unwrap();
        gone(&percent_encode(&json[1..json.len() - 1], "-._~", false));
        // Base64 of the encoded form, inside a longer text.
        let encoded = STANDARD.encode(format!(
            "q=api_token={}&x=1",
            percent_encode(SECRET, "*-._", true)
        ));
        let out = redact(&encoded);
        assert!(out.contains("***"), "{out}");
        assert!(!base64_holds(&out, b"SECRET"), "{out}");
    }

    #[test]
    fn each_spelling_of_a_character_is_read_exactly() {
        // A carriage return written as JSON's `\r`, a tab as `\t`, the first
        // character too (where the search for a secret starts).
        let r = Redactor::new(&[Secret::new("tok\rsecret\tvalue")]);
        assert_eq!(
            r.redact(r#"["\rsecret\tvalue!"]"#).matches("***").count(),
            1
        );
        assert_eq!(
            r.redact(r#"{"echo":"tok\rsecret\tvalue"}"#),
            r#"{"echo":"***"}"#
        );
        // A `%` that is not followed by the character's own code is not it, and
        // neither is the code without its `%`.
        let r = Redactor::new(&[Secret::new("ab cd/ef")]);
        assert_eq!(r.redact("ab%20cd%2Fef"), "***");
        for near in [
            "ab%21cd%2Fef",
            "ab%2xcd%2Fef",
            "ab20cd%2Fef",
            "ab%%20cd%2Fef",
        ] {
            assert_eq!(r.redact(near), near, "{near}");
        }
    }

    #[test]
    fn both_percent_forms_of_a_secret_with_space_tilde_and_star_in_base64_and_twice() {
        // A space, `~` and `*` are where the two percent encodings differ:
        // RFC 3986 keeps `~` and writes `%2A` and `%20`; a form encoder keeps
        // `*` and writes `%7E` and `+`. Each form, then base64 of it (whole,
        // unpadded, URL-safe, inside a longer text at every alignment) and
        // each form encoded once more, is redacted.
        const S: &str = "tok~en*with space/42";
        let redactor = Redactor::new([&Secret::new(S)]);
        let rfc = percent_encode(S, "-._~", false);
        let form = percent_encode(S, "*-._", true);
        assert_eq!(rfc, "tok~en%2Awith%20space%2F42");
        assert_eq!(form, "tok%7Een*with+space%2F42");
        for encoded in [&rfc, &form] {
            let mut shown = vec![encoded.clone()];
            for engine in [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD] {
                shown.push(engine.encode(encoded));
            }
            shown.push(percent_encode(encoded, "-._~", false));
            shown.push(percent_encode(encoded, "*-._", true));
            for text in shown {
                assert_eq!(
                    redactor.redact(&format!("before {text} after")),
                    "before *** after",
                    "{encoded} as {text}"
                );
            }
            for engine in [STANDARD, URL_SAFE_NO_PAD] {
                for prefix in ["", "q", "q=", "q=x", "q=xy"] {
                    let long = engine.encode(format!("{prefix}{encoded}&more=1"));
                    let out = redactor.redact(&long);
                    assert!(out.contains("***"), "{encoded} after {prefix:?}: {out}");
                    assert!(
                        !base64_holds(&out, b"with"),
                        "{encoded} after {prefix:?}: {out}"
                    );
                }
            }
        }
    }

    #[test]
    fn html_escaped() {
        gone("ap+SECRET/x y&quot;z\\1&#233;?");
    }

    #[test]
    fn base64_whole_padded_or_not() {
        for engine in [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD] {
            gone(&engine.encode(SECRET));
        }
    }

    use roster_mock::leaks::base64_holds;

    #[test]
    fn base64_inside_a_longer_text_at_every_alignment() {
        for engine in [STANDARD, URL_SAFE_NO_PAD] {
            for prefix in ["", "u:", "us:", "use:", "user:"] {
                // A Basic auth header, say: the secret after a user name.
                let encoded = engine.encode(format!("{prefix}{SECRET}:and more"));
                let text = format!("Authorization: Basic {encoded}");
                assert!(base64_holds(&text, b"SECRET/x"), "the check sees it");
                let out = redact(&text);
                // What is left holds a few bits of the secret at most.
                assert!(!base64_holds(&out, b"SECRET"), "{prefix}: {out}");
                assert!(!base64_holds(&out, b"x y"), "{prefix}: {out}");
            }
        }
    }

    #[test]
    fn several_forms_in_one_text_and_tokens_added_later() {
        let shared = Redactor::new([&Secret::new("first-secret")]);
        let clone = shared.clone();
        shared.add(&Secret::new("access-123"));
        let text = "a=first-secret&b=access%2D123 \"Bearer access-123\"";
        assert_eq!(clone.redact(text), "a=***&b=*** \"Bearer ***\"");
        let wider = shared.with([&Secret::new("Passw0rd!")]);
        assert_eq!(wider.redact("Passw0rd%21 access-123"), "*** ***");
        assert_eq!(
            shared.redact("Passw0rd!"),
            "Passw0rd!",
            "`with` leaves the original"
        );
    }

    #[test]
    fn upper_and_lower_cased() {
        let r = Redactor::new([&Secret::new("Tok-AbC123xyz")]);
        assert_eq!(r.redact("a TOK-ABC123XYZ b"), "a *** b");
        assert_eq!(r.redact("a tok-abc123xyz b"), "a *** b");
    }

    #[test]
    fn hex_in_either_case() {
        let r = Redactor::new([&Secret::new("tok-123456")]);
        let hex: String = "tok-123456".bytes().map(|b| format!("{b:02x}")).collect();
        assert_eq!(r.redact(&format!("id={hex};")), "id=***;");
        assert_eq!(r.redact(&format!("id={};", hex.to_uppercase())), "id=***;");
    }

    #[test]
    fn reversed() {
        let r = Redactor::new([&Secret::new("tok-123456")]);
        assert_eq!(r.redact("echo 654321-kot!"), "echo ***!");
    }

    #[test]
    fn spaced() {
        let r = Redactor::new([&Secret::new("tok-123456")]);
        assert_eq!(r.redact("t o k - 1 2 3 4 5 6."), "***.");
    }

    #[test]
    fn truncated_to_a_run_of_twelve_characters() {
        let token = "glpat-0123456789abcdefghij";
        let r = Redactor::new([&Secret::new(token)]);
        // A prefix, a middle and a suffix of 12 characters or more.
        assert_eq!(
            r.redact("token glpat-0123456... refused"),
            "token ***... refused"
        );
        assert_eq!(r.redact("[3456789abcdef]"), "[***]");
        assert_eq!(r.redact("...89abcdefghij"), "...***");
        // Eleven characters say too little to be taken out (and would mangle text).
        assert_eq!(r.redact("glpat-01234"), "glpat-01234");
        // A short secret is taken out whole only.
        let r = Redactor::new([&Secret::new("pw-12345")]);
        assert_eq!(r.redact("pw-1234"), "pw-1234");
    }

    #[test]
    fn the_gate_shows_controls_and_escape_sequences_escaped() {
        let r = Redactor::new([&Secret::new("tok-123456")]);
        let text = "no\u{1b}[2J\r Apply: 5 created\u{1b}]8;;http://evil\u{7}x\u{1b}]8;;\u{7} \u{202e}tok-123456\u{9b}\u{7f}\u{8}";
        let shown = r.redact(text);
        assert!(
            !shown.chars().any(|c| c.is_control() || is_hidden(c)),
            "{shown:?}"
        );
        assert_eq!(
            shown,
            "no\\u{1b}[2J\\u{d} Apply: 5 created\\u{1b}]8;;http://evil\\u{7}x\\u{1b}]8;;\\u{7} \\u{202e}***\\u{9b}\\u{7f}\\u{8}"
        );
        assert!(r.reveals("a tok-123456"));
        assert!(!r.reveals("a tok-12345"));
        // Data kept for an escaping writer keeps its characters.
        assert_eq!(r.redact_data("a\u{2028}b tok-123456"), "a\u{2028}b ***");
        assert_eq!(sanitise("plain é 🎉"), "plain é 🎉");
        // roster's own messages keep their lines.
        assert_eq!(
            sanitise_lines("one\ntwo\r\u{1b}[2J\u{9b}"),
            "one\ntwo\\u{d}\\u{1b}[2J\\u{9b}"
        );
    }

    proptest::proptest! {
        /// The index finds a needle by its first character however that is
        /// written: `spelled_at` reads back every spelling `spelled` accepts.
        #[test]
        fn every_spelling_of_a_character_is_read_back(c in proptest::prelude::any::<char>()) {
            let mut utf8 = [0u8; 4];
            let raw = c.encode_utf8(&mut utf8).as_bytes().to_vec();
            let mut units = [0u16; 2];
            let units = c.encode_utf16(&mut units);
            let n = u32::from(c);
            let mut spellings = vec![
                c.to_string(),
                raw.iter().map(|b| format!("%{b:02X}")).collect(),
                raw.iter().map(|b| format!("%{b:02x}")).collect(),
                units.iter().map(|u| format!("\\u{u:04x}")).collect(),
                units.iter().map(|u| format!("\\u{u:04X}")).collect(),
                format!("&#{n};"),
                format!("&#x{n:X};"),
            ];
            let named = match c { '&' => "&amp;", '<' => "&LT;", '"' => "&quot;", ' ' => "+", '/' => "\\/", '\n' => "\\n", _ => "" };
            spellings.push(named.to_string());
            for text in spellings.iter().filter(|t| !t.is_empty()) {
                let mut ends = Vec::new();
                spelled(c, text.as_bytes(), 0, &mut ends);
                proptest::prop_assert!(ends.contains(&text.len()), "{:?}", text);
                let mut chars = Vec::new();
                spelled_at(text.as_bytes(), 0, &mut chars);
                proptest::prop_assert!(chars.contains(&c), "{:?} read as {:?}", text, chars);
            }
        }
    }

    #[test]
    fn every_named_spelling_is_read_both_ways() {
        let named = [
            ('&', "&amp;"),
            ('<', "&lt;"),
            ('>', "&GT;"),
            ('"', "&quot;"),
            ('\'', "&apos;"),
            ('"', "\\\""),
            ('\\', "\\\\"),
            ('/', "\\/"),
            ('\n', "\\n"),
            ('\r', "\\r"),
            ('\t', "\\t"),
            ('\u{8}', "\\b"),
            ('\u{c}', "\\f"),
            (' ', "+"),
        ];
        for (c, text) in named {
            let mut ends = Vec::new();
            spelled(c, text.as_bytes(), 0, &mut ends);
            assert!(ends.contains(&text.len()), "{c:?} as {text:?}: {ends:?}");
            let mut chars = Vec::new();
            spelled_at(text.as_bytes(), 0, &mut chars);
            assert!(chars.contains(&c), "{text:?} read as {chars:?}");
        }
        // And in a secret a vendor echoes as HTML.
        let r = Redactor::new(&[Secret::new("ab>cd'efg")]);
        assert_eq!(r.redact("x ab&gt;cd&apos;efg y"), "x *** y");
    }

    #[test]
    fn a_value_is_redacted_but_reveals_no_credential() {
        let r = Redactor::new([&Secret::new("tok-123456")]);
        r.add_value(&Secret::new("0f6d8e4b-1111-2222"));
        assert_eq!(
            r.redact("user 0f6d8e4b-1111-2222 tok-123456"),
            "user *** ***"
        );
        assert!(!r.reveals("0f6d8e4b-1111-2222"));
        assert!(r.reveals("id-tok-123456"));
        // The same text given as both is a credential.
        r.add(&Secret::new("0f6d8e4b-1111-2222"));
        assert!(r.reveals("0f6d8e4b-1111-2222"));
    }

    #[test]
    fn urls_lose_their_credentials() {
        for (text, shown) in [
            ("https://bot:pw@host/x", "https://***@host/x"),
            (
                "at postgres://u:p/w?d@db:5432/roster, again",
                "at postgres://***@db:5432/roster, again",
            ),
            (
                "a http://h/x and ftp://me@f",
                "a http://h/x and ftp://***@f",
            ),
            ("no url, mail a@b.com", "no url, mail a@b.com"),
            ("https://h/p x@y", "https://h/p x@y"),
        ] {
            assert_eq!(without_userinfo(text), shown, "{text}");
        }
        let r = Redactor::default();
        assert_eq!(r.redact("see https://u:pw@h/"), "see https://***@h/");
    }

    #[test]
    fn short_secrets_and_ordinary_text_are_left_alone() {
        let r = Redactor::new([&Secret::new("abc"), &Secret::new("secret-1")]);
        assert_eq!(r.redact("abc abcd"), "abc abcd");
        assert_eq!(r.redact("a secret-2 and secret-1"), "a secret-2 and ***");
        assert_eq!(r.redact(""), "");
        assert_eq!(r.redact("é ünïcode 🎉"), "é ünïcode 🎉");
        // A six-character password is searched for, encoded as well.
        let r = Redactor::new([&Secret::new("Ab1!x?")]);
        assert_eq!(r.redact("pw=Ab1%21x%3F"), "pw=***");
        assert_eq!(r.redact(&STANDARD.encode("Ab1!x?")), "***");
    }
}
