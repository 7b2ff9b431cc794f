# SPDX-License-Identifier: MIT
"""The operations console (rheinhub-console) in a real headless Chromium.

One broker with accounts made by `deploy/broker/account` (an operator, a device), one
hub supervising the alerting and storage workers and the console, and two browser
windows for the whole module: an operator logs in on both, a water level published
over MQTT appears as an alert without a reload, an acknowledgement made on one page
shows on the other and on the broker under the operator's name (naming the alert it
was made on), a lower level clears it. Then the refusals: a device account, a wrong
password (and the throttle after it), a state change without the CSRF token; markup in
an alert stays text; the page at 360 px. With RHEINHUB_CONSOLE_SCREENSHOTS=1 the
screenshots go to docs/console/.
"""

import datetime
import json
import os
import re
import sqlite3
import subprocess
import time
import uuid
import zoneinfo

import pytest

import console_helpers as ch
import harness
from console_helpers import card, login, logout, retained, standalone_console, stop_clean, wait

pytest.importorskip("selenium", reason="python3-selenium is not installed")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    yield from ch.browser_env(tmp_path_factory)


def test_first_visit_transfer(env):
    """The page's total transfer on a first visit (empty cache) stays under 150 KB."""
    b = env.browser()  # a new profile: nothing cached; its first load is measured
    wait(b, lambda d: d.find_element(By.ID, "view-login").is_displayed(), 10, "the login form")
    total = b.driver.execute_script(
        "const n = performance.getEntriesByType('navigation')[0];"
        "return n.transferSize + performance.getEntriesByType('resource')"
        ".reduce((s, r) => s + r.transferSize, 0);")
    print(f"\nfirst visit transfer: {total} bytes")
    assert 0 < total < 150 * 1024, f"first visit transferred {total} bytes"
    env.shot(b, "login")


def test_every_text_in_both_languages(env):
    """The page's texts as the browser loaded them: the same keys in German and English,
    each a non-empty string (i18n.js keeps each text beside its translation)."""
    b = env.browser()
    wait(b, lambda d: d.find_element(By.ID, "view-login").is_displayed(), 10, "the login form")
    bad = b.driver.execute_script(
        "const de = window.I18N.de, en = window.I18N.en, bad = [];"
        "for (const k of new Set([...Object.keys(de), ...Object.keys(en)]))"
        "  for (const [lang, d] of [['de', de], ['en', en]])"
        "    if (typeof d[k] !== 'string' || d[k] === '') bad.push(lang + ':' + k);"
        "return [Object.keys(de).length, bad];")
    assert bad[0] > 50, f"only {bad[0]} texts loaded"
    assert bad[1] == [], f"texts missing or empty: {bad[1]}"


