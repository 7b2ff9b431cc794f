# SPDX-License-Identifier: MIT
"""The alerting worker's MQTT link in its health: while the broker is away longer than
a moment, or refuses the acknowledgements' subscription, the worker reports itself
unhealthy (its status hash, the hub's rheinhub_worker_consumer_healthy), with what is
wrong; it is ok again once the link works."""

import pytest

import harness
from alerting_helpers import alerting_hub, status, worker_pid, write_rules
from broker_helpers import DYNSEC_PLUGIN, dynsec_anonymous

RULES = """\
rules:
  - name: rhine-flood
    type: sensor.waterlevel
    field: value
    above: 650
    severity: warning
"""


def hub_gauge(hub):
    """rheinhub_worker_consumer_healthy of the hub's one consumer, or None before it."""
    values = [v for _, v in hub.metrics().series("rheinhub_worker_consumer_healthy")]
    return values[0] if len(values) == 1 else None


def unhealthy(r):
    st = status(r)
    return st if st.get("state") == "unhealthy" else None


def test_alerting_unhealthy_while_the_broker_is_away(hub_factory, stack, redis_client, tmp_path):
    hub = alerting_hub(hub_factory, write_rules(tmp_path, RULES))
    pid = worker_pid(redis_client)
    stack.mosquitto.stop()
    try:
        st = harness.wait_until(lambda: unhealthy(redis_client), 30, "the worker unhealthy")
        assert st["detail"].startswith("no MQTT link to the broker at 127.0.0.1:"), st
        assert st["detail"].endswith("alert changes wait in the outbox"), st
    finally:
        stack.mosquitto.start()
    assert worker_pid(redis_client) == pid  # ok again, the same process
    harness.wait_until(lambda: hub_gauge(hub) == 1, 30,
                       "the hub's gauge back at 1")


def test_alerting_unhealthy_while_the_ack_subscription_is_refused(hub_factory, stack,
                                                                  redis_client, tmp_path):
    if not DYNSEC_PLUGIN:
        pytest.skip("Mosquitto's dynamic security plugin is not installed")
    acl = stack.tmp / "dynsec.json"
    dynsec_anonymous(stack.mosquitto.conf, acl, ["+/sensor/#", "+/service/#", "+/citizen/#"])
    stack.mosquitto.stop()
    stack.mosquitto.start()
    hub = alerting_hub(hub_factory, write_rules(tmp_path, RULES))
    st = harness.wait_until(lambda: unhealthy(redis_client), 30, "the worker unhealthy")
    assert st["detail"] == ("the broker refused the subscription +/alerts/+/+/ack: "
                            "acknowledgements do not arrive"), st
    harness.wait_until(lambda: hub_gauge(hub) == 0, 30,
                       "the hub's gauge at 0")
    # The rules corrected: at the reconnect after the broker's restart, healthy again.
    dynsec_anonymous(stack.mosquitto.conf, acl,
                     ["+/sensor/#", "+/service/#", "+/citizen/#", "+/alerts/+/+/ack"])
    stack.mosquitto.stop()
    stack.mosquitto.start()
    worker_pid(redis_client)
