//! Plans as text for a terminal, JSON for tools, and Markdown for a pull-request
//! comment. Rendering decides nothing: it shows the plan it is given.

use super::{Action, Change, Plan, Summary};
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
        Some(reason) => format!("{reason}; {what}"),
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
            let text = line.value().trim_end_matches('\n');
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

/// The plan for a person at a terminal; `color` adds ANSI colours.
pub fn text(plan: &Plan, color: bool) -> String {
    let paint = Paint(color);
    let summary = plan.summary();
    let mut out = String::new();
    if !summary.has_changes() {
        let _ = writeln!(
            out,
            "No changes: the vendors hold every desired user ({} unchanged).",
            summary.unchanged
        );
        return out;
    }
    let width = plan
        .changes
        .iter()
        .filter(|c| c.action != Action::Unchanged)
        .map(|c| c.email.len())
        .max()
        .unwrap_or(0);
    let mut vendor = None;
    for change in plan
        .changes
        .iter()
        .filter(|c| c.action != Action::Unchanged)
    {
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
            change.email,
            paint.code("2", &format!("({})", consequence(change)))
        );
        if change.action == Action::Drift && change.recorded.is_some() {
            out.push_str(&spec_diff(change, paint, "        "));
        }
    }
    let _ = writeln!(out, "\nPlan: {}.", summary_line(&summary));
    out
}

#[derive(Serialize)]
struct JsonPlan<'a> {
    format_version: u32,
    summary: Summary,
    changes: Vec<JsonChange<'a>>,
}

#[derive(Serialize)]
struct JsonChange<'a> {
    action: Action,
    vendor: &'a str,
    email: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    diff: Option<String>,
}

/// The plan for tools: every pair that is not unchanged, and the counts.
pub fn json(plan: &Plan) -> String {
    let doc = JsonPlan {
        format_version: FORMAT_VERSION,
        summary: plan.summary(),
        changes: plan
            .changes
            .iter()
            .filter(|c| c.action != Action::Unchanged)
            .map(|c| JsonChange {
                action: c.action,
                vendor: &c.vendor,
                email: &c.email,
                reason: c.reason.as_deref(),
                diff: (c.action == Action::Drift && c.recorded.is_some())
                    .then(|| spec_diff(c, Paint(false), "")),
            })
            .collect(),
    };
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

/// The plan as a pull-request comment: a summary table, then the details, cut
/// with a note before it reaches [`MARKDOWN_LIMIT`] characters.
pub fn markdown(plan: &Plan) -> String {
    let s = plan.summary();
    let mut out = String::from("### roster plan\n\n");
    if !s.has_changes() {
        let _ = writeln!(
            out,
            "No changes: the vendors hold every desired user ({} unchanged).",
            s.unchanged
        );
        return out;
    }
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
    out.push('\n');
    let closing = "\n</details>\n";
    out.push_str("<details><summary>Details</summary>\n\n");
    let shown: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|c| c.action != Action::Unchanged)
        .collect();
    for (i, change) in shown.iter().enumerate() {
        let mut item = format!(
            "- `{}` **{}** {} — {}\n",
            sign(change.action),
            change.action.as_str(),
            change.vendor,
            change.email.replace('|', "\\|"),
        );
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
