# SPDX-License-Identifier: MIT
"""The fault matrix's parts (tests/faults/matrix.py is the command).

  layout   the two-host layout, its processes and what the matrix observes of it
  stream   the publisher of the steady stream and what the broker acknowledged
  faults   the faults, each an inject and a recover step, and the known limitations
  phase    one fault's phase: stream, inject, recover, wait for storage
  report   lost events per phase, the loss analysis, the table
  scale    the scale-out figures (--scale)
"""

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tests" / "integration"))

import harness  # noqa: E402
import storage_helpers  # noqa: E402

__all__ = ["ROOT", "harness", "storage_helpers", "build_dir", "log"]


def build_dir():
    env = os.environ.get("RHEINHUB_FAULTS_BUILD")
    return Path(env) if env else ROOT / "build"


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)
