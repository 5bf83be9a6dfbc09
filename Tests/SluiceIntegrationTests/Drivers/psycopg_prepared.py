"""psycopg 3 preparing every statement (prepare_threshold=0) through Sluice in transaction
mode: 20 threads, each its own connection, over a pool of 2 servers.

Usage: psycopg_prepared.py CONNINFO. Prints "ok <rows>" on success.
"""
import sys

import psycopg

from driver_threads import run_workers

conninfo = sys.argv[1]
with psycopg.connect(conninfo, autocommit=True) as setup:
    setup.execute("DROP TABLE IF EXISTS psycopg_prepared")
    setup.execute("CREATE TABLE psycopg_prepared (worker int, n int)")


def work(index):
    with psycopg.connect(conninfo, prepare_threshold=0) as conn:
        for n in range(25):
            with conn.transaction():
                conn.execute("INSERT INTO psycopg_prepared VALUES (%s, %s)", (index, n))
                count = conn.execute("SELECT count(*) FROM psycopg_prepared WHERE worker = %s", (index,)).fetchone()[0]
                assert count == n + 1, (index, n, count)
            doubled = conn.execute("SELECT %s::int * 2", (n,)).fetchone()[0]
            assert doubled == 2 * n


run_workers(work, 20)
with psycopg.connect(conninfo, autocommit=True) as check:
    print(f"ok {check.execute('SELECT count(*) FROM psycopg_prepared').fetchone()[0]}")
