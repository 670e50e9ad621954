//! The one place roster.yaml is parsed: YAML text into raw, per-file documents.
//!
//! Parsing is one pass of serde_yaml into typed structures, so unknown keys and
//! wrong types come back with file:line:column. Account blocks are kept as YAML
//! values here because their type depends on the kind of a vendor that may be
//! defined in another file; `load` types them once every vendor is known, and on
//! an error calls [`locate`], which re-reads that one file with the kinds in hand
//! so the message carries its line too.

use crate::model::de::{percent, Check};
use crate::model::Template;
use crate::vendors::{AccountBlock, Kind, VendorConfig};
use serde::de::{self, DeserializeOwned, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

/// One file of roster.yaml. `B` is how account blocks are read: [`Blocks`] for
/// loading, [`CheckedBlocks`] to place an error (see [`locate`]).
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(
    deny_unknown_fields,
    bound(deserialize = "B: DeserializeOwned + Default")
)]
#[schemars(rename = "roster.yaml", bound = "B: schemars::JsonSchema + Default")]
pub struct Document<B> {
    /// The format version: 1. At least one file of a folder states it.
    pub version: Option<u64>,
    /// Named vendor accounts; users are assigned to these names.
    #[serde(default, deserialize_with = "vendors")]
    pub vendors: BTreeMap<String, Checked<VendorConfig>>,
    /// Reusable account blocks per vendor name; a user's own block overrides them.
    #[serde(default, deserialize_with = "roles")]
    pub roles: BTreeMap<String, B>,
    /// The people who must have accounts.
    #[serde(default, deserialize_with = "users")]
    pub users: Vec<Checked<UserEntry<B>>>,
    /// Limits on how much one apply may create before it needs --force.
    pub safety: Option<Safety>,
}

/// Apply refuses to create more than this unless forced; a refresh refuses to
/// mark more than this gone at one vendor unless accepted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Safety {
    /// Most accounts one apply may create.
    pub max_create: Option<usize>,
    /// Most accounts one apply may create, as a percentage of the accounts the
    /// state holds (default 30).
    #[serde(default, deserialize_with = "percent")]
    #[schemars(range(min = 0))]
    pub max_create_percent: Option<f64>,
    /// The percentages apply only once the state holds this many accounts
    /// (default 10; for `max_gone_percent`, at that vendor), so a first apply
    /// is never refused for it.
    pub min_existing: Option<usize>,
    /// Most of a vendor's recorded accounts one refresh may mark `gone`, as a
    /// percentage (default 20): a list that suddenly lacks more is taken for a
    /// bad read, and that vendor's records are kept until `--accept-gone`.
    #[serde(default, deserialize_with = "percent")]
    #[schemars(range(min = 0))]
    pub max_gone_percent: Option<f64>,
}

/// One entry of `users:`, as written.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(
    deny_unknown_fields,
    bound(deserialize = "B: DeserializeOwned + Default")
)]
#[schemars(bound = "B: schemars::JsonSchema + Default")]
pub struct UserEntry<B> {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub middle_name: Option<String>,
    pub title: Option<String>,
    pub phone: Option<String>,
    pub mobile: Option<String>,
    pub fax: Option<String>,
    pub time_zone: Option<String>,
    /// `generate` (random, policy-compliant, never stored) or ${VAR}.
    pub password: Option<Template>,
    /// Role names; their blocks are merged in this order, under the user's own.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Account blocks by vendor name.
    #[serde(default)]
    pub accounts: B,
}

impl<B: DeserializeOwned + Default> Check for UserEntry<B> {
    fn check(&self) -> Result<(), String> {
        let email = self.email.trim();
        let valid = email == self.email
            && email.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            })
            && !email.chars().any(|c| c.is_whitespace() || c.is_control())
            && email.matches('@').count() == 1;
        if !valid {
            return Err(format!("invalid email {:?}", self.email));
        }
        for (key, value) in [
            ("first_name", &self.first_name),
            ("last_name", &self.last_name),
        ] {
            if value.trim().is_empty() {
                return Err(format!("`{key}` is empty"));
            }
        }
        Ok(())
    }
}

