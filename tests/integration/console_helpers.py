# SPDX-License-Identifier: MIT
"""Helpers for the operations console's tests (test_console.py).

A broker with accounts made by the production tool `deploy/broker/account` (an
operator and a device), anonymous local clients as in the local stack, a hub that
supervises the alerting and storage workers and `rheinhub-console`, and headless
Chromium sessions driven by Selenium (Debian's chromium, chromium-driver and
python3-selenium).
"""

import contextlib
import getpass
import http.client
import json
import subprocess
import time

import pytest

import harness

OPERATOR = "ops.anna"
OPERATOR_PASSWORD = "rhein-pegel-700"
DEVICE = "rhein-pegel-9"
DEVICE_PASSWORD = "device-secret-1"
RULES = harness.REPO / "deploy" / "local" / "alerting-rules.yaml"
SCREENSHOTS = harness.REPO / "docs" / "console"


def console_binary():
    return harness.build_dir() / "console" / "rheinhub-console"


def add_accounts(broker_dir):
    """The broker folder with an operator and a device account, as in production."""
    broker_dir.mkdir(parents=True, exist_ok=True)
    (broker_dir / "broker.env").write_text(f"MUNICIPALITY=linz\nBROKER_USER={getpass.getuser()}\n")
    tool = harness.REPO / "deploy" / "broker" / "account"
    for role, name, pw in (("operator", OPERATOR, OPERATOR_PASSWORD),
                           ("device", DEVICE, DEVICE_PASSWORD)):
        subprocess.run([str(tool), "-d", str(broker_dir), "add", role, name], input=pw + "\n",
                       text=True, check=True, capture_output=True)
    acl = broker_dir.parent / "local.acl"
    acl.write_text("topic readwrite #\n\n" + (broker_dir / "acl").read_text())
    return acl


def broker_with_accounts(tmp):
    """A harness.Stack whose broker knows the accounts (not started)."""
    stack = harness.Stack(tmp)
    broker_dir = stack.tmp / "broker"
    acl = add_accounts(broker_dir)
    with open(stack.mosquitto.conf, "a") as f:
        f.write(f"\npassword_file {broker_dir / 'passwd'}\nacl_file {acl}\n")
    return stack, broker_dir


def console_hub(stack, broker_dir, console_port, console=None, **extra):
    """A hub that supervises alerting, storage and the console (not started); console:
    more keys of its section."""
    workers = [
        {"name": "alerting", "command": str(harness.build_dir() / "workers" / "alerting" / "rheinhub-alerting"),
         "types": ["sensor.*", "service.*", "citizen.*"]},
        {"name": "storage", "command": str(harness.build_dir() / "workers" / "storage" / "rheinhub-storage"),
         "types": ["*"]},
        {"name": "console", "command": str(console_binary()), "types": []},
    ]
    overrides = {
        "workers": workers,
        "worker": {"batch_max": 256, "block_ms": 100, "heartbeat_ms": 200},
        "alerting": {"rules_file": str(RULES), "check_interval_ms": 100},
        "storage": {"sqlite_path": str(stack.run_dir / "rheinhub.db")},
        "console": {"bind": "127.0.0.1", "port": console_port,
                    "accounts_file": str(broker_dir / "accounts"), **(console or {})},
    }
    overrides.update(extra)
    return harness.Hub(stack, name="hub", overrides=overrides)


@contextlib.contextmanager
def running_console(tmp, console=None, **extra):
    """The broker with the accounts and a hub supervising alerting, storage and the
    console, started and answering; yields (stack, hub, console port, the broker's
    folder of accounts). extra: other sections of hub.yaml (storage=...). Stops both
    after, and fails the test on what the hub's log reports (the console's lines go
    there)."""
    if not console_binary().exists():
        pytest.fail(f"console not built: {console_binary()}", pytrace=False)
    stack, broker_dir = broker_with_accounts(tmp)
    stack.start()
    port = harness.free_port()
    hub = console_hub(stack, broker_dir, port, console, **extra)
    try:
        hub.start()
        wait_console(port, hub)
        yield stack, hub, port, broker_dir
    finally:
        errors = harness.stop_hubs([hub])
        stack.stop()
        if errors:
            pytest.fail("\n".join(errors), pytrace=False)


def request(port, method, path, body=None, headers=None, timeout=10):
    """(status, headers dict, parsed JSON or text) of one request to the console."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = None if body is None else json.dumps(body).encode()
        h = {"Content-Type": "application/json"} if body is not None else {}
        h.update(headers or {})
        conn.request(method, path, body=data, headers=h)
        resp = conn.getresponse()
        raw = resp.read()
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = raw.decode("utf-8", "replace")
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, parsed
    finally:
        conn.close()


def wait_console(port, hub, timeout=40):
    def up():
        assert hub.running(), "hub exited:\n" + harness.tail(hub.log_path, 30)
        return request(port, "GET", "/")[0] == 200
    harness.wait_until(up, timeout, f"the console on port {port}", interval=0.1)


def api_login(port, user=OPERATOR, password=OPERATOR_PASSWORD):
    """(cookie header value, csrf) of a fresh API session."""
    status, headers, body = request(port, "POST", "/api/login", {"user": user, "password": password})
    assert status == 200, f"login answered {status}: {body}"
    cookie = headers["set-cookie"].split(";")[0]
    return cookie, body["csrf"]


def level(value, when=None):
    when = when or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return json.dumps({"time": when, "value": value, "unit": "cm"})


def publish(port, topic, payload, retain=False):
    args = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-q", "1", "-t", topic, "-m", payload]
    if retain:
        args.append("-r")
    subprocess.run(args, check=True, timeout=10)


class Browser:
    """One headless Chromium window (selenium), torn down with close()."""

    def __init__(self, width=1024, height=860):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        opts = webdriver.ChromeOptions()
        opts.binary_location = "/usr/bin/chromium"
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", "--disable-extensions", f"--window-size={width},{height}",
                    "--lang=de-DE", "--autoplay-policy=no-user-gesture-required"):
            opts.add_argument(arg)
        self.driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
        self.driver.set_page_load_timeout(30)
        if width < 500:
            # Headless windows are at least 500 px wide: emulate the phone's viewport.
            self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
                "width": width, "height": height, "deviceScaleFactor": 1, "mobile": True})

    def close(self):
        try:
            self.driver.quit()
        except Exception:  # noqa: BLE001 - the browser may be gone already
            pass
