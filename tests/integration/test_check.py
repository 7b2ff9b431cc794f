# SPDX-License-Identifier: MIT
"""`rheinhub --check -c FILE`: 0 for a good file, 2 and `FILE:LINE: message` for a bad one."""

import re

import pytest

import harness

GOOD = """\
hub:
  instance: check-test
mqtt:
  host: 127.0.0.1
  port: 1883
  client_id: check-test
  subscriptions: ["+/sensor/#", "+/service/#", "+/citizen/#"]
redis:
  host: 127.0.0.1
  port: 6379
  max_in_flight: 64
  liveness_timeout_ms: 2000
ingest:
  queue_max: 200
http:
  bind: 127.0.0.1
  port: 0
log:
  level: info
"""

# (name, text, line the error must be reported on)
BAD = [
    ("unknown_key", """\
mqtt:
  host: 127.0.0.1
  port: 1883
redis:
  port: 6379
  bogus_key: 1
log:
  level: info
""", 6),
    ("wrong_type", """\
hub:
  instance: check-test
mqtt:
  host: 127.0.0.1
  port: "abc"
redis:
  port: 6379
""", 5),
    ("broken_yaml", """\
mqtt:
  host: 127.0.0.1
  port: 1883
redis:
  port: 6379: 1
http:
  port: 0
""", 5),
    ("out_of_range", """\
log:
  level: info
mqtt:
  keepalive_s: 2
""", 4),
    ("unknown_section", """\
log:
  level: info
mqtts:
  port: 1883
""", 3),
]


def run_check(binary, path):
    import subprocess
    res = subprocess.run([str(binary), "--check", "-c", str(path)], stdin=subprocess.DEVNULL,
                         capture_output=True, timeout=30, env=harness.sanitizer_env())
    err = res.stderr.decode("utf-8", "replace")
    hits = [m for m in harness.SANITIZER_MARKERS if m in err]
    assert not hits, f"sanitizer report from --check:\n{err}"
    return res.returncode, err


def test_check_accepts_good_file(hub_binary, tmp_path):
    path = tmp_path / "good.yaml"
    path.write_text(GOOD)
    rc, err = run_check(hub_binary, path)
    assert rc == 0, f"--check rejected a good file ({rc}): {err}"


def test_check_accepts_documented_example(hub_binary, tmp_path):
    doc = (harness.REPO / "docs" / "configuration.md").read_text()
    m = re.search(r"```yaml\n(.*?)```", doc, re.S)
    assert m, "no yaml block in docs/configuration.md"
    path = tmp_path / "documented.yaml"
    path.write_text(m.group(1))
    rc, err = run_check(hub_binary, path)
    assert rc == 0, f"--check rejected the documented configuration ({rc}): {err}"


@pytest.mark.parametrize("name,text,line", BAD, ids=[b[0] for b in BAD])
def test_check_rejects_bad_file_with_line(hub_binary, tmp_path, name, text, line):
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    rc, err = run_check(hub_binary, path)
    assert rc == 2, f"--check exited {rc} for {name}: {err}"
    assert f"{path}:{line}:" in err, f"expected '{path}:{line}:' in stderr, got: {err!r}"



# analytics.timezone: a zone of the system's tzdata, refused with its key, line and reason
# by the hub and by rheinhub-analytics.
BAD_ZONES = [
    ("Europe/Linz_am_Rhein", "no such zone in /usr/share/zoneinfo"),
    ("Europe", "not a zone file in /usr/share/zoneinfo"),
    ("../../../etc/passwd", "not starting with '/', without '..'"),
    ("/etc/localtime", "not starting with '/', without '..'"),
    ("", "not empty"),
]


@pytest.mark.parametrize("zone,reason", BAD_ZONES, ids=[z[0] or "empty" for z in BAD_ZONES])
@pytest.mark.parametrize("program", ["hub", "workers/analytics/rheinhub-analytics"])
def test_check_refuses_unknown_timezone(hub_binary, tmp_path, zone, reason, program):
    path = tmp_path / "zone.yaml"
    path.write_text(f"log:\n  level: info\nanalytics:\n  lateness_s: 5\n  timezone: '{zone}'\n")
    rc, err = run_check(hub_binary if program == "hub" else binary(program), path)
    assert rc == 2, f"--check exited {rc} for timezone '{zone}': {err}"
    assert f"{path}:5:" in err and f"analytics.timezone '{zone}'" in err and reason in err, err


