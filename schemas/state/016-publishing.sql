-- schemas/state/016-publishing.sql: state database migration 16, applied by `tdi init` in one
-- transaction (state/st_db.c); embedded into tdi at build time (state/st_embed.sh).
-- Released: never edit it. A schema change is a new file with the next number.
--
-- A body whose file or tables a run is about to publish, written and committed before the first
-- rename, deleted by the commit that records what the run published (state/st_ledger.c). A row
-- left behind means a file may be out that the state does not record (the run died or lost its
-- commit in between). The next run computes its changes against the state as recorded, which may
-- be none when the source went back in the meantime; so it publishes that body's sequence number
-- again even when empty (a receiver keeps the file of the larger runNo and undoes the other), and
-- its tables with the next full read (docs/operations.md, "Publishing: at least once").
--
-- description: bodies a run may have published without recording it
CREATE TABLE tdi.publishing (
    body   text NOT NULL,
    year   integer NOT NULL,
    run_no bigint NOT NULL,  -- the last run about to publish
    file   boolean NOT NULL, -- a submission of it
    tables boolean NOT NULL, -- its tables
    PRIMARY KEY (body, year));
COMMENT ON TABLE tdi.publishing IS 'bodies a run is publishing, until its commit records them: a row left behind makes the next run publish the body again';
