//! A database server of the test's own, on a free loopback port with its data under a
//! temporary directory, that the test may crash and restart: the shared servers on 5432 and
//! 3306 serve everyone else's tests and are never stopped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Postgres,
    Mariadb,
}

pub struct PrivateDb {
    kind: Kind,
    port: u16,
    dir: tempfile::TempDir,
    /// PostgreSQL's bin directory.
    pg_bin: Option<PathBuf>,
    /// mariadbd (PostgreSQL runs detached under pg_ctl).
    mariadbd: Option<Child>,
}

impl PrivateDb {
    /// The server binaries, or why this machine cannot run a private server.
    fn binaries(kind: Kind) -> Result<Option<PathBuf>, String> {
        match kind {
            Kind::Postgres => {
                let mut bins: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
                    .map_err(|_| "no /usr/lib/postgresql".to_string())?
                    .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
                    .filter(|bin| bin.join("initdb").exists() && bin.join("pg_ctl").exists())
                    .collect();
                bins.sort_by_key(|b| {
                    b.parent()
                        .and_then(|v| v.file_name())
                        .and_then(|v| v.to_str())
                        .and_then(|v| v.parse::<u32>().ok())
                });
                bins.pop()
                    .map(Some)
                    .ok_or_else(|| "no initdb/pg_ctl under /usr/lib/postgresql/*/bin".into())
            }
            Kind::Mariadb => {
                for tool in ["/usr/bin/mariadb-install-db", "/usr/sbin/mariadbd"] {
                    if !Path::new(tool).exists() {
                        return Err(format!("no {tool}"));
                    }
                }
                Ok(None)
            }
        }
    }

    /// Initialise and start a server; `Err` says which binaries are missing (skip).
    pub fn start(kind: Kind) -> Result<PrivateDb, String> {
        let pg_bin = Self::binaries(kind)?;
        let dir = tempfile::Builder::new()
            .prefix("ksrs-private-db-")
            .tempdir()
            .expect("tempdir");
        let mut db = PrivateDb {
            kind,
            port: free_port(),
            dir,
            pg_bin,
            mariadbd: None,
        };
        match kind {
            Kind::Postgres => db.init_postgres(),
            Kind::Mariadb => db.init_mariadb(),
        }
        db.start_server();
        Ok(db)
    }

    /// The server URL tests give to `TestServer::start_on`.
    pub fn url(&self) -> String {
        match self.kind {
            Kind::Postgres => format!("postgresql://postgres@127.0.0.1:{}/postgres", self.port),
            Kind::Mariadb => format!("mysql://root@127.0.0.1:{}/mysql", self.port),
        }
    }

    /// Crash the server: no clean shutdown, so restarting runs crash recovery.
    pub fn crash(&mut self) {
        match self.kind {
            Kind::Postgres => self.pg_ctl(&["-m", "immediate", "-w", "stop"]),
            Kind::Mariadb => {
                if let Some(mut child) = self.mariadbd.take() {
                    let _ = child.kill();
                    let _ = child.wait();
                }
            }
        }
    }

