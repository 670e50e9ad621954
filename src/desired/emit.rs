//! The one YAML emitter: every text roster prints or writes as YAML (`dump`,
//! generated files) is built here, so that nothing a vendor chose can end a
//! line, a comment or a scalar early.
//!
//! serde_yaml is not used to write: it leaves U+2028 and U+2029 raw inside
//! single-quoted scalars, which a reader that splits lines on them (an editor,
//! a line-based tool, roster's own comment prefixing) breaks in two. Here every
//! string, key or value, is plain only when it cannot be misread, and otherwise
//! double-quoted with every line break, control and invisible format character
//! escaped (`\n`, `\e`, `\x9B`, `\N`, `\L`, `\P`, `\uFEFF`, ...): the output
//! holds no line break but `\n` between lines, and loads back to exactly the
//! text it was given.

use serde_json::Value;

/// `text` as a YAML scalar: plain when it is made of characters that cannot
/// start or end anything (letters, digits, `_ . @ + - /`, inner spaces) and
/// reads back as the same string; double-quoted and escaped otherwise.
pub fn scalar(text: &str) -> String {
    if is_plain(text) {
        text.to_string()
    } else {
        quoted(text)
    }
}

/// `text` double-quoted, with every character YAML would take for a line
/// break, a control, or that a terminal would act on or hide, escaped.
pub fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\0' => out.push_str("\\0"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{b}' => out.push_str("\\v"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            '\u{1b}' => out.push_str("\\e"),
            '\u{85}' => out.push_str("\\N"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            c if c.is_control() => out.push_str(&format!("\\x{:02X}", u32::from(c))),
            c if crate::secret::is_hidden(c) || is_noncharacter(c) => {
                // Four hex digits reach U+FFFF only: `\U` for the others.
                let n = u32::from(c);
                if n > 0xFFFF {
                    out.push_str(&format!("\\U{n:08X}"));
                } else {
                    out.push_str(&format!("\\u{n:04X}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Whether `text` can be written plain and read back as this same string.
fn is_plain(text: &str) -> bool {
    const WORDS: &[&str] = &[
        "true", "false", "yes", "no", "on", "off", "y", "n", "null", "nan", "inf", "infinity",
    ];
    let Some(first) = text.chars().next() else {
        return false;
    };
    first.is_ascii_alphabetic()
        && !text.ends_with(' ')
        && !text.contains("  ")
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " _.@+-/".contains(c))
        && !WORDS.iter().any(|w| text.eq_ignore_ascii_case(w))
}

/// U+FFFE, U+FFFF and the like: not "printable" for YAML.
fn is_noncharacter(c: char) -> bool {
    let n = u32::from(c);
    (0xFDD0..=0xFDEF).contains(&n) || n & 0xFFFE == 0xFFFE
}

/// `text` as a comment: `# ` and text that holds no line break (a value shown
/// in it is written as a [`scalar`]).
pub fn comment(text: &str) -> String {
    let one_line: String = text
        .chars()
        .map(|c| {
            if c.is_control() || crate::secret::is_hidden(c) {
                ' '
            } else {
                c
            }
        })
        .collect();
    format!("# {one_line}")
}

/// `value` as block YAML, every line indented by `indent` spaces and ending in
/// `\n`. Maps are written in their order (a `serde_json::Map` is sorted).
pub fn block(value: &Value, indent: usize) -> String {
    let mut out = String::new();
    write_block(&mut out, value, indent);
    out
}

/// A sequence item at `indent` whose map holds `fields` in this order (an
/// entry of `users:` reads best with its email first).
pub fn item(fields: &[(&str, Value)], indent: usize) -> String {
    let mut out = String::new();
    for (key, value) in fields {
        let one = Value::Object([(key.to_string(), value.clone())].into_iter().collect());
        write_block(&mut out, &one, indent + 2);
    }
    if out.is_empty() {
        return format!("{}- {{}}\n", " ".repeat(indent));
    }
    format!("{}- {}", " ".repeat(indent), &out[indent + 2..])
}

/// `value` written inline: a scalar, or `{}` / `[]` for an empty collection.
/// `None` for a collection that needs lines of its own.
fn inline(value: &Value) -> Option<String> {
    match value {
        Value::Null => Some("null".into()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(scalar(s)),
        Value::Array(a) if a.is_empty() => Some("[]".into()),
        Value::Object(m) if m.is_empty() => Some("{}".into()),
        _ => None,
    }
}

fn write_block(out: &mut String, value: &Value, indent: usize) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, v) in map {
                out.push_str(&pad);
                out.push_str(&scalar(key));
                out.push(':');
                match inline(v) {
                    Some(text) => {
                        out.push(' ');
                        out.push_str(&text);
                        out.push('\n');
                    }
                    None => {
                        out.push('\n');
                        write_block(out, v, indent + 2);
                    }
                }
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for item in items {
                match inline(item) {
                    Some(text) => {
                        out.push_str(&pad);
                        out.push_str("- ");
                        out.push_str(&text);
                        out.push('\n');
                    }
                    None => {
                        // The item's first line takes the dash in place of two
                        // of its indentation's spaces.
                        let inner = block(item, indent + 2);
                        out.push_str(&pad);
                        out.push_str("- ");
                        out.push_str(&inner[indent + 2..]);
                    }
                }
            }
        }
        scalar_or_empty => {
            out.push_str(&pad);
            out.push_str(&inline(scalar_or_empty).unwrap_or_default());
            out.push('\n');
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Reads `text` back as roster's loader parses YAML.
    fn load(text: &str) -> Value {
        serde_yaml::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
    }

    #[test]
    fn a_list_of_maps_takes_its_dashes_at_any_depth() {
        let list = serde_json::json!([{"a": 1, "b": [{"c": 2, "d": 3}]}]);
        assert_eq!(block(&list, 0), "- a: 1\n  b:\n    - c: 2\n      d: 3\n");
        assert_eq!(
            block(&list, 4),
            "    - a: 1\n      b:\n        - c: 2\n          d: 3\n"
        );
        assert_eq!(load(&block(&list, 0)), list);
    }

    #[test]
    fn line_breaks_and_controls_are_escaped_never_written() {
        let hostile = "77\u{2028}  - email: mallory@evil.com\u{2029}\u{85}\r\n\u{1b}[2J\u{9b}\u{7f}\u{feff}\u{202e}\0\u{ffff}\u{e0041}";
        let q = quoted(hostile);
        assert_eq!(
            q,
            r#""77\L  - email: mallory@evil.com\P\N\r\n\e[2J\x9B\x7F\uFEFF\u202E\0\uFFFF\U000E0041""#
        );
        assert_eq!(load(&q), Value::String(hostile.into()));
        assert_eq!(scalar("Mary-Ann O.Brien"), "Mary-Ann O.Brien");
        for misread in [
            "", "yes", "No", "null", "1", "12", "0x1F", "-1", "a: b", "a #b", "a ", " a", "~",
            "nan", ".inf", "Inf",
        ] {
            assert_eq!(
                load(&scalar(misread)),
                Value::String(misread.into()),
                "{misread:?}"
            );
        }
    }

    #[test]
    fn a_comment_holds_one_line() {
        let c = comment(&format!("closed (id {})", scalar("1\u{2028}- x\n- y")));
        assert_eq!(c, r#"# closed (id "1\L- x\n- y")"#);
    }

    /// A character a hostile vendor may send: YAML's line breaks and
    /// indicators, controls, hidden characters, or any other.
    pub(crate) fn hostile_char() -> impl Strategy<Value = char> {
        let hostile = prop::sample::select(vec![
            '\u{2028}',
            '\u{2029}',
            '\u{85}',
            '\n',
            '\r',
            '\t',
            '\u{1b}',
            '\u{9b}',
            '\u{7f}',
            '\u{feff}',
            '\u{202e}',
            '\u{e0041}',
            '\u{200b}',
            '\u{10fffe}',
            '\u{2066}',
            '\0',
            '\u{ffff}',
            '"',
            '\'',
            '\\',
            ':',
            '#',
            '-',
            ' ',
            '[',
            ']',
            '{',
            '}',
            '&',
            '*',
            '!',
            '|',
            '>',
            '%',
            '@',
            '`',
            ',',
            '?',
            'a',
            'é',
        ]);
        prop_oneof![hostile, any::<char>()]
    }

    fn text() -> impl Strategy<Value = String> {
        prop::collection::vec(hostile_char(), 0..24).prop_map(|chars| chars.into_iter().collect())
    }

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            text().prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(text(), inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn what_is_written_reads_back_as_it_was(
            map in prop::collection::btree_map(text(), value(), 0..4)
        ) {
            let value = Value::Object(map.into_iter().collect());
            let yaml = block(&value, 0);
            let back: Value = if yaml.is_empty() { Value::Object(Default::default()) } else { load(&yaml) };
            prop_assert_eq!(&back, &value, "{}", yaml);
            // No line break but `\n`, and nothing a terminal acts on.
            let breaks = |c: char| (c.is_control() && c != '\n')
                || matches!(c, '\u{2028}' | '\u{2029}' | '\u{85}' | '\u{feff}');
            prop_assert!(!yaml.chars().any(breaks), "{}", yaml);
        }
    }
}