/// An account block as read: typed when its vendor's kind was known as the parser
/// reached it (the vendors were defined above, or in an earlier file), else kept
/// as a YAML value and typed once every file is read.
pub enum Block {
    Typed(AccountBlock),
    Raw(serde_yaml::Value),
}

/// Account blocks by vendor name.
#[derive(Default)]
pub struct Blocks(pub BTreeMap<String, Block>);

impl schemars::JsonSchema for Blocks {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Accounts".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let mut kinds = Kind::account_schemas(generator);
        kinds.push(schemars::json_schema!({ "type": "null" }));
        schemars::json_schema!({
            "description": "Account blocks by vendor name; each takes the fields of its vendor's kind.",
            "type": "object",
            "additionalProperties": { "anyOf": kinds },
        })
    }
}

impl<'de> Deserialize<'de> for Blocks {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct BlocksVisitor;
        impl<'de> Visitor<'de> for BlocksVisitor {
            type Value = Blocks;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping of vendor names to account blocks")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Blocks, E> {
                Ok(Blocks::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Blocks, A::Error> {
                let mut out = BTreeMap::new();
                while let Some(name) = map.next_key::<String>()? {
                    if out.contains_key(&name) {
                        return Err(de::Error::custom(format!("`{name}` is given twice")));
                    }
                    let kind =
                        KNOWN.with(|k| k.borrow().as_ref().and_then(|k| k.get(&name).copied()));
                    let block = match kind {
                        Some(kind) => match kind.next_account(&mut map) {
                            Ok(block) => Block::Typed(block),
                            Err(e) => {
                                BLOCK_FAILED.with(|f| f.set(true));
                                return Err(e);
                            }
                        },
                        None => Block::Raw(map.next_value()?),
                    };
                    out.insert(name, block);
                }
                Ok(Blocks(out))
            }
        }
        d.deserialize_map(BlocksVisitor)
    }
}

thread_local! {
    /// Set when [`parse`] failed inside an account block it was typing.
    static BLOCK_FAILED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether the last [`parse`] failed inside an account block: then the rest of
/// the file may be sound, and worth reading again untyped to report each
/// block's problem on its own.
pub fn failed_in_block() -> bool {
    BLOCK_FAILED.with(std::cell::Cell::get)
}

thread_local! {
    /// The vendor kinds known while [`parse`] reads a document: those of earlier
    /// files, joined by this file's `vendors:` as soon as they are read. serde
    /// cannot pass context into derived impls; a seed would mean writing every
    /// visitor by hand.
    static KNOWN: RefCell<Option<BTreeMap<String, Kind>>> = const { RefCell::new(None) };
}

/// `vendors:`, whose kinds then type the account blocks that follow.
fn vendors<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, Checked<VendorConfig>>, D::Error> {
    let map: BTreeMap<String, Checked<VendorConfig>> = unique_map(d)?;
    KNOWN.with(|k| {
        if let Some(known) = k.borrow_mut().as_mut() {
            known.extend(map.iter().map(|(name, c)| (name.clone(), c.0.kind)));
        }
    });
    Ok(map)
}

/// A `T` read from a mapping and checked on the spot.
pub struct Checked<T>(pub T);

impl<T: schemars::JsonSchema> schemars::JsonSchema for Checked<T> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        T::schema_name()
    }

    fn schema_id() -> std::borrow::Cow<'static, str> {
        T::schema_id()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(generator)
    }
}