@pytest.mark.parametrize("zone", ["Europe/Berlin", "UTC"])
def test_check_accepts_a_timezone(hub_binary, tmp_path, zone):
    path = tmp_path / "zone.yaml"
    path.write_text(f"analytics:\n  timezone: {zone}\n")
    for program in (hub_binary, binary("workers/analytics/rheinhub-analytics")):
        rc, err = run_check(program, path)
        assert rc == 0, f"{program.name} --check refused timezone {zone} ({rc}): {err}"

# Every ```yaml block of the docs, run through the loader of its kind (the key it starts
# with says which file it shows). A block may show part of hub.yaml or of a device rule
# list; what it leaves out is what every such file needs (below), not what it shows.
DOC_FILES = sorted((harness.REPO / "docs").glob("*.md")) + [harness.REPO / "README.md"]
SOURCE_HEAD = "server: {host: 127.0.0.1, username: doc@ttn, client_id: doc}\nmunicipality: linz\n"


def doc_examples():
    for doc in DOC_FILES:
        text = doc.read_text()
        for m in re.finditer(r"^```yaml\n(.*?)^```", text, re.S | re.M):
            line = text[:m.start()].count("\n") + 1
            yield pytest.param(m.group(1), id=f"{doc.name}:{line}")


def binary(name):
    path = harness.build_dir() / name
    if not path.exists():
        pytest.fail(f"not built: {path}", pytrace=False)
    return path


@pytest.mark.parametrize("example", list(doc_examples()))
def test_check_accepts_every_documented_yaml(hub_binary, tmp_path, example):
    first = next(l for l in example.splitlines() if l.strip() and not l.lstrip().startswith("#"))
    schemas = harness.REPO / "schemas"
    hub_yaml = tmp_path / "hub.yaml"
    example_file = tmp_path / "example.yaml"
    rules = harness.REPO / "deploy" / "local" / "alerting-rules.yaml"
    if first.startswith("rules:"):
        example_file.write_text(example)
        hub_yaml.write_text(f"alerting: {{rules_file: {example_file}}}\n")
        cmd = [binary("workers/alerting/rheinhub-alerting")]
    elif first.startswith("default:") or first.startswith("types:"):
        example_file.write_text(example)
        hub_yaml.write_text(f"alerting: {{rules_file: {rules}}}\n"
                            f"analytics: {{windows_file: {example_file}}}\n")
        cmd = [binary("workers/analytics/rheinhub-analytics")]
    elif first.startswith("devices:"):
        example_file.write_text(SOURCE_HEAD + example)
        hub_yaml.write_text(f"schemas: {{dir: {schemas}}}\nsources: {{ttn: {example_file}}}\n")
        cmd = [binary("sources/rheinhub-source-ttn")]
    elif first.startswith("api:") or first.startswith("stations:"):
        example_file.write_text(example)
        hub_yaml.write_text(f"schemas: {{dir: {schemas}}}\n"
                            f"sources: {{pegelonline: {example_file}}}\n")
        cmd = [binary("sources/rheinhub-source-pegelonline")]
    else:
        hub_yaml.write_text(example)
        cmd = [hub_binary]
    import subprocess
    res = subprocess.run(cmd + ["--check", "-c", str(hub_yaml)], stdin=subprocess.DEVNULL,
                         capture_output=True, timeout=30, env=harness.sanitizer_env())
    err = res.stderr.decode("utf-8", "replace")
    assert res.returncode == 0, f"{cmd[0].name} --check refused the example ({res.returncode}):\n{err}"


def installed_paths():
    """Every path the Debian packages install (debian/*.install), as /usr/bin/..."""
    paths = set()
    for f in (harness.REPO / "debian").glob("*.install"):
        for line in f.read_text().splitlines():
            if line.strip():
                paths.add("/" + line.split()[0])
    return paths


def test_documented_worker_commands_are_installed():
    """A worker command the docs give as an absolute path is one the package installs:
    copied into hub.yaml, it starts the worker."""
    installed = installed_paths()
    wrong = []
    for doc in DOC_FILES:
        text = doc.read_text()
        for m in re.finditer(r"command: (/[^\s,}]+)", text):
            if m.group(1) not in installed:
                wrong.append(f"{doc.name}:{text[:m.start()].count(chr(10)) + 1}: {m.group(1)}")
    assert not wrong, "commands the package does not install:\n" + "\n".join(wrong)
