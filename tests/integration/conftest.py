# SPDX-License-Identifier: MIT
"""Fixtures: a throwaway broker and Redis per test, and a factory for hub processes.

Every server is started in the test's tmp folder on free loopback ports and stopped
when the test ends, whatever happened. Hubs still running at the end get SIGTERM and
must exit 0; a sanitizer report in any hub log fails the test. When a test fails, the
tails of the hub, broker, Redis and load-generator logs are added to its report.
"""

import signal
import time

import pytest

import harness


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_configure(config):
    # A SIGTERM (e.g. from a CI deadline) ends the run like Ctrl-C does: the fixtures'
    # finalizers still stop every server and hub.
    signal.signal(signal.SIGTERM, _interrupt)
    config.addinivalue_line(
        "markers", "slow: streams of thousands of events with faults injected "
        "(deselect with -m 'not slow')")


def _logs(item):
    if not hasattr(item, "rh_logs"):
        item.rh_logs = []
    return item.rh_logs


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        seen = set()
        for name, path in getattr(item, "rh_logs", []):
            if path in seen:
                continue
            seen.add(path)
            rep.sections.append((f"{name} log tail ({path})", harness.tail(path, 40)))


@pytest.fixture
def hub_binary():
    path = harness.hub_binary()
    if not path.exists():
        pytest.fail(f"hub binary not built: {path} (set RHEINHUB_BUILD_DIR or build "
                    "build-asan first)", pytrace=False)
    return path


@pytest.fixture
def stack(tmp_path, request, hub_binary):
    """Mosquitto and redis-server from broker-config/, data under tmp_path/run."""
    s = harness.Stack(tmp_path)
    _logs(request.node).extend(s.logs())
    try:
        s.start()
        yield s
    finally:
        s.stop()


@pytest.fixture
def redis_client(stack):
    r = stack.redis.client()
    yield r
    r.close()


@pytest.fixture
def hub_factory(stack, request):
    """make(name="hub", start=True, **sections) -> harness.Hub.

    Sections override hub.yaml keys, e.g. make(ingest={"queue_max": 200}).
    """
    hubs = []

    def make(name="hub", start=True, **overrides):
        hub = harness.Hub(stack, name=name, overrides=overrides)
        hubs.append(hub)
        _logs(request.node).append((name, hub.log_path))
        if start:
            hub.start()
        return hub

    yield make

    errors = harness.stop_hubs(hubs)
    if errors:
        pytest.fail("\n".join(errors), pytrace=False)


@pytest.fixture
def hub(hub_factory):
    return hub_factory()


@pytest.fixture
def loadgen(stack, request):
    """make(**kw) -> harness.Loadgen (not started); stopped at teardown if still running."""
    runs = []

    def make(**kw):
        name = kw.pop("name", f"loadgen{len(runs) + 1}")
        lg = harness.Loadgen(stack, name=name, **kw)
        runs.append(lg)
        _logs(request.node).append((name, lg.log_path))
        return lg

    yield make
    for lg in runs:
        lg.stop()


@pytest.fixture
def clock():
    """Wall-clock bounds in ns for receivedtime: (start, now())."""
    start = time.time_ns()
    return start, time.time_ns
