# SPDX-License-Identifier: MIT
"""Running the daemons under valgrind's memcheck (test_valgrind*.py): the options, the
plain build's folder (valgrind cannot run the sanitized build), and reading the logs."""
import re
import shutil

import pytest

import harness

PLAIN = harness.REPO / "build"
ERROR_EXIT = 99


def memcheck(log_dir):
    """valgrind's command line: memcheck, a definite leak counted as an error, one log per
    process in log_dir."""
    return ["valgrind", "--tool=memcheck", "--leak-check=full",
            "--errors-for-leak-kinds=definite", "--show-leak-kinds=definite",
            f"--error-exitcode={ERROR_EXIT}", "--num-callers=30",
            f"--log-file={log_dir}/vg-%p.log"]


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


needs_valgrind = pytest.mark.skipif(shutil.which("valgrind") is None, reason="needs valgrind")
