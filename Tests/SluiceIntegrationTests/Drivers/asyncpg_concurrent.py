"""asyncpg through Sluice in transaction mode: concurrent transactions from one event loop.

Usage: asyncpg_concurrent.py HOST PORT USER PASSWORD DATABASE. Prints "ok <rows>" on success.
"""
import asyncio
import sys

import asyncpg

host, port, user, password, database = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]


async def main():
    # statement_cache_size=0 keeps asyncpg on unnamed statements, which any pooler can carry.
    options = dict(host=host, port=port, user=user, password=password, database=database, statement_cache_size=0)
    setup = await asyncpg.connect(**options)
    await setup.execute("DROP TABLE IF EXISTS asyncpg_items")
    await setup.execute("CREATE TABLE asyncpg_items (worker int, n int)")
    await setup.close()

    pool = await asyncpg.create_pool(min_size=20, max_size=20, **options)

    async def worker(index):
        async with pool.acquire() as conn:
            for n in range(25):
                async with conn.transaction():
                    await conn.execute("INSERT INTO asyncpg_items VALUES ($1, $2)", index, n)
                    count = await conn.fetchval("SELECT count(*) FROM asyncpg_items WHERE worker = $1", index)
                    assert count == n + 1, (index, n, count)
            rows = await conn.fetch("SELECT n FROM asyncpg_items WHERE worker = $1 ORDER BY n", index)
            assert [row["n"] for row in rows] == list(range(25))

    await asyncio.gather(*(worker(index) for index in range(20)))
    total = await pool.fetchval("SELECT count(*) FROM asyncpg_items")
    await pool.close()
    print(f"ok {total}")


asyncio.run(main())
