-- schemas/state/001-ledger.sql: state database migration 1, applied by `tdi init` in one
-- transaction (state/st_db.c); embedded into tdi at build time (state/st_embed.sh).
-- Released: never edit it. A schema change is a new file with the next number.
--
-- description: run ledger, watermarks, sequences, what each body was sent, routes, closed years
CREATE SCHEMA tdi;
COMMENT ON SCHEMA tdi IS 'tdi state: run ledger, watermarks, what each receiving body was sent. Managed by tdi init.';
CREATE TABLE tdi.schema_version (
    version     integer PRIMARY KEY,
    applied_at  timestamptz NOT NULL DEFAULT now(),
    tdi_version text NOT NULL,
    description text NOT NULL);
CREATE TABLE tdi.run (
    run_no      bigserial PRIMARY KEY,
    run_id      text NOT NULL UNIQUE,
    year        integer NOT NULL,
    mode        text NOT NULL CHECK (mode IN ('normal', 'full')),
    started_at  timestamptz NOT NULL DEFAULT now(),
    ended_at    timestamptz,
    status      text NOT NULL, -- running, abandoned, or the exit code's name
    exit_code   integer,
    message     text,
    host        text NOT NULL,
    pid         integer NOT NULL,
    tdi_version text NOT NULL);
CREATE TABLE tdi.run_source (
    run_no      bigint NOT NULL REFERENCES tdi.run ON DELETE CASCADE,
    source      text NOT NULL,
    mode        text NOT NULL,
    since       timestamptz,
    attempts    integer NOT NULL,
    extracted   bigint NOT NULL,
    written     bigint NOT NULL,
    quarantined bigint NOT NULL,
    status      text NOT NULL,
    error       text,
    PRIMARY KEY (run_no, source));
CREATE TABLE tdi.run_file (
    run_no   bigint NOT NULL REFERENCES tdi.run ON DELETE CASCADE,
    path     text NOT NULL,
    kind     text NOT NULL CHECK (kind IN ('submission', 'tables', 'quarantine')),
    owner    text NOT NULL,
    sequence bigint,
    records  bigint NOT NULL,
    replaces bigint NOT NULL,
    deletes  bigint NOT NULL,
    sha256   text NOT NULL,
    PRIMARY KEY (run_no, path));
CREATE TABLE tdi.source_state (
    source      text NOT NULL,
    year        integer NOT NULL,
    watermark   timestamptz,
    fingerprint text NOT NULL,
    run_no      bigint NOT NULL,
    PRIMARY KEY (source, year));
CREATE TABLE tdi.body_sequence (
    body     text NOT NULL,
    year     integer NOT NULL,
    sequence bigint NOT NULL,
    tables_sequence bigint, -- the tables were last written with this file
    run_no   bigint NOT NULL,
    PRIMARY KEY (body, year));
CREATE TABLE tdi.sent (
    body     text NOT NULL,
    year     integer NOT NULL,
    eid      text NOT NULL, -- the episode under the state key
    ekey     text NOT NULL, -- the episode's key in the body's files
    source   text NOT NULL,
    hash     bytea NOT NULL,
    sequence bigint NOT NULL,
    PRIMARY KEY (body, year, eid));
CREATE TABLE tdi.route (
    body   text NOT NULL,
    source text NOT NULL,
    year   integer NOT NULL,
    PRIMARY KEY (body, source, year));
CREATE TABLE tdi.closed_year (
    year      integer PRIMARY KEY,
    closed_at timestamptz NOT NULL DEFAULT now(),
    closed_by text NOT NULL);
CREATE TABLE tdi.year_event (
    at      timestamptz NOT NULL DEFAULT now(),
    year    integer NOT NULL,
    action  text NOT NULL CHECK (action IN ('close', 'reopen')),
    by_user text NOT NULL);
