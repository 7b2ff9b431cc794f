# SPDX-License-Identifier: MIT
"""The operations console while its storage database is slow to answer.

The console reads an alert's history, its values and the sparklines from the storage
database for each request. A read that waits (PostgreSQL: a table locked by an
administrator's VACUUM FULL, ALTER TABLE or a migration) must not hold up the rest of
the console: the page, the session and the other requests are answered meanwhile.
"""

import threading

import console_helpers as ch
import harness
from storage_helpers import HeldTransaction
from storage_helpers import postgres  # noqa: F401 - fixture


def waiting_for_lock(pg):
    return pg.scalar("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")


def test_a_waiting_database_read_does_not_hold_up_the_console(tmp_path, postgres):  # noqa: F811
    pg = postgres
    with ch.running_console(tmp_path, storage=pg.storage_section()) as (_, _, port, _):
        harness.wait_until(lambda: pg.psql("SELECT 1 FROM alerts LIMIT 0", check=False)
                           .returncode == 0, 30, "the storage worker's tables")
        cookie, _ = ch.api_login(port)
        lock = HeldTransaction(pg, "LOCK TABLE alerts IN ACCESS EXCLUSIVE MODE")
        answers = []
        detail = threading.Thread(target=lambda: answers.append(ch.request(
            port, "GET", "/api/alert?topic=linz/alerts/rhine-flood/pegel-1&id=x",
            headers={"Cookie": cookie}, timeout=120)))
        try:
            detail.start()
            harness.wait_until(lambda: waiting_for_lock(pg) >= 1, 30,
                               "the console's read waiting for the lock", interval=0.1)
            # While that read waits, the console serves the page and the API.
            status, _, _ = ch.request(port, "GET", "/", timeout=15)
            assert status == 200, status
            status, _, body = ch.request(port, "GET", "/api/session",
                                         headers={"Cookie": cookie}, timeout=15)
            assert status == 200 and body["user"] == ch.OPERATOR, (status, body)
            assert waiting_for_lock(pg) >= 1, "the read stopped waiting before the check"
        finally:
            lock.close()
            detail.join(130)
        assert answers and answers[0][0] in (404, 503), answers
