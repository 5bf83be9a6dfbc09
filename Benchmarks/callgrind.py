#!/usr/bin/env python3
"""Instructions Sluice executes per transaction, counted by callgrind: a figure that machine
noise does not move, for comparing two builds of the hot path.

    Benchmarks/callgrind.py SLUICE_BINARY [--modes simple,extended,prepared] [--transactions N]

Starts a throwaway PostgreSQL 15 (as e2e.py does; run as root), then for each pgbench protocol
mode runs Sluice under `valgrind --tool=callgrind` twice, once with 200 `pgbench -S`
transactions from one client and once with 200 + N, and prints the difference of the two
totals divided by N: start-up, login and shutdown cancel out. Build the binary with
`swift build -c release --product sluice` (any scratch path) for each commit to compare.
"""
import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402

BASE = 200


def instructions(bench, binary, config, port, mode, transactions):
    """Total instructions of one Sluice run serving `transactions` pgbench -S transactions."""
    out_file = tempfile.mktemp(prefix="callgrind.", dir=bench.work)
    sluice = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out_file}", binary, config],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        e2e.wait_for_port(port, sluice, timeout=120)
        e2e.run(["pgbench", "-n", "-S", "-M", mode, "-c", "1", "-t", str(transactions),
                 "-h", "127.0.0.1", "-p", str(port), "-U", e2e.USER, e2e.DATABASE])
    finally:
        sluice.send_signal(signal.SIGTERM)
        sluice.wait(timeout=120)
    with open(out_file) as f:
        match = re.search(r"^(?:summary|totals): (\d+)", f.read(), re.MULTILINE)
    return int(match.group(1))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sluice")
    parser.add_argument("--modes", default="simple,extended,prepared")
    parser.add_argument("--transactions", type=int, default=2000)
    args = parser.parse_args()
    bench = e2e.Bench(argparse.Namespace(scale=1, sluice=args.sluice, keep=False))
    try:
        bench.start_postgres()
        port = e2e.free_port()
        config = bench.pooler_config("sluice-callgrind", port, "trust")
        for mode in args.modes.split(","):
            short = instructions(bench, args.sluice, config, port, mode, BASE)
            long = instructions(bench, args.sluice, config, port, mode, BASE + args.transactions)
            print(f"{mode}: {(long - short) / args.transactions:,.0f} instructions per transaction "
                  f"({(long - short) / 1e6:.1f}M for {args.transactions})", flush=True)
    finally:
        bench.cleanup()


if __name__ == "__main__":
    main()
