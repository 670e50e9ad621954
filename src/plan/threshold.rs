//! The safety threshold: how much one apply may create before it needs
//! `--force`, and the verdict on a plan, said the same way by `plan` (for the
//! reviewer) and by `apply` (when it refuses).

use crate::model::group;
use crate::state::State;

/// Apply's limits on how much it creates at once.
#[derive(Clone, Debug, PartialEq)]
pub struct Threshold {
    pub max_create: Option<usize>,
    pub max_create_percent: f64,
    pub min_existing: usize,
    /// Where `max_create_percent` comes from ("the default", "from the
    /// command line", "from safety: in FILE").
    pub source: String,
    /// Where `max_create` comes from, when it is set.
    pub max_create_source: String,
}

/// What creations are judged against: the accounts the state records, or, when
/// an apply of the same input was cut short, those it recorded when that apply
/// began (else a re-run would be judged against what it created itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Baseline {
    pub existing: usize,
    /// When the unfinished apply this re-run resumes began.
    pub resumes: Option<String>,
}

impl Baseline {
    /// The baseline for applying the desired input whose hash is `input`.
    pub fn of(state: &State, input: &str) -> Baseline {
        match &state.unfinished_apply {
            Some(u) if u.input == input => Baseline {
                existing: u.existing,
                resumes: Some(u.started.clone()),
            },
            _ => Baseline {
                existing: state.existing(),
                resumes: None,
            },
        }
    }
}

/// The threshold's word on a plan.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verdict {
    /// Whether apply refuses it without --force.
    pub refuses: bool,
    /// One line: "apply will refuse: 10,000 creates = 1,000% > 30% of ...".
    pub line: String,
}

impl Verdict {
    const REFUSE: &'static str = "apply will refuse: ";
    const FORCE: &'static str = "; --force goes ahead";

    /// Apply's error when it refuses.
    pub fn refusal(&self) -> Option<String> {
        self.refuses.then(|| {
            let why = self.line.strip_prefix(Self::REFUSE).unwrap_or(&self.line);
            let why = why.strip_suffix(Self::FORCE).unwrap_or(why);
            format!("refusing to apply: {why}. Review the plan, then pass --force to go ahead")
        })
    }
}

impl Threshold {
    pub const DEFAULT_PERCENT: f64 = 30.0;
    pub const DEFAULT_MIN_EXISTING: usize = 10;

    /// Judges `creates` new accounts against `baseline`.
    pub fn judge(&self, creates: usize, baseline: &Baseline) -> Verdict {
        let existing = baseline.existing;
        let source = &self.source;
        if creates == 0 {
            return Verdict {
                refuses: false,
                line: "nothing to create".into(),
            };
        }
        let n = match creates {
            1 => "1 create".to_string(),
            n => format!("{} creates", group(n)),
        };
        if let Some(max) = self.max_create.filter(|max| creates > *max) {
            return Verdict {
                refuses: true,
                line: format!(
                    "apply will refuse: {n} > max_create {} ({}); --force goes ahead",
                    group(max),
                    self.max_create_source
                ),
            };
        }
        let limit = percent(self.max_create_percent);
        let began = baseline
            .resumes
            .as_ref()
            .map(|at| format!("when the unfinished apply of this input began ({at})"));
        if existing < self.min_existing {
            let counted = match &began {
                Some(began) => format!("{} were {began}", group(existing)),
                None => format!("the state records {}", group(existing)),
            };
            return Verdict {
                refuses: false,
                line: format!(
                    "within the safety threshold: {n}; max_create_percent {limit}% applies once {} accounts are recorded, and {counted}",
                    group(self.min_existing)
                ),
            };
        }
        let share = creates as f64 * 100.0 / existing as f64;
        let refuses = share > self.max_create_percent;
        let (head, cmp, tail) = if refuses {
            ("apply will refuse", ">", Verdict::FORCE)
        } else {
            ("within the safety threshold", "≤", "")
        };
        let began = began.map(|b| format!(" {b}")).unwrap_or_default();
        Verdict {
            refuses,
            line: format!(
                "{head}: {n} = {}% {cmp} {limit}% of the {} accounts recorded{began} (max_create_percent, {source}){tail}",
                percent(share),
                group(existing)
            ),
        }
    }
}

/// How much of one vendor's recorded accounts a single refresh may mark `gone`.
/// A list that suddenly lacks most of them is far likelier a bad read (a
/// vendor outage answering an empty list, a redirect, a wrong tenant) than a
/// mass deletion, and taking it at its word would have the next apply create
/// every one of them again.
#[derive(Clone, Debug, PartialEq)]
pub struct GoneLimit {
    pub max_gone_percent: f64,
    /// Below this many recorded accounts in the whole state, the share is not
    /// enforced (`safety.min_existing`, counted as for creations: a vendor with
    /// few accounts in a larger state is guarded too).
    pub min_existing: usize,
    /// Where the limit comes from ("the default", "from safety: in ...").
    pub source: String,
}

impl GoneLimit {
    pub const DEFAULT_PERCENT: f64 = 20.0;

