//! Progress on stderr: a bar on a terminal, a line every few seconds otherwise,
//! nothing with --quiet.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct Meter {
    stderr: super::stderr::Stderr,
    bar: Option<indicatif::ProgressBar>,
    failed: AtomicUsize,
    plain: Option<Mutex<Plain>>,
}

struct Plain {
    what: &'static str,
    total: usize,
    done: usize,
    failed: usize,
    started: Instant,
    last: Instant,
}

impl Meter {
    const EVERY: Duration = Duration::from_secs(5);

    pub fn new(
        what: &'static str,
        total: usize,
        quiet: bool,
        stderr: &super::stderr::Stderr,
    ) -> Meter {
        let stderr = stderr.clone();
        if quiet || total == 0 {
            return Meter {
                stderr,
                bar: None,
                failed: AtomicUsize::new(0),
                plain: None,
            };
        }
        // A bar only for a person: JSON logs get lines they can parse.
        if std::io::stderr().is_terminal() && !stderr.json() {
            let bar = indicatif::ProgressBar::new(total as u64);
            let style = indicatif::ProgressStyle::with_template(
                "{spinner} {prefix} [{elapsed_precise}] {wide_bar} {pos}/{len} accounts, {per_sec}, eta {eta} {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_prefix(what);
            bar.enable_steady_tick(Duration::from_millis(200));
            // A warning while the bar runs (a vendor asking to wait) is shown above it.
            stderr.draw_over(Some(bar.clone()));
            return Meter {
                stderr,
                bar: Some(bar),
                failed: AtomicUsize::new(0),
                plain: None,
            };
        }
        let now = Instant::now();
        Meter {
            stderr,
            bar: None,
            failed: AtomicUsize::new(0),
            plain: Some(Mutex::new(Plain {
                what,
                total,
                done: 0,
                failed: 0,
                started: now,
                last: now,
            })),
        }
    }

    pub fn advance(&self, n: usize, failed: usize) {
        if let Some(bar) = &self.bar {
            bar.inc(n as u64);
            if failed > 0 {
                let total = self.failed.fetch_add(failed, Ordering::Relaxed) + failed;
                bar.set_message(format!("{total} failed"));
            }
        }
        if let Some(plain) = &self.plain {
            let Ok(mut p) = plain.lock() else { return };
            p.done += n;
            p.failed += failed;
            if p.last.elapsed() >= Self::EVERY {
                p.last = Instant::now();
                let rate = p.done as f64 / p.started.elapsed().as_secs_f64().max(0.001);
                self.stderr.progress(
                    &format!(
                        "{}: {}/{} accounts ({}%), {} failed, {rate:.1}/s",
                        p.what,
                        p.done,
                        p.total,
                        p.done * 100 / p.total.max(1),
                        p.failed
                    ),
                    serde_json::json!({
                        "progress": p.what,
                        "done": p.done,
                        "total": p.total,
                        "failed": p.failed,
                        "per_second": (rate * 10.0).round() / 10.0,
                    }),
                );
            }
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            self.stderr.draw_over(None);
            bar.finish_and_clear();
        }
    }
}

impl roster::ops::Progress for Meter {
    fn advance(&self, n: usize, failed: usize) {
        Meter::advance(self, n, failed);
    }

    fn finish(&self) {
        Meter::finish(self);
    }
}
