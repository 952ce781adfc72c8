//! The OpenID provider of these tests: npm `oidc-provider` (tests/oidc/package-lock.json),
//! installed once into `target/oidc-provider` (or `$KSRS_OIDC_PROVIDER_DIR`) with `npm ci`,
//! and run with tests/oidc/provider.mjs. Each `Provider` is its own node process on its own
//! port, killed when dropped.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

pub const CLIENT_ID: &str = "keystone";
pub const CLIENT_SECRET: &str = "keystone-test-secret";

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn sources() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .join("tests/oidc")
}

fn install_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("KSRS_OIDC_PROVIDER_DIR") {
        return dir.into();
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .unwrap()
                .join("target")
        });
    target.join("oidc-provider")
}

/// The directory with node_modules and provider.mjs; `npm ci` when the pinned lock file
/// differs from what was installed.
fn installed() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = install_dir();
        std::fs::create_dir_all(&dir).unwrap();
        let src = sources();
        let lock = std::fs::read(src.join("package-lock.json")).unwrap();
        let current = std::fs::read(dir.join("package-lock.json")).ok();
        if current.as_deref() != Some(lock.as_slice())
            || !dir
                .join("node_modules/oidc-provider/package.json")
                .is_file()
        {
            std::fs::copy(src.join("package.json"), dir.join("package.json")).unwrap();
            std::fs::copy(src.join("package-lock.json"), dir.join("package-lock.json")).unwrap();
            let out = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(&dir)
                .output()
                .expect("npm (Node.js 20+) is needed for the OIDC tests");
            assert!(
                out.status.success(),
                "npm ci in {}: {}",
                dir.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        // Next to node_modules: ES modules resolve packages from the script's directory.
        for script in ["provider.mjs", "websso_browser.mjs"] {
            std::fs::copy(src.join(script), dir.join(script)).unwrap();
        }
        dir
    })
}

pub struct Provider {
    pub issuer: String,
    pub port: u16,
    pub keys_file: PathBuf,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Provider {
    /// A provider with fresh keys on a free port.
    pub fn start() -> Provider {
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("keys.json");
        Provider::spawn(free_port(), keys, dir)
    }

    /// A provider on `port` that also signs people in with a browser, sending them back to
    /// `redirect_uris` (see provider.mjs: clients `keystone-websso` and
    /// `keystone-websso-post`, the account carol / carol-password).
    #[allow(dead_code)] // used by the api tests only
    pub fn start_for_browsers(port: u16, redirect_uris: &[String]) -> Provider {
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("keys.json");
        Provider::spawn_with(port, keys, dir, redirect_uris)
    }

    /// Another provider (another port, so another issuer) signing with the keys of `keys_file`.
    pub fn start_with_keys(keys_file: &Path) -> Provider {
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("keys.json");
        std::fs::copy(keys_file, &keys).unwrap();
        Provider::spawn(free_port(), keys, dir)
    }

    /// The same issuer (same port) restarted with new keys: a key rotation.
    pub fn restart_with_new_keys(mut self) -> Provider {
        let port = self.port;
        self.stop();
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("keys.json");
        Provider::spawn(port, keys, dir)
    }

    fn spawn(port: u16, keys_file: PathBuf, dir: tempfile::TempDir) -> Provider {
        Provider::spawn_with(port, keys_file, dir, &[])
    }

    fn spawn_with(
        port: u16,
        keys_file: PathBuf,
        dir: tempfile::TempDir,
        redirect_uris: &[String],
    ) -> Provider {
        let home = installed();
        let log = dir.path().join("provider.log");
        let mut child = Command::new("node")
            .arg(home.join("provider.mjs"))
            .arg(port.to_string())
            .arg(&keys_file)
            .args(redirect_uris)
            .current_dir(home)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("node (Node.js 20+) is needed for the OIDC tests");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if line.trim() == "listening" {
                    let _ = tx.send(());
                }
            }
        });
        if rx.recv_timeout(Duration::from_secs(30)).is_err() {
            let _ = child.kill();
            panic!(
                "the OpenID provider did not start: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        Provider {
            issuer: format!("http://127.0.0.1:{port}"),
            port,
            keys_file,
            child,
            _dir: dir,
        }
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// A client_credentials access token for `resource` (see provider.mjs for what each
    /// resource's tokens are like).
    pub fn token(&self, resource: &str) -> String {
        use base64::Engine;
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
        let mut response = ureq::post(format!("{}/token", self.issuer))
            .header("Authorization", format!("Basic {basic}"))
            .send_form([
                ("grant_type", "client_credentials"),
                ("scope", "api"),
                ("resource", resource),
            ])
            .unwrap();
        let body: serde_json::Value = response.body_mut().read_json().unwrap();
        body["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no token for {resource}: {body}"))
            .to_string()
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Run tests/oidc/websso_browser.mjs: chromium signs `username` in at `websso_url` and
/// `decision` ("allow" or "deny") answers the consent page; what it saw, as JSON.
#[allow(dead_code)] // used by the api tests only
pub fn browser_login(
    websso_url: &str,
    dashboard_port: u16,
    (username, password): (&str, &str),
    decision: &str,
) -> serde_json::Value {
    let home = installed();
    let out = Command::new("node")
        .arg(home.join("websso_browser.mjs"))
        .args([
            websso_url,
            &dashboard_port.to_string(),
            username,
            password,
            decision,
        ])
        .current_dir(home)
        .output()
        .expect("node (Node.js 20+) is needed for the browser test");
    assert!(
        out.status.success(),
        "the browser login failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}
