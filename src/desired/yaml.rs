//! The one place roster.yaml is parsed: YAML text into typed, per-file
//! documents (see [`super::schema`]), in one pass of serde_yaml, so unknown
//! keys and wrong types come back with file:line:column; and placing an error:
//! serde_yaml's location turned into `file:line:column`, and the re-read that
//! finds the line of an account block that does not fit its vendor's kind
//! (blocks typed after the parse have lost their place).

use super::reading::{forget, target_kind, Place, Reading, Target};
use super::schema::{Blocks, Document};
use crate::vendors::Kind;
use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::fmt;

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
                    match target_kind(&name) {
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
    let target = Target {
        kinds: kinds.clone(),
        place,
        vendor: vendor.to_string(),
        at: None,
    };
    Reading::Locate(target)
        .during(|| serde_yaml::from_str::<Document<CheckedBlocks>>(text))
        .0
        .err()
}

/// Reads one file in one pass, typing every account block whose vendor kind is
/// in `known` or defined above it. `known` gains this file's vendors.
pub fn parse(
    text: &str,
    known: &mut BTreeMap<String, Kind>,
) -> Result<Document<Blocks>, serde_yaml::Error> {
    let reading = Reading::Load(std::mem::take(known));
    let (result, left) = reading.during(|| serde_yaml::from_str(text));
    if let Some(Reading::Load(left)) = left {
        *known = left;
    }
    result
}

/// Reads one file leaving every account block untyped. A file whose typed read
/// failed is read so again: if this read succeeds, the failure was inside an
/// account block, the rest of the file is sound, and each block's problem can be
/// reported on its own.
pub fn parse_raw(text: &str) -> Result<Document<Blocks>, serde_yaml::Error> {
    forget();
    serde_yaml::from_str(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desired::schema::Blocks;

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
}
