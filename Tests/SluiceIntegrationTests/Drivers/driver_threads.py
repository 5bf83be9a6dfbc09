"""Runs a driver test's work in threads, one connection each, and reports failures."""
import sys
import threading


def run_workers(work, count):
    """Calls work(index) in `count` threads; prints every failure and exits 1 if any."""
    errors = []

    def guarded(index):
        try:
            work(index)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(f"worker {index}: {error!r}")

    threads = [threading.Thread(target=guarded, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        print("\n".join(errors))
        sys.exit(1)
