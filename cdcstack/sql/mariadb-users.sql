-- Logins (the server runs with skip-name-resolve, so '%' matches 127.0.0.1).
-- Placeholders @METERSYNC_PASSWORD@ / @DEBEZIUM_PASSWORD@ are filled in by ./stack.
CREATE USER 'metersync'@'%' IDENTIFIED BY '@METERSYNC_PASSWORD@';
GRANT ALL PRIVILEGES ON meterdb.* TO 'metersync'@'%';
GRANT ALL PRIVILEGES ON metermaster.* TO 'metersync'@'%';
-- Tests and benchmarks compare Debezium's source positions with SHOW MASTER STATUS.
GRANT BINLOG MONITOR ON *.* TO 'metersync'@'%';

-- Debezium's MariaDB connector: snapshot (SELECT, RELOAD, LOCK TABLES, SHOW DATABASES),
-- binlog streaming (REPLICATION SLAVE, BINLOG MONITOR), and its snapshot window marks.
CREATE USER 'debezium'@'%' IDENTIFIED BY '@DEBEZIUM_PASSWORD@';
GRANT SELECT, RELOAD, SHOW DATABASES, REPLICATION SLAVE, BINLOG MONITOR, LOCK TABLES ON *.* TO 'debezium'@'%';
GRANT INSERT, UPDATE, DELETE ON meterdb.debezium_signal TO 'debezium'@'%';
FLUSH PRIVILEGES;
