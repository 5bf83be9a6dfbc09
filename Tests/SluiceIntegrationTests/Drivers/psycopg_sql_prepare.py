"""SQL-level PREPARE / EXECUTE / DEALLOCATE through Sluice in transaction mode, as PHP's PDO
and some ORMs send them: 20 threads, each its own connection (autocommit, simple protocol),
over a pool of 2 servers, so each EXECUTE may run on a server that never saw the PREPARE.

Usage: psycopg_sql_prepare.py CONNINFO. Prints "ok <rows>" on success.
"""
import sys

import psycopg

from driver_threads import run_workers

conninfo = sys.argv[1]
with psycopg.connect(conninfo, autocommit=True) as setup:
    setup.execute("DROP TABLE IF EXISTS sql_prepared")
    setup.execute("CREATE TABLE sql_prepared (worker int, n int)")


def work(index):
    # prepare_threshold=None: psycopg itself prepares nothing; every query is a plain Query.
    with psycopg.connect(conninfo, autocommit=True, prepare_threshold=None) as conn:
        conn.execute("PREPARE ins (int, int) AS INSERT INTO sql_prepared VALUES ($1, $2)")
        conn.execute("PREPARE cnt AS SELECT count(*) FROM sql_prepared WHERE worker = $1")
        for n in range(25):
            conn.execute(f"EXECUTE ins({index}, {n})")
            count = conn.execute(f"EXECUTE cnt({index})").fetchone()[0]
            assert count == n + 1, (index, n, count)
        conn.execute("DEALLOCATE ins")
        try:
            conn.execute(f"EXECUTE ins({index}, 99)")
            raise AssertionError("EXECUTE after DEALLOCATE succeeded")
        except psycopg.errors.InvalidSqlStatementName:
            pass
        conn.execute("DEALLOCATE PREPARE cnt")


run_workers(work, 20)
with psycopg.connect(conninfo, autocommit=True) as check:
    print(f"ok {check.execute('SELECT count(*) FROM sql_prepared').fetchone()[0]}")