def test_live_alert_ack_on_other_page_and_clear(env):
    b = env.first()
    a = env.browser()
    login(env, a)
    login(env, b)
    gauge = "rhein-pegel-" + uuid.uuid4().hex[:6]
    topic = f"linz/alerts/rhine-flood/{gauge}"
    sub = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(env.stack.mqtt_port),
                            "-v", "-t", topic + "/ack"], stdout=subprocess.PIPE, text=True)
    try:
        # The rising river before the alert, for the detail's chart: below 650 cm, no alert.
        now = time.time()
        for minutes, cm in ((50, 560), (40, 590), (30, 610), (20, 632), (10, 645)):
            when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - minutes * 60))
            ch.publish(env.stack.mqtt_port, f"linz/sensor/waterlevel/{gauge}", ch.level(cm, when))
        start = time.monotonic()
        ch.publish(env.stack.mqtt_port, f"linz/sensor/waterlevel/{gauge}", ch.level(700))
        wait(a, lambda d: card(d, topic) is not None, 2, "the alert on page A within 2 s")
        elapsed = time.monotonic() - start
        print(f"\npublish to alert on the open page: {elapsed * 1000:.0f} ms")
        c = card(a.driver, topic)
        alert_id = c.get_attribute("data-id")
        assert c.get_attribute("data-state") == "active" and alert_id.startswith(
            f"linz:rhine-flood:{gauge}:"), alert_id
        assert "rhine-flood" in c.text and gauge in c.text and "700" in c.text
        assert "Warnung" in c.text, "severity is named in words, not only by colour"
        wait(b, lambda d: card(d, topic) is not None, 2, "the alert on page B")
        env.shot(a, "board")

        # By keyboard: Enter on the card's button, the dialog takes the focus, Tab Tab
        # reaches its "Bestätigen" button, Enter sends.
        c.find_element(By.CSS_SELECTOR, "button.ack").send_keys(Keys.ENTER)
        wait(a, lambda d: d.find_element(By.ID, "ack-dialog").is_displayed(), 5, "the ack dialog")
        active = lambda: a.driver.switch_to.active_element.get_attribute("id")
        assert active() == "ack-comment", active()
        a.driver.switch_to.active_element.send_keys("Deich am Pegel geprüft")
        env.shot(a, "acknowledge")
        a.driver.switch_to.active_element.send_keys(Keys.TAB)
        a.driver.switch_to.active_element.send_keys(Keys.TAB)
        assert active() == "ack-send", active()
        a.driver.switch_to.active_element.send_keys(Keys.ENTER)
        wait(b, lambda d: card(d, topic) is not None
             and card(d, topic).get_attribute("data-state") == "acknowledged", 5,
             "the acknowledgement on page B")
        assert ch.OPERATOR in card(b.driver, topic).text
        state = retained(env.stack.mqtt_port, topic)
        assert state["state"] == "acknowledged" and state["acked_by"] == ch.OPERATOR, state
        sub.terminate()
        lines = sub.communicate(timeout=10)[0].splitlines()
        acks = [json.loads(line.split(" ", 1)[1]) for line in lines if line.startswith(topic + "/ack ")]
        # The page names the alert the operator saw: not the next one of this gauge.
        assert acks == [{"by": ch.OPERATOR, "comment": "Deich am Pegel geprüft",
                         "alert_id": alert_id}], lines
        env.shot(b, "acknowledged")

        # The alert's detail: history from the database, values as an SVG chart.
        card(b.driver, topic).find_element(By.CSS_SELECTOR, "a.details").click()
        wait(b, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#detail-history tbody tr")) >= 2,
             10, "the alert's history")
        wait(b, lambda d: d.find_elements(By.CSS_SELECTOR, "#detail-chart svg path.series"), 10,
             "the values chart")
        levels = b.driver.find_elements(By.CSS_SELECTOR, "#detail-chart svg line.level")
        assert len(levels) == 3, "raise 650, critical 800 and clear 620 are marked"
        wait(b, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#detail-chart svg circle.dot")) == 6,
             10, "the six stored values in the chart")
        chart_draws_the_rising_river(b, int(now) - 50 * 60)
        b.driver.execute_script("document.getElementById('detail-chart').scrollIntoView()")
        env.shot(b, "detail")
        b.driver.get(env.url + "#alerts")
        wait(b, lambda d: card(d, topic) is not None, 10, "the board again")

        ch.publish(env.stack.mqtt_port, f"linz/sensor/waterlevel/{gauge}", ch.level(600))
        for name, page in (("A", a), ("B", b)):
            try:
                wait(page, lambda d: card(d, topic) is None and card(d, topic, "recent-list") is not None,
                     20, f"the cleared alert in the recent list of page {name}")
            except AssertionError as exc:
                raise AssertionError(f"{exc}; {where_is_the_clear(env, page, topic)}") from exc
        assert card(a.driver, topic, "recent-list").get_attribute("data-state") == "cleared"
        # A page opened after the clear has it too: from the snapshot, the console's own
        # recent list, not from the live event the open pages saw.
        a.driver.refresh()
        wait(a, lambda d: card(d, topic, "recent-list") is not None, 10,
             "the cleared alert in the recent list after a reload")
        assert card(a.driver, topic) is None
        # Its retained message removed (as the alerting worker does when it forgets the
        # quiet track): the open page drops it from the recent list.
        ch.publish(env.stack.mqtt_port, topic, "", retain=True)
        wait(a, lambda d: card(d, topic, "recent-list") is None, 3,
             "the removed alert off the recent list")
    finally:
        sub.kill()
        sub.wait()


def where_is_the_clear(env, page, topic):
    """What a wait for a clear saw, to tell a slow stage from a lost message: the broker's
    retained alert, the page's card and its stream, and the hub's log lines of the topic."""
    held = card(page.driver, topic)
    conn = page.driver.find_element(By.ID, "conn").get_attribute("class")
    lines = [line for line in harness.tail(env.hub.log_path, 400).splitlines()
             if topic.rsplit("/", 1)[1] in line]
    return (f"retained: {retained(env.stack.mqtt_port, topic)}; card on the board: "
            f"{held.get_attribute('data-state') if held else None}; stream: {conn}; "
            f"hub log lines of the gauge: {lines[-10:]}")


