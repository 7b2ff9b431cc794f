# SPDX-License-Identifier: MIT
"""The short version of tests/bench/bench_sources: 3,000 TTN uplinks through the
plain build of rheinhub-source-ttn, published directly and through the source, all
stored; the source's peak resident memory under 16 MiB. The throughput ratio is
printed, not judged (it depends on what else runs on the machine; the full benchmark
and its figures: docs/sources-benchmark.md)."""

import os
import re
import subprocess
import sys

import pytest

import harness

PLAIN = harness.REPO / "build"


@pytest.mark.skipif(not (PLAIN / "sources" / "rheinhub-source-ttn").exists(),
                    reason="the plain build (build/) is not there")
def test_bench_sources_short():
    env = dict(os.environ, BENCH_EVENTS="3000", BENCH_SUBJECTS="50", BUILD_DIR=str(PLAIN))
    env.pop("RHEINHUB_BUILD_DIR", None)
    p = subprocess.run([sys.executable, str(harness.REPO / "tests/bench/bench_sources")],
                       env=env, capture_output=True, text=True, timeout=300)
    print(p.stdout)
    assert p.returncode == 0, p.stdout + p.stderr
    run = re.search(r"ratio ([0-9.]+); source RSS peak ([0-9.]+) MiB .*dead letters (\d+)",
                    p.stdout)
    assert run, p.stdout
    assert float(run.group(2)) < 16.0, f"source RSS peak {run.group(2)} MiB"
    assert int(run.group(3)) == 0
