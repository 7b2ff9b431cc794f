# SPDX-License-Identifier: MIT
"""The monitoring that ships in deploy/: Prometheus's rules and scrape configuration,
the Grafana dashboard, against a running hub and a real Prometheus (Debian's).

- promtool checks the rules and the configuration and runs the rules' unit tests.
- Every rheinhub_ metric of the rules and the dashboard is written by the C code (hub,
  sources, console), without running anything.
- Every query of the dashboard on the hub names only metrics that the hub's /metrics
  exports (a hub with its storage worker, after events went through); those on the
  sources and the console are checked against running sources and a running console.
- Every rheinhub_ metric of the alert rules and the dashboard is exported with the labels
  they name, and what they take a rate() or increase() of is a counter.
- Prometheus scrapes that hub with the shipped rules loaded: the target is up, every
  rule evaluates without error, and every dashboard query returns series.
"""

import json
import re
import shutil
import subprocess
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

import harness
from storage_helpers import SqliteDb, storage_hub, wait_count

PROM_DIR = harness.REPO / "deploy" / "prometheus"
DASHBOARD = harness.REPO / "deploy" / "grafana" / "rheinhub-dashboard.json"
METRIC_RE = re.compile(r"\b(rheinhub_[a-z_]+|redis_[a-z_]+|node_[a-z_]+|up)\b(?!\s*\()")


def promtool(*args):
    r = subprocess.run(["promtool", *map(str, args)], capture_output=True, text=True,
                       cwd=PROM_DIR, timeout=120)
    assert r.returncode == 0, f"promtool {' '.join(map(str, args))}:\n{r.stdout}{r.stderr}"
    return r.stdout


def test_promtool_check_and_test_rules():
    out = promtool("check", "rules", "rheinhub-rules.yml")
    assert "SUCCESS: 19 rules found" in out
    promtool("check", "config", "prometheus.yml")
    out = promtool("test", "rules", "rheinhub-rules.test.yml")
    assert "SUCCESS" in out
    # Every alert of the rules file has a test of its own.
    rules = set(re.findall(r"^\s+- alert: (\w+)", (PROM_DIR / "rheinhub-rules.yml").read_text(),
                           re.M))
    tested = set(re.findall(r"alertname: (\w+)",
                            (PROM_DIR / "rheinhub-rules.test.yml").read_text()))
    assert rules == tested, f"untested: {rules - tested}"


def scrape_targets():
    """{job: [host:port]} of the shipped prometheus.yml."""
    doc = yaml.safe_load((PROM_DIR / "prometheus.yml").read_text())
    return {c["job_name"]: [t for sc in c["static_configs"] for t in sc["targets"]]
            for c in doc["scrape_configs"]}


def test_prometheus_scrapes_every_shipped_metrics_port():
    """The hub at the installed hub.yaml's http.port, the console at its console.port,
    and each source at the http.port of its shipped mapping (sources/linz/, installed in
    /usr/share/rheinhub/sources/linz): /metrics that nobody scrapes raises no alert."""
    targets = {t for ts in scrape_targets().values() for t in ts}
    template = (harness.REPO / "deploy" / "system" / "hub.yaml.in").read_text()
    hub_yaml = yaml.safe_load(re.sub(r"@[A-Z]+@", "/x", template))
    want = {f"{hub_yaml['http']['bind']}:{hub_yaml['http']['port']}",
            f"{hub_yaml['console']['bind']}:{hub_yaml['console']['port']}"}
    for f in sorted((harness.REPO / "sources" / "linz").glob("*.yaml")):
        http = yaml.safe_load(f.read_text())["http"]
        want.add(f"{http.get('bind', '127.0.0.1')}:{http['port']}")
    assert len(want) == 5
    assert want <= targets, f"not scraped: {sorted(want - targets)}"
    assert scrape_targets()["rheinhub-console"] == [
        f"{hub_yaml['console']['bind']}:{hub_yaml['console']['port']}"]


def dashboard_queries():
    dash = json.loads(DASHBOARD.read_text())
    return [t["expr"] for p in dash["panels"] for t in p["targets"]]


def is_source_metric(name):
    return name.startswith("rheinhub_source_")


def is_console_metric(name):
    return name.startswith("rheinhub_console_")


def is_hub_metric(name):
    return not is_source_metric(name) and not is_console_metric(name)


def hub_queries():
    """The dashboard's queries on the hub (and the exporters beside it): none of a
    source's or the console's metrics."""
    return [q for q in dashboard_queries()
            if all(is_hub_metric(n) for n in re.findall(r"\b(rheinhub_[a-z_]+)", q))]


