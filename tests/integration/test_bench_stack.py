# SPDX-License-Identifier: MIT
"""The whole-stack benchmark in short: tests/bench/bench_stack with 2,000 events runs the
local stack (deploy/local/run), stores every event and prints its table."""

import os
import re
import shutil
import subprocess

import harness


def test_bench_stack_short_run_prints_every_process():
    """2,000 events through the local stack as deploy/local/run starts it: the script
    exits 0 and reports a rate, the ratio to the bare subscriber, the CPU time per event
    of all six processes, the broker's own cost per message in the bare run, and the
    Redis commands that cost most."""
    env = dict(os.environ, BENCH_EVENTS="2000", RUNS="1", BUILD_DIR=str(harness.build_dir()))
    out = subprocess.run([str(harness.REPO / "tests/bench/bench_stack")], env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    text = out.stdout
    assert re.search(r"^stack \(SQLite rows\)\s+\d+$", text, re.M), text
    assert re.search(r"^ratio stack / ceiling: \d+\.\d\d;", text, re.M), text
    header = "mosquitto     redis       hub   storage  alerting analytics     total"
    assert header in text, text
    figures = text.split(header, 1)[1].splitlines()[1].split()
    assert len(figures) == 8 and all(re.fullmatch(r"\d+\.\d", f) for f in figures), figures
    alone = re.search(r"^mosquitto alone \(the ceiling run\): (\d+\.\d) us per message; "
                      r"the stack's total is (\d+\.\d) times that$", text, re.M)
    assert alone, text
    # Every event was in an XADD of the hub, which carries at most 64 events
    # (redis.entry_events_max), and was read by three groups.
    xadd = re.search(r"^xadd\s+\S+\s+(\d+\.\d+)\s", text, re.M)
    assert xadd and float(xadd.group(1)) >= 1 / 64, text
    assert re.search(r"^xreadgroup\s", text, re.M), text
    assert re.search(r"Redis's CPU \d+\.\d us/event, of which its forked children \d+\.\d "
                     r"and commands \d+\.\d\)", text), text
    # Where perf counts the system-call tracepoint, the kernel table is there, and the
    # broker read every event from the generator and wrote it to the hub: at least two
    # system calls per event of its own, the hub at least one (its MQTT read).
    perf = subprocess.run(["perf", "stat", "-x,", "-e", "raw_syscalls:sys_enter", "true"],
                          capture_output=True, text=True) if shutil.which("perf") else None
    if perf is None or perf.returncode != 0 or "<not" in perf.stderr:
        return
    calls = re.search(r"^system calls\s+(\d+\.\d\d)\s+\S+\s+(\d+\.\d\d)\s", text, re.M)
    assert calls, text
    assert float(calls.group(1)) >= 2 and float(calls.group(2)) >= 1, calls.group(0)
    assert re.search(r"^context switches(\s+\d+\.\d\d){7}$", text, re.M), text
    assert re.search(r"^page faults(\s+\d+\.\d\d){7}$", text, re.M), text
