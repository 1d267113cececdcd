-- The MySQL/MariaDB source exactly as in the spec (shared/spec/sources.md), plus what CDC needs.
-- Run by ./stack up as root on a fresh server. The server itself runs with binlog_format=ROW,
-- binlog_row_image=FULL and server_id=1 (see ./stack).
CREATE DATABASE meterdb DEFAULT CHARACTER SET utf8mb4;
CREATE DATABASE metermaster DEFAULT CHARACTER SET utf8mb4;

CREATE TABLE meterdb.meters (
  id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  serial           VARCHAR(64)  NOT NULL,
  type             ENUM('electric','water','gas') NOT NULL,
  manufacturer     VARCHAR(100) NULL,
  status           ENUM('active','inactive','removed') NOT NULL DEFAULT 'active',
  installed_at     DATETIME     NULL,       -- only the date part is meaningful
  multiplier       DECIMAL(9,4) NOT NULL DEFAULT 1.0000,
  last_reading     DOUBLE       NULL,
  last_reading_at  TIMESTAMP(6) NULL,
  latitude         DOUBLE       NULL,
  longitude        DOUBLE       NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Debezium's signal table (ad-hoc incremental snapshots).
CREATE TABLE meterdb.debezium_signal (
  id   VARCHAR(42) PRIMARY KEY,
  type VARCHAR(32) NOT NULL,
  data VARCHAR(2048) NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
