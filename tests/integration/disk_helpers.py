# SPDX-License-Identifier: MIT
"""A small disk that a test can fill: a tmpfs of a few megabytes mounted at a folder of
the test, for the tests of what each writer (the hub's journal and spool, the storage
worker's SQLite file, Redis's append-only file) does when its disk is full.

The tests run as root and mount it themselves; where mount is refused (no root, a
container without CAP_SYS_ADMIN) the test is skipped with the reason. The disk is
unmounted lazily when the test ends, so that a process still holding a file on it
does not keep it mounted. Name small_disk before hub_factory and stack in the test's
arguments: fixtures end in the reverse order, so the hubs stop (and write what they
write at a stop) while their disk is still there.

Fixture (import it into a test module: `from disk_helpers import small_disk  # noqa`):

    small_disk(size="8m", name="disk") -> SmallDisk, mounted at tmp_path/name

SmallDisk: .path, .fill() (a filler file takes every free block), .free() (removes it),
.available() (free bytes).
"""

import os
import subprocess

import pytest


class SmallDisk:
    def __init__(self, path):
        self.path = path
        self.filler = path / "filler"

    def fill(self):
        """Writes the filler until the disk is full (dd stops at ENOSPC). Block by block:
        nothing is left but what the file system keeps for itself."""
        subprocess.run(["dd", "if=/dev/zero", f"of={self.filler}", "bs=4k",
                        "oflag=append", "conv=notrunc"], capture_output=True)
        return self

    def free(self):
        if self.filler.exists():
            os.unlink(self.filler)
        return self

    def available(self):
        st = os.statvfs(self.path)
        return st.f_bavail * st.f_frsize


def mount_tmpfs(path, size):
    """Mounts a tmpfs of size at path (created). Returns (ok, why)."""
    path.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                       capture_output=True, text=True)
    return r.returncode == 0, r.stderr.strip()


@pytest.fixture
def small_disk(tmp_path):
    mounted = []

    def make(size="8m", name="disk"):
        path = tmp_path / name
        ok, why = mount_tmpfs(path, size)
        if not ok:
            pytest.skip(f"cannot mount a tmpfs here ({why})")
        mounted.append(path)
        return SmallDisk(path)

    yield make
    for path in mounted:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)
