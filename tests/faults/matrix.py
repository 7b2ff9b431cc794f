#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The fault matrix: a two-host layout on this machine, a steady stream, one fault at a time.

Host A is 127.0.0.1, host B 127.0.0.2 (the whole of 127/8 is loopback on Linux), each
with its own run folder:

  A: Mosquitto; Redis master; Sentinels 1 and 3; hub A; storage, alerting, analytics
  B: Redis replica; Sentinel 2; hub B; storage, alerting, analytics
  PostgreSQL for storage (a throwaway server, as the storage integration tests start).

The hubs share one subscription ($share/hubs/...), find the Redis master through the
Sentinels, and journal what they take; the workers find it the same way. A publisher
sends RATE events/s of three types (sensor.waterlevel, sensor.parking,
sensor.airquality) for the whole run, each with a sequence number in its payload.
Faults are injected one at a time; after each, the stream is given time to drain and
the script checks what was published against what is stored:

  lost          published (acknowledged by the broker) but not in PostgreSQL
  dup stream    events written twice to the Redis streams (same id in two entries)
  dup rows      rows stored twice (events.id is the primary key: must stay 0)
  no ingest s   the longest time in the fault's phase in which no stream grew
  backlog s     from the end of the fault until storage had caught up with the stream
  alerts bad    alert ids whose stored state changes repeat a state
  aggr bad      closed 1-minute windows whose count differs from the stored events

The publisher speaks MQTT v5 and sends an event again when the broker's PUBACK says it
did not take it (0x10, "no matching subscribers": Mosquitto 2.0.11 after a restart,
until a hub subscribes again, docs/reliability.md); the table counts those per fault.
The parts are in faultmatrix/ (layout, stream, faults, phase, report, scale).

Usage: tests/faults/matrix.py [--short] [--runs N] [--rate R] [--only a,b] [--keep]
  --short   each fault once with a smaller stream and shorter phases (tests/run)
Prints one JSON line and one table per run; exits 1 when a fault lost or duplicated
events.
"""

import argparse
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from faultmatrix import ensure_built, faults, log, phase, report, scale
from faultmatrix.layout import WORKER_KINDS, Layout, Supervisor
from faultmatrix.stream import Publisher


def main():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--short", action="store_true")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--rate", type=int, default=None)
    ap.add_argument("--only", default="")
    ap.add_argument("--keep", action="store_true", help="keep the run folder")
    ap.add_argument("--scale", type=int, default=0, metavar="N",
                    help="no faults: measure ingest and storage of N events with one and "
                         "two hubs and storage workers")
    args = ap.parse_args()
    rate = args.rate or (500 if args.short else 2000)
    settle_s = 60 if args.short else 120
    failed = False
    ensure_built()
    for run in range(1, args.runs + 1):
        root = Path(tempfile.mkdtemp(prefix="rheinhub-faults."))
        lay = Layout(root, rate)
        lay.journal_disk = lay.a / "journal"
        lay.journal_disk.mkdir()
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs",
                                  str(lay.journal_disk)], capture_output=True).returncode == 0
        if not mounted:
            log("cannot mount a tmpfs: the disk-full fault is skipped")
        results = []
        pub = sup = None
        try:
            lay.start_servers()
            lay.start_apps(hubs=("a",) if args.scale else ("a", "b"))
            sup = Supervisor(lay, ["hub-a", "hub-b"] + [f"{k}-{h}" for k in WORKER_KINDS
                                                        for h in ("a", "b")])
            if args.scale:
                figures = scale.measure(lay, args.scale)
                print(json.dumps(figures))
                for k, v in figures.items():
                    print(f"{k:<40} {v:>9.0f} events/s")
                continue
            sup.start()
            pub = Publisher(lay.mqtt_port, rate)
            pub.start()
            chosen = [f for f in faults.faults(args.short)
                      if not args.only or any(o in f[0] for o in args.only.split(","))]
            for name, inject, recover in chosen:
                if name == "journal disk full" and not mounted:
                    continue
                results.append(phase.run_phase(lay, pub, name, inject, recover, settle_s))
            pub.stop()
            pub_total = pub.published()
            deadline = time.monotonic() + settle_s
            while time.monotonic() < deadline:
                stored, dup_rows = lay.stored_seqs()
                if pub.acked <= stored:
                    break
                time.sleep(1)
            stored, dup_rows = lay.stored_seqs()
            lost = sorted(pub.acked - stored)
            in_streams, dups = lay.stream_seqs()
            dup_stream = len(dups)
            loss_info = report.analyse(lay, pub, lost, dups, in_streams, results)
            summary = {"run": run, "published": pub_total, "acked": len(pub.acked),
                       "stored": len(stored), "lost": len(lost), "lost_first": lost[:10],
                       "refused": dict(pub.refused), "collisions": pub.collisions,
                       "dup_stream": dup_stream, "dup_rows": dup_rows,
                       "alerts_bad": lay.alerts_bad(), "aggregates_bad": lay.aggregates_bad(),
                       "phases": results, "loss": loss_info}
            print(json.dumps(summary))
            report.print_table(summary, rate)
            failed |= bool(lost) or dup_stream > 0 or dup_rows > 0
        finally:
            if sup and sup.is_alive():
                sup.stop_flag.set()
                sup.join()
            try:
                if pub and pub.is_alive():
                    pub.stop(timeout=5)
                lay.stop_all()
            except Exception as exc:  # the cleanup below must still run
                log(f"stopping the layout: {exc!r}")
            if mounted:
                subprocess.run(["umount", "-l", str(lay.journal_disk)], capture_output=True)
            if not args.keep:
                shutil.rmtree(root, ignore_errors=True)
            else:
                log(f"run folder kept: {root}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
