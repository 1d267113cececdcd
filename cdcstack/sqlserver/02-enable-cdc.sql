-- CDC for MeterDB.dbo.Meters (and the signal table), plus the connector's login.
-- Needs sysadmin (sp_cdc_enable_db) and a running SQL Server Agent: CDC's capture job is an
-- Agent job, so without the Agent the change tables stay empty and Debezium sees nothing.
-- Replace the password before running:  sqlcmd ... -v DebeziumPassword="..." -i 02-enable-cdc.sql
USE MeterDB;
GO
IF (SELECT is_cdc_enabled FROM sys.databases WHERE name = N'MeterDB') = 0
    EXEC sys.sp_cdc_enable_db;
GO
IF NOT EXISTS (SELECT 1 FROM sys.server_principals WHERE name = N'debezium')
    CREATE LOGIN debezium WITH PASSWORD = N'$(DebeziumPassword)', CHECK_POLICY = OFF;
IF NOT EXISTS (SELECT 1 FROM sys.database_principals WHERE name = N'debezium')
    CREATE USER debezium FOR LOGIN debezium;
-- Snapshot reads the table; streaming reads the cdc schema's change tables (gated by the role).
GRANT SELECT ON dbo.Meters TO debezium;
GRANT SELECT, INSERT, UPDATE, DELETE ON dbo.debezium_signal TO debezium;
GRANT SELECT ON SCHEMA::cdc TO debezium;
GRANT VIEW DATABASE STATE TO debezium;
GO
IF NOT EXISTS (SELECT 1 FROM cdc.change_tables WHERE source_object_id = OBJECT_ID(N'dbo.Meters'))
    EXEC sys.sp_cdc_enable_table
        @source_schema = N'dbo',
        @source_name   = N'Meters',
        @role_name     = N'cdc_reader',     -- only members of this role (and sysadmin) read the changes
        @supports_net_changes = 0;
IF NOT EXISTS (SELECT 1 FROM cdc.change_tables WHERE source_object_id = OBJECT_ID(N'dbo.debezium_signal'))
    EXEC sys.sp_cdc_enable_table
        @source_schema = N'dbo',
        @source_name   = N'debezium_signal',
        @role_name     = N'cdc_reader',
        @supports_net_changes = 0;
GO
ALTER ROLE cdc_reader ADD MEMBER debezium;
GO
-- Check: both tables listed, and the capture job exists (Agent must be running).
EXEC sys.sp_cdc_help_change_data_capture;
EXEC sys.sp_cdc_help_jobs;
GO