def chart_draws_the_rising_river(b, first):
    """The detail's chart of 560, 590, 610, 632, 645 and 700 cm (the first at first, in
    seconds): time from left to right, a higher value higher up, the levels in their order,
    everything inside the plot, and the time axis in the town's zone."""
    geo = b.driver.execute_script(
        "const s = document.querySelector('#detail-chart svg'), r = s.querySelector('rect.plot');"
        "const top = +r.getAttribute('y'), bottom = top + +r.getAttribute('height'), levels = {};"
        "for (const l of s.querySelectorAll('line.level'))"
        "  levels[l.classList[1]] = +l.getAttribute('y1');"
        "return {top, bottom, levels, axis: [...s.querySelectorAll('text.axis')].map(t => t.textContent),"
        "  dots: [...s.querySelectorAll('circle.dot')].map(c => [+c.cx.baseVal.value, +c.cy.baseVal.value])};")
    xs, ys = [x for x, _ in geo["dots"]], [y for _, y in geo["dots"]]
    assert xs == sorted(set(xs)), geo
    assert ys == sorted(set(ys), reverse=True), geo  # SVG's y grows downwards
    levels = geo["levels"]
    assert levels["level-critical"] < levels["level-warning"] < levels["level-clear"], levels
    assert all(geo["top"] <= y <= geo["bottom"] for y in ys + list(levels.values())), geo
    berlin = datetime.datetime.fromtimestamp(first, zoneinfo.ZoneInfo("Europe/Berlin"))
    assert any(t.endswith(berlin.strftime("%d.%m., %H:%M")) for t in geo["axis"]), geo["axis"]


def test_new_critical_alert_is_announced(env):
    b = ch.logged_in(env)
    gauge = "rhein-pegel-" + uuid.uuid4().hex[:6]
    ch.publish(env.stack.mqtt_port, f"linz/sensor/waterlevel/{gauge}", ch.level(850))
    wait(b, lambda d: d.find_element(By.ID, "announce").is_displayed()
         and gauge in d.find_element(By.ID, "announce").text, 10, "the critical alert's banner")
    box = b.driver.find_element(By.ID, "announce")
    assert box.get_attribute("role") == "alert"
    assert "▲▲" in card(b.driver, f"linz/alerts/rhine-flood/{gauge}").text
    env.shot(b, "critical")
    ch.publish(env.stack.mqtt_port, f"linz/sensor/waterlevel/{gauge}", ch.level(400))


