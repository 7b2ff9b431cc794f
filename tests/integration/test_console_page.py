# SPDX-License-Identifier: MIT
"""The operations console's page (console/page) in a real headless Chromium: what the
page itself promises beyond test_console.py. A critical alert, new or escalated, is
announced once (banner, three beeps) and every new alert is said in the live region; a
refused acknowledgement is shown in the dialog; a change of the board keeps the
keyboard focus; the recent list holds the last 50; a live stream that breaks comes
back by itself with the whole board; a session that ends (the console
restarts, the session idles out) returns the page to the login form, saying so, and the
next login shows the whole board again.
"""

import json
import os
import subprocess
import time
import uuid

import pytest

import console_helpers as ch
import harness
from console_helpers import card, login, retained, standalone_console, stop_clean, wait

pytest.importorskip("selenium", reason="python3-selenium is not installed")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select  # noqa: E402

SESSION_ENDED = "Die Sitzung ist abgelaufen. Bitte neu anmelden."

# Counts the oscillators the page starts (each beep is one) in window.__beeps.
COUNT_BEEPS = """
window.__beeps = 0;
const start = OscillatorNode.prototype.start;
OscillatorNode.prototype.start = function (...args) { window.__beeps++; return start.apply(this, args); };
"""


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    yield from ch.browser_env(tmp_path_factory)


