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
import os
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


class Env:
    """A test module's console (running_console) and the browser windows its tests open."""

    def __init__(self, stack, hub, port, shots, broker_dir):
        self.stack, self.hub, self.port, self.shots = stack, hub, port, shots
        self.broker_dir = broker_dir
        self.browsers = []
        self.url = f"http://127.0.0.1:{port}/"

    def browser(self, **kw):
        b = Browser(**kw)
        self.browsers.append(b)
        b.driver.get(self.url)
        return b

    def first(self):
        """The module's first browser window, opened when no test has opened one yet."""
        return self.browsers[0] if self.browsers else self.browser()

    def shot(self, b, name):
        b.driver.save_screenshot(str(self.shots / f"{name}.png"))


def wait(b, cond, timeout, what):
    """cond(driver)'s first true value within timeout seconds; AssertionError naming what."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait
    try:
        return WebDriverWait(b.driver, timeout, poll_frequency=0.05,
                             ignored_exceptions=(StaleElementReferenceException,)
                             ).until(lambda d: cond(d))
    except Exception as exc:  # noqa: BLE001 - re-raised with what was awaited
        raise AssertionError(f"timed out after {timeout} s waiting for {what}") from exc


def card(d, topic, where="alert-list"):
    """The card of the alert on topic in the list where, or None."""
    from selenium.webdriver.common.by import By
    found = d.find_elements(By.CSS_SELECTOR, f'#{where} li.alert[data-topic="{topic}"]')
    return found[0] if found else None


def login(env, b, user=OPERATOR, password=OPERATOR_PASSWORD, expect_ok=True, url=None):
    """Logs in with the page's form (on url, else the module's console)."""
    from selenium.webdriver.common.by import By
    d = b.driver
    url = url or env.url
    if not d.current_url.startswith(url):
        d.get(url)
    # A fresh Chromium's first page beside the suite's memcheck runs can take long.
    wait(b, lambda d: d.find_element(By.ID, "view-login").is_displayed()
         or d.find_element(By.ID, "view-alerts").is_displayed(), 30, "the page")
    d.find_element(By.ID, "login-user").clear()
    d.find_element(By.ID, "login-user").send_keys(user)
    d.find_element(By.ID, "login-password").clear()
    d.find_element(By.ID, "login-password").send_keys(password)
    d.find_element(By.ID, "login-submit").click()
    if expect_ok:
        wait(b, lambda d: d.find_element(By.ID, "view-alerts").is_displayed(), 10, "the alert board")
        wait(b, lambda d: "live" in d.find_element(By.ID, "conn").get_attribute("class"), 10,
             "the live stream")


def logged_in(env):
    """The module's first browser window, logged in."""
    from selenium.webdriver.common.by import By
    b = env.first()
    if not b.driver.find_element(By.ID, "logout").is_displayed():
        login(env, b)
    return b


def logout(b):
    from selenium.webdriver.common.by import By
    d = b.driver
    if d.find_element(By.ID, "logout").is_displayed():
        d.find_element(By.ID, "logout").click()
        wait(b, lambda d: d.find_element(By.ID, "view-login").is_displayed(), 10, "the login form")


def retained(port, topic):
    """The JSON retained on topic, or None."""
    out = subprocess.run(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-t", topic,
                          "-C", "1", "-W", "5"], capture_output=True, text=True, timeout=10)
    return json.loads(out.stdout) if out.stdout.strip() else None


def browser_env(tmp_path_factory):
    """The body of a test module's `env` fixture: the running console (running_console)
    and the browser windows its tests open, closed at the end."""
    tmp = tmp_path_factory.mktemp("console")
    shots = SCREENSHOTS if os.environ.get("RHEINHUB_CONSOLE_SCREENSHOTS") == "1" else tmp
    shots.mkdir(parents=True, exist_ok=True)
    with running_console(tmp) as (stack, hub, port, broker_dir):
        e = Env(stack, hub, port, shots, broker_dir)
        try:
            yield e
        finally:
            for b in e.browsers:
                b.close()


def standalone_console(env, name, **console):
    """rheinhub-console on its own (as in production), with its own hub.yaml."""
    port = harness.free_port()
    config = {"mqtt": {"host": "127.0.0.1", "port": env.stack.mqtt_port},
              "log": {"level": "info"},
              "console": dict({"bind": "127.0.0.1", "port": port,
                               "accounts_file": str(env.broker_dir / "accounts")}, **console)}
    path = env.stack.tmp / f"{name}.yaml"
    path.write_text(harness.to_yaml(config))
    proc = harness.Proc(name, [console_binary(), "-c", path], env.stack.tmp / f"{name}.log",
                        env=harness.sanitizer_env())
    return proc, port, path


def stop_clean(proc):
    rc = proc.stop()
    assert rc == 0, f"{proc.name} exited with {rc}:\n{harness.tail(proc.log_path, 20)}"
    report = harness.sanitizer_report(proc.log_path)
    assert report is None, report
