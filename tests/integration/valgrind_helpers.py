# SPDX-License-Identifier: MIT
"""Running the daemons under valgrind's memcheck (test_valgrind*.py): the options, the
plain build's folder (valgrind cannot run the sanitized build), a hub and the workers it
supervises under memcheck, a source under memcheck, and reading the logs."""
import re
import shutil
import signal

import pytest

import harness

PLAIN = harness.REPO / "build"
ERROR_EXIT = 99
RULES = harness.REPO / "deploy" / "local" / "alerting-rules.yaml"


def memcheck(log_dir):
    """valgrind's command line: memcheck, a definite leak counted as an error, one log per
    process in log_dir."""
    return ["valgrind", "--tool=memcheck", "--leak-check=full",
            "--errors-for-leak-kinds=definite", "--show-leak-kinds=definite",
            f"--error-exitcode={ERROR_EXIT}", "--num-callers=30",
            f"--log-file={log_dir}/vg-%p.log"]


def plain_binary(path):
    """The plain build's binary at path (relative to the build folder)."""
    binary = PLAIN / path
    assert binary.exists(), f"{binary} not built (tests/run builds the plain build)"
    return binary


def reports(log_dir):
    """{log file: text} of every valgrind log, and the ones that are not clean."""
    logs, dirty = {}, []
    for path in sorted(log_dir.glob("vg-*.log")):
        text = path.read_text(errors="replace")
        logs[path.name] = text
        m = re.search(r"ERROR SUMMARY: (\d+) errors", text)
        if not m or m.group(1) != "0":
            dirty.append(path.name)
    return logs, dirty


def assert_clean(log_dir, processes=1):
    """At least processes valgrind logs in log_dir, none with an error or a definite
    leak (the tails of those that have one are in the failure)."""
    logs, dirty = reports(log_dir)
    summary = "\n".join(f"--- {name}:\n" + "\n".join(text.splitlines()[-60:])
                        for name, text in logs.items() if name in dirty)
    assert len(logs) >= processes, f"expected {processes} valgrind logs: {list(logs)}"
    assert not dirty, f"valgrind found errors:\n{summary}"


def worker(kind, types, log_dir):
    """The hub.yaml workers: entry of the plain build's worker (or console) of kind under
    memcheck."""
    binary = plain_binary(("console" if kind == "console" else f"workers/{kind}")
                          + f"/rheinhub-{kind}")
    return {"name": kind, "command": "valgrind", "args": memcheck(log_dir)[1:] + [str(binary)],
            "types": types}


def valgrind_hub(stack, log_dir, workers, **sections):
    """A hub and the workers it supervises ({kind: types}), each under memcheck, started.
    sections: more sections of hub.yaml (they replace the defaults of storage and
    alerting)."""
    hub = harness.Hub(stack, overrides={
        "workers": [worker(kind, types, log_dir) for kind, types in workers.items()],
        "worker": {"batch_max": 64, "block_ms": 200, "heartbeat_ms": 1000},
        "storage": {"sqlite_path": str(stack.run_dir / "rheinhub.db")},
        "alerting": {"rules_file": str(RULES), "check_interval_ms": 200},
        **sections,
    })
    hub.proc = harness.Proc("hub", memcheck(log_dir) + [plain_binary("hub/rheinhub"), "-c",
                                                        hub.config_path],
                            stack.tmp / "hub.log", cwd=stack.tmp)
    return hub.start(timeout=120)


def stop_and_check(hub, log_dir, processes):
    """SIGTERM (the hub stops its workers), then every valgrind log must be clean."""
    hub.proc.send(signal.SIGTERM)
    rc = hub.proc.wait(240)
    assert_clean(log_dir, processes)
    assert rc == 0, f"hub exited with {rc} under valgrind:\n{harness.tail(hub.log_path, 40)}"
    text = hub.log_path.read_text(errors="replace")
    assert f"exited with status {ERROR_EXIT}" not in text, harness.tail(hub.log_path, 40)


def source_under_valgrind(source, log_dir):
    """source (a source_helpers.Source, not started) runs its plain-build binary under
    memcheck."""
    binary = plain_binary(f"sources/rheinhub-source-{source.kind}")
    source.proc = harness.Proc(source.name, memcheck(log_dir) + [
        binary, "-c", source.hub.config_path, "-f", source.file], source.log_path,
        cwd=source.hub.stack.tmp)
    return source


def stop_source_clean(source, log_dir):
    """SIGTERM to the source, then its valgrind log must be clean and its status 0."""
    source.proc.send(signal.SIGTERM)
    rc = source.proc.wait(120)
    assert_clean(log_dir)
    assert rc == 0, (f"{source.name} exited with {rc} (valgrind errors: {ERROR_EXIT}):\n"
                     + harness.tail(source.log_path, 30))


needs_valgrind = pytest.mark.skipif(shutil.which("valgrind") is None, reason="needs valgrind")
