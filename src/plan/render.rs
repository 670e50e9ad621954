//! Plans as text for a terminal, JSON for tools, and Markdown for a pull-request
//! comment. Rendering decides nothing: it shows the plan it is given. Text
//! that may come from a vendor or a state file (emails, reasons, recorded
//! specs, warnings) is sanitised: no control character reaches a terminal or a
//! comment.

use super::{Action, Change, Plan, Summary, Verdict};
use crate::secret::sanitise;
use serde::Serialize;
use similar::{ChangeTag, TextDiff};
use std::fmt::Write;

/// The version of the JSON plan format.
pub const FORMAT_VERSION: u32 = 1;

/// GitHub refuses comments over 65,536 characters; stay clear of it.
pub const MARKDOWN_LIMIT: usize = 60_000;

#[derive(Clone, Copy)]
struct Paint(bool);

impl Paint {
    fn code(&self, code: &str, text: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    fn action(&self, action: Action, text: &str) -> String {
        let code = match action {
            Action::Create => "32",
            Action::Verify | Action::Drift => "33",
            Action::Orphan => "31",
            Action::Unchanged => "2",
        };
        self.code(code, text)
    }
}

fn sign(action: Action) -> &'static str {
    match action {
        Action::Create => "+",
        Action::Verify => "?",
        Action::Drift => "~",
        Action::Orphan => "!",
        Action::Unchanged => "=",
    }
}

/// What apply will do about a change, in a few words.
fn consequence(change: &Change) -> String {
    let what = match change.action {
        Action::Create => "apply creates it",
        Action::Verify => "apply looks it up or creates it, adopting what exists",
        Action::Drift if change.recorded.is_none() => "apply changes nothing",
        Action::Drift => "the vendor account was created from another spec; apply changes nothing",
        Action::Orphan => "no longer in the desired state; roster never deletes",
        Action::Unchanged => "up to date",
    };
    match &change.reason {
        Some(reason) => format!("{}; {what}", sanitise(reason)),
        None => what.to_string(),
    }
}

/// The one-line summary: "2 to create, 0 to verify, 3 unchanged, 1 drifted, 0 orphaned".
pub fn summary_line(s: &Summary) -> String {
    format!(
        "{} to create, {} to verify, {} unchanged, {} drifted, {} orphaned",
        s.create, s.verify, s.unchanged, s.drift, s.orphan
    )
}

/// A unified diff of the recorded spec (`-`) against the desired one (`+`).
fn spec_diff(change: &Change, paint: Paint, indent: &str) -> String {
    let pretty = |v: &Option<serde_json::Value>| {
        v.as_ref()
            .and_then(|v| serde_json::to_string_pretty(v).ok())
            .unwrap_or_default()
            + "\n"
    };
    let (old, new) = (pretty(&change.recorded), pretty(&change.desired));
    let diff = TextDiff::from_lines(&old, &new);
    let mut out = String::new();
    let _ = writeln!(out, "{indent}{}", paint.code("31", "--- recorded"));
    let _ = writeln!(out, "{indent}{}", paint.code("32", "+++ desired"));
    for hunk in diff.unified_diff().context_radius(2).iter_hunks() {
        let _ = writeln!(
            out,
            "{indent}{}",
            paint.code("36", &hunk.header().to_string())
        );
        for line in hunk.iter_changes() {
            let text = sanitise(line.value().trim_end_matches('\n'));
            let rendered = match line.tag() {
                ChangeTag::Delete => paint.code("31", &format!("-{text}")),
                ChangeTag::Insert => paint.code("32", &format!("+{text}")),
                ChangeTag::Equal => format!(" {text}"),
            };
            let _ = writeln!(out, "{indent}{rendered}");
        }
    }
    out
}

/// What a renderer shows: the changes and their counts, and what a reviewer
/// needs besides (the safety threshold's verdict, the warnings of the load).
pub struct View<'a> {
    /// The changes; the unchanged ones may be left out (a saved plan holds none).
    pub changes: &'a [Change],
    pub summary: Summary,
    pub verdict: Option<&'a Verdict>,
    pub warnings: &'a [String],
}

impl<'a> View<'a> {
    /// A plan on its own, with no verdict or warnings.
    pub fn of(plan: &'a Plan) -> View<'a> {
        View {
            changes: &plan.changes,
            summary: plan.summary(),
            verdict: None,
            warnings: &[],
        }
    }

    fn shown(&self) -> impl Iterator<Item = &'a Change> {
        self.changes
            .iter()
            .filter(|c| c.action != Action::Unchanged)
    }
}

