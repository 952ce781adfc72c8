//! A real keystone-rs on a random loopback port, on the backend named by
//! `KEYSTONE_TEST_DATABASE` (a server URL; each test server gets its own fresh database) or
//! on a temporary SQLite file. Requests go over HTTP, as a client's would.

use keystone_rs::config::Config;
use keystone_rs::db::Db;
use keystone_rs::manage::{self, bootstrap};
use keystone_rs::server;
use keystone_rs::state::AppState;
use serde_json::Value;
use std::sync::mpsc;

pub const ADMIN_PASSWORD: &str = "secretadmin";

#[allow(dead_code)] // fields kept for tests that need the config or the state directory
pub struct TestServer {
    pub base: String,
    pub config: Config,
    pub dir: tempfile::TempDir,
    agent: ureq::Agent,
    running: Running,
}

/// An in-process server, or the real binary in a child process (to see its own logging).
enum Running {
    InProcess(actix_web::dev::ServerHandle),
    Child(std::process::Child),
}

impl Drop for TestServer {
    /// Stop the server so its connection pool closes: a test run starts ~100 servers and
    /// PostgreSQL allows 100 connections.
    fn drop(&mut self) {
        match &mut self.running {
            Running::InProcess(handle) => {
                let handle = handle.clone();
                let _ = std::thread::spawn(move || {
                    actix_web::rt::System::new().block_on(handle.stop(false))
                })
                .join();
            }
            Running::Child(child) => {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn subject_token(&self) -> String {
        self.header("X-Subject-Token")
            .expect("X-Subject-Token")
            .to_string()
    }
}

/// The database server the tests run on (`KEYSTONE_TEST_DATABASE`), if not SQLite.
pub fn test_database_server() -> Option<String> {
    std::env::var("KEYSTONE_TEST_DATABASE")
        .ok()
        .filter(|u| !u.is_empty())
}

/// `KEYSTONE_TEST_TOKEN_PROVIDER=jws`: every test server issues and validates JWS tokens
/// (`[token] provider = jws`) — the token conformance run a second time on the other
/// format.
pub fn jws_provider() -> bool {
    std::env::var("KEYSTONE_TEST_TOKEN_PROVIDER").is_ok_and(|p| p == "jws")
}

/// Keystone's 404 message for a token no key opens: Fernet's, or the JWS provider's
/// `TokenNotFound`, which quotes the token.
pub fn unrecognised_token_message(token: &str) -> String {
    if jws_provider() {
        format!("Could not find token: {token}.")
    } else {
        "Could not recognize Fernet token".to_string()
    }
}

/// Under [`jws_provider`], a fresh key pair in `dir` and the configuration naming it.
fn token_provider_conf(dir: &std::path::Path) -> String {
    if !jws_provider() {
        return String::new();
    }
    let (private, public) = (dir.join("jws-keys/private"), dir.join("jws-keys/public"));
    std::fs::create_dir_all(&private).expect("jws private key repository");
    std::fs::create_dir_all(&public).expect("jws public key repository");
    keystone_rs::jws::create_keypair(&private, keystone_rs::jws::Algorithm::ES256, false)
        .expect("create_jws_keypair");
    std::fs::rename(private.join("public.pem"), public.join("public.pem"))
        .expect("public key into its repository");
    format!(
        "[token]\nprovider = jws\n[jwt_tokens]\njws_private_key_repository = {}\njws_public_key_repository = {}\n",
        private.display(),
        public.display()
    )
}

/// A fresh database on `server_url`, or a SQLite file in `dir`.
fn database_url(dir: &std::path::Path, server_url: Option<&str>) -> String {
    let Some(server_url) = server_url else {
        return format!("sqlite:///{}", dir.join("keystone.db").display());
    };
    let name = format!("ks_test_{}", uuid::Uuid::new_v4().simple());
    let db = Db::open(server_url, 1).expect("test database server URL");
    db.read_blocking(|conn| {
        use diesel::connection::SimpleConnection;
        conn.batch_execute(&format!("CREATE DATABASE {name}"))
            .map_err(keystone_rs::error::Error::from)
    })
    .expect("create test database");
    let (base, _) = server_url
        .rsplit_once('/')
        .expect("URL with a database name");
    format!("{base}/{name}")
}

impl TestServer {
    pub fn start() -> TestServer {
        Self::start_with("")
    }

    /// Start with extra keystone.conf text appended to the test configuration.
    pub fn start_with(extra_conf: &str) -> TestServer {
        let (config, listener, dir) = Self::deploy(test_database_server().as_deref(), extra_conf);
        Self::serve(config, listener, dir)
    }

    /// Start on a fresh database of this server (a URL as `KEYSTONE_TEST_DATABASE`).
    #[allow(dead_code)] // used by some test modules only
    pub fn start_on(server_url: &str, extra_conf: &str) -> TestServer {
        let (config, listener, dir) = Self::deploy(Some(server_url), extra_conf);
        Self::serve(config, listener, dir)
    }

    /// A fresh deployment (database, keys, bootstrap) and the listener it will serve on.
    fn deploy(
        server_url: Option<&str>,
        extra_conf: &str,
    ) -> (Config, std::net::TcpListener, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("tempdir");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let url = database_url(dir.path(), server_url);
        // Tests arrange rows with direct writes (`db()`), which a server notices only at its
        // next look at the shared change marker: look at every request, unless the test
        // configures the caches itself.
        let cache_conf = if extra_conf.contains("[validation_cache]") {
            ""
        } else {
            "[validation_cache]\nsync_interval_ms = 0\n"
        };
        let credential_conf = if extra_conf.contains("[credential]") {
            String::new()
        } else {
            format!(
                "[credential]\nkey_repository = {}\n",
                dir.path().join("credential-keys").display()
            )
        };
        // Before the test's own text, which may set `[token]` options of its own.
        let provider_conf = token_provider_conf(dir.path());
        let conf = format!(
            "[database]\nconnection = {url}\nmax_pool_size = 4\n[fernet_tokens]\nkey_repository = {}\n[identity]\npassword_hash_rounds = 4\n{credential_conf}{cache_conf}{provider_conf}{extra_conf}\n",
            dir.path().join("fernet-keys").display()
        );
        let config = Config::parse(&conf, None).expect("config");
        manage::fernet_setup(&config).expect("fernet_setup");
        manage::credential_setup(&config).expect("credential_setup");
        manage::db_sync(&config).expect("db_sync");
        let db = Db::open(&config.database.connection, 2).expect("db");
        let endpoint = format!("http://127.0.0.1:{port}/v3");
        let mut opts = bootstrap::BootstrapOptions::with_password(ADMIN_PASSWORD.into());
        opts.region_id = Some("RegionOne".into());
        opts.public_url = Some(endpoint.clone());
        opts.internal_url = Some(endpoint.clone());
        opts.admin_url = Some(endpoint);
        bootstrap::run(&config, &db, &opts).expect("bootstrap");
        std::fs::write(dir.path().join("keystone.conf"), conf).expect("write keystone.conf");
        (config, listener, dir)
    }

    /// The `keystone-rs serve` binary on a fresh deployment, with `env` set and its stderr
    /// (the log) written to `log`.
    #[allow(dead_code)] // used by some test modules only
    pub fn spawn_binary(
        extra_conf: &str,
        env: &[(&str, &str)],
        log: &std::path::Path,
    ) -> TestServer {
        let (config, listener, dir) = Self::deploy(test_database_server().as_deref(), extra_conf);
        let port = listener.local_addr().expect("addr").port();
        // The child binds the port itself; nothing else asks for this one in between.
        drop(listener);
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_keystone-rs"))
            .arg("serve")
            .arg("--config-file")
            .arg(dir.path().join("keystone.conf"))
            .arg("--bind")
            .arg(format!("127.0.0.1:{port}"))
            .envs(env.iter().copied())
            .stdin(std::process::Stdio::null())
            .stdout(std::fs::File::create(log).expect("log file"))
            .stderr(
                std::fs::File::options()
                    .append(true)
                    .open(log)
                    .expect("log file"),
            )
            .spawn()
            .expect("spawn keystone-rs");
        let server = TestServer {
            base: format!("http://127.0.0.1:{port}"),
            config,
            dir,
            agent: Self::agent(),
            running: Running::Child(child),
        };
        for _ in 0..100 {
            let up = std::net::TcpStream::connect(("127.0.0.1", port)).is_ok();
            if up {
                return server;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!(
            "keystone-rs did not listen on {port}: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
    }

    /// The `keystone-rs serve` process of [`TestServer::spawn_binary`].
    #[allow(dead_code)] // used by some test modules only
    pub fn child(&mut self) -> &mut std::process::Child {
        match &mut self.running {
            Running::Child(child) => child,
            Running::InProcess(_) => panic!("an in-process server has no child process"),
        }
    }

    fn agent() -> ureq::Agent {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into()
    }

    /// Another node of this deployment: the same database and Fernet key repository, its
    /// own port — a second keystone-rs behind the same load balancer.
    #[allow(dead_code)] // used by some test modules only
    pub fn second_node(&self) -> TestServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        Self::serve(
            self.config.clone(),
            listener,
            tempfile::tempdir().expect("tempdir"),
        )
    }

    fn serve(
        config: Config,
        listener: std::net::TcpListener,
        dir: tempfile::TempDir,
    ) -> TestServer {
        let port = listener.local_addr().expect("addr").port();
        let state = AppState::open(config.clone()).expect("state");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let srv = server::build(state, listener).expect("server");
                let _ = tx.send(srv.handle());
                let _ = srv.await;
            })
        });
        let handle = rx.recv().expect("server started");
        let (scheme, agent) = match &config.ssl.certfile {
            // The test CA in `[ssl] ca_certs` signed the server's certificate too.
            Some(_) => ("https", Self::tls_agent_for(&config, None)),
            None => ("http", Self::agent()),
        };
        TestServer {
            base: format!("{scheme}://127.0.0.1:{port}"),
            config,
            dir,
            agent,
            running: Running::InProcess(handle),
        }
    }

    fn tls_agent_for(config: &Config, client: Option<(&str, &str)>) -> ureq::Agent {
        use ureq::tls::{Certificate, ClientCert, PrivateKey, RootCerts, TlsConfig, TlsProvider};
        let ca_file = config
            .ssl
            .ca_certs
            .as_ref()
            .expect("[ssl] ca_certs in TLS tests");
        let ca_pem = std::fs::read(ca_file).expect("read CA");
        let ca = Certificate::from_pem(&ca_pem).expect("CA PEM");
        let mut tls = TlsConfig::builder()
            .provider(TlsProvider::Rustls)
            .root_certs(RootCerts::new_with_certs(&[ca]));
        if let Some((cert_pem, key_pem)) = client {
            let cert = Certificate::from_pem(cert_pem.as_bytes()).expect("client cert PEM");
            let key = PrivateKey::from_pem(key_pem.as_bytes()).expect("client key PEM");
            tls = tls.client_cert(Some(ClientCert::new_with_certs(&[cert], key)));
        }
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .tls_config(tls.build())
            .build()
            .into()
    }

    /// A TLS client of this server presenting `client` (certificate PEM, key PEM), or no
    /// certificate.
    #[allow(dead_code)] // used by some test modules only
    pub fn tls_agent(&self, client: Option<(&str, &str)>) -> ureq::Agent {
        Self::tls_agent_for(&self.config, client)
    }

    fn finish(
        method: &str,
        path: &str,
        resp: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Response {
        let mut resp = resp.expect("HTTP exchange");
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        let body = resp.body_mut().read_to_string().unwrap_or_default();
        let response = Response {
            status,
            headers,
            body,
        };
        crate::openapi::check(
            method,
            path,
            status,
            response.header("content-type"),
            &response.body,
        );
        response
    }

    /// Any request: method, path, headers, raw body.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Response {
        self.request_via(&self.agent, method, path, headers, body)
            .expect("HTTP exchange")
    }

    /// [`Self::request`] through another client (a TLS agent with a client certificate);
    /// a connection or handshake failure is the error.
    pub fn request_via(
        &self,
        agent: &ureq::Agent,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<Response, ureq::Error> {
        let url = format!("{}{}", self.base, path);
        let mut builder = ureq::http::Request::builder().method(method).uri(&url);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let req = builder
            .body(body.map(|b| b.to_vec()).unwrap_or_default())
            .expect("request");
        let resp = agent.run(req)?;
        Ok(Self::finish(method, path, Ok(resp)))
    }

    pub fn post_json(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        let text = body.to_string();
        let mut headers = vec![("Content-Type", "application/json")];
        if let Some(t) = token {
            headers.push(("X-Auth-Token", t));
        }
        self.request("POST", path, &headers, Some(text.as_bytes()))
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> Response {
        let headers: Vec<(&str, &str)> =
            token.map(|t| vec![("X-Auth-Token", t)]).unwrap_or_default();
        self.request("GET", path, &headers, None)
    }

    /// GET/HEAD/DELETE /v3/auth/tokens with a caller and a subject token.
    pub fn tokens(&self, method: &str, query: &str, caller: &str, subject: &str) -> Response {
        self.request(
            method,
            &format!("/v3/auth/tokens{query}"),
            &[("X-Auth-Token", caller), ("X-Subject-Token", subject)],
            None,
        )
    }

    pub fn password_auth(&self, scope: Option<Value>) -> Response {
        let mut auth = serde_json::json!({"identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"id": "default"}, "password": ADMIN_PASSWORD}}}});
        if let Some(scope) = scope {
            auth["scope"] = scope;
        }
        self.post_json(
            "/v3/auth/tokens",
            None,
            &serde_json::json!({ "auth": auth }),
        )
    }

    /// A project-scoped admin token.
    pub fn admin_token(&self) -> String {
        let r = self.password_auth(Some(
            serde_json::json!({"project": {"name": "admin", "domain": {"id": "default"}}}),
        ));
        assert_eq!(r.status, 201, "{}", r.body);
        r.subject_token()
    }
}

impl TestServer {
    /// Direct database access, for arranging what no API serves yet.
    pub fn db(&self) -> Db {
        Db::open(&self.config.database.connection, 1).expect("db")
    }

    /// Give the admin user the admin role on the default domain (as the captures did).
    pub fn grant_admin_on_default_domain(&self) {
        use keystone_rs::assignment::store as roles;
        self.db()
            .write_blocking(|conn| {
                let user = keystone_rs::identity::store::find_by_name(conn, "default", "admin")?
                    .expect("admin");
                let role = roles::find_global_role_by_name(conn, "admin")?.expect("admin role");
                roles::grant(
                    conn,
                    roles::AssignmentType::UserDomain,
                    &user.id,
                    "default",
                    &role.id,
                    false,
                )
            })
            .expect("grant");
    }
}

/// The exact body a captured Python Keystone exchange returned.
pub fn vector_body(name: &str) -> String {
    let path = format!(
        "{}/../tests/vectors/http/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let v: Value = serde_json::from_str(&text).expect("vector JSON");
    v["body_raw"].as_str().expect("body_raw").to_string()
}

pub fn vector_status(name: &str) -> u16 {
    let path = format!(
        "{}/../tests/vectors/http/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("vector"))
        .expect("vector JSON");
    v["status"]
        .as_str()
        .and_then(|s| s.split(' ').next())
        .and_then(|s| s.parse().ok())
        .expect("status")
}

/// Rows the assignment tests need before the identity/resource APIs exist: direct store
/// writes, each returning the new id.
#[allow(dead_code)]
impl TestServer {
    pub fn make_domain(&self, name: &str) -> String {
        self.make_project_row(name, "<<keystone.domain.root>>", None, true)
    }

    pub fn make_project(&self, name: &str, domain_id: &str, parent_id: Option<&str>) -> String {
        self.make_project_row(name, domain_id, Some(parent_id.unwrap_or(domain_id)), false)
    }

    fn make_project_row(
        &self,
        name: &str,
        domain_id: &str,
        parent_id: Option<&str>,
        is_domain: bool,
    ) -> String {
        use keystone_rs::resource::store::{NewProject, insert};
        let id = uuid::Uuid::new_v4().simple().to_string();
        let p = NewProject {
            id: &id,
            name,
            description: "",
            enabled: true,
            domain_id,
            parent_id,
            is_domain,
        };
        self.db()
            .write_blocking(|conn| insert(conn, &p))
            .expect("project row");
        id
    }

    pub fn make_user(&self, name: &str, domain_id: &str, password: &str) -> String {
        self.make_user_hashed(name, domain_id, password, &self.config.identity)
    }

    /// A user whose password hash has this many bcrypt rounds: each login costs 2^rounds.
    pub fn make_slow_user(&self, name: &str, password: &str, rounds: u32) -> String {
        let mut identity = self.config.identity.clone();
        identity.password_hash_rounds = Some(rounds);
        self.make_user_hashed(name, "default", password, &identity)
    }

    fn make_user_hashed(
        &self,
        name: &str,
        domain_id: &str,
        password: &str,
        identity: &keystone_rs::config::IdentitySection,
    ) -> String {
        use keystone_rs::identity::{NewUser, password::hash_password, store::create_local};
        let id = uuid::Uuid::new_v4().simple().to_string();
        let hash = hash_password(password, identity).expect("hash");
        let new = NewUser {
            id: id.clone(),
            domain_id: domain_id.into(),
            name: name.into(),
            enabled: true,
            default_project_id: None,
            extra: Default::default(),
            password_hash: Some(hash),
        };
        self.db()
            .write_blocking(|conn| create_local(conn, &new))
            .expect("user row");
        id
    }

    pub fn make_group(&self, name: &str, domain_id: &str, members: &[&str]) -> String {
        use diesel::prelude::*;
        use keystone_rs::db::schema::{group, user_group_membership as m};
        let id = uuid::Uuid::new_v4().simple().to_string();
        self.db()
            .write_blocking(|conn| {
                diesel::insert_into(group::table)
                    .values((
                        group::id.eq(&id),
                        group::domain_id.eq(domain_id),
                        group::name.eq(name),
                        group::extra.eq(Some("{}")),
                    ))
                    .execute(conn)?;
                for user in members {
                    diesel::insert_into(m::table)
                        .values((m::user_id.eq(*user), m::group_id.eq(&id)))
                        .execute(conn)?;
                }
                Ok(())
            })
            .expect("group rows");
        id
    }
}

/// A request with the caller's token and, when given, a JSON body.
#[allow(dead_code)] // used by some test modules only
pub fn send(
    s: &TestServer,
    method: &str,
    path: &str,
    token: &str,
    body: Option<&Value>,
) -> Response {
    let text = body.map(|b| b.to_string());
    let mut headers = vec![("X-Auth-Token", token)];
    if text.is_some() {
        headers.push(("Content-Type", "application/json"));
    }
    s.request(method, path, &headers, text.as_deref().map(str::as_bytes))
}

/// The id of the (global) role with this name, through the role API.
#[allow(dead_code)]
pub fn role_id(s: &TestServer, admin: &str, name: &str) -> String {
    let r = s.get(&format!("/v3/roles?name={name}"), Some(admin));
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["roles"][0]["id"].as_str().unwrap().to_string()
}

/// Each `web::resource("…")` of a route file's source: its path, and the source after it
/// (its routes, up to the next resource). rustfmt may put a long path on a line of its own.
#[allow(dead_code)] // used by the route scans (api_ref, policy_coverage)
pub fn web_resources(source: &str) -> Vec<(&str, &str)> {
    source
        .split("web::resource(")
        .skip(1)
        .filter_map(|chunk| chunk.trim_start().strip_prefix('"')?.split_once('"'))
        .collect()
}
