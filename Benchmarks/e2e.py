#!/usr/bin/env python3
"""End-to-end benchmark: Sluice against PgBouncer (and PostgreSQL directly), same machine, same run.

Started by Benchmarks/run, which installs what is missing and builds Sluice first. See
Benchmarks/README.md for what each case measures.
"""

import argparse
import datetime
import glob
import json
import os
import platform
import pwd
import re
import resource
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

PG_BIN = "/usr/lib/postgresql/15/bin"
USER = "bench"
PASSWORD = "bench-password"
DATABASE = "bench"
POOL_SIZE = 16
IDLE_CLIENTS = 10_000


THREADS2 = "Sluice threads=2"
TLS_TARGETS = ["Sluice", "Sluice TLS", "PgBouncer TLS"]
SPLIT = "Sluice split"
SPLIT_TARGETS = ["Sluice", SPLIT, "PgBouncer"]


def log(message):
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run(command, check=True, **kwargs):
    result = subprocess.run(command, check=False, text=True, capture_output=True, **kwargs)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {result.returncode}:\n{result.stderr.strip() or result.stdout.strip()}")
    return result


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port, process=None, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening on {port}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


# ---------------------------------------------------------------------------------------------
# /proc readings

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """(user, system) CPU seconds of a process, all threads."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    return int(fields[11]) / CLOCK_TICKS, int(fields[12]) / CLOCK_TICKS


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


# ---------------------------------------------------------------------------------------------
# The processes under test


class Bench:
    def __init__(self, args):
        self.args = args
        self.processes = []          # (name, Popen) to stop at exit
        self.work = tempfile.mkdtemp(prefix="sluice-bench.", dir="/tmp")
        os.chmod(self.work, 0o755)
        self.postgres_uid = pwd.getpwnam("postgres").pw_uid
        self.postgres_gid = pwd.getpwnam("postgres").pw_gid
        self.pg_port = free_port()
        self.pg_data = os.path.join(self.work, "pg")
        self.pg_started = False
        self.sluice = None
        self.pgbouncer = None

    # -- PostgreSQL ---------------------------------------------------------------------------

    def as_postgres(self, command, **kwargs):
        return run(["runuser", "-u", "postgres", "--"] + command, **kwargs)

    def start_postgres(self):
        log(f"PostgreSQL 15 in {self.pg_data}, port {self.pg_port}")
        sockets = os.path.join(self.work, "pg-socket")
        os.makedirs(sockets)
        os.chown(sockets, self.postgres_uid, self.postgres_gid)
        os.makedirs(self.pg_data, mode=0o700)
        os.chown(self.pg_data, self.postgres_uid, self.postgres_gid)
        self.as_postgres([f"{PG_BIN}/initdb", "-D", self.pg_data, "-U", "postgres", "--auth=trust",
                          "-E", "UTF8", "--no-instructions"])
        with open(os.path.join(self.pg_data, "postgresql.conf"), "a") as conf:
            conf.write(f"""
