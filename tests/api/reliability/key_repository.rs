//! `manage fernet_setup` / `fernet_rotate` on a key repository that cannot be written (read
//! only, disk full): a clear error and a non-zero exit, and the keys on disk exactly as
//! they were — every file whole, every key still loading.

use super::private_db::is_root;
use keystone_rs::fernet::keyring::KeyRing;
use keystone_rs::fernet::keys::KeyRepository;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The binary's verdict on one `manage` verb.
struct Ran {
    success: bool,
    stderr: String,
}

fn manage(repo: &Path, verb: &str) -> Ran {
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = dir.path().join("keystone.conf");
    std::fs::write(
        &conf,
        format!("[fernet_tokens]\nkey_repository = {}\n", repo.display()),
    )
    .expect("conf");
    let out = Command::new(env!("CARGO_BIN_EXE_keystone-rs"))
        .args(["manage", "--config-file"])
        .arg(&conf)
        .arg(verb)
        .output()
        .expect("run keystone-rs manage");
    Ran {
        success: out.status.success(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Every entry of the directory and its bytes.
pub(super) fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .expect("list")
        .map(|e| {
            let e = e.expect("entry");
            let bytes = std::fs::read(e.path()).unwrap_or_default();
            (e.file_name().to_string_lossy().into_owned(), bytes)
        })
        .collect()
}

fn run_ok(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A way of making a directory read-only, undone on drop.
pub(super) struct ReadOnly {
    dir: PathBuf,
    undo: &'static [&'static str],
}

impl ReadOnly {
    /// Make `dir` read-only `how`; `None` when this machine or user cannot.
    pub(super) fn apply(dir: &Path, how: &str) -> Option<ReadOnly> {
        let d = dir.to_str().expect("UTF-8");
        let done = match how {
            "read-only bind mount" => {
                run_ok("mount", &["--bind", d, d])
                    && (run_ok("mount", &["-o", "remount,ro,bind", d]) || {
                        run_ok("umount", &[d]);
                        false
                    })
            }
            "chattr +i" => run_ok("chattr", &["+i", d]),
            // Root writes through permission bits: only an unprivileged run can use them.
            "chmod 0500 (not root)" => !is_root() && run_ok("chmod", &["0500", d]),
            _ => unreachable!(),
        };
        let undo: &'static [&'static str] = match how {
            "read-only bind mount" => &["umount"],
            "chattr +i" => &["chattr", "-i"],
            _ => &["chmod", "0700"],
        };
        done.then(|| ReadOnly {
            dir: dir.to_path_buf(),
            undo,
        })
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        let d = self.dir.to_str().expect("UTF-8");
        let mut args: Vec<&str> = self.undo[1..].to_vec();
        args.push(d);
        assert!(
            run_ok(self.undo[0], &args),
            "could not undo {:?} on {d}",
            self.undo
        );
    }
}

/// The keys are those of before and still load as a key ring.
fn assert_untouched(repo: &Path, before: &BTreeMap<String, Vec<u8>>, what: &str) {
    assert_eq!(
        &snapshot(repo),
        before,
        "{what}: the key repository changed"
    );
    let keys = KeyRepository::new(repo.to_path_buf(), 3);
    assert!(
        KeyRing::open(keys).is_ok(),
        "{what}: the keys no longer load"
    );
}

fn assert_clear_failure(ran: &Ran, repo: &Path, cause: &[&str], what: &str) {
    assert!(!ran.success, "{what}: exited 0\n{}", ran.stderr);
    assert!(
        ran.stderr.contains(&repo.display().to_string())
            && cause.iter().any(|c| ran.stderr.contains(c)),
        "{what}: the error does not name the repository and the cause:\n{}",
        ran.stderr
    );
    assert!(
        !ran.stderr.contains("unexpected error"),
        "{what}: the operator gets the HTTP client's generic text:\n{}",
        ran.stderr
    );
}

#[test]
fn a_read_only_key_repository_fails_rotation_and_setup_and_keeps_its_keys() {
    const CAUSES: &[&str] = &[
        "Read-only file system",
        "Operation not permitted",
        "Permission denied",
    ];
    let mut tried = Vec::new();
    for how in ["read-only bind mount", "chattr +i", "chmod 0500 (not root)"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = dir.path().join("fernet-keys");
        let empty = dir.path().join("empty");
        std::fs::create_dir(&empty).expect("mkdir");
        assert!(manage(&repo, "fernet_setup").success);
        let before = snapshot(&repo);
        assert_eq!(before.len(), 2);
        let Some(guard) = ReadOnly::apply(&repo, how) else {
            continue;
        };
        let Some(empty_guard) = ReadOnly::apply(&empty, how) else {
            continue;
        };
        tried.push(how);
        let ran = manage(&repo, "fernet_rotate");
        assert_clear_failure(&ran, &repo, CAUSES, how);
        assert_untouched(&repo, &before, how);
        // An initialised repository needs no write: setup reports it and succeeds, as
        // keystone-manage does.
        assert!(manage(&repo, "fernet_setup").success, "{how}");
        let ran = manage(&empty, "fernet_setup");
        assert_clear_failure(&ran, &empty, CAUSES, how);
        assert_eq!(snapshot(&empty).len(), 0, "{how}: setup left files behind");
        drop((guard, empty_guard));
        // Writable again: rotation works, so the failure above was the read-only state.
        assert!(manage(&repo, "fernet_rotate").success, "{how}");
        assert_eq!(snapshot(&repo).len(), 3);
    }
    if tried.is_empty() {
        eprintln!(
            "SKIPPED: neither a read-only bind mount nor chattr +i works here, and root \
             ignores permission bits"
        );
    } else {
        eprintln!("read-only key repository: tried {tried:?}");
    }
}

/// A tmpfs of a few pages, unmounted on drop.
struct SmallDisk(tempfile::TempDir);

impl SmallDisk {
    fn mount() -> Option<SmallDisk> {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path().to_str().expect("UTF-8");
        run_ok(
            "mount",
            &["-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", d],
        )
        .then(|| SmallDisk(dir))
    }

    /// Write until the device says it is full.
    fn fill(&self) {
        use std::io::Write;
        let mut file = std::fs::File::create(self.0.path().join("filler")).expect("filler");
        let block = [0u8; 4096];
        loop {
            if let Err(e) = file.write_all(&block).and_then(|()| file.sync_all()) {
                assert_eq!(e.raw_os_error(), Some(28), "ENOSPC expected: {e}");
                return;
            }
        }
    }

    fn free(&self) {
        std::fs::remove_file(self.0.path().join("filler")).expect("remove filler");
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let d = self.0.path().to_str().expect("UTF-8");
        assert!(run_ok("umount", &[d]), "could not unmount {d}");
    }
}

#[test]
fn a_full_disk_fails_rotation_and_setup_and_keeps_the_keys_whole() {
    const CAUSES: &[&str] = &["No space left on device"];
    // A real full file system where mounting is allowed.
    if let Some(disk) = SmallDisk::mount() {
        let repo = disk.0.path().join("fernet-keys");
        let empty = disk.0.path().join("empty");
        std::fs::create_dir(&empty).expect("mkdir");
        assert!(manage(&repo, "fernet_setup").success);
        let before = snapshot(&repo);
        disk.fill();
        let ran = manage(&repo, "fernet_rotate");
        assert_clear_failure(&ran, &repo, CAUSES, "full tmpfs");
        assert_untouched(&repo, &before, "full tmpfs");
        let ran = manage(&empty, "fernet_setup");
        assert_clear_failure(&ran, &empty, CAUSES, "full tmpfs");
        assert_eq!(snapshot(&empty).len(), 0, "setup left a partial key behind");
        disk.free();
        assert!(manage(&repo, "fernet_rotate").success);
        assert_eq!(snapshot(&repo).len(), 3);
    } else {
        eprintln!("SKIPPED (tmpfs part): mounting a small tmpfs is not permitted here");
    }
    // Everywhere /dev/full is writable: the temporary key file is /dev/full, whose writes
    // fail with ENOSPC.
    if std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .is_err()
    {
        eprintln!("SKIPPED (/dev/full part): /dev/full cannot be opened for writing here");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path().join("fernet-keys");
    assert!(manage(&repo, "fernet_setup").success);
    let before = snapshot(&repo);
    std::os::unix::fs::symlink("/dev/full", repo.join("0.tmp")).expect("symlink");
    let ran = manage(&repo, "fernet_rotate");
    assert_clear_failure(&ran, &repo, CAUSES, "/dev/full");
    assert_untouched(&repo, &before, "/dev/full");
}
