//! Python Keystone's own `keystone-manage db_sync`, to build databases exactly as Keystone
//! does. Found at $KEYSTONE_MANAGE, else /opt/peer/venv/bin/keystone-manage. PostgreSQL and
//! MySQL need Python drivers the peer venv lacks: $KSRS_PEER_PYTHONPATH may name a directory
//! holding psycopg2 and pymysql (`pip install --target DIR psycopg2-binary pymysql`).

use std::path::PathBuf;
use std::process::Command;

pub fn keystone_manage() -> Option<PathBuf> {
    let path = std::env::var_os("KEYSTONE_MANAGE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/opt/peer/venv/bin/keystone-manage"));
    path.is_file().then_some(path)
}

pub fn driver_path() -> Option<String> {
    std::env::var("KSRS_PEER_PYTHONPATH")
        .ok()
        .filter(|p| !p.is_empty())
}

/// Runs `keystone-manage db_sync [extra args]` against `sqlalchemy_url`; returns the exit
/// code, or Err with the output when it could not run.
pub fn db_sync(manage: &PathBuf, sqlalchemy_url: &str, extra: &[&str]) -> Result<i32, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let conf = dir.path().join("keystone.conf");
    std::fs::write(
        &conf,
        format!("[DEFAULT]\n[database]\nconnection = {sqlalchemy_url}\n"),
    )
    .map_err(|e| e.to_string())?;
    let mut cmd = Command::new(manage);
    cmd.arg("--config-file")
        .arg(&conf)
        .arg("db_sync")
        .args(extra);
    if let Some(path) = driver_path() {
        cmd.env("PYTHONPATH", path);
    }
    let out = cmd
        .output()
        .map_err(|e| format!("{}: {e}", manage.display()))?;
    match out.status.code() {
        Some(code) => {
            if code != 0 && extra.is_empty() {
                return Err(format!(
                    "db_sync exited {code}: {}",
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            Ok(code)
        }
        None => Err("keystone-manage killed by a signal".to_string()),
    }
}