def c_sources_text():
    return "\n".join(f.read_text() for d in ("hub", "sources", "console")
                     for f in sorted((harness.REPO / d).rglob("*.c")))


def test_dashboard_and_rules_name_metrics_the_code_writes():
    """Without running anything: each rheinhub_ metric of the dashboard and the rules is
    written by the C code (a quoted name, or a histogram's series), and the dashboard
    has panels on the hub's crash journal, the sources and the console."""
    written = set(re.findall(r'"(rheinhub_[a-z_]+)', c_sources_text()))
    exprs = dashboard_queries() + [r["expr"] for r in rule_exprs()]
    names = {n for e in exprs for n in re.findall(r"\b(rheinhub_[a-z_]+)\b", e)}
    for name in sorted(names):
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        assert name in written or base in written, f"{name}: no C code writes it"
    dashboard = {n for e in dashboard_queries()
                 for n in re.findall(r"\b(rheinhub_[a-z_]+)", e)}
    for want in ("rheinhub_journal_bytes", "rheinhub_journal_blocked",
                 "rheinhub_source_published_total", "rheinhub_source_refused_total",
                 "rheinhub_source_deadletters_total", "rheinhub_console_broker_up",
                 "rheinhub_console_streams", "rheinhub_console_logins_total"):
        assert want in dashboard, f"no dashboard panel shows {want}"


def exported_names(text):
    return {line.split("{")[0].split(" ")[0] for line in text.splitlines()
            if line and not line.startswith("#")}


def rule_exprs():
    doc = yaml.safe_load((PROM_DIR / "rheinhub-rules.yml").read_text())
    return [r for g in doc["groups"] for r in g["rules"]]


