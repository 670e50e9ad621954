//! Readers for values of roster.yaml that more than one block holds
//! (durations, sizes, percentages), and the check that runs while the parser
//! still knows where a mapping is. Each raises its error at the value, so it
//! carries the value's own line and column.

use serde::de::{self, Deserialize, Deserializer, Visitor};
use std::fmt;
use std::time::Duration;

/// Validation that runs while the parser still knows where a mapping is, so a
/// failure carries its line and column.
pub trait Check {
    fn check(&self) -> Result<(), String>;
}

/// A percentage: a finite number, not negative (`.nan` would switch the limit off).
pub fn percent<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let value = f64::deserialize(d)?;
    super::check_percent(value)
        .map(Some)
        .map_err(de::Error::custom)
}

/// A string value read by `parse`. The error is raised while the parser is at
/// the value, so it carries the value's own line and column.
pub fn parsed<'de, D, T>(
    d: D,
    expecting: &'static str,
    parse: fn(&str) -> Result<T, String>,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
{
    struct Parsed<T>(&'static str, fn(&str) -> Result<T, String>);
    impl<T> Visitor<'_> for Parsed<T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str(self.0)
        }
        fn visit_str<E: de::Error>(self, s: &str) -> Result<T, E> {
            (self.1)(s).map_err(E::custom)
        }
    }
    d.deserialize_str(Parsed(expecting, parse))
}

/// The longest `timeout` or `verify_grace`: longer ones are mistakes, and one
/// long enough cannot be added to a date (apply would panic).
const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);

/// A duration such as `30s` or `2m`; zero or negative ones are refused (a zero
/// timeout fails every request), and so are ones over a day.
pub fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    parsed(d, "a duration such as 30s", |text| {
        let positive =
            || format!("invalid duration {text:?}: it must be more than 0 (e.g. 30s, 2m)");
        if text.trim_start().starts_with('-') {
            return Err(positive());
        }
        match humantime::parse_duration(text) {
            Ok(d) if d.is_zero() => Err(positive()),
            Ok(d) if d > MAX_DURATION => Err(format!(
                "invalid duration {text:?}: it must be at most 1d (e.g. 30s, 2m)"
            )),
            Ok(d) => Ok(Some(d)),
            Err(e) => Err(format!("invalid duration {text:?} (e.g. 30s, 2m): {e}")),
        }
    })
}

/// The largest `max_response`: a single answer larger than this is a mistake.
const MAX_BYTE_SIZE: u64 = 1 << 30;

/// A size such as `16MiB`, `500KB` or a number of bytes; more than 0, at most
/// 1GiB. Read by `bytesize`; the error is raised at the value, so it carries
/// its line and column.
pub fn byte_size<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    struct Size;
    fn check<E: de::Error>(size: u64, written: &dyn fmt::Display) -> Result<u64, E> {
        if size == 0 || size > MAX_BYTE_SIZE {
            return Err(E::custom(format!(
                "invalid size {written}: it must be more than 0 and at most 1GiB (e.g. 16MiB)"
            )));
        }
        Ok(size)
    }
    impl Visitor<'_> for Size {
        type Value = u64;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a size such as 16MiB, or a number of bytes")
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
            check(v, &v)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
            check(u64::try_from(v).unwrap_or(0), &v)
        }
        fn visit_str<E: de::Error>(self, s: &str) -> Result<u64, E> {
            let size = s.parse::<bytesize::ByteSize>().map_err(|e| {
                E::custom(format!(
                    "invalid size {s:?} (e.g. 16MiB, 500KB, or a number of bytes): {e}"
                ))
            })?;
            check(size.as_u64(), &format_args!("{s:?}"))
        }
    }
    d.deserialize_any(Size).map(Some)
}

pub fn byte_size_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "description": "A size: `16MiB`, `500KB`, or a number of bytes.",
        "type": ["string", "integer", "null"],
        "pattern": r"^\s*[0-9.]+\s*[A-Za-z]*\s*$",
        "minimum": 1,
    })
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[test]
    fn max_response_reads_sizes_and_bytes_and_refuses_the_absurd() {
        #[derive(Deserialize)]
        struct S {
            #[serde(default, deserialize_with = "super::byte_size")]
            max_response: Option<u64>,
        }
        let size = |v: &str| {
            serde_yaml::from_str::<S>(&format!("max_response: {v}"))
                .map(|s| s.max_response)
                .map_err(|e| e.to_string())
        };
        assert_eq!(size("16MiB"), Ok(Some(16 << 20)));
        assert_eq!(size("500 KB"), Ok(Some(500_000)));
        assert_eq!(size("1048576"), Ok(Some(1 << 20)));
        assert_eq!(size("1GiB"), Ok(Some(1 << 30)));
        for bad in ["0", "-1", "0B", "2GiB", "lots", "[1]"] {
            let err = size(bad).unwrap_err();
            assert!(err.contains("size"), "{bad}: {err}");
        }
    }
}
