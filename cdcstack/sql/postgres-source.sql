-- The PostgreSQL source exactly as in the spec (shared/spec/sources.md), plus what CDC needs.
-- Run by ./stack up as the superuser in database meterdb.
SET ROLE metersync;

CREATE TABLE public.meter (
  meter_id         UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  serial_number    TEXT NOT NULL,
  kind             TEXT NOT NULL CHECK (kind IN ('electric','water','gas')),
  manufacturer     TEXT,
  active           BOOLEAN NOT NULL DEFAULT true,
  removed_at       TIMESTAMPTZ,           -- set when the meter was taken out
  installed_on     DATE,
  multiplier       NUMERIC(9,4) NOT NULL DEFAULT 1,
  last_reading     NUMERIC,               -- unconstrained: any scale
  last_reading_at  TIMESTAMPTZ,
  location         JSONB                  -- {"lat": 51.501, "lon": -0.142}; either key may be absent
);

-- Updates and deletes carry the whole before image.
ALTER TABLE public.meter REPLICA IDENTITY FULL;

-- Debezium's signal table (ad-hoc incremental snapshots): users insert an execute-snapshot row;
-- the connector reads it from the WAL and writes its snapshot window marks back into it.
CREATE TABLE public.debezium_signal (
  id   VARCHAR(42) PRIMARY KEY,
  type VARCHAR(32) NOT NULL,
  data VARCHAR(2048)
);

RESET ROLE;

-- Pre-created publication (the connector runs with publication.autocreate.mode=disabled, so its
-- login needs no ownership of the tables). The signal table must be in it, or signals are never seen.
CREATE PUBLICATION metersync_pub FOR TABLE public.meter, public.debezium_signal;

GRANT USAGE ON SCHEMA public TO debezium;
GRANT SELECT ON public.meter TO debezium;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.debezium_signal TO debezium;
