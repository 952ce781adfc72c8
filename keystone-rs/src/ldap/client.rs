//! Talking to a domain's directory: connections (pooled per server and bind identity, as
//! Keystone's `use_pool`), the service bind, end-user binds, and searches (paged when
//! `page_size` is set). Everything here blocks: callers are on the blocking pool.
//!
//! Failures come in three kinds: the directory cannot be reached or answered badly
//! ([`Unreachable`], 503 for that domain only), a bind was refused ([`Failure::Refused`]),
//! and the searched base does not exist (an empty answer, as Keystone's `NO_SUCH_OBJECT`).

use super::options::{LdapOptions, QueryScope, TlsReqCert};
use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::{LdapConn, LdapConnSettings, Scope, SearchEntry};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

const INVALID_CREDENTIALS: u32 = 49;
const NO_SUCH_OBJECT: u32 = 32;
const SIZE_LIMIT_EXCEEDED: u32 = 4;

/// Why an operation did not give an answer.
#[derive(Debug)]
pub enum Failure {
    /// No server answered, a TLS setup failed, or the service account was refused: the
    /// text is for the log only.
    Unreachable(String),
    /// An end-user bind was refused (wrong password, unknown DN).
    Refused,
}

pub use Failure::Unreachable;

fn unreachable(e: impl std::fmt::Display) -> Failure {
    Unreachable(e.to_string())
}

fn tls_config(opts: &LdapOptions) -> Result<Option<Arc<rustls::ClientConfig>>, Failure> {
    let Some(file) = &opts.tls_cacertfile else {
        return Ok(None);
    };
    let mut roots = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(file)
        .map_err(|e| unreachable(format!("tls_cacertfile {file}: {e}")))?;
    for cert in certs {
        let cert = cert.map_err(|e| unreachable(format!("tls_cacertfile {file}: {e}")))?;
        roots
            .add(cert)
            .map_err(|e| unreachable(format!("tls_cacertfile {file}: {e}")))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(unreachable)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Some(Arc::new(config)))
}

fn settings(opts: &LdapOptions) -> Result<LdapConnSettings, Failure> {
    let mut s = LdapConnSettings::new()
        .set_starttls(opts.use_tls)
        .set_no_tls_verify(opts.tls_req_cert != TlsReqCert::Demand);
    if let Some(t) = opts.connection_timeout {
        s = s.set_conn_timeout(t);
    }
    if let Some(config) = tls_config(opts)? {
        s = s.set_config(config);
    }
    Ok(s)
}

/// An open connection, bound as someone.
struct Pooled {
    conn: LdapConn,
    opened: Instant,
}

type PoolKey = (Vec<String>, String);

fn pool() -> &'static Mutex<HashMap<PoolKey, Vec<Pooled>>> {
    static POOL: OnceLock<Mutex<HashMap<PoolKey, Vec<Pooled>>>> = OnceLock::new();
    POOL.get_or_init(Default::default)
}

/// A connection to the first server of `url` that answers, bound as `dn` (anonymous when
/// either part is missing, as Keystone binds).
fn open(opts: &LdapOptions, dn: &str, password: &str) -> Result<LdapConn, Failure> {
    let settings = settings(opts)?;
    let mut last = String::from("no [ldap] url");
    for url in &opts.urls {
        let mut conn = match LdapConn::with_settings(settings.clone(), url) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(url = %url, error = %e, "LDAP server unreachable");
                last = e.to_string();
                continue;
            }
        };
        if let Some(t) = opts.connection_timeout {
            conn.with_timeout(t);
        }
        let bound = conn.simple_bind(dn, password);
        return match bound {
            Ok(r) if r.rc == 0 => Ok(conn),
            Ok(r) if r.rc == INVALID_CREDENTIALS => Err(Failure::Refused),
            Ok(r) => Err(unreachable(format!("bind: {r}"))),
            Err(e) => Err(unreachable(e)),
        };
    }
    Err(Unreachable(last))
}

/// The service account's connection (`[ldap] user` / `password`), from the pool when
/// `use_pool` is on.
pub struct Session<'o> {
    opts: &'o LdapOptions,
    conn: Option<Pooled>,
}

