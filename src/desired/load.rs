//! Loading roster.yaml: read the files, parse each once, merge them, type every
//! account block by its vendor's kind, merge roles in, and let each vendor check
//! its own rules. Every problem found is reported, not just the first.

use super::check::Problems;
use super::prescan;
use super::reading::Place;
use super::schema::{Block, Blocks, Document, UserEntry};
use super::yaml;
use super::{Account, Desired, User};
use crate::model::{hex, Env, Password, Profile};
use crate::vendors::Vendor;
use crate::vendors::{AccountBlock, Kind};
use anyhow::{bail, Context};
use serde_yaml::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The format version this roster reads and writes.
pub const FORMAT_VERSION: u64 = 1;

/// At most this many account-block problems are placed at their line (each
/// takes one more read of its file); the rest name their path only.
const MAX_LOCATED: usize = 20;

struct Source {
    path: PathBuf,
    name: String,
    text: String,
}

/// Loads and validates the desired state at `path` (a file, or a folder of *.yaml).
/// `env` resolves `${VAR}`; unset variables are warnings here, for apply to enforce.
pub fn load(path: &Path, env: Env) -> anyhow::Result<Desired> {
    let sources = read_sources(path)?;
    load_sources(&sources, path, env)
}

/// Loads a desired state from text, as if read from a file called `name`.
pub fn load_str(name: &str, text: &str, env: Env) -> anyhow::Result<Desired> {
    check_size(name, text.len() as u64)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        bail!(
            "{name}: the file is empty (expected `version: {FORMAT_VERSION}`, vendors and users)"
        );
    }
    let source = Source {
        path: PathBuf::from(name),
        name: name.to_string(),
        text: text.to_string(),
    };
    load_sources(&[source], Path::new(name), env)
}

fn load_sources(sources: &[Source], path: &Path, env: Env) -> anyhow::Result<Desired> {
    let mut problems = Problems::default();
    let mut known = BTreeMap::new();
    let mut docs = Vec::with_capacity(sources.len());
    for (i, source) in sources.iter().enumerate() {
        if let Err(r) = prescan::precheck(&source.text) {
            problems.push(format!(
                "{}:{}:{}: {}",
                source.name, r.line, r.column, r.message
            ));
            continue;
        }
        match yaml::parse(&source.text, &mut known) {
            Ok(doc) => docs.push((i, doc)),
            // If the file reads untyped, the typed read failed inside an account
            // block: the file's shape is sound and one of its blocks is not, and
            // every block's problem is then reported on its own. Otherwise the
            // typed read's error is reported as it is.
            Err(typed) => match yaml::parse_raw(&source.text) {
                Ok(doc) => {
                    known.extend(doc.vendors.iter().map(|(n, c)| (n.clone(), c.0.kind())));
                    docs.push((i, doc));
                }
                Err(_) => problems.push(yaml::located(&source.name, &typed)),
            },
        }
    }
    problems.finish()?;

    let mut loader = Loader {
        sources,
        env,
        problems,
        vendors: BTreeMap::new(),
        kinds: BTreeMap::new(),
        roles: BTreeMap::new(),
        role_blocks: BTreeMap::new(),
        broken_roles: BTreeSet::new(),
        safety: None,
        warnings: Vec::new(),
        located: std::cell::Cell::new(0),
    };
    let mut users = Vec::new();
    let mut versioned = false;
    for (file, doc) in docs {
        versioned |= loader.take_document(file, doc, &mut users);
    }
    if !versioned {
        loader.problems.push(format!(
            "{}: no file states `version: {FORMAT_VERSION}`",
            path.display()
        ));
    }
    loader.type_roles();
    let users = loader.build_users(users);
    loader.warn_about_secrets(&users);
    loader.problems.finish()?;

    let mut digest = Sha256::new();
    for s in sources {
        digest.update(s.name.as_bytes());
        digest.update((s.text.len() as u64).to_le_bytes());
        digest.update(s.text.as_bytes());
    }
    Ok(Desired {
        vendors: loader
            .vendors
            .into_iter()
            .map(|(k, (_, v))| (k, v))
            .collect(),
        users,
        warnings: loader.warnings,
        digest: format!("sha256:{}", hex(&digest.finalize())),
        safety: loader.safety.map(|(_, s)| s).unwrap_or_default(),
    })
}