def test_markup_in_alerts_is_text(env):
    """Markup in an alert (on its card, in the banner of a critical alert, the ack dialog
    and the detail's heading) and in a rejected message's topic and payload is shown as
    text and never runs. The card's time is the town's (Europe/Berlin)."""
    b = ch.logged_in(env)
    d = b.driver
    topic = "linz/alerts/markup-test/evil-1"
    message = "<script>window.__xss=2</script><b>fett</b>"
    alert = {"id": "linz:markup-test:evil-1:1", "rule": "markup-test", "severity": "critical",
             "state": "active", "municipality": "linz", "type": "sensor.waterlevel",
             "subject": '"><img src=x onerror="window.__xss=1">',
             "message": message, "value": 1, "threshold": 0,
             "raised_at": "2026-12-04T10:00:00Z", "updated_at": "2026-12-04T10:00:00Z",
             "acked_by": '<img src=x onerror="window.__xss=3">', "cleared_at": None}
    no_markup = "script, b, img, i"
    # Its history in the database, found by its topic's subject (the worker did not raise
    # it: no values are stored).
    db = sqlite3.connect(env.stack.run_dir / "rheinhub.db", timeout=10)
    try:
        with db:
            db.execute("INSERT INTO alerts (change_id, id, rule, severity, state, municipality, type,"
                       " subject, value, threshold, message, raised_at, updated_at, updated_ns,"
                       " acked_by, received, data) VALUES (?, ?, ?, ?, ?, ?, ?, 'evil-1', ?, ?, ?, ?,"
                       " ?, ?, ?, ?, ?)", (uuid.uuid4().hex, *(alert[k] for k in (
                           "id", "rule", "severity", "state", "municipality", "type", "value",
                           "threshold", "message", "raised_at", "updated_at")),
                           1796378400 * 10**9, alert["acked_by"], time.time_ns(), json.dumps(alert)))
    finally:
        db.close()
    ch.publish(env.stack.mqtt_port, topic, json.dumps(alert), retain=True)
    try:
        wait(b, lambda d: card(d, topic) is not None, 3, "the crafted alert")
        c = card(d, topic)
        assert message in c.text
        assert '"><img src=x onerror="window.__xss=1">' in c.text
        assert not c.find_elements(By.CSS_SELECTOR, no_markup)
        assert "04.12.2026, 11:00:00" in c.text, "10:00 UTC is 11:00 in Linz"
        wait(b, lambda d: message in d.find_element(By.ID, "announce").text, 3, "the banner")
        assert not d.find_element(By.ID, "announce").find_elements(By.CSS_SELECTOR, no_markup)
        d.find_element(By.ID, "announce").click()
        c.find_element(By.CSS_SELECTOR, "button.ack").click()
        wait(b, lambda d: d.find_element(By.ID, "ack-dialog").is_displayed(), 5, "the ack dialog")
        what = d.find_element(By.ID, "ack-what")
        assert what.text == message and not what.find_elements(By.CSS_SELECTOR, "*")
        d.find_element(By.ID, "ack-cancel").click()
        c.find_element(By.CSS_SELECTOR, "a.details").click()
        wait(b, lambda d: d.find_element(By.ID, "detail-h").text == message, 5, "the detail")
        assert not d.find_element(By.ID, "detail-h").find_elements(By.CSS_SELECTOR, "*")
        history = wait(b, lambda d: d.find_elements(By.CSS_SELECTOR, "#detail-history tbody tr"), 10,
                       "the alert's history")
        assert alert["acked_by"] in history[0].text
        assert not d.find_element(By.ID, "detail-history").find_elements(By.CSS_SELECTOR, no_markup)
        wait(b, lambda d: [e.text for e in d.find_elements(By.CSS_SELECTOR, "#detail-chart p.empty")]
             == ["Keine gespeicherten Werte in diesem Zeitraum."], 5,
             "the chart saying that no values are stored")

        payload = '<img src=x onerror="window.__xss=4"><i>kursiv</i>'
        ch.publish(env.stack.mqtt_port, "linz/sensor/waterlevel/<b>evil</b>", payload)
        d.get(env.url + "#deadletters")
        table = lambda d: d.find_element(By.ID, "dead-table")

        def listed(d):
            d.find_element(By.CSS_SELECTOR, "#dead-form button").click()
            return payload in table(d).text and "linz/sensor/waterlevel/<b>evil</b>" in table(d).text
        wait(b, listed, 10, "the rejected message with markup")
        assert not table(d).find_elements(By.CSS_SELECTOR, no_markup)
        assert d.execute_script("return window.__xss === undefined")
    finally:
        ch.publish(env.stack.mqtt_port, topic, "", retain=True)
        d.get(env.url + "#alerts")
    wait(b, lambda d: card(d, topic) is None, 3, "the crafted alert to go")


def test_state_change_without_csrf_token_refused(env):
    cookie, csrf = ch.api_login(env.port)
    gauge = "rhein-pegel-" + uuid.uuid4().hex[:6]
    topic = f"linz/alerts/rhine-flood/{gauge}"
    ch.publish(env.stack.mqtt_port, f"linz/sensor/waterlevel/{gauge}", ch.level(701))
    harness.wait_until(lambda: any(a["topic"] == topic for a in ch.request(
        env.port, "GET", "/api/alerts", headers={"Cookie": cookie})[2]["alerts"]), 5, "the alert")
    body = {"topic": topic, "comment": "ohne Token"}
    for headers in ({"Cookie": cookie},
                    {"Cookie": cookie, "X-CSRF-Token": "0" * 64},
                    {"Cookie": cookie, "X-CSRF-Token": csrf, "Origin": "http://evil.example"}):
        status, _, reply = ch.request(env.port, "POST", "/api/ack", body, headers)
        assert status == 403, (headers.keys(), status, reply)
    status, _, reply = ch.request(env.port, "POST", "/api/logout", {}, {"Cookie": cookie})
    assert status == 403 and reply["error"] == "csrf"
    assert ch.request(env.port, "GET", "/api/session", headers={"Cookie": cookie})[0] == 200
    assert retained(env.stack.mqtt_port, topic)["state"] == "active", "no ack was published"
    # The same request with the token is taken: the refusals above were for the token.
    status, _, reply = ch.request(env.port, "POST", "/api/ack", body,
                                  {"Cookie": cookie, "X-CSRF-Token": csrf})
    assert status == 202, reply
    # From the page's own origin without the header: refused as well.
    b = env.first()
    status = b.driver.execute_async_script(
        "const done = arguments[0]; fetch('/api/logout', {method: 'POST', headers: "
        "{'Content-Type': 'application/json'}, body: '{}'}).then(r => done(r.status));")
    assert status == 403
    ch.publish(env.stack.mqtt_port, f"linz/sensor/waterlevel/{gauge}", ch.level(400))


