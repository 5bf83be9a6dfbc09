#!/usr/bin/env bash
# Runs once, when the postgres:15 image initialises the primary's data directory
# (/docker-entrypoint-initdb.d): the app's role and database, and a role the replica copies
# the primary and streams its WAL with.
set -euo pipefail

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v app_password="$APP_PASSWORD" -v replication_password="$REPLICATION_PASSWORD" <<'SQL'
CREATE ROLE app LOGIN PASSWORD :'app_password';
CREATE DATABASE app OWNER app;
CREATE ROLE replicator REPLICATION LOGIN PASSWORD :'replication_password';
SQL

# Replication connections match only lines naming `replication`; the image's own line is for
# ordinary databases.
echo "host replication replicator all scram-sha-256" >>"$PGDATA/pg_hba.conf"