impl<'de, T: DeserializeOwned + Check> Deserialize<'de> for Checked<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct CheckedVisitor<T>(PhantomData<T>);
        impl<'de, T: DeserializeOwned + Check> Visitor<'de> for CheckedVisitor<T> {
            type Value = Checked<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Checked<T>, A::Error> {
                let value = T::deserialize(de::value::MapAccessDeserializer::new(map))?;
                value.check().map_err(de::Error::custom)?;
                Ok(Checked(value))
            }
        }
        d.deserialize_map(CheckedVisitor(PhantomData))
    }
}

/// A string-keyed map that refuses a key given twice (serde's own map keeps the last).
fn unique_map<'de, D, V>(d: D) -> Result<BTreeMap<String, V>, D::Error>
where
    D: Deserializer<'de>,
    V: Deserialize<'de>,
{
    d.deserialize_map(UniqueVisitor(PhantomData, |_: &str| ()))
}

/// `roles:`, telling [`locate`] which role it is in.
fn roles<'de, D, V>(d: D) -> Result<BTreeMap<String, V>, D::Error>
where
    D: Deserializer<'de>,
    V: Deserialize<'de>,
{
    d.deserialize_map(UniqueVisitor(PhantomData, |name: &str| {
        enter(|| Place::Role(name.to_string()))
    }))
}

/// `users:`, telling [`locate`] which entry it is in.
fn users<'de, D, V>(d: D) -> Result<Vec<V>, D::Error>
where
    D: Deserializer<'de>,
    V: Deserialize<'de>,
{
    struct UsersVisitor<V>(PhantomData<V>);
    impl<'de, V: Deserialize<'de>> Visitor<'de> for UsersVisitor<V> {
        type Value = Vec<V>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a list of users")
        }
        fn visit_unit<E: de::Error>(self) -> Result<Vec<V>, E> {
            Ok(Vec::new())
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<V>, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 16));
            loop {
                let index = out.len();
                enter(|| Place::User(index));
                match seq.next_element()? {
                    Some(v) => out.push(v),
                    None => return Ok(out),
                }
            }
        }
    }
    d.deserialize_seq(UsersVisitor(PhantomData))
}

struct UniqueVisitor<V, F>(PhantomData<V>, F);

impl<'de, V: Deserialize<'de>, F: Fn(&str)> Visitor<'de> for UniqueVisitor<V, F> {
    type Value = BTreeMap<String, V>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a mapping")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(BTreeMap::new()) // `key:` with nothing after it
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = BTreeMap::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(de::Error::custom(format!("`{key}` is given twice")));
            }
            (self.1)(&key);
            let value = map.next_value()?;
            out.insert(key, value);
        }
        Ok(out)
    }
}

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
const SIGNIFICANT: [bool; 256] = {
    let mut table = [false; 256];
    let bytes = b" \t\r#\"'[]{},-:?|>";
    let mut i = 0;
    while i < bytes.len() {
        table[bytes[i] as usize] = true;
        i += 1;
    }
    table
};

/// The bytes that make [`precheck`] read a line closely: they may open a
/// collection, a quoted or block scalar, or a comment.
const OPENS: [bool; 256] = {
    let mut table = [false; 256];
    let bytes = b"[{\"'|>#";
    let mut i = 0;
    while i < bytes.len() {
        table[bytes[i] as usize] = true;
        i += 1;
    }
    table
};

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

/// A parse error with its place: `file:line:column: path: message`.
pub fn located(file: &str, err: &serde_yaml::Error) -> String {
    let text = err.to_string();
    match err.location() {
        Some(loc) => {
            // The place leads the message; drop serde_yaml's own copy of it.
            let place = format!(" at line {} column {}", loc.line(), loc.column());
            let message = text.replacen(&place, "", 1);
            format!("{file}:{}:{}: {message}", loc.line(), loc.column())
        }
        None => format!("{file}: {text}"),
    }
}

