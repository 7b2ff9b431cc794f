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

__all__ = ["ROOT", "harness", "storage_helpers", "build_dir", "ensure_built", "log"]


def build_dir():
    env = os.environ.get("RHEINHUB_FAULTS_BUILD")
    return Path(env) if env else ROOT / "build"


def ensure_built():
    """Configures the plain build (<repo>/build, as ./tests/run makes it) when it is
    missing and brings it up to date, so that the matrix runs on a fresh clone too.
    A folder named by RHEINHUB_FAULTS_BUILD must already be configured."""
    d = build_dir()
    if os.environ.get("RHEINHUB_FAULTS_BUILD") and not (d / "build.ninja").exists():
        sys.exit(f"RHEINHUB_FAULTS_BUILD={d}: not a configured meson build folder")
    harness.meson_build(d, say=log)


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)