/// The plan for a person at a terminal; `color` adds ANSI colours.
pub fn text(view: &View, color: bool) -> String {
    let paint = Paint(color);
    let summary = view.summary;
    let mut out = String::new();
    if !summary.has_changes() {
        let _ = writeln!(
            out,
            "No changes: the vendors hold every desired user ({} unchanged).",
            summary.unchanged
        );
        return out;
    }
    let width = view
        .shown()
        .map(|c| sanitise(&c.email).len())
        .max()
        .unwrap_or(0);
    let mut vendor = None;
    for change in view.shown() {
        if vendor != Some(&change.vendor) {
            if vendor.is_some() {
                out.push('\n');
            }
            let _ = writeln!(out, "{}", paint.code("1", &change.vendor));
            vendor = Some(&change.vendor);
        }
        let head = format!("{} {:<9}", sign(change.action), change.action.as_str());
        let _ = writeln!(
            out,
            "  {} {:<width$}  {}",
            paint.action(change.action, &head),
            sanitise(&change.email),
            paint.code("2", &format!("({})", consequence(change)))
        );
        if change.action == Action::Drift && change.recorded.is_some() {
            out.push_str(&spec_diff(change, paint, "        "));
        }
    }
    let _ = writeln!(out, "\nPlan: {}.", summary_line(&summary));
    if let Some(v) = view.verdict.filter(|_| summary.create > 0) {
        let _ = writeln!(out, "Safety: {}.", v.line);
    }
    out
}

#[derive(Serialize)]
struct JsonPlan<'a> {
    format_version: u32,
    summary: Summary,
    changes: Vec<JsonChange<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    safety: Option<JsonSafety<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<String>,
}

#[derive(Serialize)]
struct JsonSafety<'a> {
    refuses: bool,
    verdict: &'a str,
}

#[derive(Serialize)]
struct JsonChange<'a> {
    action: Action,
    vendor: &'a str,
    email: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    diff: Option<String>,
}

/// The plan for tools: every pair that is not unchanged, and the counts.
pub fn json(view: &View) -> String {
    let doc = JsonPlan {
        format_version: FORMAT_VERSION,
        summary: view.summary,
        safety: view.verdict.map(|v| JsonSafety {
            refuses: v.refuses,
            verdict: &v.line,
        }),
        // JSON escapes C0 controls itself, not C1 nor the bidi and line
        // separators: the vendor's text is sanitised for JSON too.
        warnings: view.warnings.iter().map(|w| sanitise(w)).collect(),
        changes: view
            .shown()
            .map(|c| JsonChange {
                action: c.action,
                vendor: &c.vendor,
                email: sanitise(&c.email),
                reason: c.reason.as_deref().map(sanitise),
                diff: (c.action == Action::Drift && c.recorded.is_some())
                    .then(|| spec_diff(c, Paint(false), "")),
            })
            .collect(),
    };
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

/// What a create or verify would grant, as Markdown: its account block as
/// `key value` pairs ("user_type `Marketing` · marketing.admin `true`"), each
/// key escaped and each value a code span of one line.
fn grants(change: &Change) -> Option<String> {
    fn pair(key: &str, value: &str) -> String {
        let value = sanitise(&value.replace(['\n', '\r'], " ")).replace('`', "'");
        format!("{} `{value}`", markdown_text(key))
    }
    fn walk(prefix: &str, value: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) if !map.is_empty() => {
                for (key, inner) in map {
                    walk(&format!("{prefix}.{key}"), inner, out);
                }
            }
            serde_json::Value::String(s) => out.push(pair(prefix, s)),
            other => out.push(pair(prefix, &other.to_string())),
        }
    }
    let account = change.desired.as_ref()?.get("account")?.as_object()?;
    let mut pairs = Vec::new();
    for (key, value) in account {
        walk(key, value, &mut pairs);
    }
    Some(if pairs.is_empty() {
        "the vendor's defaults (no account settings)".to_string()
    } else {
        pairs.join(" · ")
    })
}

