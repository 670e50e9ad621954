//! The pre-scan: what would make parsing slow or ambiguous is refused, with its
//! line and column, before the YAML parser sees the text: a file too large, too
//! deep a nesting, more than one document.

/// The most bytes one file may hold: a 100,000-user roster.yaml is about 25 MB.
pub const MAX_FILE_BYTES: u64 = 64 << 20;

/// The deepest nesting of mappings and lists a file may have; roster.yaml needs
/// about six levels.
pub const MAX_DEPTH: usize = 64;

/// Why a file is refused before it is parsed, and where.
#[derive(Debug, PartialEq, Eq)]
pub struct Refused {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// The bytes [`precheck`] looks at; everything else is text.
const SIGNIFICANT: [bool; 256] = table(b" \t\r#\"'[]{},-:?|>");

/// The bytes that make [`precheck`] read a line closely: they may open a
/// collection, a quoted or block scalar, or a comment.
const OPENS: [bool; 256] = table(b"[{\"'|>#");

/// A lookup table holding `true` for each of `bytes`.
const fn table(bytes: &[u8]) -> [bool; 256] {
    let mut table = [false; 256];
    let mut i = 0;
    while i < bytes.len() {
        table[bytes[i] as usize] = true;
        i += 1;
    }
    table
}

fn too_deep() -> String {
    format!("nested deeper than {MAX_DEPTH} levels; roster.yaml needs a handful (is the file generated wrongly?)")
}

/// Checks, in one linear pass and before the parser sees it, what would make
/// parsing slow or ambiguous: nesting deeper than [`MAX_DEPTH`] (the YAML
/// parser's cost grows with the square of the depth of `[`/`{` nesting) and more
/// than one document. The depth of block (indented) nesting is estimated from
/// the indentation; flow nesting is counted exactly.
pub fn precheck(text: &str) -> Result<(), Refused> {
    let refuse = |line: usize, column: usize, message: String| {
        Err(Refused {
            line,
            column,
            message,
        })
    };
    let mut indents: Vec<usize> = Vec::new();
    let mut flow = 0usize;
    // The quote of a quoted scalar that runs on to the next line.
    let mut quote: Option<u8> = None;
    // The indentation of the line that opened a block scalar (`|`, `>`).
    let mut block_scalar: Option<usize> = None;
    let mut documents = 0usize;
    let mut content = false;
    let mut ended = false;
    for (number, line) in text.split('\n').enumerate() {
        let number = number + 1;
        let bytes = line.as_bytes();
        let indent = bytes.iter().take_while(|b| **b == b' ').count();
        let blank = bytes[indent..].iter().all(|b| b.is_ascii_whitespace());
        if let Some(parent) = block_scalar {
            if blank || indent > parent {
                continue;
            }
            block_scalar = None;
        }
        let mut start = 0;
        if quote.is_none() && flow == 0 {
            let marker = |m: &[u8]| {
                bytes.starts_with(m) && bytes.get(3).is_none_or(|b| b.is_ascii_whitespace())
            };
            if marker(b"---") {
                documents += 1;
                content = false;
                ended = false;
                indents.clear();
                start = 3;
            } else if marker(b"...") {
                ended = true;
                content = false;
                continue;
            }
            let rest = &bytes[start..];
            let comment = rest.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'#');
            if rest.iter().all(|b| b.is_ascii_whitespace())
                || comment
                || bytes.first() == Some(&b'%')
            {
                if documents > 1 {
                    return refuse(number, 1, "holds more than one document (each `---` starts one); roster reads one document per file: split it into files of a folder".into());
                }
                continue;
            }
            if !content {
                content = true;
                if documents == 0 || ended {
                    documents += 1;
                    ended = false;
                }
            }
            if documents > 1 {
                return refuse(number, 1, "holds more than one document (each `---` starts one); roster reads one document per file: split it into files of a folder".into());
            }
            if start == 0 {
                while indents.last().is_some_and(|top| *top > indent) {
                    indents.pop();
                }
                if indents.last() != Some(&indent) {
                    indents.push(indent);
                }
                // Most lines are `key: value` or `- key: value`, with nothing
                // that opens a collection, a quote, a block scalar or a comment:
                // only their dashes and key matter, and the bytes are looked at
                // once.
                if !bytes[indent..].iter().any(|b| OPENS[usize::from(*b)]) {
                    let mut j = indent;
                    let mut dashes = 0;
                    while bytes.get(j) == Some(&b'-')
                        && bytes.get(j + 1).is_none_or(u8::is_ascii_whitespace)
                    {
                        if dashes > 0 {
                            indents.push(j); // `- - x`: a list in a list item
                        }
                        dashes += 1;
                        j += 1;
                        while bytes.get(j).is_some_and(u8::is_ascii_whitespace) {
                            j += 1;
                        }
                    }
                    let rest = bytes[j..].trim_ascii_end();
                    let key = rest.ends_with(b":") || rest.windows(2).any(|w| w == b": ");
                    if dashes > 0 && key && indents.last().is_some_and(|top| *top < j) {
                        indents.push(j); // `- key: value`: a mapping in the item
                    }
                    if indents.len() > MAX_DEPTH {
                        return refuse(number, j + 1, too_deep());
                    }
                    continue;
                }
            }
        }
        // Where a node may begin: the line's start, or after `- `, `: `, `? `,
        // `,`, `[` or `{`.
        let mut node_start = true;
        let mut i = start;
        while i < bytes.len() {
            let b = bytes[i];
            if let Some(q) = quote {
                if q == b'"' && b == b'\\' {
                    i += 2;
                    continue;
                }
                if b == q {
                    if q == b'\'' && bytes.get(i + 1) == Some(&b'\'') {
                        i += 2;
                        continue;
                    }
                    quote = None;
                    node_start = false;
                }
                i += 1;
                continue;
            }
            if !SIGNIFICANT[usize::from(b)] {
                // Text: no node starts until the next separator. Skipped in a
                // tight loop, the common case.
                node_start = false;
                i += 1;
                while i < bytes.len() && !SIGNIFICANT[usize::from(bytes[i])] {
                    i += 1;
                }
                continue;
            }
            let spaced = i == 0 || bytes[i - 1].is_ascii_whitespace();
            match b {
                b' ' | b'\t' | b'\r' => {}
                b'#' if spaced => break,
                b'"' | b'\'' if node_start => quote = Some(b),
                b'[' | b'{' if node_start || flow > 0 => {
                    flow += 1;
                    if flow + indents.len() > MAX_DEPTH {
                        return refuse(number, i + 1, too_deep());
                    }
                    node_start = true;
                }
                b']' | b'}' if flow > 0 => {
                    flow -= 1;
                    node_start = false;
                }
                b',' if flow > 0 => node_start = true,
                b'-' | b':' | b'?' if bytes.get(i + 1).is_none_or(|n| n.is_ascii_whitespace()) => {
                    if b == b'-' && flow == 0 && node_start && i > indent {
                        // `- - x`: a list in a list item, one level deeper.
                        indents.push(i);
                    }
                    if b == b':' && flow == 0 && i + 1 < bytes.len() {
                        // `- key: value`: a mapping inside the item.
                        let key = bytes[..i]
                            .iter()
                            .rposition(|c| *c == b' ' || *c == b'-')
                            .map_or(0, |p| p + 1);
                        if indents.last().is_some_and(|top| *top < key) {
                            indents.push(key);
                        }
                    }
                    node_start = true;
                }
                b'|' | b'>' if node_start && flow == 0 => {
                    block_scalar = Some(indent);
                    break;
                }
                _ => node_start = false,
            }
            if indents.len() + flow > MAX_DEPTH {
                return refuse(number, i + 1, too_deep());
            }
            i += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precheck_passes_real_files_and_places_what_it_refuses() {
        precheck(include_str!("../../examples/roster.yaml")).unwrap();
        let at = |text: &str| precheck(text).map_err(|r| (r.line, r.column));
        let ok = "a:\n  - b: [1, {c: [d]}]\n    e: \"[[[\"\n  - - - f\n";
        assert_eq!(at(ok), Ok(()));
        let deep = format!("a:\n  b: {}", "[".repeat(70));
        // Two block levels, then the 63rd `[` (column 6 + 62) makes 65.
        assert_eq!(at(&deep), Err((2, 6 + 62)));
        let lists = format!("a:\n{}x\n", "- ".repeat(70));
        assert!(at(&lists).is_err());
        assert_eq!(at("a: 1\n---\nb: 2\n"), Err((2, 1)));
        assert_eq!(at("--- \na: 1\n"), Ok(()));
    }
}
