//! Turning a plan into jobs: per vendor, each creation or verification with
//! its account, password and the driver that carries it out.

use crate::desired::{Account, Desired, User};
use crate::model::Password;
use crate::plan::{Action, Change, Plan};
use crate::secret::Secret;
use crate::state::{now, RawSpec, Record, State, Status};
use crate::vendors::list::Observed;
use crate::vendors::{Driver, NewUser, PasswordPolicy};
use anyhow::bail;
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

/// A policy for `password: generate` where the vendor states none.
const DEFAULT_POLICY: PasswordPolicy = PasswordPolicy {
    min: 12,
    max: 64,
    symbols: "!@#$%^&*?",
};

/// One pair to create or verify, ready to send.
pub struct Job<'a> {
    pub action: Action,
    pub email: &'a str,
    pub user: &'a User,
    pub account: &'a Account,
    pub password: Option<Secret>,
    /// For a pending pair: when its creation was journaled, which starts its
    /// grace period.
    pub sent_at: Option<SystemTime>,
}

impl Job<'_> {
    pub(super) fn new_user(&self) -> NewUser<'_> {
        NewUser {
            email: self.email,
            profile: &self.user.profile,
            account: &self.account.block,
            password: self.password.clone(),
        }
    }

    pub(super) fn record(
        &self,
        status: Status,
        remote_id: Option<String>,
        error: Option<String>,
        warnings: Vec<String>,
    ) -> Record {
        Record {
            status,
            remote_id,
            at: now(),
            fingerprint: self.account.fingerprint.clone(),
            inactive: false,
            spec: RawSpec::of(&self.account.spec_of(&self.user.profile)),
            error,
            vendor_status: None,
            warnings,
        }
    }

    /// The record of an account the vendor holds for this pair: adopted, with
    /// its id; marked inactive, and said so, when the vendor holds it closed.
    pub(super) fn found(&self, observed: Option<&Observed>) -> Option<Record> {
        let o = observed?;
        let mut warnings = Vec::new();
        if !o.live {
            warnings.push(format!(
                "the vendor holds this account as {} (id {}): recorded as inactive, not live; reactivate it there",
                o.status.as_deref().unwrap_or("inactive"),
                o.remote_id
            ));
        }
        let mut record = self.record(Status::Adopted, None, None, warnings);
        crate::refresh::observe_into(&mut record, o);
        Some(record)
    }
}

/// A vendor's work: its driver and the pairs to create or verify.
pub struct VendorJobs<'a> {
    pub name: String,
    pub driver: Box<dyn Driver>,
    pub concurrency: usize,
    pub jobs: Vec<Job<'a>>,
    /// How long a vendor may take to list an account it was asked to create.
    pub grace: Duration,
    /// Accounts the state records at this vendor: how long a listing would be.
    pub recorded: usize,
}

/// Everything apply needs before it sends anything: drivers connected and
/// passwords resolved. Fails, naming every unset variable, before any request.
pub fn prepare<'a>(
    desired: &'a Desired,
    state: &State,
    plan: &Plan,
    ctx: &crate::vendors::Context,
) -> anyhow::Result<Vec<VendorJobs<'a>>> {
    let env = ctx.env;
    let mut by_vendor: BTreeMap<&str, Vec<&Change>> = BTreeMap::new();
    for change in plan.applied() {
        by_vendor.entry(&change.vendor).or_default().push(change);
    }
    let (mut drivers, mut problems) = crate::vendors::connect_all(
        by_vendor.keys().filter_map(|n| desired.vendors.get(*n)),
        ctx,
    );
    let mut out = Vec::new();
    for (name, changes) in by_vendor {
        let Some(vendor) = desired.vendors.get(name) else {
            problems.push(format!("vendor `{name}` is not in the desired state"));
            continue;
        };
        let Some(driver) = drivers.remove(name) else {
            continue;
        };
        let mut jobs = Vec::with_capacity(changes.len());
        for change in changes {
            let found = desired
                .users
                .get_key_value(&change.email)
                .and_then(|(email, user)| Some((email, user, user.accounts.get(name)?)));
            let Some((email, user, account)) = found else {
                problems.push(format!("{name}/{}: not in the desired state", change.email));
                continue;
            };
            let policy = account.block.password_policy();
            let password = match &user.password {
                None => None,
                Some(Password::Generate) => Some(policy.unwrap_or(DEFAULT_POLICY).generate()),
                Some(Password::Template(t)) => match t.resolve(env) {
                    Ok(p) => match policy.map(|pol| pol.check(&p)) {
                        Some(Err(e)) => {
                            problems.push(format!("{name}/{email}: {e}"));
                            continue;
                        }
                        _ => Some(Secret::new(p)),
                    },
                    Err(missing) => {
                        problems.push(format!(
                            "{name}/{email}: the password needs {} which is not set",
                            missing.join(", ")
                        ));
                        continue;
                    }
                },
            };
            let sent_at = state
                .get(name, email)
                .filter(|r| r.status == Status::Pending)
                .and_then(|r| humantime::parse_rfc3339(&r.at).ok());
            jobs.push(Job {
                action: change.action,
                email,
                user,
                account,
                password,
                sent_at,
            });
        }
        let concurrency = vendor
            .config
            .common
            .concurrency
            .unwrap_or(vendor.config.kind().defaults().concurrency)
            .max(1);
        out.push(VendorJobs {
            name: name.to_string(),
            driver,
            concurrency,
            jobs,
            grace: vendor.config.common.grace(),
            recorded: state.vendors.get(name).map_or(0, BTreeMap::len),
        });
    }
    if !problems.is_empty() {
        bail!(
            "apply cannot start; nothing was sent:\n  - {}",
            problems.join("\n  - ")
        );
    }
    Ok(out)
}
