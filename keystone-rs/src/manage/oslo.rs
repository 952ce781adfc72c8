//! Where keystone-manage finds its configuration, as oslo.config does: every
//! `--config-file` in order, then the `*.conf` files of every `--config-dir` (sorted); with
//! neither given, `keystone.conf` and `keystone-manage.conf` in the first of `~/.keystone/`,
//! `~/`, `/etc/keystone/`, `/etc/` holding each, and the `keystone.conf.d/` /
//! `keystone-manage.conf.d/` directories found the same way.

use crate::config::Config;
use std::path::{Path, PathBuf};

fn search_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        let home = PathBuf::from(home);
        dirs.push(home.join(".keystone"));
        dirs.push(home);
    }
    dirs.push(PathBuf::from("/etc/keystone"));
    dirs.push(PathBuf::from("/etc"));
    dirs
}

fn first_found(dirs: &[PathBuf], name: &str) -> Option<PathBuf> {
    dirs.iter().map(|d| d.join(name)).find(|p| p.exists())
}

/// oslo.config's default configuration files and directories for keystone-manage.
pub fn default_sources() -> (Vec<PathBuf>, Vec<PathBuf>) {
    let dirs = search_dirs();
    let files = ["keystone.conf", "keystone-manage.conf"]
        .iter()
        .filter_map(|n| first_found(&dirs, n))
        .collect();
    let conf_dirs = ["keystone.conf.d", "keystone-manage.conf.d"]
        .iter()
        .filter_map(|n| first_found(&dirs, n))
        .filter(|p| p.is_dir())
        .collect();
    (files, conf_dirs)
}

/// The configuration from these files and directories; None when there are none.
pub fn load(files: &[PathBuf], dirs: &[PathBuf]) -> anyhow::Result<Option<Config>> {
    let mut all: Vec<PathBuf> = files.to_vec();
    for dir in dirs {
        all.extend(Config::files_in_dir(dir)?);
    }
    if all.is_empty() {
        return Ok(None);
    }
    Ok(Some(Config::load_files(&all)?))
}

/// `--log-file` taken relative to `--log-dir`, as oslo.log does.
pub fn log_path(log_file: &Path, log_dir: Option<&Path>) -> PathBuf {
    match log_dir {
        Some(dir) if log_file.is_relative() => dir.join(log_file),
        _ => log_file.to_path_buf(),
    }
}
