# SPDX-License-Identifier: MIT
"""The official JSON-Schema-Test-Suite (draft7) through the command a user runs.

Every required case (tests/draft7/*.json, except refRemote.json, whose remote
documents are served at http://localhost:1234/ and are no user's concern) is run as
`rheinhub validate SCHEMA INSTANCE...`: one process per test group, one instance file
per case. The answer per instance ("valid"/"invalid") and the exit status (0 all
valid, 1 some invalid; 2 would mean the schema could not be used) must match the
suite. tests/unit/test_schema_suite.c runs the same cases through the library.
"""

import json
import re
import subprocess
from pathlib import Path

import pytest

import harness

SUITE = Path("/usr/share/json-schema-test-suite/tests/draft7")
SKIPPED_FILES = {"refRemote.json"}
LINE = re.compile(r"^(\S+): (valid|invalid)$")


def groups():
    for path in sorted(SUITE.glob("*.json")):
        if path.name in SKIPPED_FILES:
            continue
        for i, group in enumerate(json.loads(path.read_text())):
            yield pytest.param(group, id=f"{path.stem}-{i}")


def test_suite_is_installed():
    # The suite is one of the test packages (deploy/lib/common.sh): its absence
    # would make every case below vanish silently.
    assert SUITE.is_dir(), f"{SUITE} missing: install json-schema-test-suite"
    n = sum(len(json.loads(p.read_text())) for p in SUITE.glob("*.json")
            if p.name not in SKIPPED_FILES)
    assert n >= 90, f"only {n} test groups found in {SUITE}"


@pytest.mark.parametrize("group", groups())
def test_validate_command(group, tmp_path):
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(group["schema"]))
    files = []
    for j, case in enumerate(group["tests"]):
        f = tmp_path / f"case-{j}.json"
        f.write_text(json.dumps(case["data"]))
        files.append(str(f))
    proc = subprocess.run([str(harness.hub_binary()), "validate", str(schema), *files],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode in (0, 1), (
        f"{group['description']}: exit {proc.returncode}\n{proc.stderr}")
    answers = {}
    for line in proc.stdout.splitlines():
        m = LINE.match(line)
        if m:
            answers[m.group(1)] = m.group(2) == "valid"
    wrong = []
    for f, case in zip(files, group["tests"]):
        if answers.get(f) != case["valid"]:
            wrong.append(f"{case['description']}: got {answers.get(f)}, want {case['valid']}")
    assert not wrong, f"{group['description']}:\n" + "\n".join(wrong)
    want_status = 0 if all(c["valid"] for c in group["tests"]) else 1
    assert proc.returncode == want_status
