//! Reading what the vendors hold into the state, for refresh, import and the
//! `--refresh` of plan and apply.

use super::{Context, Guard};
use crate::desired::Desired;
use crate::plan::Filter;
use crate::state::State;
use anyhow::bail;

/// What reading the vendors learnt.
pub struct Read {
    /// The records to rewrite.
    pub changes: Vec<crate::refresh::Update>,
    /// Vendors that could not be read, and why.
    pub unread: Vec<(String, Unread)>,
    /// Vendors whose list lacked too many recorded accounts: none of their
    /// changes are in `changes`.
    pub refused: Vec<crate::refresh::Refused>,
    /// List requests sent.
    pub requests: usize,
    /// Every value a `${VAR}` gave the vendors' settings: an id or status
    /// shown may be one (DocuSign's `user_id` is also a user it lists).
    pub redactor: crate::secret::Redactor,
}

/// Why a vendor was not read.
pub enum Unread {
    /// It has no API to list its users (Act-On).
    NoList,
    /// Its list could not be read to the end: nothing is concluded from it.
    Failed(String),
    /// The state records it, the desired state no longer configures it.
    NotConfigured,
}

impl std::fmt::Display for Unread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unread::NoList => f.write_str(
                "this vendor has no API to list its users; its records are kept as they are",
            ),
            Unread::Failed(why) => write!(f, "listing failed, nothing concluded: {why}"),
            Unread::NotConfigured => {
                f.write_str("not configured in the desired state, so it cannot be read")
            }
        }
    }
}

impl Read {
    /// The vendors whose list could not be read to the end.
    pub fn failed(&self) -> Vec<&str> {
        self.unread
            .iter()
            .filter(|(_, why)| matches!(why, Unread::Failed(_)))
            .map(|(vendor, _)| vendor.as_str())
            .collect()
    }

    /// Lines for people: every vendor not read, then every change; ids and
    /// statuses are the vendor's text, so every line passes the redaction gate.
    pub fn lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .unread
            .iter()
            .map(|(vendor, why)| format!("  not read    {vendor}: {why}"))
            .collect();
        for c in &self.changes {
            lines.push(format!(
                "  refreshed   {}  {}: {}",
                c.vendor,
                c.email,
                c.describe()
            ));
        }
        lines.iter().map(|l| self.redactor.redact(l)).collect()
    }
}

/// Lists every vendor `filter` keeps and merges what they hold into what
/// `state` records (the changes are returned, not applied). With a `guard`,
/// a vendor whose list lacks too many recorded accounts keeps its records
/// (`Read::refused`). Changes nothing at any vendor.
pub fn read_vendors(
    ctx: &Context<'_>,
    vendors: &crate::vendors::Context<'_>,
    desired: &Desired,
    state: &State,
    filter: &Filter,
    guard: Option<&Guard>,
) -> anyhow::Result<Read> {
    use crate::refresh::{self, Seen};
    let readers = refresh::readers(desired, filter, vendors)?;
    let seen = ctx.runtime.block_on(refresh::observe(readers, state));
    let mut changes = refresh::updates(desired, state, &seen, filter, std::time::SystemTime::now());
    let refused = match guard {
        Some(g) => refresh::hold_back(state, &seen, &mut changes, &g.limit, &g.accept),
        None => Vec::new(),
    };
    let mut unread = Vec::new();
    let mut requests = 0;
    for (vendor, s) in &seen {
        match s {
            Seen::Listed { listing, .. } => requests += listing.requests,
            Seen::Unlistable => unread.push((vendor.clone(), Unread::NoList)),
            Seen::Failed(why) => {
                requests += 1;
                unread.push((vendor.clone(), Unread::Failed(why.clone())))
            }
        }
    }
    for vendor in state.vendors.keys() {
        if filter.vendor(vendor) && !desired.vendors.contains_key(vendor) {
            unread.push((vendor.clone(), Unread::NotConfigured));
        }
    }
    let redactor = crate::secret::Redactor::default();
    for vendor in desired.vendors.values() {
        for (value, _) in crate::vendors::interpolated(&vendor.config, ctx.env) {
            redactor.add_value(&value);
        }
    }
    Ok(Read {
        changes,
        unread,
        refused,
        requests,
        redactor,
    })
}

/// `--refresh` of plan and apply: reads the vendors, says (as notices) what it
/// learnt, and merges it into `state` in memory, but for the vendors `guard`
/// refuses (a probable bad read), which keep their records and are returned
/// with the changes.
pub fn refresh_in_memory(
    ctx: &Context<'_>,
    vendors: &crate::vendors::Context<'_>,
    desired: &Desired,
    state: &mut State,
    filter: &Filter,
    guard: &Guard,
) -> anyhow::Result<(Vec<crate::refresh::Update>, Vec<crate::refresh::Refused>)> {
    let read = read_vendors(ctx, vendors, desired, state, filter, Some(guard))?;
    for line in read.lines() {
        ctx.events.notice(&line);
    }
    for r in &read.refused {
        tracing::warn!("{}", r.describe());
    }
    ctx.events.notice(&format!(
        "Refreshed from the vendors ({} list request(s)): {}.",
        read.requests,
        crate::refresh::summary(&read.changes)
    ));
    // A plan made while a vendor could not be read would say "nothing to do"
    // for accounts nobody looked at: a pipeline must not take that for green.
    let failed = read.failed();
    if !failed.is_empty() {
        bail!(
            "--refresh could not read {}; nothing was planned or sent. Run `roster refresh` to see why, or plan without --refresh",
            failed.join(", ")
        );
    }
    crate::refresh::apply_to(state, &read.changes);
    Ok((read.changes, read.refused))
}
