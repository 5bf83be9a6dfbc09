#!/usr/bin/env bash
# The replica's entrypoint (as the postgres user): on its first start, copy the primary with
# pg_basebackup -R, which also writes standby.signal and primary_conninfo, so PostgreSQL then
# runs as a hot standby streaming from the primary. Later starts reuse the copy. Arguments
# (compose's `command:`) go to postgres; PRIMARY_HOST and PRIMARY_PORT name the primary.
set -euo pipefail
primary_host=${PRIMARY_HOST:-primary}
primary_port=${PRIMARY_PORT:-5432}

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    export PGPASSWORD=$REPLICATION_PASSWORD
    # The primary may still be starting: a few tries, each from an empty directory.
    for attempt in $(seq 30); do
        rm -rf "$PGDATA"
        if pg_basebackup -h "$primary_host" -p "$primary_port" -U replicator -D "$PGDATA" -R -X stream -c fast; then
            break
        fi
        [ "$attempt" -lt 30 ] || { echo "replica: pg_basebackup kept failing" >&2; exit 1; }
        sleep 2
    done
fi

exec postgres -D "$PGDATA" "$@"
