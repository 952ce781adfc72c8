//! `[database] connection` URLs as keystone.conf writes them (SQLAlchemy style:
//! `sqlite:////abs/path.db`, `postgresql+psycopg2://…`, `mysql+pymysql://…?charset=utf8`),
//! turned into what diesel's connections accept.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    Mysql,
}

impl Backend {
    pub fn cargo_feature(self) -> &'static str {
        match self {
            Backend::Sqlite => "(default)",
            Backend::Postgres => "postgres",
            Backend::Mysql => "mysql",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionUrl {
    pub backend: Backend,
    /// What diesel's `establish` takes.
    pub diesel_url: String,
}

impl ConnectionUrl {
    pub fn is_sqlite_memory(&self) -> bool {
        self.backend == Backend::Sqlite
            && (self.diesel_url == ":memory:" || self.diesel_url.is_empty())
    }

    /// The SQLite file, if this is a file-backed SQLite database.
    pub fn sqlite_path(&self) -> Option<&str> {
        (self.backend == Backend::Sqlite && !self.is_sqlite_memory())
            .then_some(self.diesel_url.as_str())
    }
}

pub fn parse_connection_url(url: &str) -> Result<ConnectionUrl, String> {
    let url = url.trim();
    let (scheme, rest) = match url.split_once("://") {
        Some(parts) => parts,
        // A bare path is a SQLite file.
        None => {
            return Ok(ConnectionUrl {
                backend: Backend::Sqlite,
                diesel_url: url.to_string(),
            });
        }
    };
    // SQLAlchemy's "dialect+driver": the driver is Python's business, not ours.
    let dialect = scheme
        .split('+')
        .next()
        .unwrap_or(scheme)
        .to_ascii_lowercase();
    match dialect.as_str() {
        "sqlite" => {
            // sqlite:///relative.db, sqlite:////absolute.db, sqlite:// = in memory.
            let path = rest.strip_prefix('/').unwrap_or(rest);
            let path = path.split('?').next().unwrap_or(path);
            let path = if path.is_empty() { ":memory:" } else { path };
            Ok(ConnectionUrl {
                backend: Backend::Sqlite,
                diesel_url: path.to_string(),
            })
        }
        "postgresql" | "postgres" => Ok(ConnectionUrl {
            backend: Backend::Postgres,
            diesel_url: format!("postgresql://{rest}"),
        }),
        "mysql" | "mariadb" => {
            // oslo.db URLs carry PyMySQL options (charset=utf8, plugin=…) that libmysqlclient
            // does not know; keep only the ones diesel understands.
            let (base, query) = rest.split_once('?').unwrap_or((rest, ""));
            let kept: Vec<&str> = query
                .split('&')
                .filter(|kv| {
                    let key = kv.split('=').next().unwrap_or("");
                    matches!(
                        key,
                        "unix_socket" | "ssl_mode" | "ssl_ca" | "ssl_cert" | "ssl_key"
                    )
                })
                .collect();
            let diesel_url = if kept.is_empty() {
                format!("mysql://{base}")
            } else {
                format!("mysql://{base}?{}", kept.join("&"))
            };
            Ok(ConnectionUrl {
                backend: Backend::Mysql,
                diesel_url,
            })
        }
        other => Err(format!(
            "unsupported database dialect '{other}' in [database] connection"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlalchemy_sqlite_urls() {
        assert_eq!(
            parse_connection_url("sqlite:////var/tmp/k.db")
                .unwrap()
                .diesel_url,
            "/var/tmp/k.db"
        );
        assert_eq!(
            parse_connection_url("sqlite:///var/k.db")
                .unwrap()
                .diesel_url,
            "var/k.db"
        );
        assert!(
            parse_connection_url("sqlite://")
                .unwrap()
                .is_sqlite_memory()
        );
    }

    #[test]
    fn drivers_and_python_options_are_dropped() {
        let u =
            parse_connection_url("mysql+pymysql://root:@127.0.0.1/keystone?charset=utf8").unwrap();
        assert_eq!(u.backend, Backend::Mysql);
        assert_eq!(u.diesel_url, "mysql://root:@127.0.0.1/keystone");
        let u = parse_connection_url("postgresql+psycopg2://postgres@127.0.0.1/test").unwrap();
        assert_eq!(u.diesel_url, "postgresql://postgres@127.0.0.1/test");
    }

    #[test]
    fn unknown_dialect_is_refused() {
        assert!(parse_connection_url("oracle://x").is_err());
    }
}