fn read_sources(path: &Path) -> anyhow::Result<Vec<Source>> {
    let meta = std::fs::metadata(path).with_context(|| {
        format!(
            "cannot read {} (point -f at your roster.yaml or its folder)",
            path.display()
        )
    })?;
    let paths = if meta.is_dir() {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("cannot list {}", path.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
            .collect();
        paths.sort();
        if paths.is_empty() {
            bail!("{}: the folder holds no *.yaml file", path.display());
        }
        paths
    } else {
        vec![path.to_path_buf()]
    };
    paths
        .into_iter()
        .map(|p| {
            let name = p.display().to_string();
            let size = std::fs::metadata(&p)
                .with_context(|| format!("cannot read {name}"))?
                .len();
            check_size(&name, size)?;
            let mut bytes = std::fs::read(&p).with_context(|| format!("cannot read {name}"))?;
            // A byte-order mark some editors write; line numbers are unchanged.
            // Dropped in place: a copy of a 25 MB file costs as much as a pass.
            if bytes.starts_with("\u{feff}".as_bytes()) {
                bytes.drain(.."\u{feff}".len());
            }
            let text = String::from_utf8(bytes).map_err(|e| {
                anyhow::anyhow!(
                    "{name}: not UTF-8 text (invalid byte at offset {})",
                    e.utf8_error().valid_up_to()
                )
            })?;
            if text.trim().is_empty() {
                bail!("{name}: the file is empty (expected `version: {FORMAT_VERSION}`, vendors and users)");
            }
            Ok(Source { path: p, name, text })
        })
        .collect()
}

/// Refuses a file over [`prescan::MAX_FILE_BYTES`] before reading it.
fn check_size(name: &str, size: u64) -> anyhow::Result<()> {
    let max = prescan::MAX_FILE_BYTES;
    if size > max {
        bail!(
            "{name}: {:.1} MiB is over the limit of {} MiB for one file; split the users across the *.yaml files of a folder",
            size as f64 / f64::from(1 << 20),
            max >> 20
        );
    }
    Ok(())
}

/// A user entry and where it was written.
struct Entry {
    file: usize,
    index: usize,
    user: UserEntry<Blocks>,
}

struct Loader<'a> {
    sources: &'a [Source],
    env: Env<'a>,
    problems: Problems,
    vendors: BTreeMap<String, (usize, Vendor)>,
    kinds: BTreeMap<String, Kind>,
    roles: BTreeMap<String, (usize, Blocks)>,
    /// Every role's blocks, typed (by `type_roles`).
    role_blocks: BTreeMap<String, BTreeMap<String, AccountBlock>>,
    /// Roles with a block in error: their users are not checked further.
    broken_roles: BTreeSet<String>,
    /// `safety:` and the file that gives it.
    safety: Option<(usize, super::Safety)>,
    warnings: Vec<String>,
    /// Block problems placed so far (see `block_problem`).
    located: std::cell::Cell<usize>,
}

