# SPDX-License-Identifier: MIT
"""Redis Sentinel layouts for the tests (test_sentinel.py, test_valgrind_more.py): a
replica of the stack's Redis, three Sentinels watching it as master "rheinhub", and a
lone Sentinel naming whatever master it is given.

Fixture (import it into a test module: `from sentinel_helpers import sentinel_layout  # noqa`):

    sentinel_layout    (Replica, Sentinels): the replica in sync, every Sentinel knowing
                       the others and the replica as a candidate for a failover
"""

import pytest

import harness
from harness import wait_until

MASTER = "rheinhub"


class Replica:
    def __init__(self, stack, master_port):
        self.port = harness.free_port()
        d = stack.tmp / "replica"
        (d / "redis").mkdir(parents=True)
        conf = harness.render(harness.BROKER_CONFIG / "redis.conf.in", d / "redis.conf",
                              {"REDIS_PORT": self.port, "RUN_DIR": d})
        self.proc = harness.Proc("replica", ["redis-server", conf, "--replicaof", "127.0.0.1",
                                             master_port], stack.tmp / "replica.log")

    def client(self):
        import redis
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5)


class Sentinels:
    """Three Sentinels (quorum 2) watching the stack's Redis as master "rheinhub"."""

    def __init__(self, stack):
        self.ports = [harness.free_port() for _ in range(3)]
        self.procs = []
        for i, port in enumerate(self.ports):
            conf = stack.tmp / f"sentinel-{i}.conf"
            conf.write_text(f"port {port}\nbind 127.0.0.1\ndir {stack.tmp}\n"
                            f"sentinel monitor {MASTER} 127.0.0.1 {stack.redis_port} 2\n"
                            f"sentinel down-after-milliseconds {MASTER} 2000\n"
                            f"sentinel failover-timeout {MASTER} 5000\n")
            self.procs.append(harness.Proc(f"sentinel-{i}", ["redis-server", conf, "--sentinel"],
                                           stack.tmp / f"sentinel-{i}.log"))

    def ready(self, replica_port):
        """Every Sentinel knows the two others and the replica as a healthy candidate
        (flags exactly "slave", its link to the master up). Sentinel learns replicas
        from the master's INFO every 10 s; a master killed before that leaves the
        Sentinels with no replica to promote (-failover-abort-no-good-slave)."""
        import redis
        for port in self.ports:
            try:
                r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=1)
                master = r.sentinel_master(MASTER)
                replicas = r.sentinel_slaves(MASTER)
            except Exception:
                return False
            if int(master.get("num-other-sentinels", 0)) != 2:
                return False
            if not any(int(x.get("port", 0)) == replica_port and x.get("flags") == "slave"
                       and x.get("master-link-status") == "ok" for x in replicas):
                return False
        return True

    @property
    def addrs(self):
        return [f"127.0.0.1:{p}" for p in self.ports]

    def master(self):
        import redis
        for port in self.ports:
            try:
                r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=1)
                addr = r.execute_command("SENTINEL", "get-master-addr-by-name", MASTER)
                if addr:
                    return addr[0].decode(), int(addr[1])
            except Exception:
                continue
        return None


@pytest.fixture
def sentinel_layout(stack):
    replica = Replica(stack, stack.redis_port)
    replica.proc.start()
    sentinels = Sentinels(stack)
    for p in sentinels.procs:
        p.start()
    wait_until(lambda: replica.client().info("replication")["master_link_status"] == "up", 30,
               "the replica in sync")
    wait_until(lambda: sentinels.master() == ("127.0.0.1", stack.redis_port), 30,
               "the Sentinels name the master")
    wait_until(lambda: sentinels.ready(replica.port), 60,
               "every Sentinel knows the others and the replica")
    yield replica, sentinels
    for p in sentinels.procs:
        p.stop()
    replica.proc.stop()


def lone_sentinel(stack, name, master_port, epoch=0):
    """A Sentinel that names 127.0.0.1:master_port as master "rheinhub" and, alone with
    quorum 2, never fails over: what a Sentinel cut off from the others still answers.
    epoch: the configuration epoch it knows the master by (0: no failover yet; after
    each failover the Sentinels' epoch is one higher)."""
    port = harness.free_port()
    conf = stack.tmp / f"{name}.conf"
    conf.write_text(f"port {port}\nbind 127.0.0.1\ndir {stack.tmp}\n"
                    f"sentinel monitor {MASTER} 127.0.0.1 {master_port} 2\n"
                    f"sentinel current-epoch {epoch}\n"
                    f"sentinel config-epoch {MASTER} {epoch}\n")
    proc = harness.Proc(name, ["redis-server", conf, "--sentinel"], stack.tmp / f"{name}.log")
    proc.start()
    return proc, f"127.0.0.1:{port}"
