//! stderr: the log set-up, and every line roster writes there besides tracing's
//! own events (notices, progress, the final error). With `--log-format json`
//! each line is one JSON object of the shape tracing's JSON lines have
//! (`timestamp`, `level`, `fields.message`, ...), so a pipeline can parse all of
//! stderr; ANSI colour only on a terminal.

use clap::ValueEnum;
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Where every line roster writes to stderr goes: the format and --quiet of
/// this run, and the progress bar on the terminal, if one is drawn (every
/// line is written above it, never under it where its next redraw would wipe
/// it out). Made once by [`init`]; clones share it.
#[derive(Clone)]
pub struct Stderr(Arc<Inner>);

struct Inner {
    json: bool,
    quiet: bool,
    bar: Mutex<Option<indicatif::ProgressBar>>,
}

impl Stderr {
    /// Lines written to stderr from now on go above `bar` (None: it is gone).
    pub fn draw_over(&self, bar: Option<indicatif::ProgressBar>) {
        if let Ok(mut current) = self.0.bar.lock() {
            *current = bar;
        }
    }

    fn write_above_bar(&self, bytes: &[u8]) -> std::io::Result<()> {
        let bar = self.0.bar.lock().ok().and_then(|b| b.clone());
        match bar {
            Some(bar) => bar.suspend(|| std::io::stderr().write_all(bytes)),
            None => std::io::stderr().write_all(bytes),
        }
    }

    /// Whether lines are JSON (`--log-format json`).
    pub fn json(&self) -> bool {
        self.0.json
    }

    fn line(&self, level: &str, message: &str, fields: serde_json::Map<String, serde_json::Value>) {
        let message = roster::secret::sanitise_lines(message);
        let text = if self.0.json {
            let mut all = serde_json::Map::new();
            all.insert("message".into(), message.into());
            all.extend(fields);
            let doc = serde_json::json!({
                "timestamp": humantime::format_rfc3339_micros(std::time::SystemTime::now()).to_string(),
                "level": level,
                "fields": all,
            });
            format!("{doc}\n")
        } else if level == "ERROR" {
            format!("error: {message}\n")
        } else {
            format!("{message}\n")
        };
        // stderr gone: nothing left to tell.
        let _ = self.write_above_bar(text.as_bytes());
    }

    /// A line for a person (not under --quiet).
    pub fn notice(&self, message: &str) {
        if !self.0.quiet {
            self.line("INFO", message, serde_json::Map::new());
        }
    }

    /// A progress line, with its numbers as fields in JSON.
    pub fn progress(&self, message: &str, fields: serde_json::Value) {
        if self.0.quiet {
            return;
        }
        let fields = match fields {
            serde_json::Value::Object(map) => map,
            _ => serde_json::Map::new(),
        };
        self.line("INFO", message, fields);
    }

    /// The error a command ended with.
    pub fn error(&self, message: &str) {
        self.line("ERROR", message, serde_json::Map::new());
    }
}

/// tracing's writer: above the bar.
struct AboveBar(Stderr);

impl Write for AboveBar {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write_above_bar(buf).map(|()| buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Whether stderr gets colour: a terminal, and NO_COLOR unset.
pub fn color() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Sets up tracing on stderr and remembers the format for the other lines.
pub fn init(verbose: u8, quiet: bool, format: LogFormat) -> Stderr {
    use tracing_subscriber::EnvFilter;
    let stderr = Stderr(Arc::new(Inner {
        json: format == LogFormat::Json,
        quiet,
        bar: Mutex::new(None),
    }));
    let writer = stderr.clone();
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    let mut filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("roster={level}")));
    // The HTTP stack logs URIs and raw bytes at debug and trace; those carry
    // credentials (api_token in a query, bearer headers), so it is never louder
    // than info, whatever RUST_LOG says.
    for quiet in [
        "reqwest=info",
        "hyper=info",
        "hyper_util=info",
        "h2=info",
        "rustls=info",
    ] {
        if let Ok(directive) = quiet.parse() {
            filter = filter.add_directive(directive);
        }
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(move || AboveBar(writer.clone()))
        .with_ansi(color())
        .with_target(false);
    let _ = match format {
        LogFormat::Text => builder.without_time().try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    stderr
}

/// Whether the arguments ask for JSON logs, for an error met before they could
/// be parsed (a usage error).
pub fn asks_for_json(args: &[std::ffi::OsString]) -> bool {
    let args: Vec<&str> = args.iter().filter_map(|a| a.to_str()).collect();
    args.windows(2)
        .any(|w| w[0] == "--log-format" && w[1] == "json")
        || args.contains(&"--log-format=json")
}
