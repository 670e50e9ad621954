//! Text made safe to show: control and invisible characters escaped, URL
//! credentials masked. For vendor text on its way to a terminal, a file or
//! YAML, and for roster's own messages as a last net.

/// `text` with the credentials of every URL in it (`scheme://user:pw@`)
/// shown as `***@`. As a URL's reader takes them, they run from `://` to the
/// first `@` before any white space, so a password holding `/` or `?` is
/// still all masked (a path holding `@` loses its start too: shown, it is
/// better cut than a password shown).
pub fn without_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        let word = tail.find(char::is_whitespace).unwrap_or(tail.len());
        match tail[..word].find('@') {
            Some(userinfo) => {
                out.push_str("***@");
                rest = &tail[userinfo + 1..];
            }
            None => rest = tail,
        }
    }
    out.push_str(rest);
    out
}

/// Whether `c` is a character a terminal or an editor acts on without showing
/// it: the bidirectional overrides and isolates (U+202A-U+202E, U+2066-U+2069,
/// and the marks), zero-width characters, the byte order mark, the line and
/// paragraph separators, interlinear annotations and Unicode tags.
pub fn is_hidden(c: char) -> bool {
    matches!(u32::from(c),
        0xAD | 0x61C | 0x180E | 0x200B..=0x200F | 0x2028..=0x202E | 0x2060..=0x206F
        | 0xFEFF | 0xFFF9..=0xFFFB | 0xE0000..=0xE007F)
}

/// Vendor text made safe to show on a terminal or write to a file: every
/// control character (C0 with `\r`, `\n`, `\t`, backspace and ESC, so every
/// CSI and OSC sequence; DEL; C1) and every [`is_hidden`] character is shown
/// escaped, as `\u{1b}`; nothing else changes. An escape sequence is left
/// as harmless text (`\u{1b}[2J`), never acted on.
pub fn sanitise(text: &str) -> String {
    escape_where(text, |c| c.is_control() || is_hidden(c))
}

/// [`sanitise`], keeping line feeds: for roster's own messages of several
/// lines, a last net for any vendor text that reached one another way.
pub fn sanitise_lines(text: &str) -> String {
    escape_where(text, |c| c != '\n' && (c.is_control() || is_hidden(c)))
}

fn escape_where(text: &str, unsafe_char: impl Fn(char) -> bool) -> String {
    if !text.chars().any(&unsafe_char) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}