listen_addresses = '127.0.0.1'
port = {self.pg_port}
unix_socket_directories = '{sockets}'
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 256MB
log_connections = off
log_disconnections = off
""")
        with open(os.path.join(self.pg_data, "pg_hba.conf"), "w") as hba:
            hba.write("local all all trust\nhost all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust\n")
        self.as_postgres([f"{PG_BIN}/pg_ctl", "-D", self.pg_data, "-l", os.path.join(self.pg_data, "server.log"),
                          "-w", "-t", "60", "start"])
        self.pg_started = True
        psql = ["psql", "-X", "-q", "-h", "127.0.0.1", "-p", str(self.pg_port), "-U", "postgres", "-v", "ON_ERROR_STOP=1"]
        run(psql + ["-d", "postgres", "-c",
                    f"SET password_encryption = 'scram-sha-256'; CREATE ROLE {USER} LOGIN SUPERUSER PASSWORD '{PASSWORD}';"])
        run(psql + ["-d", "postgres", "-c", f"CREATE DATABASE {DATABASE} OWNER {USER};"])
        log(f"pgbench -i -s {self.args.scale}")
        run(["pgbench", "-i", "-q", "-s", str(self.args.scale), "-h", "127.0.0.1", "-p", str(self.pg_port),
             "-U", USER, DATABASE])
        run(psql + ["-d", DATABASE, "-c", "VACUUM ANALYZE;"])
        verifier = run(psql + ["-d", "postgres", "-At", "-c",
                               f"SELECT rolpassword FROM pg_authid WHERE rolname = '{USER}';"]).stdout.strip()
        assert verifier.startswith("SCRAM-SHA-256$"), verifier
        # One userlist for both poolers: the SCRAM verifier PostgreSQL stores (no plaintext).
        self.userlist = os.path.join(self.work, "userlist.txt")
        with open(self.userlist, "w") as f:
            f.write(f'"{USER}" "{verifier}"\n')
        os.chmod(self.userlist, 0o644)

    def stop_postgres(self):
        if getattr(self, "replica_started", False):
            self.as_postgres([f"{PG_BIN}/pg_ctl", "-D", self.replica_data, "-m", "immediate", "-w", "stop"], check=False)
            self.replica_started = False
        if self.pg_started:
            self.as_postgres([f"{PG_BIN}/pg_ctl", "-D", self.pg_data, "-m", "immediate", "-w", "stop"], check=False)
            self.pg_started = False

    def start_replica(self):
        """A streaming replica of the primary (pg_basebackup -R), on a port of its own."""
        self.replica_port = free_port()
        self.replica_data = os.path.join(self.work, "replica")
        log(f"streaming replica in {self.replica_data}, port {self.replica_port}")
        os.makedirs(self.replica_data, mode=0o700)
        os.chown(self.replica_data, self.postgres_uid, self.postgres_gid)
        self.as_postgres([f"{PG_BIN}/pg_basebackup", "-h", "127.0.0.1", "-p", str(self.pg_port), "-U", "postgres",
                          "-D", self.replica_data, "-R", "-X", "stream"])
        with open(os.path.join(self.replica_data, "postgresql.conf"), "a") as conf:
            conf.write(f"\nport = {self.replica_port}\nhot_standby = on\n")
        self.as_postgres([f"{PG_BIN}/pg_ctl", "-D", self.replica_data, "-l", os.path.join(self.replica_data, "server.log"),
                          "-w", "-t", "60", "start"])
        self.replica_started = True

    def replica_transactions(self):
        """Transactions the replica has run in the benchmark database (pg_stat_database)."""
        out = run(["psql", "-X", "-At", "-h", "127.0.0.1", "-p", str(self.replica_port), "-U", "postgres", "-d", "postgres",
                   "-c", f"SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = '{DATABASE}'"]).stdout
        return int(out.strip() or 0)

    # -- poolers ------------------------------------------------------------------------------

    def tls_files(self):
        """A self-signed certificate and key for the poolers' client side, readable by PgBouncer."""
        cert, key = os.path.join(self.work, "pooler.crt"), os.path.join(self.work, "pooler.key")
        if not os.path.exists(cert):
            run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                 "-keyout", key, "-out", cert])
            for path in (cert, key):
                os.chown(path, self.postgres_uid, self.postgres_gid)
                os.chmod(path, 0o600)
        return cert, key

    def pooler_config(self, name, port, auth_type, threads=None, tls=False, replica_port=None):
        """The same settings for both poolers; only the port and the log file differ (and, for the
        read/write split, Sluice's `replicas=`)."""
        logdir = os.path.join(self.work, "log")
        os.makedirs(logdir, exist_ok=True)
        os.chown(logdir, self.postgres_uid, self.postgres_gid)
        path = os.path.join(self.work, f"{name}.ini")
        extra = f"threads = {threads}\n" if threads is not None else ""
        if name.startswith("pgbouncer") and pgbouncer_supports_prepared()[0]:
            extra += "max_prepared_statements = 200\n"
        if tls:
            cert, key = self.tls_files()
            extra += f"client_tls_sslmode = require\nclient_tls_cert_file = {cert}\nclient_tls_key_file = {key}\n"
        with open(path, "w") as f:
            f.write(f"""[databases]
{DATABASE} = host=127.0.0.1 port={self.pg_port} dbname={DATABASE}{f" replicas=127.0.0.1:{replica_port}" if replica_port else ""}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = {auth_type}
auth_file = {self.userlist}
pool_mode = transaction
default_pool_size = {POOL_SIZE}
max_client_conn = 12000
max_db_connections = 0
max_user_connections = 0
ignore_startup_parameters = extra_float_digits
log_connections = 0
log_disconnections = 0
logfile = {logdir}/{name}.log
{extra}""")
        os.chmod(path, 0o644)
        return path

    def start_tls_poolers(self):
        """Sluice without TLS, and Sluice and PgBouncer requiring TLS from clients."""
        self.start_poolers("trust", tls=True)
        self.sluice_tls_port = free_port()
        conf = self.pooler_config("sluice-tls", self.sluice_tls_port, "trust", tls=True)
        out = open(os.path.join(self.work, "log", "sluice-tls.out"), "a")
        self.sluice_tls = subprocess.Popen([self.args.sluice, conf], stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.processes.append(("sluice-tls", self.sluice_tls))
        wait_for_port(self.sluice_tls_port, self.sluice_tls)

    def start_poolers(self, auth_type, sluice_threads2=False, tls=False):
        """Sluice and PgBouncer; with `sluice_threads2`, also a second Sluice with threads = 2;
        with `tls`, PgBouncer requires TLS from clients."""
        self.stop_poolers()
        self.sluice_port, self.pgbouncer_port = free_port(), free_port()
        if sluice_threads2:
            self.sluice2_port = free_port()
            conf = self.pooler_config("sluice-threads2", self.sluice2_port, auth_type, threads=2)
            out = open(os.path.join(self.work, "log", "sluice-threads2.out"), "a")
            self.sluice2 = subprocess.Popen([self.args.sluice, conf], stdout=out, stderr=subprocess.STDOUT,
                                            start_new_session=True)
            self.processes.append(("sluice-threads2", self.sluice2))
            wait_for_port(self.sluice2_port, self.sluice2)
        sluice_conf = self.pooler_config("sluice", self.sluice_port, auth_type)
        pgb_conf = self.pooler_config("pgbouncer", self.pgbouncer_port, auth_type, tls=tls)
        out = open(os.path.join(self.work, "log", "sluice.out"), "a")
        self.sluice = subprocess.Popen([self.args.sluice, sluice_conf], stdout=out, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        self.processes.append(("sluice", self.sluice))
        out = open(os.path.join(self.work, "log", "pgbouncer.out"), "a")
        # PgBouncer refuses to run as root; started directly as postgres so the PID is PgBouncer's own.
        self.pgbouncer = subprocess.Popen(["pgbouncer", pgb_conf], stdout=out, stderr=subprocess.STDOUT,
                                          user=self.postgres_uid, group=self.postgres_gid, extra_groups=[],
                                          start_new_session=True, cwd=self.work)
        self.processes.append(("pgbouncer", self.pgbouncer))
        wait_for_port(self.sluice_port, self.sluice)
        wait_for_port(self.pgbouncer_port, self.pgbouncer)
        log(f"poolers up ({auth_type}): Sluice pid {self.sluice.pid} :{self.sluice_port}, "
            f"PgBouncer pid {self.pgbouncer.pid} :{self.pgbouncer_port}")

    def start_split_poolers(self):
        """Sluice and PgBouncer in front of the primary, and a Sluice splitting reads to the replica."""
        self.start_poolers("trust")
        self.split_port = free_port()
        conf = self.pooler_config("sluice-split", self.split_port, "trust", replica_port=self.replica_port)
        out = open(os.path.join(self.work, "log", "sluice-split.out"), "a")
        self.sluice_split = subprocess.Popen([self.args.sluice, conf], stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.processes.append(("sluice-split", self.sluice_split))
        wait_for_port(self.split_port, self.sluice_split)

    def stop_poolers(self):
        for name, process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)   # no client is left: both exit at once
        for name, process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes = []

    def cleanup(self):
        self.stop_poolers()
        self.stop_postgres()
        if not self.args.keep:
            shutil.rmtree(self.work, ignore_errors=True)
        else:
            log(f"kept {self.work}")

    def target(self, name):
        """(port, pid to measure) for 'Sluice', 'PgBouncer' or 'direct'."""
        if name == "Sluice":
            return self.sluice_port, self.sluice.pid
        if name == "PgBouncer":
            return self.pgbouncer_port, self.pgbouncer.pid
        if name == THREADS2:
            return self.sluice2_port, self.sluice2.pid
        if name == "Sluice TLS":
            return self.sluice_tls_port, self.sluice_tls.pid
        if name == "PgBouncer TLS":
            return self.pgbouncer_port, self.pgbouncer.pid
        if name == SPLIT:
            return self.split_port, self.sluice_split.pid
        return self.pg_port, None

    # -- one pgbench round --------------------------------------------------------------------

    def pgbench(self, target, mode, clients, seconds, connect_each=False, password=False):
        port, pid = self.target(target)
        prefix = os.path.join(self.work, "pgbench-log", f"{target}-{mode}-{clients}-{time.time_ns()}")
        os.makedirs(os.path.dirname(prefix), exist_ok=True)
        command = ["pgbench", "-h", "127.0.0.1", "-p", str(port), "-U", USER, "-n", "-S", "-M", mode,
                   "-c", str(clients), "-j", "2", "-T", str(seconds)]
        if connect_each:
            command.append("-C")
        else:
            command += ["--log", f"--log-prefix={prefix}"]
        command.append(DATABASE)
        env = dict(os.environ)
        env.pop("PGPASSWORD", None)
        env["PGSSLMODE"] = "require" if target.endswith("TLS") else "disable"
        if password:
            env["PGPASSWORD"] = PASSWORD
        before_cpu = cpu_seconds(pid) if pid else None
        peak_rss = rss_kib(pid) if pid else None
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        while process.poll() is None:
            time.sleep(0.25)
            if pid:
                peak_rss = max(peak_rss, rss_kib(pid))
        stdout, stderr = process.communicate()
        after_cpu = cpu_seconds(pid) if pid else None
        result = {"target": target, "mode": mode, "clients": clients, "seconds": seconds}
        processed = re.search(r"number of transactions actually processed: (\d+)", stdout)
        failed = re.search(r"number of failed transactions: (\d+)", stdout)
        if process.returncode != 0 or not processed or (failed and int(failed.group(1)) > 0):
            lines = [l for l in (stderr + stdout).splitlines() if l.strip()]
            result["error"] = (lines[-1] if lines else f"pgbench exited {process.returncode}")[:200]
            for path in glob.glob(prefix + "*"):
                os.remove(path)
            return result
        transactions = int(processed.group(1))
        result["transactions"] = transactions
        result["tps"] = float(re.search(r"tps = ([\d.]+)", stdout).group(1))
        average = re.search(r"latency average = ([\d.]+) ms", stdout)
        result["avg_ms"] = float(average.group(1)) if average else None
        if not connect_each:
            latencies = []
            for path in glob.glob(prefix + "*"):
                with open(path) as f:
                    for line in f:
                        parts = line.split(maxsplit=3)
                        latencies.append(int(parts[2]))
                os.remove(path)
            latencies.sort()
            if latencies:
                result["p99_ms"] = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] / 1000
                result["p50_ms"] = latencies[len(latencies) // 2] / 1000
        if pid:
            user = after_cpu[0] - before_cpu[0]
            system = after_cpu[1] - before_cpu[1]
            result["cpu_us_per_tx"] = (user + system) / transactions * 1e6
            result["user_us_per_tx"] = user / transactions * 1e6
            result["rss_kib"] = peak_rss
        return result

    # -- idle clients ---------------------------------------------------------------------------

    def idle_clients(self, target, count):
        """Opens `count` logged-in idle clients (trust auth), reads the pooler's RSS, closes them."""
        port, pid = self.target(target)
        # One warm-up login first, so the pool's server parameters are cached before the baseline.
        warm = login(port)
        warm.close()
        time.sleep(0.5)
        before = rss_kib(pid)
        sockets = []
        started = time.time()
        error = None
        try:
            batch = 100   # below PgBouncer's listen_backlog (128), so no SYN is dropped
            for first in range(0, count, batch):
                opened = []
                for _ in range(min(batch, count - first)):
                    s = socket.create_connection(("127.0.0.1", port))
                    s.sendall(startup_packet())
                    opened.append(s)
                for s in opened:
                    read_until_ready(s)
                sockets.extend(opened)
        except Exception as exc:   # report what was reached
            error = f"{type(exc).__name__}: {exc} after {len(sockets)} clients"
        elapsed = time.time() - started
        time.sleep(1.0)
        after = rss_kib(pid)
        for s in sockets:
            s.close()
        result = {"target": target, "clients": len(sockets), "rss_before_kib": before, "rss_after_kib": after,
                  "bytes_per_client": (after - before) * 1024 / max(1, len(sockets)),
                  "login_seconds": elapsed}
        if error:
            result["error"] = error
        time.sleep(1.0)
        return result


def startup_packet():
    body = struct.pack("!i", 196608)
    for name, value in (("user", USER), ("database", DATABASE), ("application_name", "idle")):
        body += name.encode() + b"\0" + value.encode() + b"\0"
    body += b"\0"
    return struct.pack("!i", len(body) + 4) + body


def read_until_ready(s):
    """Reads backend messages until ReadyForQuery; AuthenticationOk is all trust asks for."""
    buffer = b""
    while True:
        while len(buffer) < 5:
            chunk = s.recv(65536)
            if not chunk:
                raise ConnectionError("closed during login")
            buffer += chunk
        kind = buffer[0:1]
        length = struct.unpack("!i", buffer[1:5])[0]
        while len(buffer) < 1 + length:
            chunk = s.recv(65536)
            if not chunk:
                raise ConnectionError("closed during login")
            buffer += chunk
        body = buffer[5:1 + length]
        buffer = buffer[1 + length:]
        if kind == b"E":
            raise ConnectionError(f"ErrorResponse {body!r}")
        if kind == b"R" and struct.unpack("!i", body[:4])[0] != 0:
            raise ConnectionError("the pooler asks for a password; the idle test uses trust")
        if kind == b"Z":
            return


def login(port):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(startup_packet())
    read_until_ready(s)
    return s


# ---------------------------------------------------------------------------------------------
# Machine details


def machine_details(args):
    def output(command):
        try:
            return run(command, check=False).stdout.strip() or run(command, check=False).stderr.strip()
        except OSError:
            return "?"
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        memory = f.readline().split()[1]
    commit = output(["git", "-C", args.root, "rev-parse", "--short", "HEAD"])
    dirty = output(["git", "-C", args.root, "status", "--porcelain", "--", "Sources", "Package.swift"])
    return {
        "host": platform.node(),
        "nproc": output(["nproc"]),
        "cpu": cpu,
        "memory": f"{int(memory) // 1024} MiB",
        "kernel": platform.release(),
        "os": output(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"]),
        "swift": output(["swift", "--version"]).splitlines()[0],
        "postgres": output([f"{PG_BIN}/postgres", "--version"]),
        "pgbench": output(["pgbench", "--version"]),
        "pgbouncer": output(["pgbouncer", "--version"]).splitlines()[0],
        "sluice": f"{commit}{' (with uncommitted changes in Sources)' if dirty else ''}",
        "loadavg_start": open("/proc/loadavg").read().split()[:3],
    }


def pgbouncer_supports_prepared():
    version = run(["pgbouncer", "--version"]).stdout.split()[1]
    major, minor = (int(x) for x in version.split(".")[:2])
    return (major, minor) >= (1, 21), version


# ---------------------------------------------------------------------------------------------
# Reporting


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(value, digits=0):
    if value is None:
        return "—"
    return f"{value:,.{digits}f}"


def ratio(a, b):
    return f"{a / b:.2f}×" if a is not None and b else "—"


def summarize(rounds):
    """Median of each figure over the rounds of one (target, mode, clients) case."""
    ok = [r for r in rounds if "error" not in r]
    if not ok:
        return {"error": rounds[0].get("error", "not run") if rounds else "not run"}
    keys = ["tps", "avg_ms", "p50_ms", "p99_ms", "cpu_us_per_tx", "user_us_per_tx", "rss_kib"]
    return {k: median([r.get(k) for r in ok]) for k in keys} | {"rounds": len(ok)}


def write_report(args, details, results, path_md, path_png):
    lines = []
    w = lines.append
    w(f"# Sluice vs PgBouncer — {details['date']} on {details['host']}")
    w("")
    w(f"`Benchmarks/run{' --quick' if args.quick else ''}`: {args.rounds} rounds × {args.seconds} s per case, "
      "interleaved (Sluice, PgBouncer, direct, then again), medians over rounds. "
      f"pgbench -S -n -j 2, scale {args.scale}, transaction pooling, pool of {POOL_SIZE}, "
      "PostgreSQL, pgbench and the pooler on the same cores.")
    w("")
    w("| machine | |")
    w("|---|---|")
    for key in ["nproc", "cpu", "memory", "kernel", "os", "swift", "postgres", "pgbench", "pgbouncer", "sluice"]:
        w(f"| {key} | {details[key]} |")
    w(f"| load average at start | {' '.join(details['loadavg_start'])} |")
    w(f"| load average at end | {' '.join(details.get('loadavg_end', ['?']))} |")
    w("")
    w("**Noise:** this is a shared 2-core machine; other people's builds and tests ran during the run, so single")
    w("figures move by 10–20 %. Compare Sluice and PgBouncer within a case (same minutes, interleaved rounds),")
    w("not across runs. Per-round figures are in the `.json` next to this file.")
    w("")
    w("## pgbench -S, transaction pooling")
    w("")
    w("CPU µs/tx is the pooler's utime+stime over the round divided by the transactions (user part in brackets);")
    w("RSS is the pooler's peak VmRSS sampled during the round; p99 is from pgbench's per-transaction log.")
    w("")
    w("| mode | clients | target | tps | avg latency ms | p99 latency ms | CPU µs/tx (user) | RSS MiB |")
    w("|---|---:|---|---:|---:|---:|---:|---:|")
    for mode in args.modes:
        for clients in args.clients:
            case = results["throughput"].get(f"{mode}/{clients}", {})
            summaries = {t: summarize(case.get(t, [])) for t in ["Sluice", "PgBouncer", "direct"]}
            for target in ["Sluice", "PgBouncer", "direct"]:
                s = summaries[target]
                if "error" in s:
                    w(f"| {mode} | {clients} | {target} | n/a: {s['error']} | | | | |")
                    continue
                cpu = "—" if s["cpu_us_per_tx"] is None else f"{s['cpu_us_per_tx']:.1f} ({s['user_us_per_tx']:.1f})"
                rss = "—" if s["rss_kib"] is None else f"{s['rss_kib'] / 1024:.1f}"
                w(f"| {mode} | {clients} | {target} | {fmt(s['tps'])} | {fmt(s['avg_ms'], 3)} | {fmt(s['p99_ms'], 3)} | {cpu} | {rss} |")
            a, b = summaries["Sluice"], summaries["PgBouncer"]
            if "error" not in a and "error" not in b:
                w(f"| {mode} | {clients} | **Sluice/PgBouncer** | **{ratio(a['tps'], b['tps'])}** | "
                  f"{ratio(a['avg_ms'], b['avg_ms'])} | **{ratio(a['p99_ms'], b['p99_ms'])}** | "
                  f"**{ratio(a['cpu_us_per_tx'], b['cpu_us_per_tx'])}** | {ratio(a['rss_kib'], b['rss_kib'])} |")
    w("")
    if results.get("notes"):
        for note in results["notes"]:
            w(f"- {note}")
        w("")

    w("## Connection storm: new SCRAM logins per second")
    w("")
    w("pgbench -C -S -M simple -c 16 -j 2: every transaction opens a new connection and logs in with")
    w("SCRAM-SHA-256 against the verifier in the userlist (the same file for both poolers). pgbench's own")
    w("PBKDF2 (4096 iterations per login, on the same cores) bounds the rate; the pooler's CPU per login is the")
    w("figure that tells the poolers apart.")
    w("")
    w("| target | logins/s | CPU µs/login (user) | RSS MiB |")
    w("|---|---:|---:|---:|")
    storm = {t: summarize(results["storm"].get(t, [])) for t in ["Sluice", "PgBouncer"]}
    for target, s in storm.items():
        if "error" in s:
            w(f"| {target} | n/a: {s['error']} | | |")
        else:
            w(f"| {target} | {fmt(s['tps'])} | {s['cpu_us_per_tx']:.0f} ({s['user_us_per_tx']:.0f}) | {s['rss_kib'] / 1024:.1f} |")
    if all("error" not in s for s in storm.values()):
        a, b = storm["Sluice"], storm["PgBouncer"]
        w(f"| **Sluice/PgBouncer** | **{ratio(a['tps'], b['tps'])}** | **{ratio(a['cpu_us_per_tx'], b['cpu_us_per_tx'])}** | |")
    w("")

    w(f"## RSS with {IDLE_CLIENTS:,} idle logged-in clients")
    w("")
    w("Raw-socket clients log in (trust) and stay idle; RSS is read from /proc/PID/status before the first")
    w("and after the last login (one warm-up login first, so each pool has its server parameters).")
    w("")
    w("| target | clients | RSS before MiB | RSS after MiB | bytes per client | time to log in all (s) |")
    w("|---|---:|---:|---:|---:|---:|")
    idle = results.get("idle", {})
    for target in ["Sluice", "PgBouncer"]:
        r = idle.get(target)
        if not r:
            continue
        note = f" ({r['error']})" if r.get("error") else ""
        w(f"| {target} | {r['clients']:,}{note} | {r['rss_before_kib'] / 1024:.1f} | {r['rss_after_kib'] / 1024:.1f} | "
          f"{r['bytes_per_client']:,.0f} | {r['login_seconds']:.1f} |")
    if "Sluice" in idle and "PgBouncer" in idle and idle["PgBouncer"]["bytes_per_client"] > 0:
        w(f"| **Sluice/PgBouncer** | | | | **{ratio(idle['Sluice']['bytes_per_client'], idle['PgBouncer']['bytes_per_client'])}** | |")
    w("")

    if results.get("threads"):
        w("## threads = 2 against threads = 1")
        w("")
        w("Two Sluice processes from the same settings but `threads`, measured in alternating rounds. On two")
        w("cores shared with pgbench and PostgreSQL a second loop has no idle core to use; what it costs is the")
        w("hand-over of servers between loops (an epoll change and a mailbox wake-up per checkout across loops).")
        w("")
        w("| mode | clients | target | tps | p99 latency ms | CPU µs/tx (user) |")
        w("|---|---:|---|---:|---:|---:|")
        for key, case in results["threads"].items():
            mode, clients = key.split("/")
            summaries = {t: summarize(case.get(t, [])) for t in ["Sluice", THREADS2]}
            for target, s in summaries.items():
                if "error" in s:
                    w(f"| {mode} | {clients} | {target} | n/a: {s['error']} | | |")
                else:
                    w(f"| {mode} | {clients} | {target} | {fmt(s['tps'])} | {fmt(s['p99_ms'], 3)} | "
                      f"{s['cpu_us_per_tx']:.1f} ({s['user_us_per_tx']:.1f}) |")
            a, b = summaries[THREADS2], summaries["Sluice"]
            if "error" not in a and "error" not in b:
                w(f"| {mode} | {clients} | **2 / 1** | **{ratio(a['tps'], b['tps'])}** | {ratio(a['p99_ms'], b['p99_ms'])} | "
                  f"**{ratio(a['cpu_us_per_tx'], b['cpu_us_per_tx'])}** |")
        w("")

    def comparison_rows(label, case, targets, comparisons, extra_column=None):
        """One case's rows: each target's medians, then a ratio row for each (name, first, second)."""
        summaries = {t: summarize(case.get(t, [])) for t in targets}
        tail = " |" if extra_column else ""
        for target, s in summaries.items():
            if "error" in s:
                w(f"| {label} | {target} | n/a: {s['error']} | | |{tail}")
                continue
            extra = f" {extra_column(target)} |" if extra_column else ""
            w(f"| {label} | {target} | {fmt(s['tps'])} | {fmt(s['p99_ms'], 3)} | "
              f"{s['cpu_us_per_tx']:.1f} ({s['user_us_per_tx']:.1f}) |{extra}")
        for name, first, second in comparisons:
            a, b = summaries[first], summaries[second]
            if "error" not in a and "error" not in b:
                w(f"| {label} | **{name}** | {ratio(a['tps'], b['tps'])} | {ratio(a['p99_ms'], b['p99_ms'])} | "
                  f"**{ratio(a['cpu_us_per_tx'], b['cpu_us_per_tx'])}** |{tail}")

    if results.get("tls"):
        w("## TLS against plaintext")
        w("")
        w("pgbench -S with `sslmode=require` to a Sluice and a PgBouncer that require TLS from clients (self-signed")
        w("certificate, the servers behind them in plaintext), against the same Sluice settings without TLS.")
        w("")
        w("| clients | target | tps | p99 latency ms | CPU µs/tx (user) |")
        w("|---:|---|---:|---:|---:|")
        for key, case in results["tls"].items():
            comparison_rows(key.split("/")[1], case, TLS_TARGETS, [("Sluice TLS / plaintext", "Sluice TLS", "Sluice"),
                                                                  ("Sluice TLS / PgBouncer TLS", "Sluice TLS", "PgBouncer TLS")])
        w("")

    if results.get("split"):
        w("## Read/write split with one replica")
        w("")
        w("pgbench -S (reads only) through a Sluice with `replicas=` naming a streaming replica on the same machine,")
        w("against Sluice and PgBouncer in front of the primary alone. \"on replica\" is the share of the round's")
        w("transactions the replica's pg_stat_database counted. Both servers share the two cores with pgbench and")
        w("the poolers, so spreading reads buys no CPU here; what this shows is what routing costs per transaction.")
        w("")
        w("| clients | target | tps | p99 latency ms | CPU µs/tx (user) | on replica |")
        w("|---:|---|---:|---:|---:|---:|")
        for key, case in results["split"].items():
            def on_replica(target, case=case):
                return f"{median([r.get('replica_share', 0) for r in case.get(target, []) if 'error' not in r]):.0%}"
            comparison_rows(key.split("/")[1], case, SPLIT_TARGETS, [("split / Sluice", SPLIT, "Sluice"),
                                                                    ("split / PgBouncer", SPLIT, "PgBouncer")],
                            extra_column=on_replica)
        w("")

    w("## Not measured (yet)")
    w("")
    for note in results.get("not_measured", []):
        w(f"- {note}")
    w("")
    if results.get("micro"):
        w("## Microbenchmarks (Benchmarks/Micro)")
        w("")
        w("```")
        w(results["micro"].rstrip())
        w("```")
        w("")
    w(f"![chart]({os.path.basename(path_png)})")
    w("")
    text = "\n".join(lines)
    with open(path_md, "w") as f:
        f.write(text)
    return text


def write_chart(args, results, path_png):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cases = [(m, c) for m in args.modes for c in args.clients]
    labels = [f"{m}\n{c} cl." for m, c in cases]
    targets = [("Sluice", "#d9534f"), ("PgBouncer", "#337ab7"), ("direct", "#999999")]
    panels = [("tps", "transactions / s"), ("p99_ms", "p99 latency (ms)"), ("cpu_us_per_tx", "pooler CPU µs / transaction")]
    figure, grid = plt.subplots(2, 3, figsize=(18, 9))
    axes = list(grid.flat)
    width = 0.27
    for axis, (key, title) in zip(axes, panels):
        for index, (target, colour) in enumerate(targets):
            if key == "cpu_us_per_tx" and target == "direct":
                continue
            values = []
            for mode, clients in cases:
                s = summarize(results["throughput"].get(f"{mode}/{clients}", {}).get(target, []))
                values.append(s.get(key) or 0)
            axis.bar([i + (index - 1) * width for i in range(len(cases))], values, width, label=target, color=colour)
        axis.set_xticks(range(len(cases)))
        axis.set_xticklabels(labels, fontsize=8)
        axis.set_title(title)
        axis.grid(axis="y", alpha=0.3)
    axes[0].legend()
    # Bottom row: the connection storm and idle memory, one bar per pooler.
    pair = [targets[0], targets[1]]
    storm = [summarize(results["storm"].get(t, [])) for t, _ in pair]
    idle = [results.get("idle", {}).get(t, {}) for t, _ in pair]
    extras = [
        ("SCRAM logins / s (pgbench -C)", [s.get("tps") or 0 for s in storm]),
        ("pooler CPU µs / SCRAM login", [s.get("cpu_us_per_tx") or 0 for s in storm]),
        (f"RSS bytes per idle client ({IDLE_CLIENTS:,})", [r.get("bytes_per_client", 0) for r in idle]),
    ]
    for axis, (title, values) in zip(axes[len(panels):], extras):
        axis.bar([t for t, _ in pair], values, color=[c for _, c in pair])
        axis.set_title(title)
        axis.grid(axis="y", alpha=0.3)
    figure.suptitle(f"Sluice vs PgBouncer, pgbench -S, transaction pooling, pool {POOL_SIZE} (medians of {args.rounds} rounds × {args.seconds} s)")
    figure.tight_layout()
    figure.savefig(path_png, dpi=110)


# ---------------------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", required=True)
    parser.add_argument("--sluice", required=True)
    parser.add_argument("--quick", action="store_true", help="3 s rounds instead of 10 s")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int)
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--modes", default="simple,extended,prepared")
    parser.add_argument("--clients", default="16,64,256")
    parser.add_argument("--skip", default="", help="comma list of: throughput,storm,idle,threads,tls,split")
    parser.add_argument("--micro", action="store_true", help="also run Benchmarks/run-micro and include its output")
    parser.add_argument("--keep", action="store_true", help="keep the temp directory (logs, configs)")
    parser.add_argument("--output", help="results file stem (default Benchmarks/results/<date>-<machine>)")
    args = parser.parse_args()
    args.seconds = args.seconds or (3 if args.quick else 10)
    args.modes = args.modes.split(",")
    args.clients = [int(c) for c in args.clients.split(",")]
    skip = set(filter(None, args.skip.split(",")))

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = max(min(hard, 65536), IDLE_CLIENTS + 2000)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(hard, want)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    details = machine_details(args)
    now = datetime.datetime.now()
    details["date"] = now.strftime("%Y-%m-%d %H:%M")
    stem = args.output or os.path.join(args.root, "Benchmarks", "results",
                                       f"{now.strftime('%Y-%m-%d')}-{details['host']}")
    os.makedirs(os.path.dirname(stem), exist_ok=True)
    results = {"details": details, "throughput": {}, "storm": {}, "idle": {}, "threads": {}, "tls": {}, "split": {}, "notes": [], "not_measured": [],
               "args": {k: v for k, v in vars(args).items()}}

    bench = Bench(args)
    def on_signal(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_signal)
    try:
        bench.start_postgres()

        prepared_ok, pgb_version = pgbouncer_supports_prepared()
        if "prepared" in args.modes:
            results["notes"].append(
                "prepared: Sluice maps named statements with max_prepared_statements = 200 (its default); "
                + ("PgBouncer runs with max_prepared_statements = 200." if prepared_ok else
                   f"PgBouncer {pgb_version} n/a (max_prepared_statements arrived in 1.21)."))

        if "throughput" not in skip:
            bench.start_poolers("trust")
            order = ["Sluice", "PgBouncer", "direct"]
            for mode in args.modes:
                for clients in args.clients:
                    case = results["throughput"].setdefault(f"{mode}/{clients}", {})
                    for round_index in range(args.rounds):
                        # A B C, then B C A, ...: no target always runs first (page cache, CPU boost, neighbours).
                        rotated = order[round_index % 3:] + order[:round_index % 3]
                        for target in rotated:
                            if mode == "prepared" and target == "PgBouncer" and not prepared_ok:
                                case.setdefault(target, []).append({"error": f"PgBouncer {pgb_version} has no max_prepared_statements"})
                                continue
                            r = bench.pgbench(target, mode, clients, args.seconds)
                            case.setdefault(target, []).append(r)
                            if "error" in r:
                                log(f"{mode:8} {clients:3} {target:9} round {round_index + 1}: ERROR {r['error']}")
                            else:
                                cpu = f"{r['cpu_us_per_tx']:.1f} µs/tx" if "cpu_us_per_tx" in r else ""
                                log(f"{mode:8} {clients:3} {target:9} round {round_index + 1}: "
                                    f"{r['tps']:9.0f} tps  avg {r['avg_ms']:.3f} ms  p99 {r.get('p99_ms', 0):.3f} ms  {cpu}")

        if "idle" not in skip:
            bench.start_poolers("trust")   # fresh processes: nothing left over from the throughput rounds
            for target in ["Sluice", "PgBouncer"]:
                r = bench.idle_clients(target, IDLE_CLIENTS)
                results["idle"][target] = r
                log(f"idle {target}: {r['clients']} clients, {r['bytes_per_client']:.0f} bytes/client {r.get('error', '')}")

        if "storm" not in skip:
            bench.start_poolers("scram-sha-256")
            for round_index in range(args.rounds):
                for target in (["Sluice", "PgBouncer"] if round_index % 2 == 0 else ["PgBouncer", "Sluice"]):
                    r = bench.pgbench(target, "simple", 16, args.seconds, connect_each=True, password=True)
                    results["storm"].setdefault(target, []).append(r)
                    if "error" in r:
                        log(f"storm {target} round {round_index + 1}: ERROR {r['error']}")
                    else:
                        log(f"storm {target} round {round_index + 1}: {r['tps']:.0f} logins/s, {r['cpu_us_per_tx']:.0f} µs/login")

        if "threads" not in skip:
            bench.start_poolers("trust", sluice_threads2=True)
            for mode in [m for m in args.modes if m != "prepared"]:
                for clients in [c for c in args.clients if c >= 64] or args.clients:
                    case = results["threads"].setdefault(f"{mode}/{clients}", {})
                    for round_index in range(args.rounds):
                        for target in (["Sluice", THREADS2] if round_index % 2 == 0 else [THREADS2, "Sluice"]):
                            r = bench.pgbench(target, mode, clients, args.seconds)
                            case.setdefault(target, []).append(r)
                            if "error" in r:
                                log(f"threads {mode} {clients} {target} round {round_index + 1}: ERROR {r['error']}")
                            else:
                                log(f"threads {mode} {clients} {target} round {round_index + 1}: {r['tps']:.0f} tps, "
                                    f"{r.get('cpu_us_per_tx', 0):.1f} µs/tx")
        if "tls" not in skip:
            bench.start_tls_poolers()
            for clients in [c for c in args.clients if c == 64] or args.clients[:1]:
                case = results["tls"].setdefault(f"simple/{clients}", {})
                for round_index in range(args.rounds):
                    rotated = TLS_TARGETS[round_index % 3:] + TLS_TARGETS[:round_index % 3]
                    for target in rotated:
                        r = bench.pgbench(target, "simple", clients, args.seconds)
                        case.setdefault(target, []).append(r)
                        if "error" in r:
                            log(f"tls {clients} {target} round {round_index + 1}: ERROR {r['error']}")
                        else:
                            log(f"tls {clients} {target} round {round_index + 1}: {r['tps']:.0f} tps, "
                                f"{r.get('cpu_us_per_tx', 0):.1f} µs/tx")
        if "split" not in skip:
            bench.start_replica()
            bench.start_split_poolers()
            for clients in [c for c in args.clients if c == 64] or args.clients[:1]:
                case = results["split"].setdefault(f"simple/{clients}", {})
                for round_index in range(args.rounds):
                    rotated = SPLIT_TARGETS[round_index % 3:] + SPLIT_TARGETS[:round_index % 3]
                    for target in rotated:
                        before = bench.replica_transactions()
                        r = bench.pgbench(target, "simple", clients, args.seconds)
                        if "transactions" in r:
                            r["replica_share"] = (bench.replica_transactions() - before) / r["transactions"]
                        case.setdefault(target, []).append(r)
                        if "error" in r:
                            log(f"split {clients} {target} round {round_index + 1}: ERROR {r['error']}")
                        else:
                            log(f"split {clients} {target} round {round_index + 1}: {r['tps']:.0f} tps, "
                                f"{r.get('cpu_us_per_tx', 0):.1f} µs/tx, {r['replica_share']:.0%} on the replica")
    except KeyboardInterrupt:
        log("interrupted")
        bench.cleanup()
        sys.exit(130)
    finally:
        bench.cleanup()

    results["not_measured"] += [
        "Direct-to-PostgreSQL SCRAM storm: pg_hba is trust here, so a direct row would not be comparable.",
    ]
    details["loadavg_end"] = open("/proc/loadavg").read().split()[:3]

    if args.micro:
        log("microbenchmarks (Benchmarks/run-micro)")
        micro = subprocess.run([os.path.join(args.root, "Benchmarks", "run-micro"), "--no-progress"],
                               capture_output=True, text=True)
        results["micro"] = strip_ansi(micro.stdout) + ("" if micro.returncode == 0 else "\n" + micro.stderr[-2000:])

    with open(stem + ".json", "w") as f:
        json.dump(results, f, indent=1, default=str)
    write_chart(args, results, stem + ".png")
    text = write_report(args, details, results, stem + ".md", stem + ".png")
    print(text)
    log(f"wrote {stem}.md, .png and .json")


def strip_ansi(text):
    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)


if __name__ == "__main__":
    main()
