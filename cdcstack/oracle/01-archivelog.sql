-- Oracle 19c+: ARCHIVELOG mode and database-level supplemental logging for LogMiner.
-- Run in the CDB root as SYSDBA (sqlplus / as sysdba @01-archivelog.sql). Restarts the instance.
-- Size the recovery area for your redo volume: archived logs must stay until Debezium has read them.
ALTER SYSTEM SET db_recovery_file_dest_size = 10G;
-- ALTER SYSTEM SET db_recovery_file_dest = '/opt/oracle/oradata/recovery_area' SCOPE=SPFILE;
SHUTDOWN IMMEDIATE
STARTUP MOUNT
ALTER DATABASE ARCHIVELOG;
ALTER DATABASE OPEN;
ALTER PLUGGABLE DATABASE ALL OPEN;
-- Minimal supplemental logging at database level (LogMiner needs it for every table).
ALTER DATABASE ADD SUPPLEMENTAL LOG DATA;
-- Expect "Database log mode  Archive Mode" and SUPPLEMENTAL_LOG_DATA_MIN = YES.
ARCHIVE LOG LIST
SELECT log_mode, supplemental_log_data_min FROM v$database;
EXIT
