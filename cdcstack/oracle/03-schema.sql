-- Oracle source METERS.METER, exactly as in shared/spec/sources.md, with table-level
-- supplemental logging of all columns (full before images for updates and deletes).
-- Run in the PDB as SYSDBA or a DBA: sqlplus sys/...@//host:1521/ORCLPDB1 as sysdba @03-schema.sql <password>
DEFINE meters_password = &1

CREATE USER METERS IDENTIFIED BY "&meters_password" DEFAULT TABLESPACE users QUOTA UNLIMITED ON users;
GRANT CREATE SESSION, CREATE TABLE TO METERS;

CREATE TABLE METERS.METER (
  METER_NO      NUMBER(10)    NOT NULL PRIMARY KEY,
  SERIAL_NO     VARCHAR2(64)  NOT NULL,
  METER_KIND    VARCHAR2(10)  NOT NULL,   -- 'ELEC', 'WATER', 'GAS'
  MAKER         VARCHAR2(100),
  STATUS_CD     CHAR(1)       NOT NULL,   -- 'A' active, 'I' inactive, 'R' removed
  INSTALLED_ON  DATE,                     -- Oracle DATE: carries a time part, ignore it
  MULTIPLIER    NUMBER(9,4)   DEFAULT 1 NOT NULL,
  LAST_READ     NUMBER(18,3),
  LAST_READ_TS  TIMESTAMP(6),             -- UTC
  GEO_LAT       NUMBER(9,6),
  GEO_LON       NUMBER(9,6)
);
ALTER TABLE METERS.METER ADD SUPPLEMENTAL LOG DATA (ALL) COLUMNS;

-- Debezium's signal table (ad-hoc incremental snapshots).
CREATE TABLE METERS.DEBEZIUM_SIGNAL (
  ID   VARCHAR2(42)   PRIMARY KEY,
  TYPE VARCHAR2(32)   NOT NULL,
  DATA VARCHAR2(2048)
);
ALTER TABLE METERS.DEBEZIUM_SIGNAL ADD SUPPLEMENTAL LOG DATA (ALL) COLUMNS;
GRANT SELECT, INSERT, UPDATE, DELETE ON METERS.DEBEZIUM_SIGNAL TO c##dbzuser;
EXIT