impl Loader<'_> {
    fn name(&self, file: usize) -> &str {
        &self.sources[file].name
    }

    /// Merges one file in; returns whether it stated a version.
    fn take_document(
        &mut self,
        file: usize,
        doc: Document<Blocks>,
        users: &mut Vec<Entry>,
    ) -> bool {
        if let Some(v) = doc.version.filter(|v| *v != FORMAT_VERSION) {
            self.problems.push(format!(
                "{}: version {v} is not supported (this roster reads version {FORMAT_VERSION})",
                self.name(file)
            ));
        }
        for (name, config) in doc.vendors {
            if let Some((other, _)) = self.vendors.get(&name) {
                let other = self.name(*other).to_string();
                self.problems.push(format!(
                    "{}: vendors.{name}: also defined in {other}",
                    self.name(file)
                ));
                continue;
            }
            self.kinds.insert(name.clone(), config.0.kind());
            let vendor = Vendor {
                name: name.clone(),
                config: config.0,
                file: self.sources[file].path.clone(),
            };
            self.vendors.insert(name, (file, vendor));
        }
        for (name, blocks) in doc.roles {
            if let Some((other, _)) = self.roles.get(&name) {
                let other = self.name(*other).to_string();
                self.problems.push(format!(
                    "{}: roles.{name}: also defined in {other}",
                    self.name(file)
                ));
                continue;
            }
            self.roles.insert(name, (file, blocks));
        }
        if let Some(safety) = doc.safety {
            match &self.safety {
                Some((other, _)) => {
                    let other = self.name(*other).to_string();
                    self.problems.push(format!(
                        "{}: safety: also given in {other}",
                        self.name(file)
                    ));
                }
                None => self.safety = Some((file, safety)),
            }
        }
        users.extend(doc.users.into_iter().enumerate().map(|(index, u)| Entry {
            file,
            index,
            user: u.0,
        }));
        doc.version.is_some()
    }

    /// The message for a block that does not fit its kind, placed at its line if
    /// the file can be re-read to find it.
    fn block_problem(
        &self,
        file: usize,
        place: Place,
        vendor: &str,
        err: &serde_yaml::Error,
    ) -> String {
        let path = match &place {
            Place::User(i) => format!("users[{i}].accounts.{vendor}"),
            Place::Role(r) => format!("roles.{r}.{vendor}"),
        };
        // Each is found by reading the file again: a few, not thousands.
        self.located.set(self.located.get() + 1);
        let located = (self.located.get() <= MAX_LOCATED)
            .then(|| yaml::locate(&self.sources[file].text, &self.kinds, place, vendor))
            .flatten();
        match located {
            Some(located) => yaml::located(self.name(file), &located),
            None => format!("{}: {path}: {err}", self.name(file)),
        }
    }

    fn unknown_vendor(&self, file: usize, path: &str, name: &str) -> String {
        let known: Vec<&str> = self.kinds.keys().map(String::as_str).collect();
        format!(
            "{}: {path}: unknown vendor `{name}`{} (vendors: {})",
            self.name(file),
            crate::model::did_you_mean(name, known.iter().copied()),
            if known.is_empty() {
                "none defined".to_string()
            } else {
                known.join(", ")
            }
        )
    }

    /// Types an account block read before its vendor's kind was known.
    fn type_block(
        &self,
        file: usize,
        place: Place,
        vendor: &str,
        kind: Kind,
        block: Block,
    ) -> Result<Option<AccountBlock>, String> {
        match block {
            Block::Typed(b) => Ok(Some(b)),
            Block::Raw(Value::Null) => Ok(None),
            Block::Raw(v) => kind
                .parse_account(v)
                .map(Some)
                .map_err(|e| self.block_problem(file, place, vendor, &e)),
        }
    }

    /// Role blocks are typed and checked once, not once per user holding the role.
    fn type_roles(&mut self) {
        let mut found = Vec::new();
        for (role, (file, blocks)) in std::mem::take(&mut self.roles) {
            let mut typed = BTreeMap::new();
            for (vendor, block) in blocks.0 {
                let path = format!("roles.{role}.{vendor}");
                let Some(kind) = self.kinds.get(&vendor).copied() else {
                    found.push(self.unknown_vendor(file, &path, &vendor));
                    self.broken_roles.insert(role.clone());
                    continue;
                };
                match self.type_block(file, Place::Role(role.clone()), &vendor, kind, block) {
                    Ok(b) => {
                        typed.insert(vendor, b.unwrap_or_else(|| kind.empty_account()));
                    }
                    Err(problem) => {
                        found.push(problem);
                        self.broken_roles.insert(role.clone());
                    }
                }
            }
            self.role_blocks.insert(role, typed);
        }
        for p in found {
            self.problems.push(p);
        }
    }

    fn build_users(&mut self, entries: Vec<Entry>) -> BTreeMap<String, User> {
        let mut users = BTreeMap::new();
        let mut seen: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        for entry in entries {
            if let Err(e) = crate::model::check_identity("email", &entry.user.email) {
                self.problems.push(format!(
                    "{}: users[{}]: {e}",
                    self.name(entry.file),
                    entry.index
                ));
                continue;
            }
            let key = crate::model::identity(&entry.user.email);
            if let Some((file, index)) = seen.get(&key) {
                self.problems.push(format!(
                    "{}: users[{}]: email {} is also given at {}: users[{index}]",
                    self.name(entry.file),
                    entry.index,
                    entry.user.email,
                    self.name(*file)
                ));
                continue;
            }
            seen.insert(key.clone(), (entry.file, entry.index));
            if let Some(user) = self.build_user(entry) {
                users.insert(key, user);
            }
        }
        users
    }

    fn build_user(&mut self, entry: Entry) -> Option<User> {
        let Entry {
            file,
            index,
            user: mut u,
        } = entry;
        let at = |path: &str| format!("{}: users[{index}]{path}", self.sources[file].name);
        let profile = Profile {
            email: u.email,
            fax: u.fax,
            first_name: u.first_name,
            last_name: u.last_name,
            middle_name: u.middle_name,
            mobile: u.mobile,
            phone: u.phone,
            time_zone: u.time_zone,
            title: u.title,
        };
        let password = u.password.map(|t| match t.raw() {
            "generate" => Password::Generate,
            _ => Password::Template(t),
        });
        let mut user = User {
            profile,
            password,
            accounts: BTreeMap::new(),
        };

        let mut roles = Vec::with_capacity(u.roles.len());
        let mut broken = false;
        for (i, role) in u.roles.iter().enumerate() {
            match self.role_blocks.get(role) {
                Some(blocks) => roles.push(blocks),
                None => {
                    let known: Vec<&str> = self.role_blocks.keys().map(String::as_str).collect();
                    self.problems.push(format!(
                        "{}: unknown role `{role}`{} (roles: {})",
                        at(&format!(".roles[{i}]")),
                        crate::model::did_you_mean(role, known.iter().copied()),
                        if known.is_empty() {
                            "none defined".into()
                        } else {
                            known.join(", ")
                        }
                    ));
                    broken = true;
                }
            }
            // A role in error was reported once; its users would only echo it.
            broken |= self.broken_roles.contains(role);
        }
        if broken {
            return None;
        }

        // A user has an account in every vendor named in its own blocks or its roles'.
        let mut names: BTreeSet<String> = u.accounts.0.keys().cloned().collect();
        names.extend(roles.iter().flat_map(|r| r.keys().cloned()));
        let mut found = Vec::new();
        for name in names {
            let own = u.accounts.0.remove(&name);
            let Some(kind) = self.kinds.get(&name).copied() else {
                if own.is_some() {
                    let path = format!("users[{index}].accounts.{name}");
                    found.push(self.unknown_vendor(file, &path, &name));
                }
                continue; // a role's unknown vendor is reported once, by type_roles
            };
            let own = match own.map(|b| self.type_block(file, Place::User(index), &name, kind, b)) {
                Some(Ok(b)) => b,
                Some(Err(problem)) => {
                    found.push(problem);
                    continue;
                }
                None => None,
            };
            // Roles in order, then the user's own block on top.
            let mut block: Option<AccountBlock> = None;
            for layer in roles
                .iter()
                .filter_map(|r| r.get(&name))
                .chain(own.as_ref())
            {
                match &mut block {
                    Some(b) => b.merge(layer),
                    None => block = Some(layer.clone()),
                }
            }
            let block = block.unwrap_or_else(|| kind.empty_account());
            if let Err(e) = block.check(&user.profile, user.password.as_ref()) {
                found.push(format!(
                    "{} ({}): {e}",
                    at(&format!(".accounts.{name}")),
                    user.profile.email
                ));
                continue;
            }
            let account = Account::new(&user.profile, block);
            user.accounts.insert(name, account);
        }
        let failed = !found.is_empty();
        for p in found {
            self.problems.push(p);
        }
        (!failed).then_some(user)
    }

    /// Warns of variables plan can't resolve (apply will insist) and of credentials
    /// written into the file, where everyone with the repository can read them.
    fn warn_about_secrets(&mut self, users: &BTreeMap<String, User>) {
        let env = self.env;
        for (name, (file, vendor)) in &self.vendors {
            let file = &self.sources[*file].name;
            let mut unset = BTreeSet::new();
            for (key, template) in vendor.config.templates() {
                let Some(t) = template else { continue };
                unset.extend(t.missing(env));
                if vendor.config.is_secret(key) && t.is_literal() && !t.raw().is_empty() {
                    self.warnings.push(format!(
                        "{file}: vendors.{name}.{key} is a literal credential: anyone who can read the repository can use it; use ${{VAR}} instead"
                    ));
                }
            }
            if !unset.is_empty() {
                self.warnings.push(format!(
                    "vendor `{name}` uses {} which {} not set: fine for plan, apply will need {}",
                    unset
                        .iter()
                        .map(|v| format!("${{{v}}}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    if unset.len() == 1 { "is" } else { "are" },
                    if unset.len() == 1 { "it" } else { "them" },
                ));
            }
        }
        let mut literal = Vec::new();
        let mut unset = BTreeSet::new();
        for user in users.values() {
            if let Some(Password::Template(t)) = &user.password {
                if t.is_literal() {
                    literal.push(user.profile.email.as_str());
                }
                unset.extend(t.missing(env));
            }
        }
        if !literal.is_empty() {
            self.warnings.push(format!(
                "{} user(s) have a literal password in the file ({}{}): anyone who can read the repository can log in as them; use `password: generate` or ${{VAR}}",
                literal.len(),
                literal.iter().take(5).copied().collect::<Vec<_>>().join(", "),
                if literal.len() > 5 { ", ..." } else { "" }
            ));
        }
        if !unset.is_empty() {
            let names: Vec<String> = unset.iter().take(10).map(|v| format!("${{{v}}}")).collect();
            self.warnings.push(format!(
                "passwords use {}{} which {} not set: fine for plan, apply will need them",
                names.join(", "),
                if unset.len() > 10 { ", ..." } else { "" },
                if unset.len() == 1 { "is" } else { "are" },
            ));
        }
    }
}