/// Reads one file in one pass, typing every account block whose vendor kind is
/// in `known` or defined above it. `known` gains this file's vendors.
pub fn parse(
    text: &str,
    known: &mut BTreeMap<String, Kind>,
) -> Result<Document<Blocks>, serde_yaml::Error> {
    KNOWN.with(|k| *k.borrow_mut() = Some(std::mem::take(known)));
    BLOCK_FAILED.with(|f| f.set(false));
    let result = serde_yaml::from_str(text);
    *known = KNOWN.with(|k| k.borrow_mut().take()).unwrap_or_default();
    result
}

/// Reads one file leaving every account block untyped: how a file whose typed
/// read failed is read again, so that each block's problem is reported on its own.
pub fn parse_raw(text: &str) -> Result<Document<Blocks>, serde_yaml::Error> {
    KNOWN.with(|k| *k.borrow_mut() = None);
    serde_yaml::from_str(text)
}

/// Where an account block is written: a user entry, or a role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    User(usize),
    Role(String),
}

/// What [`locate`] looks for: the block of `vendor` at `place`.
struct Target {
    kinds: BTreeMap<String, Kind>,
    place: Place,
    vendor: String,
    /// Where the parser is now.
    at: Option<Place>,
}

thread_local! {
    /// Set only while [`locate`] runs. serde cannot pass context into derived
    /// impls; a seed would mean writing every visitor by hand.
    static TARGET: RefCell<Option<Target>> = const { RefCell::new(None) };
}

/// Notes where the parser is, when [`locate`] is listening.
fn enter(place: impl FnOnce() -> Place) {
    TARGET.with(|t| {
        if let Some(t) = t.borrow_mut().as_mut() {
            t.at = Some(place());
        }
    });
}

/// Account blocks typed by the kind of their vendor, read straight from the parser.
#[derive(Default)]
pub struct CheckedBlocks;

impl<'de> Deserialize<'de> for CheckedBlocks {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct BlocksVisitor;
        impl<'de> Visitor<'de> for BlocksVisitor {
            type Value = CheckedBlocks;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping of vendor names to account blocks")
            }
            fn visit_unit<E: de::Error>(self) -> Result<CheckedBlocks, E> {
                Ok(CheckedBlocks)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<CheckedBlocks, A::Error> {
                while let Some(name) = map.next_key::<String>()? {
                    let kind = TARGET.with(|t| {
                        let t = t.borrow();
                        let t = t.as_ref()?;
                        (t.at.as_ref() == Some(&t.place) && t.vendor == name)
                            .then(|| t.kinds.get(&name).copied())
                            .flatten()
                    });
                    match kind {
                        Some(kind) => {
                            kind.next_account(&mut map)?;
                        }
                        None => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(CheckedBlocks)
            }
        }
        d.deserialize_map(BlocksVisitor)
    }
}

/// Re-reads `text` with the block of `vendor` at `place` typed by the vendor's kind
/// and returns its error, which serde_yaml places at its line and column. Used
/// only on the error path, so the common path parses each file once.
pub fn locate(
    text: &str,
    kinds: &BTreeMap<String, Kind>,
    place: Place,
    vendor: &str,
) -> Option<serde_yaml::Error> {
    TARGET.with(|t| {
        *t.borrow_mut() = Some(Target {
            kinds: kinds.clone(),
            place,
            vendor: vendor.to_string(),
            at: None,
        })
    });
    let result = serde_yaml::from_str::<Document<CheckedBlocks>>(text);
    TARGET.with(|t| *t.borrow_mut() = None);
    result.err()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_place_is_said_once() {
        let Err(err) = serde_yaml::from_str::<Document<Blocks>>("version: 1\nusers: [{email: x\n")
        else {
            panic!("parsed")
        };
        let text = located("r.yaml", &err);
        assert!(text.starts_with("r.yaml:3:1: "), "{text}");
        assert!(!text.contains("at line 3 column 1"), "{text}");
        // Where the mapping began is context worth keeping.
        assert!(
            text.ends_with("while parsing a flow mapping at line 2 column 9"),
            "{text}"
        );
    }

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
