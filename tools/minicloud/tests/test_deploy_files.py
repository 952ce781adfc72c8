"""The deployment files README "Deploying" hands an operator: the systemd unit passes
`systemd-analyze verify` (with ExecStart pointed at this build's binary: verify checks that
the program exists), and the sample keystone.conf is one keystone-rs accepts."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def binary() -> Path:
    return Path(os.environ["KEYSTONE_RS_BIN"]).resolve()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_unit_verifies(tmp_path):
    unit = (DEPLOY / "keystone-rs.service").read_text()
    assert "ExecStart=/usr/local/bin/keystone-rs serve" in unit
    checked = tmp_path / "keystone-rs.service"
    checked.write_text(unit.replace("/usr/local/bin/keystone-rs", str(binary())))
    done = subprocess.run(["systemd-analyze", "verify", "--man=no", str(checked)],
                          capture_output=True, text=True, timeout=120)
    problems = [line for line in (done.stdout + done.stderr).splitlines()
                if "keystone-rs.service" in line]
    assert done.returncode == 0 and not problems, done.stdout + done.stderr


def test_sample_keystone_conf_is_accepted(tmp_path):
    """Only the paths and the database URL changed to local ones: `doctor` reads every
    option and finds nothing wrong but SQLite once db_sync and the key setups ran."""
    text = (DEPLOY / "keystone.conf").read_text()
    local = (text.replace("/etc/keystone/", f"{tmp_path}/")
                 .replace("/var/log/keystone/", f"{tmp_path}/")
                 .replace("postgresql+psycopg2://keystone:PASSWORD@db.example.org/keystone",
                          f"sqlite:///{tmp_path}/keystone.db"))
    conf = tmp_path / "keystone.conf"
    conf.write_text(local)
    for verb in ("db_sync", "fernet_setup", "credential_setup"):
        done = subprocess.run([str(binary()), "manage", "--config-file", str(conf), verb],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, (verb, done.stdout, done.stderr)
    doctor = subprocess.run([str(binary()), "manage", "--config-file", str(conf), "doctor"],
                            capture_output=True, text=True, timeout=120)
    # the one symptom is the local stand-in for the database
    symptoms = [line for line in (doctor.stdout + doctor.stderr).splitlines()
                if line.startswith("WARNING:")]
    assert symptoms == ["WARNING: SQLite is not recommended for production deployments."], (
        doctor.stdout, doctor.stderr)
