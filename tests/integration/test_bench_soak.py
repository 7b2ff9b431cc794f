# SPDX-License-Identifier: MIT
"""The soak benchmark in short: tests/bench/bench_soak for 20 s runs the local stack
(deploy/local/run), samples every process's memory, stores every event and prints its
table. Figures are not judged here: the run is too short, and the machine shared."""

import os
import re
import subprocess

import harness

PROCESSES = ("mosquitto", "redis", "hub", "storage", "alerting", "analytics", "console")


def test_bench_soak_short_run_prints_every_process_and_loses_nothing():
    """20 s at 500 events/s from 2,000 devices of three types: the script exits 0,
    prints a sample line every 10 s and at 10 %, 50 % and the end, the RSS table of all
    seven processes, and 10,000 events sent, 10,000 stored, none lost."""
    env = dict(os.environ, SOAK_SECONDS="20", SOAK_RATE="500", SOAK_DEVICES="2000",
               BUILD_DIR=str(harness.build_dir()))
    out = subprocess.run([str(harness.REPO / "tests/bench/bench_soak")], env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    text = out.stdout
    samples = re.findall(r"^\s+(\d+)\s+([\d,]+)((?:\s+\d+\.\d){8})\s+\d+\s+\d+$", text, re.M)
    assert [int(s[0]) for s in samples] == [0, 2, 10, 20], text
    assert samples[-1][1] == "10,000", samples
    header = "process        10 %     50 %      end     peak  growth MiB  KiB/100k ev"
    assert header in text, text
    rows = text.split(header, 1)[1].splitlines()[1:len(PROCESSES) + 1]
    for name, row in zip(PROCESSES, rows):
        assert re.fullmatch(rf"{name}\s+(\d+\.\d\s+){{4}}[+-]\d+\.\d\s+[+-]\d+\.\d", row), row
    assert re.search(r"^Redis used_memory [\d.]+ / [\d.]+ / [\d.]+ MiB; stream entries", text,
                     re.M), text
    assert re.search(r"^events sent 10000, stored 10000 \(SQLite\), lost 0, dead-lettered 0;",
                     text, re.M), text
