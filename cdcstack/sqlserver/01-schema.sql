-- SQL Server source MeterDB.dbo.Meters, exactly as in shared/spec/sources.md.
-- Run as a login that may create databases (sqlcmd -S host,port -U sa -i 01-schema.sql).
IF DB_ID(N'MeterDB') IS NULL
    CREATE DATABASE MeterDB;
GO
USE MeterDB;
GO
IF OBJECT_ID(N'dbo.Meters', N'U') IS NULL
CREATE TABLE dbo.Meters (
  MeterID        INT IDENTITY(1,1) NOT NULL PRIMARY KEY,
  SerialNo       NVARCHAR(64)  NOT NULL,   -- may carry trailing spaces
  MeterTypeCode  CHAR(1)       NOT NULL,   -- 'E' electric, 'W' water, 'G' gas
  Manufacturer   NVARCHAR(100) NULL,
  StatusCode     TINYINT       NOT NULL,   -- 1 active, 2 inactive, 3 removed
  InstallDate    DATE          NULL,
  Multiplier     DECIMAL(9,4)  NOT NULL DEFAULT 1,
  LastReadKwh    DECIMAL(18,3) NULL,
  LastReadAt     DATETIME2(7)  NULL,       -- UTC, 100 ns precision
  Lat            DECIMAL(9,6)  NULL,
  Lon            DECIMAL(9,6)  NULL
);
GO
-- Debezium's signal table (ad-hoc incremental snapshots); it must be CDC-enabled too.
IF OBJECT_ID(N'dbo.debezium_signal', N'U') IS NULL
CREATE TABLE dbo.debezium_signal (
  id   VARCHAR(42)   NOT NULL PRIMARY KEY,
  type VARCHAR(32)   NOT NULL,
  data VARCHAR(2048) NULL
);
GO