impl<'o> Session<'o> {
    pub fn open(opts: &'o LdapOptions) -> Result<Session<'o>, Failure> {
        let key = (opts.urls.clone(), opts.user.clone().unwrap_or_default());
        if opts.use_pool {
            let reused = pool().lock().ok().and_then(|mut p| {
                let idle = p.get_mut(&key)?;
                while let Some(c) = idle.pop() {
                    if c.opened.elapsed() < opts.pool_connection_lifetime {
                        return Some(c);
                    }
                }
                None
            });
            if let Some(mut c) = reused
                && !c.conn.is_closed()
            {
                return Ok(Session {
                    opts,
                    conn: Some(c),
                });
            }
        }
        let (dn, pw) = match (&opts.user, &opts.password) {
            (Some(u), Some(p)) => (u.as_str(), p.as_str()),
            _ => ("", ""),
        };
        let conn = open(opts, dn, pw).map_err(|e| match e {
            // The service account refused is the operator's problem, not the caller's.
            Failure::Refused => Unreachable(
                "Unable to authenticate against Identity backend - Invalid username or password"
                    .into(),
            ),
            other => other,
        })?;
        Ok(Session {
            opts,
            conn: Some(Pooled {
                conn,
                opened: Instant::now(),
            }),
        })
    }

    /// Entries under `base` matching `filter`, with the named attributes. `limit` asks the
    /// server for at most that many (Keystone's `sizelimit` from a list limit).
    pub fn search(
        &mut self,
        base: &str,
        scope: Scope,
        filter: &str,
        attrs: &[&str],
        limit: Option<i32>,
    ) -> Result<Vec<SearchEntry>, Failure> {
        let result = self.search_inner(base, scope, filter, attrs, limit);
        if matches!(result, Err(Unreachable(_))) {
            // A broken connection never goes back to the pool.
            self.conn = None;
        }
        result
    }

    fn search_inner(
        &mut self,
        base: &str,
        scope: Scope,
        filter: &str,
        attrs: &[&str],
        limit: Option<i32>,
    ) -> Result<Vec<SearchEntry>, Failure> {
        let page_size = self.opts.page_size;
        let conn = &mut self
            .conn
            .as_mut()
            .ok_or_else(|| Unreachable("connection lost".into()))?
            .conn;
        if let Some(l) = limit {
            conn.with_search_options(ldap3::SearchOptions::new().sizelimit(l));
        }
        if let Some(t) = self.opts.connection_timeout {
            // A directory that stops answering mid-search must not hold the request forever.
            conn.with_timeout(t);
        }
        let attrs: Vec<String> = attrs.iter().map(|a| a.to_string()).collect();
        let mut adapters: Vec<Box<dyn Adapter<'_, String, Vec<String>>>> =
            vec![Box::new(EntriesOnly::new())];
        if page_size > 0 {
            adapters.push(Box::new(PagedResults::new(page_size)));
        }
        let mut stream = conn
            .streaming_search_with(adapters, base, scope, filter, attrs)
            .map_err(unreachable)?;
        let mut entries = Vec::new();
        loop {
            match stream.next() {
                Ok(Some(e)) => entries.push(SearchEntry::construct(e)),
                Ok(None) => break,
                Err(e) => return Err(unreachable(e)),
            }
        }
        let done = stream.result();
        match done.rc {
            0 => Ok(entries),
            NO_SUCH_OBJECT => Ok(Vec::new()),
            SIZE_LIMIT_EXCEEDED if limit.is_some() => Ok(entries),
            _ => Err(unreachable(format!("search: {done}"))),
        }
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        let Some(c) = self.conn.take() else { return };
        if !self.opts.use_pool {
            return;
        }
        let key = (
            self.opts.urls.clone(),
            self.opts.user.clone().unwrap_or_default(),
        );
        if let Ok(mut p) = pool().lock() {
            let idle = p.entry(key).or_default();
            if idle.len() < self.opts.pool_size {
                idle.push(c);
            }
        }
    }
}

/// Keystone's end-user authentication: a bind as the user's DN on a connection of its own.
/// An empty password is refused before anything is sent (an anonymous bind would succeed).
pub fn bind_as(opts: &LdapOptions, dn: &str, password: &str) -> Result<(), Failure> {
    if dn.is_empty() || password.is_empty() {
        return Err(Failure::Refused);
    }
    let mut conn = open(opts, dn, password)?;
    let _ = conn.unbind();
    Ok(())
}

pub fn scope(opts: &LdapOptions) -> Scope {
    match opts.query_scope {
        QueryScope::One => Scope::OneLevel,
        QueryScope::Sub => Scope::Subtree,
    }
}