def exported_types(text):
    """{name: TYPE} of the # TYPE lines; a histogram's series names map to it too."""
    types = {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            types[name] = kind
            if kind == "histogram":
                for suffix in ("_bucket", "_sum", "_count"):
                    types[name + suffix] = "counter"
    return types


def exported_labels(text):
    """{name: set of label names} over every sample."""
    labels = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name = line.split("{")[0].split(" ")[0]
        found = labels.setdefault(name, set())
        if "{" in line:
            found.update(re.findall(r'([a-zA-Z_]\w*)="', line.split("{", 1)[1].rsplit("}", 1)[0]))
    return labels


RATE_RE = re.compile(r"\b(?:rate|irate|increase)\((rheinhub_[a-z_]+)")
SELECTOR_RE = re.compile(r"\b(rheinhub_[a-z_]+)\{([^}]*)\}")
BY_RE = re.compile(r"\bby \(([^)]*)\)\s*\(?[a-z_]*\(?(rheinhub_[a-z_]+)")


def check_names(text, exprs, rules, owned):
    """Every metric of exprs and rules that owned(name) says the exporter of text has: a
    # TYPE there, the labels the selectors, by () clauses and the rules' templates name
    (for the metrics with samples in text), and a counter where a rate() or increase() is
    taken. Returns how many were seen."""
    types, labels = exported_types(text), exported_labels(text)
    used = 0
    for expr in exprs:
        for name in re.findall(r"\b(rheinhub_[a-z_]+)\b", expr):
            if owned(name):
                assert name in types, f"{expr}: {name} has no # TYPE in the /metrics"
                used += 1
        for name in RATE_RE.findall(expr):
            if owned(name):
                assert types[name] == "counter", \
                    f"{expr}: rate/increase of {name}, exported as a {types[name]}"
        for name, matchers in SELECTOR_RE.findall(expr):
            for label in re.findall(r"([a-zA-Z_]\w*)\s*[=!]~?", matchers):
                if owned(name) and name in labels and label != "instance":  # Prometheus's
                    assert label in labels.get(name, set()), f"{expr}: {name} has no {label}"
        for by, name in BY_RE.findall(expr):
            for label in (x.strip() for x in by.split(",")):
                if owned(name) and name in labels and label not in ("le", "instance"):
                    assert label in labels.get(name, set()), f"{expr}: {name} has no {label}"
    # The rules' templates name labels of the series they fire on.
    for rule in rules:
        names = {n for n in re.findall(r"\b(rheinhub_[a-z_]+)\b", rule["expr"])
                 if owned(n) and n in labels}
        if not names:
            continue
        have = set.union(*(labels.get(n, set()) for n in names)) | {"instance", "job", "__name__"}
        for text_ in rule.get("annotations", {}).values():
            for label in re.findall(r"\$labels\.(\w+)", text_):
                assert label in have, f"{rule['alert']}: $labels.{label} is on none of {names}"
    return used


def test_rules_and_dashboard_use_exported_names_labels_and_types(monitored_hub):
    rules = rule_exprs()
    used = check_names(monitored_hub.metrics().text,
                       [r["expr"] for r in rules] + dashboard_queries(), rules, is_hub_metric)
    assert used >= 25


def test_rules_and_dashboard_use_the_consoles_exported_names(tmp_path):
    """The rules and the dashboard's panels on the console (job rheinhub-console)
    against a running console's /metrics."""
    import console_helpers as ch
    with ch.running_console(tmp_path) as (_, _, port, _):
        status, _, text = ch.request(port, "GET", "/metrics")
    assert status == 200, (status, text)
    rules = rule_exprs()
    used = check_names(text, [r["expr"] for r in rules] + dashboard_queries(), rules,
                       is_console_metric)
    assert used >= 7


def test_rules_on_dropped_entries_use_its_labels(hub_factory, stack):
    """rheinhub_stream_dropped_total has samples once the memory cap dropped entries no
    group had read (a group that never reads): its labels against the rules'."""
    hub = hub_factory(redis={"trim_interval_ms": 200, "stream_maxlen": 20},
                      workers=[{"name": "never", "types": ["sensor.waterlevel"], "instances": 0}])
    harness.publish(stack.mqtt_port, [
        (f"linz/sensor/waterlevel/d{k % 5}",
         f'{{"time":"2026-12-04T09:00:00.{k:06d}Z","value":1,"unit":"cm"}}'.encode())
        for k in range(3000)])
    stream = hub.stream("sensor.waterlevel")
    harness.wait_until(lambda: hub.metric("rheinhub_stream_dropped_total", stream=stream) > 0,
                       30, "the cap to act")
    rules = rule_exprs()
    used = check_names(hub.metrics().text, [r["expr"] for r in rules], rules,
                       lambda name: name.startswith("rheinhub_stream_"))
    assert used >= 1


def test_rules_use_the_sources_exported_names_and_labels(stack, hub, tmp_path):
    """The rules of job rheinhub-sources against running sources: PEGELONLINE (stations,
    one that fails) and TTN (the network server's link)."""
    from source_helpers import NetServer, PegelServer, Source, file_yaml
    pegel = PegelServer().start()
    netserver = NetServer(tmp_path)
    netserver.start()
    started = []
    try:
        pegel.route("BONN", "measurements", [{"status": 500, "body": b"down"}])
        pegel.route("BONN", "current", [{"status": 500, "body": b"down"}])
        port = harness.free_port()
        api = {"base_url": pegel.base_url, "interval_s": 1, "timeout_s": 1, "backfill": "P1D",
               "backoff_max_s": 2, "state_file": ""}
        text = file_yaml({"api": api, "http": {"bind": "127.0.0.1", "port": port},
                          "municipality": "linz"}, "stations:\n")
        text += "  - station: BONN\n    subject: pegel-bonn\n"
        started.append(Source(hub, "pegelonline", text).start(port, healthy=False))
        harness.wait_until(lambda: started[0].metric("rheinhub_source_station_requests_total",
                                                     station="BONN") >= 1, 20, "BONN asked")
        port = harness.free_port()
        doc = yaml.safe_load((harness.REPO / "sources" / "linz" / "ttn.yaml").read_text())
        doc["server"] = netserver.server_section("it-mon-ttn", None)
        doc["http"] = {"bind": "127.0.0.1", "port": port}
        started.append(Source(hub, "ttn", yaml.safe_dump(doc, sort_keys=False)).start(port))
        metrics = ""
        for src in started:
            status, body = src.http_get("/metrics")
            assert status == 200
            metrics += body
    finally:
        for src in started:
            src.stop()
        netserver.stop()
        pegel.stop()
    rules = rule_exprs()
    used = check_names(metrics, [r["expr"] for r in rules] + dashboard_queries(), rules,
                       is_source_metric)
    assert used >= 3


def concrete(expr):
    """A dashboard query as Prometheus can run it: Grafana's variables filled in."""
    expr = expr.replace("$__rate_interval", "15s")
    for var in ("instance", "source", "console"):
        expr = expr.replace(f'"${var}"', '".*"')
    return expr


def prom_get(port, path, **params):
    url = f"http://127.0.0.1:{port}{path}"
    if params:
        url += "?" + urllib.parse.urlencode(params)
    with urllib.request.urlopen(url, timeout=5) as resp:
        body = json.loads(resp.read())
    assert body["status"] == "success", body
    return body["data"]


@pytest.fixture
def monitored_hub(hub_factory, stack, tmp_path):
    db = SqliteDb(tmp_path / "rheinhub.db")
    hub = storage_hub(hub_factory, db.storage_section())
    harness.publish(stack.mqtt_port, [
        (f"linz/sensor/waterlevel/mon-{k}",
         f'{{"time":"2026-12-04T09:00:{k:02d}Z","value":{300 + k},"unit":"cm"}}'.encode())
        for k in range(30)] + [("linz/sensor/waterlevel/mon-bad", b"not json")])
    wait_count(db, 30, hub=hub)
    harness.wait_until(lambda: hub.metrics().series("rheinhub_worker_consumer_processed_total"), 30,
                       "the storage consumer's status in /metrics")
    return hub


def test_dashboard_queries_name_exported_metrics(monitored_hub):
    status, body = monitored_hub.http_get("/metrics")
    assert status == 200
    exported = exported_names(body.decode())
    queries = hub_queries()
    assert len(queries) >= 15
    for expr in queries:
        names = set(METRIC_RE.findall(expr))
        assert names, f"the query names no metric: {expr}"
        missing = names - exported
        assert not missing, f"{expr}: {missing} not in the hub's /metrics"


def test_prometheus_scrapes_the_hub_with_the_rules(monitored_hub, tmp_path):
    if not shutil.which("prometheus"):
        pytest.fail("prometheus is not installed (Debian package prometheus)", pytrace=False)
    port = harness.free_port()
    shutil.copy(PROM_DIR / "rheinhub-rules.yml", tmp_path / "rheinhub-rules.yml")
    # The shipped configuration with this test's hub as the target and short intervals.
    config = (PROM_DIR / "prometheus.yml").read_text()
    config = config.replace("127.0.0.1:8080", f"127.0.0.1:{monitored_hub.http_port}")
    config = config.replace("scrape_interval: 15s", "scrape_interval: 1s")
    config = config.replace("evaluation_interval: 15s", "evaluation_interval: 1s")
    (tmp_path / "prometheus.yml").write_text(config)
    proc = harness.Proc("prometheus", [
        "prometheus", f"--config.file={tmp_path / 'prometheus.yml'}",
        f"--storage.tsdb.path={tmp_path / 'tsdb'}", f"--web.listen-address=127.0.0.1:{port}"],
        tmp_path / "prometheus.log")
    proc.start()
    try:
        def hub_up():
            targets = prom_get(port, "/api/v1/targets")["activeTargets"]
            return [t for t in targets if t["labels"]["job"] == "rheinhub"
                    and t["health"] == "up"]
        harness.wait_until(hub_up, 60, "Prometheus scraping the hub")

        def rules_ok():
            groups = prom_get(port, "/api/v1/rules")["groups"]
            rules = [r for g in groups for r in g["rules"]]
            return len(rules) == 19 and all(r["health"] == "ok" for r in rules) and rules
        rules = harness.wait_until(rules_ok, 60, "the 19 rules loaded and evaluated")
        firing = [r["name"] for r in rules if r["state"] == "firing"]
        assert not firing, f"alerts firing on a healthy hub: {firing}"

        for expr in hub_queries():
            q = concrete(expr)
            harness.wait_until(
                lambda q=q: prom_get(port, "/api/v1/query", query=q)["result"], 60,
                f"series for the dashboard query {q}")
    finally:
        proc.stop()
    assert Path(tmp_path / "tsdb").exists()


def test_metrics_stay_parseable_with_quotes_in_a_status_key(hub_factory, redis_client):
    """A worker status key is any name a Redis client wrote under <prefix>worker:; its
    consumer label escapes \\, " and a line feed, so that one odd name does not make
    the whole /metrics unreadable to Prometheus (every alert of the hub silent)."""
    hub = hub_factory(redis={"trim_interval_ms": 200})
    odd = 'rheinhub:worker:storage:a"b\\c\nd'
    redis_client.hset(odd, mapping={"state": "ok", "processed": 7, "pid": 1,
                                    "updated_ms": 1})
    def raw():
        status, body = hub.http_get("/metrics")
        assert status == 200
        return body.decode()
    harness.wait_until(lambda: "storage:a" in raw(), 30, "the status key in /metrics")
    text = raw()
    r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, f"promtool check metrics:\n{r.stdout}{r.stderr}"
    consumers = [labels["consumer"] for labels, _ in
                 harness.Metrics(text).series("rheinhub_worker_consumer_healthy")]
    assert 'rheinhub:worker:storage:a\\"b\\\\c\\nd' in consumers, consumers
