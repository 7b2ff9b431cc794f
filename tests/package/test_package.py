# SPDX-License-Identifier: MIT
"""The built .deb packages (tests/run package builds them into RHEINHUB_DEB_DIR).

- The units pass `systemd-analyze verify`; `systemd-analyze security --offline`
  rates rheinhub.service at most SECURITY_MAX (the figure in docs/operations.md).
- Installed with `dpkg -i` into a throw-away system (root.py: namespaces and overlays,
  nothing reaches the machine), the hub starts as its unit says, with the installed
  configuration, against Debian's mosquitto and redis-server, says READY=1, and an
  event published to the broker is found in the installed SQLite database.
- An upgrade to a newer version keeps the operator's hub.yaml and, with the restart
  systemd does after it, loses no event of a 400/s stream.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SECURITY_MAX = 2.0
UNITS = ["rheinhub.service", "rheinhub-worker@.service"]


def deb_dir():
    d = os.environ.get("RHEINHUB_DEB_DIR")
    if not d:
        pytest.fail("RHEINHUB_DEB_DIR is not set: run ./tests/run package", pytrace=False)
    return Path(d)


def deb(name):
    found = sorted(deb_dir().glob(f"{name}_*.deb"))
    assert found, f"no {name}_*.deb in {deb_dir()}"
    return found[-1]


def debs():
    return [deb("rheinhub"), deb("rheinhub-broker-tools"), deb("rheinhub-sources"),
            deb("rheinhub-console")]


@pytest.fixture
def unpacked(tmp_path):
    root = tmp_path / "root"
    for d in debs():
        subprocess.run(["dpkg-deb", "-x", str(d), str(root)], check=True)
    return root


def in_root(tmp_path, *args, timeout=600):
    """root.py in new mount, network and PID namespaces; returns its output."""
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    r = subprocess.run(
        ["unshare", "--mount", "--net", "--pid", "--fork", "--kill-child", "--",
         sys.executable, str(HERE / "root.py"), str(overlay), *map(str, args)],
        capture_output=True, text=True, timeout=timeout)
    hub_log = overlay / "hub.log"
    tail = hub_log.read_text()[-4000:] if hub_log.exists() else "(no hub log)"
    assert r.returncode == 0, f"{r.stdout}\n{r.stderr}\n--- hub log tail:\n{tail}"
    assert "root: PASSED" in r.stdout
    return r.stdout


def test_units_verify(unpacked):
    unitdir = unpacked / "lib" / "systemd" / "system"
    for unit in UNITS:
        assert (unitdir / unit).exists(), f"{unit} not in the package"
    # verify resolves the commands in ExecStart: point it at the unpacked binaries.
    env = dict(os.environ, PATH=f"{unpacked}/usr/bin:{os.environ['PATH']}")
    for unit in ["rheinhub.service", "rheinhub-worker@storage.service"]:
        src = unitdir / ("rheinhub-worker@.service" if "@" in unit else unit)
        text = src.read_text().replace("/usr/bin/", f"{unpacked}/usr/bin/")
        work = unpacked / "verify"
        work.mkdir(exist_ok=True)
        (work / unit).write_text(text)
        r = subprocess.run(["systemd-analyze", "verify", "--man=no", str(work / unit)],
                           capture_output=True, text=True, env=env)
        problems = [line for line in (r.stdout + r.stderr).splitlines()
                    if unit.split("@")[0] in line or "rheinhub" in line]
        assert r.returncode == 0 and not problems, f"{unit}: {r.stdout}{r.stderr}"


def test_unit_security_score(unpacked):
    unit = unpacked / "lib" / "systemd" / "system" / "rheinhub.service"
    r = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--no-pager",
                        str(unit)], capture_output=True, text=True)
    m = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", r.stdout + r.stderr)
    assert m, r.stdout + r.stderr
    score = float(m.group(1))
    print(f"systemd-analyze security rheinhub.service: {score}")
    assert score <= SECURITY_MAX, r.stdout


def test_lintian_no_errors():
    changes = sorted(deb_dir().glob("rheinhub_*.changes"))
    assert changes, f"no .changes in {deb_dir()}"
    r = subprocess.run(["lintian", "--fail-on", "error", str(changes[-1])],
                       capture_output=True, text=True)
    errors = [line for line in r.stdout.splitlines() if line.startswith("E:")]
    assert r.returncode == 0 and not errors, r.stdout + r.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="namespaces and dpkg -i need root")
def test_install_start_publish_stored(tmp_path):
    out = in_root(tmp_path, "install", *debs())
    print(out)


@pytest.mark.skipif(os.geteuid() != 0, reason="namespaces and dpkg -i need root")
def test_production_broker_accounts_certificates(tmp_path):
    out = in_root(tmp_path, "production", *debs())
    print(out)


@pytest.mark.skipif(os.geteuid() != 0, reason="namespaces and dpkg -i need root")
def test_production_broker_default_data_survives_restart(tmp_path):
    out = in_root(tmp_path, "broker-data", *debs())
    print(out)


def repack_newer(src, dest_dir):
    """The same package as version <v>+upgrade1: a real dpkg upgrade path."""
    tree = dest_dir / "tree"
    subprocess.run(["dpkg-deb", "-R", str(src), str(tree)], check=True)
    control = tree / "DEBIAN" / "control"
    text = control.read_text()
    version = re.search(r"^Version: (\S+)$", text, re.M).group(1)
    control.write_text(text.replace(f"Version: {version}", f"Version: {version}+upgrade1"))
    out = dest_dir / f"rheinhub_{version}+upgrade1_amd64.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "-b", str(tree), str(out)], check=True,
                   capture_output=True)
    shutil.rmtree(tree)
    return out


@pytest.mark.skipif(os.geteuid() != 0, reason="namespaces and dpkg -i need root")
def test_upgrade_keeps_conffiles_and_every_event(tmp_path):
    new = repack_newer(deb("rheinhub"), tmp_path)
    out = in_root(tmp_path, "upgrade", new, "--", *debs())
    print(out)


@pytest.mark.skipif(os.geteuid() != 0, reason="namespaces and dpkg -i need root")
def test_upgrade_restarts_and_remove_stops_worker_instances(tmp_path):
    new = repack_newer(deb("rheinhub"), tmp_path)
    out = in_root(tmp_path, "worker-units", new, "--", *debs())
    print(out)
