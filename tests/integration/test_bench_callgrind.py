# SPDX-License-Identifier: MIT
"""The instruction-count benchmark in short: tests/bench/bench_callgrind with 300 events
runs the hub and each worker under valgrind's callgrind and prints instructions per
event for all four."""

import os
import re
import subprocess

import harness
from valgrind_helpers import PLAIN, needs_valgrind


@needs_valgrind
def test_bench_callgrind_short_run_prints_every_process(tmp_path):
    """300 and 600 events: the script exits 0 and prints, for the hub, storage, alerting
    and analytics, the instructions with N and 2N and a positive figure per event. The
    plain build: callgrind cannot run a sanitized one."""
    env = dict(os.environ, BENCH_EVENTS="300", BUILD_DIR=str(PLAIN),
               CALLGRIND_KEEP=str(tmp_path))
    out = subprocess.run([str(harness.REPO / "tests/bench/bench_callgrind")], env=env,
                         capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    for process in ("hub", "storage", "alerting", "analytics"):
        m = re.search(rf"^{process}\s+([\d,]+)\s+([\d,]+)\s+(-?[\d,]+)$", out.stdout, re.M)
        assert m, out.stdout
        one, two, per = (int(g.replace(",", "")) for g in m.groups())
        assert two > one > 0 and per > 0, m.group(0)
