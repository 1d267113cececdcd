-- Run by ./stack up as the superuser on a fresh cluster (database postgres).
-- metersync: owns the source table (load generator, tests) and the Meter Master database.
-- debezium:  the connector's login; REPLICATION for the slot, SELECT for the snapshot.
-- psql variables: :metersync_password, :debezium_password
CREATE ROLE metersync LOGIN CREATEDB PASSWORD :'metersync_password';
CREATE ROLE debezium LOGIN REPLICATION PASSWORD :'debezium_password';
CREATE DATABASE meterdb OWNER metersync ENCODING 'UTF8' TEMPLATE template0;
CREATE DATABASE metermaster OWNER metersync ENCODING 'UTF8' TEMPLATE template0;
GRANT CONNECT ON DATABASE meterdb TO debezium;