/// Text from roster.yaml, the state or a vendor, as Markdown that shows it as
/// it is: sanitised, on one line, and every character Markdown or HTML acts on
/// escaped, so a value cannot open a link, an image, an HTML comment that hides
/// the rest of the comment from its reviewer, or a table cell. (`_` is left
/// as it is: within a word it emphasises nothing, and keys and emails hold it.)
fn markdown_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in sanitise(&text.replace(['\n', '\r'], " ")).chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '[' | ']' | '<' | '>' | '|' | '~' | '!' | '#' | '&'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The plan as a pull-request comment: a summary table, the threshold's verdict
/// and the warnings, then the details, cut with a note before it reaches
/// [`MARKDOWN_LIMIT`] characters.
pub fn markdown(view: &View) -> String {
    let s = view.summary;
    let mut out = String::from("### roster plan\n\n");
    if !s.has_changes() {
        let _ = writeln!(
            out,
            "No changes: the vendors hold every desired user ({} unchanged).",
            s.unchanged
        );
    } else {
        out.push_str("| action | users |\n| --- | ---: |\n");
        for (label, n) in [
            ("create", s.create),
            ("verify", s.verify),
            ("unchanged", s.unchanged),
            ("drift", s.drift),
            ("orphan", s.orphan),
        ] {
            let _ = writeln!(out, "| {label} | {n} |");
        }
    }
    if let Some(v) = view.verdict.filter(|_| s.create > 0) {
        let mark = if v.refuses { "⛔" } else { "✅" };
        let _ = writeln!(out, "\n**Safety:** {mark} {}", v.line);
    }
    if !view.warnings.is_empty() {
        out.push_str("\n**Warnings**\n\n");
        const MOST: usize = 20;
        for w in view.warnings.iter().take(MOST) {
            let w: String = w.chars().take(500).collect();
            let _ = writeln!(out, "- {}", markdown_text(&w));
        }
        if view.warnings.len() > MOST {
            let _ = writeln!(out, "- … {} more", view.warnings.len() - MOST);
        }
    }
    if !s.has_changes() {
        return out;
    }
    out.push('\n');
    let closing = "\n</details>\n";
    out.push_str("<details><summary>Details</summary>\n\n");
    let shown: Vec<&Change> = view.shown().collect();
    for (i, change) in shown.iter().enumerate() {
        let mut item = format!(
            "- `{}` **{}** {} — {}",
            sign(change.action),
            change.action.as_str(),
            markdown_text(&change.vendor),
            markdown_text(&change.email),
        );
        if let Some(reason) = &change.reason {
            let _ = write!(item, " ({})", markdown_text(reason));
        }
        if change.action.is_applied() {
            if let Some(grants) = grants(change) {
                let _ = write!(item, ": {grants}");
            }
        }
        item.push('\n');
        if change.action == Action::Drift && change.recorded.is_some() {
            item.push_str("\n  ```diff\n");
            for line in spec_diff(change, Paint(false), "  ").lines() {
                item.push_str(line);
                item.push('\n');
            }
            item.push_str("  ```\n");
        }
        let note_room = 200;
        if out.len() + item.len() + closing.len() + note_room > MARKDOWN_LIMIT {
            let _ = write!(
                out,
                "\n_… {} more not shown: the comment would pass {MARKDOWN_LIMIT} characters. Run `roster plan` for all of them._\n",
                shown.len() - i
            );
            break;
        }
        out.push_str(&item);
    }
    out.push_str(closing);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pull_request_comment_shows_what_it_quotes_and_nothing_it_could_hide() {
        // An HTML comment would hide the rest of the comment (a grant below it)
        // from the reviewer; a link or an image would send them elsewhere.
        let hostile =
            "x<!-- [ok](https://evil.example) ![t](https://evil.example/t.png) `a`|b **c**";
        let plan = Plan {
            changes: vec![Change {
                action: Action::Create,
                vendor: "v<!--".into(),
                email: format!("{hostile}@example.com"),
                reason: Some(hostile.into()),
                recorded: None,
                desired: Some(serde_json::json!({"account": {"role": hostile}})),
            }],
        };
        let warnings = vec![hostile.to_string()];
        let view = View {
            warnings: &warnings,
            ..View::of(&plan)
        };
        let md = markdown(&view);
        // The grant's value is a code span, where nothing is acted on, and no
        // backtick of its own can end it.
        let (quoted, grant) = md.split_once(": role `").expect("the grant");
        assert_eq!(grant.matches('`').count(), 1, "{grant}");
        for raw in ["<!--", "[ok](", "![t]", "`a`", "`|b", "**c**"] {
            assert!(!quoted.contains(raw), "{raw} unescaped in {md}");
        }
        assert!(md.contains(r"x\<\!-- \[ok\](https://evil.example)"), "{md}");
        assert_eq!(md.matches("<details>").count(), 1, "{md}");
    }

    #[test]
    fn what_a_vendor_or_a_state_file_wrote_is_shown_sanitised() {
        let hostile = "a\u{1b}[2J\r Apply: 5 created\u{202e}\u{2028}x";
        let changes = vec![
            Change {
                action: Action::Drift,
                vendor: "v".into(),
                email: format!("{hostile}@example.com"),
                reason: Some(format!("the vendor said {hostile}")),
                recorded: Some(serde_json::json!({"first_name": hostile})),
                desired: Some(serde_json::json!({"first_name": "A"})),
            },
            Change {
                action: Action::Create,
                vendor: "v".into(),
                email: "b@example.com".into(),
                reason: Some(hostile.into()),
                recorded: None,
                desired: Some(serde_json::json!({"account": {"role": hostile}})),
            },
        ];
        let plan = Plan { changes };
        let warnings = vec![hostile.to_string()];
        let view = View {
            warnings: &warnings,
            ..View::of(&plan)
        };
        let acted_on = |c: char| (c.is_control() && c != '\n') || crate::secret::is_hidden(c);
        for (what, out) in [
            ("text", text(&view, false)),
            ("markdown", markdown(&view)),
            ("json", json(&view)),
        ] {
            assert!(!out.chars().any(acted_on), "{what}: {out:?}");
            assert!(
                out.contains("Apply: 5 created"),
                "{what} shows the words: {out}"
            );
        }
    }
}