def test_device_account_and_wrong_password_refused(env):
    b = ch.logged_in(env)
    logout(b)
    # The session has ended on the console too, not only on the page.
    assert b.driver.execute_async_script(
        "fetch('/api/session').then(r => arguments[0](r.status))") == 401
    login(env, b, ch.DEVICE, ch.DEVICE_PASSWORD, expect_ok=False)
    err = wait(b, lambda d: d.find_element(By.ID, "login-error").text, 10, "the refusal")
    assert "device" in err and "operator" in err, err
    assert b.driver.find_element(By.ID, "view-login").is_displayed()
    env.shot(b, "device-refused")
    status, _, reply = ch.request(env.port, "POST", "/api/login",
                                  {"user": ch.DEVICE, "password": ch.DEVICE_PASSWORD})
    assert status == 403 and reply["error"] == "not_operator" and reply["role"] == "device"

    login(env, b, ch.OPERATOR, "falsch", expect_ok=False)
    err = wait(b, lambda d: d.find_element(By.ID, "login-error").text, 10, "the refusal")
    assert "falsch" in err, err
    # Each failure doubles this address's wait (1 s, 2 s, 4 s): two more failures, each
    # made once the previous wait is over, leave a wait of 4 s.
    wrong = {"user": ch.OPERATOR, "password": "auch-falsch"}
    for _ in range(2):
        harness.wait_until(lambda: ch.request(env.port, "POST", "/api/login", wrong)[0] == 401,
                           10, "a refused login after the wait")
    login(env, b, ch.OPERATOR, ch.OPERATOR_PASSWORD, expect_ok=False)
    err = wait(b, lambda d: "warten" in d.find_element(By.ID, "login-error").text
               and d.find_element(By.ID, "login-error").text, 10, "the throttle")
    status, headers, reply = ch.request(env.port, "POST", "/api/login", wrong)
    assert status == 429 and int(headers["retry-after"]) >= 1, (status, reply)
    # After the wait the right password works again.
    harness.wait_until(lambda: ch.request(env.port, "POST", "/api/login",
                                          {"user": ch.OPERATOR, "password": ch.OPERATOR_PASSWORD}
                                          )[0] == 200, 20, "the throttle to pass")


def test_page_at_360_px(env):
    b = env.browser(width=360, height=780)
    b.driver.get(env.url)
    assert b.driver.execute_script("return window.innerWidth") <= 360
    harness.wait_until(lambda: ch.request(env.port, "POST", "/api/login",
                                          {"user": ch.OPERATOR, "password": ch.OPERATOR_PASSWORD}
                                          )[0] == 200, 70, "the login throttle to pass")
    login(env, b)
    gauge = "rhein-pegel-" + uuid.uuid4().hex[:6]
    topic = f"linz/alerts/rhine-flood/{gauge}"
    ch.publish(env.stack.mqtt_port, f"linz/sensor/waterlevel/{gauge}", ch.level(702))
    wait(b, lambda d: card(d, topic) is not None, 3, "the alert at 360 px")
    d = b.driver
    assert d.execute_script("return Math.max(document.documentElement.scrollWidth, window.innerWidth)"
                            " <= 360"), "the page scrolls sideways at 360 px"
    button = card(d, topic).find_element(By.CSS_SELECTOR, "button.ack")
    rect = d.execute_script("const r = arguments[0].getBoundingClientRect();"
                            "return [r.left, r.right, r.height];", button)
    assert rect[0] >= 0 and rect[1] <= 360 and rect[2] >= 44, rect
    d.execute_script("arguments[0].scrollIntoView()", card(d, topic))
    env.shot(b, "phone")
    fits_360(env, b, topic)
    # English on request, kept across a reload; times stay in Europe/Berlin.
    from selenium.webdriver.support.ui import Select
    Select(d.find_element(By.ID, "lang")).select_by_value("en")
    wait(b, lambda d: d.find_element(By.ID, "alerts-h").text.startswith("Active alerts"), 5,
         "the English board")
    assert "Warning" in card(d, topic).text and d.execute_script(
        "return document.documentElement.lang") == "en"
    # No German text is left on the page as shown: neither in its texts nor in its labels.
    german = d.execute_script(
        "const de = I18N.de, en = I18N.en, found = [];"
        "const only = new Set(Object.keys(de).filter(k => de[k] !== en[k]).map(k => de[k]));"
        "const w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);"
        "for (let n; (n = w.nextNode());)"
        "  if (!n.parentElement.closest('[hidden]') && only.has(n.nodeValue.trim())) found.push(n.nodeValue);"
        "for (const e of document.querySelectorAll('[aria-label], [title]'))"
        "  for (const a of ['aria-label', 'title'])"
        "    if (only.has(e.getAttribute(a))) found.push(e.getAttribute(a));"
        "if (only.has(document.title)) found.push(document.title);"
        "return found;")
    assert german == [], german
    d.refresh()
    wait(b, lambda d: card(d, topic) is not None and "Acknowledge" in card(d, topic).text, 10,
         "the English board after a reload")
    Select(d.find_element(By.ID, "lang")).select_by_value("de")
    ch.publish(env.stack.mqtt_port, f"linz/sensor/waterlevel/{gauge}", ch.level(400))