def crafted(topic_rule, subject, severity, value, state="active", n=1):
    """(topic, alert) as the alerting worker publishes them."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return f"linz/alerts/{topic_rule}/{subject}", {
        "id": f"linz:{topic_rule}:{subject}:{n}", "rule": topic_rule, "severity": severity,
        "state": state, "municipality": "linz", "type": "sensor.waterlevel", "subject": subject,
        "message": f"{subject}: {value} cm", "value": value, "threshold": 650,
        "raised_at": now, "updated_at": now, "acked_by": None,
        "cleared_at": now if state == "cleared" else None}


def live_region(d):
    return d.execute_script("return document.getElementById('live').textContent")


def test_critical_alert_announced_once(env):
    """A new alert is said in the live region; one that escalates to critical opens the
    banner and beeps three times; an update of the same critical alert (a new value)
    announces nothing again."""
    b = ch.logged_in(env)
    d = b.driver
    d.execute_script(COUNT_BEEPS)
    if d.find_element(By.ID, "announce").is_displayed():
        d.find_element(By.ID, "announce").click()  # an earlier banner, dismissed
    subject = "pegel-" + uuid.uuid4().hex[:6]
    topic, alert = crafted("announce-test", subject, "warning", 700)
    ch.publish(env.stack.mqtt_port, topic, json.dumps(alert), retain=True)
    try:
        wait(b, lambda d: card(d, topic) is not None, 5, "the warning")
        wait(b, lambda d: live_region(d) == f"Warnung: {subject}: 700 cm", 3,
             "the new warning in the live region")
        assert not d.find_element(By.ID, "announce").is_displayed()
        assert d.execute_script("return window.__beeps") == 0

        _, alert = crafted("announce-test", subject, "critical", 850)
        ch.publish(env.stack.mqtt_port, topic, json.dumps(alert), retain=True)
        wait(b, lambda d: d.find_element(By.ID, "announce").is_displayed()
             and subject in d.find_element(By.ID, "announce").text, 5,
             "the banner of the escalated alert")
        assert d.execute_script("return window.__beeps") == 3, "three beeps"
        d.find_element(By.ID, "announce").click()
        wait(b, lambda d: not d.find_element(By.ID, "announce").is_displayed(), 3,
             "the banner dismissed")

        _, alert = crafted("announce-test", subject, "critical", 870)
        ch.publish(env.stack.mqtt_port, topic, json.dumps(alert), retain=True)
        wait(b, lambda d: "870" in card(d, topic).text, 5, "the new value on the card")
        time.sleep(0.3)
        assert not d.find_element(By.ID, "announce").is_displayed(), "announced again"
        assert d.execute_script("return window.__beeps") == 3, "beeped again"
    finally:
        ch.publish(env.stack.mqtt_port, topic, "", retain=True)
    wait(b, lambda d: card(d, topic) is None, 5, "the alert to go")


def test_refused_acknowledgement_is_shown(env):
    """An alert that clears while its dialog is open: the acknowledgement is refused
    (404 no_alert) and the dialog stays open and says why."""
    b = ch.logged_in(env)
    d = b.driver
    gauge = "rhein-pegel-" + uuid.uuid4().hex[:6]
    topic = f"linz/alerts/rhine-flood/{gauge}"
    raised = time.time()
    ch.publish(env.stack.mqtt_port, f"linz/sensor/waterlevel/{gauge}", ch.level(700))
    wait(b, lambda d: card(d, topic) is not None, 5, "the alert")
    card(d, topic).find_element(By.CSS_SELECTOR, "button.ack").click()
    try:
        wait(b, lambda d: d.find_element(By.ID, "ack-dialog").is_displayed(), 5, "the ack dialog")
        time.sleep(max(0.0, int(raised) + 1.05 - time.time()))  # a reading of a later second
        ch.publish(env.stack.mqtt_port, f"linz/sensor/waterlevel/{gauge}", ch.level(600))
        wait(b, lambda d: card(d, topic) is None, 5, "the alert cleared")
        d.find_element(By.ID, "ack-send").click()
        wait(b, lambda d: d.find_element(By.ID, "ack-error").text, 5, "the refusal in the dialog")
        assert d.find_element(By.ID, "ack-error").text == "Dieser Alarm ist nicht mehr aktiv."
        assert d.find_element(By.ID, "ack-dialog").is_displayed()
        assert retained(env.stack.mqtt_port, topic)["acked_by"] is None
    finally:
        if d.find_element(By.ID, "ack-dialog").is_displayed():
            d.find_element(By.ID, "ack-cancel").click()


def test_board_change_keeps_focus(env):
    """A new alert on the board leaves the keyboard focus where it was."""
    b = ch.logged_in(env)
    d = b.driver
    gauges = ["rhein-pegel-" + uuid.uuid4().hex[:6] for _ in range(2)]
    topics = [f"linz/alerts/rhine-flood/{g}" for g in gauges]
    try:
        ch.publish(env.stack.mqtt_port, f"linz/sensor/waterlevel/{gauges[0]}", ch.level(700))
        wait(b, lambda d: card(d, topics[0]) is not None, 5, "the first alert")
        button = card(d, topics[0]).find_element(By.CSS_SELECTOR, "button.ack")
        d.execute_script("arguments[0].focus()", button)
        assert d.switch_to.active_element == button
        ch.publish(env.stack.mqtt_port, f"linz/sensor/waterlevel/{gauges[1]}", ch.level(710))
        wait(b, lambda d: card(d, topics[1]) is not None, 5, "the second alert")
        assert d.switch_to.active_element == button, "the focus moved"
    finally:
        for g in gauges:
            ch.publish(env.stack.mqtt_port, f"linz/sensor/waterlevel/{g}", ch.level(400))


def test_recent_list_keeps_the_last_50(env):
    """51 alerts clear one after the other: the open page lists the newest 50, newest
    first."""
    b = ch.logged_in(env)
    run = uuid.uuid4().hex[:6]
    messages = []
    for i in range(51):
        topic, alert = crafted("recent-test", f"s{run}-{i}", "warning", 700, state="cleared")
        messages.append((topic, json.dumps(alert).encode()))
    harness.publish(env.stack.mqtt_port, messages)
    last = messages[-1][0]
    wait(b, lambda d: card(d, last, "recent-list") is not None, 5, "the last cleared alert")
    topics = b.driver.execute_script(
        "return [...document.querySelectorAll('#recent-list li.alert')].map(e => e.dataset.topic)")
    assert topics == [t for t, _ in reversed(messages[1:])], topics


def network(d, online):
    d.execute_cdp_cmd("Network.emulateNetworkConditions", {
        "offline": not online, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})


@pytest.mark.skipif(os.geteuid() != 0, reason="ss -K (closing another process's socket) needs root")
def test_stream_breaks_and_comes_back_complete(env):
    """The page's connection to the live stream breaks (closed under it, the browser
    offline): the page says so (in the language chosen, also after the switch); meanwhile one alert leaves the broker and another is
    raised; back online the browser reconnects by itself and the board is what the
    broker holds, from the new stream's snapshot."""
    b = ch.logged_in(env)
    d = b.driver
    run = uuid.uuid4().hex[:6]
    gone, gone_alert = crafted("outage-test", f"gone-{run}", "warning", 700)
    new, new_alert = crafted("outage-test", f"new-{run}", "warning", 710)
    ch.publish(env.stack.mqtt_port, gone, json.dumps(gone_alert), retain=True)
    try:
        wait(b, lambda d: card(d, gone) is not None, 5, "the first alert")
        d.execute_cdp_cmd("Network.enable", {})
        network(d, online=False)
        subprocess.run(["ss", "-K", "dst", "127.0.0.1", "dport", "=", f":{env.port}"],
                       capture_output=True, check=True)
        wait(b, lambda d: d.find_element(By.ID, "conn").text
             == "○ Verbindung unterbrochen – wird wiederhergestellt …", 5, "the page saying so")
        Select(d.find_element(By.ID, "lang")).select_by_value("en")
        wait(b, lambda d: d.find_element(By.ID, "conn").text == "○ Connection lost – reconnecting …",
             5, "the page saying so in English")
        Select(d.find_element(By.ID, "lang")).select_by_value("de")
        ch.publish(env.stack.mqtt_port, gone, "", retain=True)
        ch.publish(env.stack.mqtt_port, new, json.dumps(new_alert), retain=True)
        cookie, _ = ch.api_login(env.port)

        def board():
            alerts = ch.request(env.port, "GET", "/api/alerts", headers={"Cookie": cookie})[2]["alerts"]
            return {a["topic"] for a in alerts}
        harness.wait_until(lambda: new in board() and gone not in board(), 5,
                           "the changes on the console's board")
        time.sleep(0.5)
        assert card(d, gone) is not None and card(d, new) is None, "the page is still away"
        network(d, online=True)
        wait(b, lambda d: "live" in d.find_element(By.ID, "conn").get_attribute("class"), 10,
             "the stream back")
        wait(b, lambda d: card(d, gone) is None and card(d, new) is not None, 5,
             "the board as the broker holds it")
    finally:
        network(d, online=True)
        Select(d.find_element(By.ID, "lang")).select_by_value("de")
        ch.publish(env.stack.mqtt_port, gone, "", retain=True)
        ch.publish(env.stack.mqtt_port, new, "", retain=True)


