"""asyncpg with its statement cache on (named prepared statements) through Sluice in
transaction mode, 20 connections over a pool of 2 servers: fetch, executemany and explicit
prepare, long enough that every statement runs on both servers.

Usage: asyncpg_prepared.py HOST PORT USER PASSWORD DATABASE. Prints "ok <rows>" on success.
"""
import asyncio
import sys

import asyncpg

host, port, user, password, database = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]


async def main():
    options = dict(host=host, port=port, user=user, password=password, database=database)
    setup = await asyncpg.connect(**options)
    await setup.execute("DROP TABLE IF EXISTS asyncpg_prepared")
    await setup.execute("CREATE TABLE asyncpg_prepared (worker int, n int, label text)")
    await setup.close()

    pool = await asyncpg.create_pool(min_size=20, max_size=20, **options)

    async def worker(index):
        async with pool.acquire() as conn:
            by_worker = await conn.prepare("SELECT count(*) FROM asyncpg_prepared WHERE worker = $1")
            for n in range(20):
                await conn.executemany("INSERT INTO asyncpg_prepared VALUES ($1, $2, $3)",
                                       [(index, n, f"w{index}-{n}-{k}") for k in range(3)])
                count = await by_worker.fetchval(index)
                assert count == 3 * (n + 1), (index, n, count)
                rows = await conn.fetch("SELECT label FROM asyncpg_prepared WHERE worker = $1 AND n = $2 ORDER BY label",
                                        index, n)
                assert [row["label"] for row in rows] == [f"w{index}-{n}-{k}" for k in range(3)], rows
                async with conn.transaction():
                    value = await conn.fetchval("SELECT $1::int * 2", n)
                    assert value == 2 * n

    await asyncio.gather(*(worker(index) for index in range(20)))
    total = await pool.fetchval("SELECT count(*) FROM asyncpg_prepared")
    await pool.close()
    print(f"ok {total}")


asyncio.run(main())