def fits_360(env, b, topic):
    """At 360 px: a card with a long unbroken word, the ack dialog, the alert's detail and
    the rejected messages stay within the width (tables scroll on their own)."""
    d = b.driver
    # Content wider than the phone makes a mobile browser zoom out (innerWidth grows).
    sideways = "return Math.max(document.documentElement.scrollWidth, window.innerWidth) > 360"
    long_topic = "linz/alerts/long-test/" + "x" * 60
    alert = {"id": "linz:long-test:x:1", "rule": "long-test", "severity": "info", "state": "active",
             "municipality": "linz", "type": "sensor.waterlevel", "subject": "x" * 60,
             "message": "https://pegel.linz.example/" + "messstelle-" * 12, "value": 1,
             "threshold": 0, "raised_at": "2026-12-04T10:00:00Z",
             "updated_at": "2026-12-04T10:00:00Z", "acked_by": None, "cleared_at": None}
    ch.publish(env.stack.mqtt_port, long_topic, json.dumps(alert), retain=True)
    try:
        wait(b, lambda d: card(d, long_topic) is not None, 3, "the alert with a long word")
        assert not d.execute_script(sideways), "a long word widens the page"
    finally:
        ch.publish(env.stack.mqtt_port, long_topic, "", retain=True)
    card(d, topic).find_element(By.CSS_SELECTOR, "button.ack").click()
    wait(b, lambda d: d.find_element(By.ID, "ack-dialog").is_displayed(), 5, "the ack dialog")
    rect = d.execute_script("const r = document.getElementById('ack-dialog').getBoundingClientRect();"
                            "return [r.left, r.right];")
    assert rect[0] >= 0 and rect[1] <= 360, rect
    d.find_element(By.ID, "ack-cancel").click()
    card(d, topic).find_element(By.CSS_SELECTOR, "a.details").click()
    wait(b, lambda d: d.find_elements(By.CSS_SELECTOR, "#detail-history tbody tr"), 10, "the history")
    assert not d.execute_script(sideways), "the detail scrolls sideways"
    ch.publish(env.stack.mqtt_port, "linz/sensor/waterlevel/" + "y" * 60, "not json")
    d.get(env.url + "#deadletters")

    def listed(d):
        d.find_element(By.CSS_SELECTOR, "#dead-form button").click()
        return "y" * 60 in d.find_element(By.ID, "dead-table").text
    wait(b, listed, 10, "the rejected message")
    assert not d.execute_script(sideways), "the rejected messages scroll sideways"
    d.get(env.url + "#alerts")
    wait(b, lambda d: card(d, topic) is not None, 5, "the board again")


