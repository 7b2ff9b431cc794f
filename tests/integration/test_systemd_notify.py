# SPDX-License-Identifier: MIT
"""The hub's sd_notify protocol (hub/notify.c), as systemd would see it.

systemd is not PID 1 in the test environment, so the test plays its part: it binds
the datagram socket that NOTIFY_SOCKET names, sets WATCHDOG_USEC as systemd does for
WatchdogSec=, and reads what the hub sends: no READY=1 while Redis is down, READY=1
once MQTT and Redis are up, WATCHDOG=1 from the event loop, STATUS= with the event
rate, RELOADING=1 and READY=1 around SIGHUP, STOPPING=1 during the drain, in that
order.
"""

import os
import signal
import socket
import threading

import harness

WATCHDOG_USEC = 400000  # the hub pings every 200 ms


class NotifySocket:
    """A unix datagram socket collecting (monotonic time, [lines]) per message."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)
        self.messages = []
        self.lock = threading.Lock()
        self.done = False
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        while not self.done:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            with self.lock:
                self.messages.append(data.decode().split("\n"))

    def lines(self):
        with self.lock:
            return [line for msg in self.messages for line in msg]

    def index(self, line, start=0):
        lines = self.lines()
        for i in range(start, len(lines)):
            if lines[i] == line:
                return i
        return None

    def count(self, prefix):
        return sum(1 for line in self.lines() if line.startswith(prefix))

    def close(self):
        self.done = True
        self.thread.join(5)
        self.sock.close()


def test_sd_notify_ready_watchdog_status_reload_stopping(stack, hub_factory, tmp_path):
    ns = NotifySocket(tmp_path / "notify.sock")
    try:
        stack.redis.stop()
        hub = hub_factory(start=False)
        hub.proc.env = dict(hub.proc.env or os.environ, NOTIFY_SOCKET=ns.path,
                            WATCHDOG_USEC=str(WATCHDOG_USEC))
        hub.proc.start()

        # Redis is down: the loop runs (watchdog pings) but the hub is not ready.
        harness.wait_until(lambda: ns.count("WATCHDOG=1") >= 5, 20, "5 watchdog pings")
        assert ns.index("READY=1") is None, ns.lines()
        assert "STATUS=waiting for Redis and MQTT" in ns.lines()

        stack.redis.start()
        harness.wait_until(lambda: ns.index("READY=1") is not None, 30, "READY=1")
        assert hub.healthz() == 200
        ready = ns.index("READY=1")

        # Events flow; STATUS reports a rate and the count accepted.
        harness.publish(stack.mqtt_port, [
            (f"linz/sensor/waterlevel/notify-{k}",
             f'{{"time":"2026-11-26T06:00:{k:02d}Z","value":{400 + k},"unit":"cm"}}'.encode())
            for k in range(20)])
        harness.wait_until(lambda: hub.metric("rheinhub_events_accepted_total") >= 20, 20,
                           "20 events accepted")

        def status_counts():
            return [line for line in ns.lines()[ready:]
                    if line.startswith("STATUS=running:") and "20 accepted" in line]
        harness.wait_until(status_counts, 20, "a STATUS line with 20 accepted")
        assert "events/s" in status_counts()[0]

        # SIGHUP: RELOADING=1, then READY=1 again.
        hub.proc.send(signal.SIGHUP)
        harness.wait_until(lambda: ns.index("RELOADING=1", ready) is not None, 20,
                           "RELOADING=1")
        reloading = ns.index("RELOADING=1", ready)
        harness.wait_until(lambda: ns.index("READY=1", reloading) is not None, 20,
                           "READY=1 after the reload")
        after_reload = ns.index("READY=1", reloading)

        pings = ns.count("WATCHDOG=1")
        harness.wait_until(lambda: ns.count("WATCHDOG=1") >= pings + 3, 20,
                           "watchdog pings after READY")

        hub.term()
        lines = ns.lines()
        stopping = ns.index("STOPPING=1", after_reload)
        assert stopping is not None, lines
        assert any(line.startswith("STATUS=stopping: draining") for line in lines[stopping:])
        assert "WATCHDOG=1" in lines[after_reload:stopping]
        assert lines.count("STOPPING=1") == 1
        assert ns.index("READY=1", stopping) is None
    finally:
        ns.close()


def test_no_notify_socket_no_messages(stack, hub):
    """Without NOTIFY_SOCKET (not run by systemd) the hub runs as before."""
    assert "NOTIFY_SOCKET" not in (hub.proc.env or os.environ)
    assert hub.healthz() == 200
    with open(hub.log_path) as f:
        assert "told systemd" not in f.read()
