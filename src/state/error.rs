//! What went wrong with the recorded state, as a caller can decide on it: held
//! by another run, our lease taken over, unreadable content, a store that
//! cannot be reached. Each message is the whole text a person reads (its causes
//! included), so `{e}` and `{e:#}` say the same.

/// The kinds of [`Error`] a caller tells apart (the binary maps them to exit
/// codes in one place).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Locked,
    Fenced,
    Corrupt,
    Unreachable,
    Other,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Another run holds the lock (or a lease this run needs).
    #[error("{message}")]
    Locked {
        /// Who holds it, as the message names them.
        holder: String,
        /// Since when, where the store tells (RFC 3339, UTC).
        since: Option<String>,
        message: String,
    },
    /// This run's lease expired or was taken over: its writes are refused.
    #[error("{message}")]
    Fenced { message: String },
    /// What is stored cannot be read as a state: `what` (a state file, a
    /// journal line, a record) at `at` (a path, `path:line`, `vendor/email`).
    #[error("{message}")]
    Corrupt {
        what: String,
        at: String,
        message: String,
    },
    /// The file or the database cannot be reached or read; `at` names it
    /// (never with a password).
    #[error("{message}")]
    Unreachable { at: String, message: String },
    /// Anything else (a refused write, a full disk, a usage error).
    #[error(transparent)]
    Other(anyhow::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `bail!` for a function returning a state [`Result`]: an [`Error::Other`].
macro_rules! fail {
    ($($arg:tt)*) => {
        return Err($crate::state::Error::Other(anyhow::anyhow!($($arg)*)))
    };
}
pub(crate) use fail;

impl Error {
    pub fn kind(&self) -> Kind {
        match self {
            Error::Locked { .. } => Kind::Locked,
            Error::Fenced { .. } => Kind::Fenced,
            Error::Corrupt { .. } => Kind::Corrupt,
            Error::Unreachable { .. } => Kind::Unreachable,
            Error::Other(_) => Kind::Other,
        }
    }

    /// `cause` (with its own causes, as `{:#}` shows them) cannot reach or
    /// read `at`.
    pub(crate) fn unreachable(at: impl std::fmt::Display, cause: anyhow::Error) -> Error {
        Error::Unreachable {
            at: at.to_string(),
            message: format!("{cause:#}"),
        }
    }

    /// `what` at `at` is not readable as a state: `cause` says why.
    pub(crate) fn corrupt(
        what: impl Into<String>,
        at: impl std::fmt::Display,
        cause: anyhow::Error,
    ) -> Error {
        Error::Corrupt {
            what: what.into(),
            at: at.to_string(),
            message: format!("{cause:#}"),
        }
    }
}

impl From<anyhow::Error> for Error {
    /// A state error carried through `anyhow` (with no context above it) comes
    /// back as the kind it was; anything else is [`Error::Other`].
    fn from(e: anyhow::Error) -> Error {
        let bare = e
            .downcast_ref::<Error>()
            .is_some_and(|inner| inner.to_string() == e.to_string());
        if !bare {
            return Error::Other(e);
        }
        e.downcast::<Error>().unwrap_or_else(Error::Other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kind_survives_anyhow_and_causes_are_in_the_message() {
        let locked = Error::Locked {
            holder: "h".into(),
            since: None,
            message: "held".into(),
        };
        let back = Error::from(anyhow::Error::new(locked));
        assert_eq!(back.kind(), Kind::Locked);
        let cause = anyhow::anyhow!("No such file").context("cannot read x");
        let e = Error::unreachable("x", cause);
        assert_eq!(e.to_string(), "cannot read x: No such file");
        assert_eq!(
            format!("{:#}", anyhow::Error::new(e)),
            "cannot read x: No such file"
        );
        let other = Error::from(anyhow::anyhow!("disk").context("cannot write y"));
        assert_eq!(other.kind(), Kind::Other);
        assert_eq!(format!("{other:#}"), "cannot write y: disk");
        assert_eq!(
            format!("{:#}", anyhow::Error::new(other)),
            "cannot write y: disk"
        );
    }
}