    pub fn start_server(&mut self) {
        match self.kind {
            Kind::Postgres => {
                let options = format!(
                    "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=40",
                    self.port,
                    self.dir.path().display()
                );
                let log = self.dir.path().join("server.log");
                let data = self.data();
                let args = [
                    "-D",
                    path(&data),
                    "-l",
                    path(&log),
                    "-w",
                    "-o",
                    &options,
                    "start",
                ];
                self.pg_ctl_args(&args);
            }
            Kind::Mariadb => {
                let log = std::fs::File::create(self.dir.path().join("server.log")).expect("log");
                let mut cmd = Command::new("/usr/sbin/mariadbd");
                cmd.arg("--no-defaults")
                    .arg(format!("--datadir={}", self.data().display()))
                    .arg(format!("--port={}", self.port))
                    .arg("--bind-address=127.0.0.1")
                    .arg(format!(
                        "--socket={}",
                        self.dir.path().join("mysqld.sock").display()
                    ))
                    .arg(format!(
                        "--pid-file={}",
                        self.dir.path().join("mysqld.pid").display()
                    ))
                    .arg("--skip-log-bin")
                    .arg("--innodb-buffer-pool-size=32M")
                    .arg("--max-connections=40");
                if is_root() {
                    cmd.arg("--user=root");
                }
                let child = cmd
                    .stdin(Stdio::null())
                    .stdout(log.try_clone().expect("log"))
                    .stderr(log)
                    .spawn()
                    .expect("spawn mariadbd");
                self.mariadbd = Some(child);
            }
        }
        self.wait_until_serving();
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn init_postgres(&mut self) {
        if is_root() {
            // initdb refuses root: the cluster belongs to the postgres account.
            let owner = Command::new("id")
                .args(["-u", "postgres"])
                .output()
                .ok()
                .filter(|o| o.status.success())
                .and_then(|o| String::from_utf8(o.stdout).ok())
                .and_then(|s| s.trim().parse::<u32>().ok())
                .expect("running as root needs a `postgres` OS account for initdb");
            std::os::unix::fs::chown(self.dir.path(), Some(owner), None).expect("chown");
        }
        let initdb = self.pg_bin.as_ref().expect("pg bin").join("initdb");
        let data = self.data();
        let args = [
            path(&initdb),
            "-D",
            path(&data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-sync",
        ];
        run_checked(as_postgres(&args));
    }

    fn init_mariadb(&mut self) {
        let mut cmd = Command::new("/usr/bin/mariadb-install-db");
        cmd.arg("--no-defaults")
            .arg(format!("--datadir={}", self.data().display()))
            .arg("--auth-root-authentication-method=normal")
            .arg("--skip-test-db");
        if is_root() {
            cmd.arg("--user=root");
        }
        run_checked(cmd);
    }

    fn pg_ctl(&self, args: &[&str]) {
        let data = self.data();
        let mut all = vec!["-D", path(&data)];
        all.extend_from_slice(args);
        self.pg_ctl_args(&all);
    }

    fn pg_ctl_args(&self, args: &[&str]) {
        let pg_ctl = self.pg_bin.as_ref().expect("pg bin").join("pg_ctl");
        let mut all = vec![path(&pg_ctl)];
        all.extend_from_slice(args);
        run_checked(as_postgres(&all));
    }

    /// Up when it accepts a login (after crash recovery).
    fn wait_until_serving(&mut self) {
        let started = Instant::now();
        let url = self.url();
        loop {
            let db = keystone_rs::db::Db::open(&url, 1).expect("url");
            if db
                .read_blocking(|conn| {
                    use diesel::connection::SimpleConnection;
                    Ok(conn.batch_execute("SELECT 1")?)
                })
                .is_ok()
            {
                return;
            }
            if let Some(child) = self.mariadbd.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!("mariadbd exited ({status}): {}", self.log());
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "private {:?} did not come up: {}",
                self.kind,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }
}

impl Drop for PrivateDb {
    fn drop(&mut self) {
        match self.kind {
            Kind::Postgres => {
                // Already stopped after a crash without restart: pg_ctl just says so.
                let data = self.data();
                let pg_ctl = self.pg_bin.as_ref().expect("pg bin").join("pg_ctl");
                let _ = as_postgres(&[path(&pg_ctl), "-D", path(&data), "-m", "immediate", "stop"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
            }
            Kind::Mariadb => self.crash(),
        }
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.trim_ascii() == b"0")
        .unwrap_or(false)
}

/// The command as the `postgres` account when we are root, as ourselves otherwise.
fn as_postgres(args: &[&str]) -> Command {
    if is_root() {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).args(args);
        cmd
    } else {
        let mut cmd = Command::new(args[0]);
        cmd.args(&args[1..]);
        cmd
    }
}

fn run_checked(mut cmd: Command) {
    let out = cmd.stdin(Stdio::null()).output().expect("run");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}