def test_gauges_and_dead_letters(env):
    """Gauges from the retained aggregates with 24 hours of hourly aggregates from the
    database and a silent sensor marked, one whose retained aggregate is removed gone
    from the open page; rejected messages with reason, topic and the
    start of the payload, filtered by topic prefix."""
    b = ch.logged_in(env)
    now = int(time.time()) // 3600 * 3600
    gauges = {"rhein-pegel-1": 412, "rhein-pegel-2": 388, "rhein-pegel-3": 455}
    db = sqlite3.connect(env.stack.run_dir / "rheinhub.db", timeout=10)
    try:
        with db:
            for subject, base in gauges.items():
                for h in range(24, 0, -1):
                    start = now - h * 3600
                    mean = base + 40 * ((24 - h) / 24) + (h % 5)
                    iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
                    agg = {"municipality": "linz", "type": "sensor.waterlevel", "subject": subject,
                           "window": "1h", "start": iso(start), "end": iso(start + 3600),
                           "count": 60, "stats": {"value": {"count": 60, "mean": mean,
                                                            "min": mean - 3, "max": mean + 3,
                                                            "last": mean}}}
                    db.execute("INSERT INTO aggregates (id, municipality, type, subject, window_size,"
                               " window_start, window_end, start_ns, count, subjects, received, data)"
                               " VALUES (?, 'linz', 'sensor.waterlevel', ?, '1h', ?, ?, ?, 60, NULL, ?, ?)",
                               (uuid.uuid4().hex, subject, agg["start"], agg["end"], start * 10**9,
                                time.time_ns(), json.dumps(agg)))
    finally:
        db.close()
    iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
    for subject, base in gauges.items():
        agg = {"municipality": "linz", "type": "sensor.waterlevel", "subject": subject,
               "window": "15m", "start": iso(now), "end": iso(now + 900), "count": 15,
               "stats": {"value": {"count": 15, "mean": base + 40, "last": base + 41}}}
        ch.publish(env.stack.mqtt_port, f"linz/analytics/sensor.waterlevel/{subject}/15m",
                   json.dumps(agg), retain=True)
    silent = {"id": "linz:sensor-silent:rhein-pegel-3:1", "rule": "sensor-silent",
              "severity": "warning", "state": "active", "municipality": "linz",
              "type": "sensor.waterlevel", "subject": "rhein-pegel-3", "value": 1900,
              "threshold": 1800, "message": "rhein-pegel-3 (sensor.waterlevel) has sent nothing for 1900 s (limit 30m)",
              "raised_at": iso(now), "updated_at": iso(now), "acked_by": None, "cleared_at": None}
    silent_topic = "linz/alerts/sensor-silent/rhein-pegel-3"
    ch.publish(env.stack.mqtt_port, silent_topic, json.dumps(silent), retain=True)
    try:
        wait(b, lambda d: card(d, silent_topic) is not None, 10, "the silence alert")
        b.driver.find_element(By.ID, "nav-gauges").click()
        row = lambda d, s: d.find_elements(By.CSS_SELECTOR, f'#gauge-groups tr[data-subject="{s}"]')
        wait(b, lambda d: all(row(d, s) for s in gauges), 10, "the gauges")
        wait(b, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#gauge-groups svg.spark path.series")) == 3,
             10, "three sparklines")
        # The hourly means of a day, rising: the sparkline's last point is higher than its first (SVG's
        # y grows downwards).
        spark = row(b.driver, "rhein-pegel-1")[0].find_element(By.CSS_SELECTOR, "svg.spark path")
        ys = [float(y) for y in re.findall(r"[ML][\d.]+ ([\d.]+)", spark.get_attribute("d"))]
        assert len(ys) >= 20 and ys[-1] < ys[0], ys
        r1 = row(b.driver, "rhein-pegel-1")[0].text
        assert "453" in r1 and "cm" in r1, r1
        r3 = row(b.driver, "rhein-pegel-3")[0]
        assert "stumm" in r3.text and "is-silent" in r3.get_attribute("class"), r3.text
        assert "stumm" not in row(b.driver, "rhein-pegel-1")[0].text
        env.shot(b, "gauges")
        # An aggregate whose retained message is removed leaves the open page.
        ch.publish(env.stack.mqtt_port, "linz/analytics/sensor.waterlevel/rhein-pegel-2/15m", "",
                   retain=True)
        wait(b, lambda d: not row(d, "rhein-pegel-2") and row(d, "rhein-pegel-1"), 5,
             "rhein-pegel-2 off the gauges")

        ch.publish(env.stack.mqtt_port, "linz/sensor/waterlevel/new-device-7", "not json")
        ch.publish(env.stack.mqtt_port, "linz/sensor/parking/lot-3", json.dumps({"time": "now"}))
        b.driver.find_element(By.ID, "nav-dead").click()
        rows = lambda d: d.find_elements(By.CSS_SELECTOR, "#dead-table tbody tr")

        def has_both(d):
            d.find_element(By.CSS_SELECTOR, "#dead-form button").click()
            texts = [r.text for r in rows(d)]
            return any("new-device-7" in t and "bad_json" in t and "not json" in t for t in texts) \
                and any("lot-3" in t for t in texts)
        wait(b, has_both, 10, "both rejected messages")
        b.driver.find_element(By.ID, "dead-prefix").send_keys("linz/sensor/waterlevel/")
        b.driver.find_element(By.CSS_SELECTOR, "#dead-form button").click()
        wait(b, lambda d: rows(d) and all("linz/sensor/waterlevel/" in r.text for r in rows(d)),
             10, "the filtered list")
        env.shot(b, "deadletters")
    finally:
        ch.publish(env.stack.mqtt_port, silent_topic, "", retain=True)
        for subject in gauges:
            ch.publish(env.stack.mqtt_port, f"linz/analytics/sensor.waterlevel/{subject}/15m", "",
                       retain=True)
        b.driver.get(env.url + "#alerts")