    /// Why marking `gone` of the `recorded` accounts of one vendor gone in one
    /// read is refused ("40 gone = 100% > 20% (max_gone_percent, the
    /// default)"), or `None` when it is within the limit; `existing` is what
    /// the whole state records, which `min_existing` is judged against.
    pub fn judge(&self, gone: usize, recorded: usize, existing: usize) -> Option<String> {
        if gone == 0 || existing < self.min_existing {
            return None;
        }
        let share = gone as f64 * 100.0 / recorded.max(1) as f64;
        (share > self.max_gone_percent).then(|| {
            format!(
                "{} gone = {}% > {}% (max_gone_percent, {})",
                group(gone),
                percent(share),
                percent(self.max_gone_percent),
                self.source
            )
        })
    }
}

/// A percentage with at most one decimal and grouped thousands: "1,000", "12.5".
fn percent(p: f64) -> String {
    let tenths = (p * 10.0).round();
    let whole = (tenths / 10.0).trunc();
    let fraction = (tenths - whole * 10.0) as u8;
    let whole = group(whole as usize);
    if fraction == 0 {
        whole
    } else {
        format!("{whole}.{fraction}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn threshold(max: Option<usize>) -> Threshold {
        Threshold {
            max_create: max,
            max_create_percent: 30.0,
            min_existing: 10,
            source: "the default".into(),
            max_create_source: "the default".into(),
        }
    }

    fn base(existing: usize) -> Baseline {
        Baseline {
            existing,
            resumes: None,
        }
    }

    #[test]
    fn verdicts_say_the_numbers() {
        let t = threshold(None);
        let v = t.judge(10_000, &base(1_000));
        assert!(v.refuses);
        assert_eq!(
            v.line,
            "apply will refuse: 10,000 creates = 1,000% > 30% of the 1,000 accounts recorded (max_create_percent, the default); --force goes ahead"
        );
        assert_eq!(
            v.refusal().unwrap(),
            "refusing to apply: 10,000 creates = 1,000% > 30% of the 1,000 accounts recorded (max_create_percent, the default). Review the plan, then pass --force to go ahead"
        );
        let v = t.judge(3, &base(30));
        assert!(!v.refuses);
        assert_eq!(v.refusal(), None);
        assert_eq!(v.line, "within the safety threshold: 3 creates = 10% ≤ 30% of the 30 accounts recorded (max_create_percent, the default)");
        let v = t.judge(50, &base(4));
        assert!(!v.refuses, "{}", v.line);
        assert!(v
            .line
            .contains("applies once 10 accounts are recorded, and the state records 4"));
        let v = threshold(Some(2)).judge(3, &base(0));
        assert!(v.refuses);
        assert!(v.line.contains("3 creates > max_create 2 (the default)"));
        assert_eq!(t.judge(0, &base(0)).line, "nothing to create");
        // Just over the limit is over it.
        assert!(t.judge(301, &base(1000)).refuses);
        assert!(!t.judge(300, &base(1000)).refuses);
        assert_eq!(percent(30.04), "30");
        assert_eq!(percent(12.5), "12.5");
    }

    #[test]
    fn a_resumed_apply_is_judged_against_its_beginning() {
        let t = threshold(None);
        let v = t.judge(
            45,
            &Baseline {
                existing: 0,
                resumes: Some("2026-01-01T00:00:00Z".into()),
            },
        );
        assert!(!v.refuses, "{}", v.line);
        assert!(v.line.contains(
            "and 0 were when the unfinished apply of this input began (2026-01-01T00:00:00Z)"
        ));
        let v = t.judge(
            10,
            &Baseline {
                existing: 100,
                resumes: Some("T".into()),
            },
        );
        assert!(v.line.contains(
            "10 creates = 10% ≤ 30% of the 100 accounts recorded when the unfinished apply of this input began (T)"
        ), "{}", v.line);
    }

    #[test]
    fn a_mass_gone_is_judged_by_its_share_of_the_vendors_records() {
        let limit = GoneLimit {
            max_gone_percent: 20.0,
            min_existing: 10,
            source: "the default".into(),
        };
        // (gone, recorded, refused)
        let cases = [
            (0, 0, false),
            (0, 40, false),
            (40, 40, true),
            (8, 40, false),
            (9, 40, true),
            (1, 1, false),
            (9, 9, false),
            (10, 10, true),
            (2, 10, false),
            (3, 10, true),
            (1_000, 100_000, false),
            (20_001, 100_000, true),
        ];
        for (gone, recorded, refused) in cases {
            assert_eq!(
                limit.judge(gone, recorded, recorded).is_some(),
                refused,
                "{gone} of {recorded}"
            );
        }
        // A vendor of few accounts in a state of many is guarded: min_existing
        // counts the whole state, as for creations.
        assert!(limit.judge(5, 5, 45).is_some());
        assert!(limit.judge(1, 6, 45).is_none());
        assert!(limit.judge(5, 5, 9).is_none());
        assert_eq!(
            limit.judge(40, 40, 40).unwrap(),
            "40 gone = 100% > 20% (max_gone_percent, the default)"
        );
        assert_eq!(
            limit.judge(3, 10, 10).unwrap(),
            "3 gone = 30% > 20% (max_gone_percent, the default)"
        );
        // min_existing 0: every share counts; 0% refuses any gone at all.
        let strict = GoneLimit {
            max_gone_percent: 0.0,
            min_existing: 0,
            ..limit.clone()
        };
        assert!(strict.judge(1, 1_000, 1_000).is_some());
        assert!(strict.judge(0, 1_000, 1_000).is_none());
        let lax = GoneLimit {
            max_gone_percent: 100.0,
            ..limit
        };
        assert!(lax.judge(40, 40, 40).is_none());
    }
}
