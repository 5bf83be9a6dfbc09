"""psycopg 3 through Sluice in transaction mode: pipeline mode and concurrent transactions.

Usage: psycopg_pipeline.py CONNINFO. Prints "ok <rows>" and exits 0 when every check holds.
"""
import sys

import psycopg

from driver_threads import run_workers

conninfo = sys.argv[1]
# Named prepared statements need Sluice's prepared-statement support; keep psycopg on unnamed ones.
PREPARE = dict(prepare_threshold=None)

with psycopg.connect(conninfo, autocommit=True, **PREPARE) as setup:
    setup.execute("DROP TABLE IF EXISTS psycopg_items")
    setup.execute("CREATE TABLE psycopg_items (worker int, n int)")

# Pipeline mode: many statements and Syncs in flight at once, one transaction per Sync.
with psycopg.connect(conninfo, autocommit=True, **PREPARE) as conn:
    with conn.pipeline():
        cursors = [conn.execute("INSERT INTO psycopg_items VALUES (%s, %s) RETURNING n", (-1, n)) for n in range(50)]
    returned = [cursor.fetchone()[0] for cursor in cursors]
    assert returned == list(range(50)), returned
    # An error mid-pipeline reaches the client, and the connection stays usable afterwards.
    try:
        with conn.pipeline() as pipeline:
            conn.execute("SELECT 1")
            conn.execute("SELECT 1 / 0")
            pipeline.sync()
    except psycopg.errors.DivisionByZero:
        pass
    else:
        raise AssertionError("the error inside the pipeline was not reported")
    assert conn.execute("SELECT count(*) FROM psycopg_items WHERE worker = -1").fetchone()[0] == 50

def worker(index):
    with psycopg.connect(conninfo, **PREPARE) as conn:
        for n in range(20):
            with conn.transaction():
                conn.execute("INSERT INTO psycopg_items VALUES (%s, %s)", (index, n))
                count = conn.execute("SELECT count(*) FROM psycopg_items WHERE worker = %s", (index,)).fetchone()[0]
                assert count == n + 1, (index, n, count)

run_workers(worker, 10)

with psycopg.connect(conninfo, autocommit=True, **PREPARE) as conn:
    total = conn.execute("SELECT count(*) FROM psycopg_items").fetchone()[0]
print(f"ok {total}")