def test_https_secure_cookie_and_idle_timeout(env):
    """With a certificate the console speaks HTTPS only: HSTS, a Secure cookie. A session
    idle for idle_timeout_s ends, and its live stream with it."""
    import http.client
    import ssl
    tmp = env.stack.tmp
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext",
                    "subjectAltName=IP:127.0.0.1", "-keyout", str(tmp / "console.key"),
                    "-out", str(tmp / "console.crt")], check=True, capture_output=True)
    proc, port, _ = standalone_console(env, "console-tls", tls_cert=str(tmp / "console.crt"),
                                       tls_key=str(tmp / "console.key"), idle_timeout_s=2)
    proc.start()
    ctx = ssl.create_default_context(cafile=str(tmp / "console.crt"))

    def https(method, path, body=None, headers=None):
        conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
        try:
            h = dict(headers or {})
            if body is not None:
                h["Content-Type"] = "application/json"
            conn.request(method, path, body=None if body is None else json.dumps(body), headers=h)
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()
    try:
        harness.wait_until(lambda: https("GET", "/")[0] == 200, 20, "the console over HTTPS")
        status, headers, _ = https("GET", "/")
        assert headers["strict-transport-security"].startswith("max-age=")
        with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
            ch.request(port, "GET", "/")   # plain HTTP on the TLS port: no answer
        status, headers, body = https("POST", "/api/login",
                                      {"user": ch.OPERATOR, "password": ch.OPERATOR_PASSWORD})
        assert status == 200, body
        cookie_line = headers["set-cookie"]
        for attr in ("HttpOnly", "SameSite=Strict", "Secure"):
            assert attr in cookie_line, cookie_line
        cookie = cookie_line.split(";")[0]

        # The live stream ends by itself once the session has idled out (2 s, checked
        # every second). A stream that goes on is sent a ping every 15 s, which would
        # keep a longer socket timeout from ever firing: 10 s without a byte fails.
        conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
        try:
            conn.request("GET", "/api/events", headers={"Cookie": cookie})
            resp = conn.getresponse()
            assert resp.status == 200
            try:
                text = resp.read().decode()  # returns when the server ends the stream
            except TimeoutError:
                raise AssertionError("the live stream went on after the session idled out") \
                    from None
        finally:
            conn.close()
        assert "event: snapshot" in text
        assert https("GET", "/api/session", headers={"Cookie": cookie})[0] == 401
    finally:
        stop_clean(proc)


def test_plain_http_only_on_loopback(env):
    proc, _, path = standalone_console(env, "console-open", bind="0.0.0.0")
    run = subprocess.run([str(ch.console_binary()), "--check", "-c", str(path)],
                         capture_output=True, text=True, env=harness.sanitizer_env())
    assert run.returncode != 0
    assert "not a loopback address" in run.stderr, run.stderr


def test_check_names_a_missing_accounts_file(tmp_path):
    """--check refuses an accounts_file that cannot be read: with it, every login would
    be answered 503 no_registry."""
    path = tmp_path / "hub.yaml"
    missing = tmp_path / "broker" / "accounts"
    path.write_text(f"console:\n  accounts_file: {missing}\n  port: 0\n")
    run = subprocess.run([str(ch.console_binary()), "--check", "-c", str(path)],
                         capture_output=True, text=True, env=harness.sanitizer_env())
    assert run.returncode != 0, run.stdout + run.stderr
    assert f"{path}: console.accounts_file {missing}: No such file or directory" in run.stderr, \
        run.stderr


def test_bench_console_short():
    """The benchmark's short run: 50 streams, 10 changes; every change reaches every stream."""
    env = dict(os.environ, BENCH_CLIENTS="50", BENCH_ROUNDS="10", BENCH_INTERVAL_MS="50",
               BUILD_DIR=str(harness.build_dir()))
    run = subprocess.run([str(harness.REPO / "tests" / "bench" / "bench_console")], env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "clients 50  changes 10  receipts 500  missing 0" in run.stdout, run.stdout
    print("\n" + run.stdout)
