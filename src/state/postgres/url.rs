//! The database's URL: whether `--state` names one, how it is shown (never
//! with its password), and the TLS its connections use (PGSSLROOTCERT).

use anyhow::{bail, Context};
use std::sync::Arc;

/// Whether `--state` names a PostgreSQL database.
pub fn is_url(state: &str) -> bool {
    state.starts_with("postgres://") || state.starts_with("postgresql://")
}

/// `url` with any password replaced by `***`, for every message.
pub fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let mut out = url[..scheme_end].to_string();
    let mut rest = &url[scheme_end..];
    // The credentials run to the first `@`, as the driver reads them, so a
    // password holding `/` or `?` is still all masked.
    if let Some(at) = rest.find('@') {
        let userinfo = &rest[..at];
        match userinfo.split_once(':') {
            Some((user, _)) => out.push_str(&format!("{user}:***")),
            None => out.push_str(userinfo),
        }
        out.push('@');
        rest = &rest[at + 1..];
    }
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    out.push_str(&rest[..authority_end]);
    // A password may also ride in the query (`?password=`).
    let tail = &rest[authority_end..];
    match tail.split_once('?') {
        Some((path, query)) => {
            out.push_str(path);
            out.push('?');
            let params: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => kv.to_string(),
                })
                .collect();
            out.push_str(&params.join("&"));
        }
        None => out.push_str(tail),
    }
    out
}

/// TLS as `sslmode=prefer` or `require` use it: the server's certificate is
/// verified against the Web PKI roots, or with PGSSLROOTCERT (as libpq reads
/// it) against the CA certificates in that PEM file only (a managed server's
/// own CA). `root_cert` is PGSSLROOTCERT's value.
pub(super) fn tls(
    root_cert: Option<String>,
) -> anyhow::Result<tokio_postgres_rustls::MakeRustlsConnect> {
    let roots = match root_cert.filter(|v| !v.is_empty()) {
        Some(path) => {
            use rustls::pki_types::{pem::PemObject, CertificateDer};
            let shown = std::path::Path::new(&path).display().to_string();
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_file_iter(&path)
                .map_err(|e| anyhow::anyhow!("PGSSLROOTCERT={shown}: cannot read it: {e}"))?
            {
                let cert = cert.map_err(|e| {
                    anyhow::anyhow!("PGSSLROOTCERT={shown}: not PEM certificates: {e}")
                })?;
                roots
                    .add(cert)
                    .map_err(|e| anyhow::anyhow!("PGSSLROOTCERT={shown}: {e}"))?;
            }
            if roots.is_empty() {
                bail!("PGSSLROOTCERT={shown}: holds no certificate");
            }
            roots
        }
        None => rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        },
    };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .context("cannot set up TLS")?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_shown_without_their_password() {
        for (url, shown) in [
            (
                "postgres://roster:s3cr%40t@db.example.com:5432/roster?sslmode=require",
                "postgres://roster:***@db.example.com:5432/roster?sslmode=require",
            ),
            ("postgresql://roster@db/x", "postgresql://roster@db/x"),
            (
                "postgres://db/x?user=a&password=hunter2",
                "postgres://db/x?user=a&password=***",
            ),
            ("postgres://u:p@h", "postgres://u:***@h"),
            ("postgres://u:pa/ss?x@db/x", "postgres://u:***@db/x"),
        ] {
            assert_eq!(redact(url), shown);
        }
        assert!(is_url("postgresql://h/d") && is_url("postgres://h/d"));
        assert!(!is_url("state/roster.state.json"));
    }
}
