#!/bin/sh
# Creates Temporal's databases and schemas on PostgreSQL (run by temporal-admin-tools).
set -eu
until nc -z -w 10 postgresql 5432; do echo 'waiting for PostgreSQL...'; sleep 1; done
for db in temporal temporal_visibility; do
  schema=$([ "$db" = temporal ] && echo temporal || echo visibility)
  temporal-sql-tool --plugin postgres12 --ep postgresql -u temporal --pw "$POSTGRES_PWD" -p 5432 --db "$db" create || true
  temporal-sql-tool --plugin postgres12 --ep postgresql -u temporal --pw "$POSTGRES_PWD" -p 5432 --db "$db" setup-schema -v 0.0
  temporal-sql-tool --plugin postgres12 --ep postgresql -u temporal --pw "$POSTGRES_PWD" -p 5432 --db "$db" update-schema -d "/etc/temporal/schema/postgresql/v12/$schema/versioned"
done
echo 'PostgreSQL schema setup complete'