def test_session_end_returns_to_login(env):
    """The console restarts (every session ends): the open page returns to the login form
    and says that the session has ended; the next login shows every alert, also one raised
    while the console was away. A session that idles out does the same."""
    proc, port, _ = standalone_console(env, "console-restart", idle_timeout_s=4)
    url = f"http://127.0.0.1:{port}/"
    gauges = ["rhein-pegel-" + uuid.uuid4().hex[:6] for _ in range(2)]
    topics = [f"linz/alerts/rhine-flood/{g}" for g in gauges]
    proc.start()
    try:
        harness.wait_until(lambda: ch.request(port, "GET", "/")[0] == 200, 20, "the console")
        b = ch.Browser()
        env.browsers.append(b)
        login(env, b, url=url)
        ch.publish(env.stack.mqtt_port, f"linz/sensor/waterlevel/{gauges[0]}", ch.level(700))
        wait(b, lambda d: card(d, topics[0]) is not None, 5, "the first alert")

        stop_clean(proc)
        ch.publish(env.stack.mqtt_port, f"linz/sensor/waterlevel/{gauges[1]}", ch.level(710))
        harness.wait_until(lambda: (retained(env.stack.mqtt_port, topics[1]) or {}).get("state")
                           == "active", 5, "the second alert while the console is away")
        proc.start()
        wait(b, lambda d: d.find_element(By.ID, "view-login").is_displayed()
             and d.find_element(By.ID, "login-error").text == SESSION_ENDED, 20,
             "the login form saying that the session has ended")
        login(env, b, url=url)
        wait(b, lambda d: all(card(d, t) is not None for t in topics), 5, "both alerts")

        # No request for 4 s: the session idles out and the page says so.
        wait(b, lambda d: d.find_element(By.ID, "view-login").is_displayed()
             and d.find_element(By.ID, "login-error").text == SESSION_ENDED, 15,
             "the login form after the idle timeout")
    finally:
        for g in gauges:
            ch.publish(env.stack.mqtt_port, f"linz/sensor/waterlevel/{g}", ch.level(400))
        stop_clean(proc)
