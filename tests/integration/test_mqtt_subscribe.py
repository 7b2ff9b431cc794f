# SPDX-License-Identifier: MIT
"""A subscription the broker refuses is reported, not only logged.

The broker's ACL comes from Mosquitto's dynamic security plugin, which checks
subscriptions (the acl_file of broker-config/production grants every SUBSCRIBE and
filters each delivery instead). Anonymous clients get the roles of its anonymous group.
"""

import json
from pathlib import Path

import pytest

import harness
from harness import publish

DYNSEC_PLUGIN = "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so"
T = "2026-11-26T08:00:00Z"


def dynsec(path, filters):
    """A dynamic-security file that lets anonymous clients subscribe to filters only."""
    path.write_text(json.dumps({
        "defaultACLAccess": {"publishClientSend": True, "publishClientReceive": True,
                             "subscribe": False, "unsubscribe": True},
        "clients": [],
        "groups": [{"groupname": "anonymous", "roles": [{"rolename": "reader"}],
                    "clients": []}],
        "roles": [{"rolename": "reader", "acls": [
            {"acltype": "subscribePattern", "topic": f, "priority": 0, "allow": True}
            for f in filters]}],
        "anonymousGroup": "anonymous",
    }))


def restart_broker(stack):
    stack.mosquitto.stop()
    stack.mosquitto.start()


def health(hub):
    status, body = hub.http_get("/healthz")
    return status, json.loads(body)


def test_refused_subscription_makes_the_hub_unhealthy_until_granted(hub_factory, stack):
    if not Path(DYNSEC_PLUGIN).exists():
        pytest.skip("Mosquitto's dynamic security plugin is not installed")
    acl = stack.tmp / "dynsec.json"
    dynsec(acl, ["+/sensor/#", "+/service/#"])
    with open(stack.mosquitto.conf, "a") as conf:
        conf.write(f"plugin {DYNSEC_PLUGIN}\nplugin_opt_config_file {acl}\n")
    restart_broker(stack)

    hub = hub_factory(start=False)
    hub.proc.start()
    harness.wait_until(lambda: "refused the subscription to +/citizen/#"
                       in hub.log_path.read_text(), 30, "the broker to refuse +/citizen/#")
    # Both links are up, yet events of the refused filter cannot arrive: not healthy.
    status, body = health(hub)
    assert status == 503, body
    assert body["mqtt"] == "up" and body["redis"] == "up", body
    assert body["subscriptions_refused"] == {"+/citizen/#": "Not authorized"}, body
    m = hub.metrics()
    assert m.get("rheinhub_mqtt_subscriptions_refused") == 1
    assert m.get("rheinhub_mqtt_subscription_refusals_total") == 1

    # The ACL is corrected; after the reconnect every filter is granted again.
    dynsec(acl, ["+/sensor/#", "+/service/#", "+/citizen/#"])
    restart_broker(stack)
    harness.wait_until(lambda: hub.healthz() == 200, 30, "/healthz 200 after the reconnect")
    status, body = health(hub)
    assert body["subscriptions_refused"] == {}, body
    m = hub.metrics()
    assert m.get("rheinhub_mqtt_subscriptions_refused") == 0
    assert m.get("rheinhub_mqtt_subscription_refusals_total") == 1
    publish(stack.mqtt_port, [("linz/citizen/feedback/f1",
                               f'{{"time":"{T}","topic":"park","rating":4}}'.encode())])
    harness.wait_until(lambda: hub.metric("rheinhub_events_accepted_total") == 1, 20,
                       "the citizen event to arrive")
