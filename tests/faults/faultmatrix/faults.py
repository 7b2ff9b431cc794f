# SPDX-License-Identifier: MIT
"""The faults of the matrix: each is (name, inject(layout), recover(layout)).

One fault meets a limitation that is not rheinhub's: Mosquitto 2.0.11 (Debian 12)
does not write shared subscriptions ($share/...) to its persistence file, so after a
restart the hubs' resumed sessions have no subscription until the hubs subscribe again
(which they do on every connect). What arrives in between matches no subscriber: the
broker answers an MQTT v5 publisher with reason code 0x10 and drops the message (an
MQTT 3.1.1 publisher gets a plain PUBACK). The matrix's publisher sends such events
again and the table counts them ("re-sent"). docs/reliability.md, "The broker
restart", has the evidence; tests/faults/broker_restart.py reproduces it alone.
"""

import signal
import subprocess
import time

from . import harness
from .layout import HOST_A

BROKER_RESTART = "broker restart"
KNOWN = {
    BROKER_RESTART: "Mosquitto 2.0.11 does not persist $share subscriptions; after its "
                    "restart it drops what arrives before a hub subscribes again, and says "
                    "so only to MQTT v5 publishers (docs/reliability.md)",
}


def kill_restart(name, hold=0.0):
    def inject(lay):
        lay.procs[name].send(signal.SIGKILL)
        lay.procs[name].wait(10)
        time.sleep(hold)

    def recover(lay):
        if not lay.procs[name].running():
            lay.procs[name].start()
    return inject, recover


def kill_master():
    def inject(lay):
        ip, port = lay.master()
        name = "redis-a" if ip == HOST_A else "redis-b"
        lay.killed_master = name
        lay.procs[name].send(signal.SIGKILL)
        lay.procs[name].wait(10)
        harness.wait_until(lambda: lay.master() not in (None, (ip, port)), 30,
                           "the Sentinels promote the replica")

    def recover(lay):
        # The old master comes back and the Sentinels make it a replica of the new one.
        lay.procs[lay.killed_master].start()
        harness.wait_until(lay.replica_ok, 60, "the old master replicating again")
    return inject, recover


def restart_replica():
    def inject(lay):
        ip, _ = lay.master()
        name = "redis-b" if ip == HOST_A else "redis-a"
        lay.restarted = name
        lay.procs[name].stop(signal.SIGTERM)
        time.sleep(2)

    def recover(lay):
        lay.procs[lay.restarted].start()
        harness.wait_until(lay.replica_ok, 60, "the replica in sync again")
    return inject, recover


def stop_cont(name, seconds):
    def inject(lay):
        lay.procs[name].send(signal.SIGSTOP)
        time.sleep(seconds)

    def recover(lay):
        lay.procs[name].send(signal.SIGCONT)
    return inject, recover


def broker_restart():
    """SIGTERM, 1 s, start; the wall-clock times go to lay.broker_restarts."""
    def inject(lay):
        lay.broker_restarts.append({"term": time.time()})
        lay.procs["mosquitto"].stop(signal.SIGTERM)
        time.sleep(1)

    def recover(lay):
        start = lay.broker_restarts[-1]["start"] = time.time()
        lay.procs["mosquitto"].start()
        # The phase covers the window in which the broker has no $share subscription.
        harness.wait_until(lambda: all(
            any(t >= start for t in lay.hub_log_times(h, "subscribed to")) for h in ("a", "b")),
            60, "both hubs subscribed again", interval=0.2)
    return inject, recover


def postgres_restart():
    def inject(lay):
        lay.pg.stop()
        time.sleep(3)

    def recover(lay):
        lay.pg.start()
    return inject, recover


def redis_oom(seconds):
    def inject(lay):
        r = lay.redis()
        used = int(r.info("memory")["used_memory"])
        r.config_set("maxmemory", str(used))
        time.sleep(seconds)

    def recover(lay):
        lay.redis().config_set("maxmemory", "2gb")
    return inject, recover


def journal_disk_full(seconds):
    """The journal of hub A on a tmpfs of 8 MB, filled up by another file."""
    def inject(lay):
        filler = lay.journal_disk / "filler"
        subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=64k"], capture_output=True)
        time.sleep(seconds)

    def recover(lay):
        (lay.journal_disk / "filler").unlink()
    return inject, recover


def clock_jump(offset):
    def inject(lay):
        for f in lay.clock_files.values():
            f.write_text(f"{offset}\n")
        time.sleep(10)

    def recover(lay):
        for f in lay.clock_files.values():
            f.write_text("+0\n")
    return inject, recover


def faults(short):
    stop_s = 10 if short else 30
    return [
        ("SIGKILL hub A", *kill_restart("hub-a")),
        ("SIGKILL hub B", *kill_restart("hub-b")),
        ("SIGKILL Redis master", *kill_master()),
        ("restart replica", *restart_replica()),
        ("SIGKILL storage A", *kill_restart("storage-a")),
        ("SIGKILL alerting A", *kill_restart("alerting-a")),
        ("SIGKILL analytics A", *kill_restart("analytics-a")),
        (BROKER_RESTART, *broker_restart()),
        ("PostgreSQL restart", *postgres_restart()),
        (f"SIGSTOP hub A {stop_s} s", *stop_cont("hub-a", stop_s)),
        ("Redis maxmemory", *redis_oom(5)),
        ("journal disk full", *journal_disk_full(5)),
        ("clock +1 h (workers)", *clock_jump("+1h")),
        ("clock -1 h (workers)", *clock_jump("-1h")),
    ]
