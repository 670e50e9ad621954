//! `state list`: the recorded (vendor, email) pairs and their status.

use super::super::output::Format;
use super::super::output::{emit, say, Exit};
use super::ListArgs;
use anyhow::bail;
use serde::Serialize;

#[derive(Serialize)]
struct JsonList<'a> {
    format_version: u32,
    lineage: &'a str,
    serial: u64,
    records: Vec<JsonRecord<'a>>,
}

#[derive(Serialize)]
struct JsonRecord<'a> {
    vendor: &'a str,
    email: &'a str,
    status: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    remote_id: Option<&'a str>,
    at: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

pub fn exec(ctx: &roster::ops::Context<'_>, args: &ListArgs) -> anyhow::Result<Exit> {
    let (state, _) = roster::ops::state::read(ctx, &args.state.location())?;
    for v in &args.vendors {
        if !state.vendors.contains_key(v) {
            bail!("--vendor {v}: the state records no account under that name");
        }
    }
    let records = state
        .records()
        .filter(|(v, _, _)| args.vendors.is_empty() || args.vendors.iter().any(|w| w == v));
    match args.format {
        Format::Json => {
            let doc = JsonList {
                format_version: 1,
                lineage: &state.lineage,
                serial: state.serial,
                records: records
                    .map(|(vendor, email, r)| JsonRecord {
                        vendor,
                        email,
                        status: r.status.as_str(),
                        remote_id: r.remote_id.as_deref(),
                        at: &r.at,
                        error: r.error.as_deref(),
                    })
                    .collect(),
            };
            let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
            text.push('\n');
            emit(&text);
        }
        Format::Text => {
            let records: Vec<_> = records.collect();
            let vw = records.iter().map(|(v, _, _)| v.len()).max().unwrap_or(0);
            let ew = records.iter().map(|(_, e, _)| e.len()).max().unwrap_or(0);
            for (vendor, email, r) in records {
                say!("{vendor:<vw$}  {email:<ew$}  {}", r.status.as_str());
            }
        }
    }
    Ok(Exit::Ok)
}
