-- schemas/state/005-run-report.sql: state database migration 5, applied by `tdi init` in one
-- transaction (state/st_db.c); embedded into tdi at build time (state/st_embed.sh).
-- Released: never edit it. A schema change is a new file with the next number.
--
-- What the run report (report/rpt_html.c, README "Run report") shows beyond the ledger:
-- run_completeness: per run, source and TDI item, of the records the source wrote, those the
--   item applies to and those with its "not known" code (counted by the run as it reads);
-- run_body: per run and body, the disclosure figures: k_min, the k reached, the quasi-identifiers
--   blanked, the cells its tables suppressed (NULL: no tables this run) and those an audit added
--   (NULL: no audit recorded);
-- run_cell: the published cells of the tables the trends are drawn from, as published (a
--   suppressed cell has no value: the page shows "c", never the count the tables withhold);
-- run_file: a workbook is an output like the others.
--
-- description: run report: completeness per source and item, disclosure per body, published trend cells, workbooks in the ledger
ALTER TABLE tdi.run_file DROP CONSTRAINT run_file_kind_check;
ALTER TABLE tdi.run_file ADD CONSTRAINT run_file_kind_check
    CHECK (kind IN ('submission', 'tables', 'quarantine', 'workbook'));
CREATE TABLE tdi.run_completeness (
    run_no     bigint NOT NULL REFERENCES tdi.run ON DELETE CASCADE,
    source     text NOT NULL,
    item       text NOT NULL,
    applicable bigint NOT NULL, -- records written that the item applies to
    not_known  bigint NOT NULL, -- of them, with the item's "not known" code
    PRIMARY KEY (run_no, source, item),
    CHECK (not_known BETWEEN 0 AND applicable));
CREATE TABLE tdi.run_body (
    run_no      bigint NOT NULL REFERENCES tdi.run ON DELETE CASCADE,
    body        text NOT NULL,
    year        integer NOT NULL,
    k_min       integer NOT NULL,
    k           bigint NOT NULL, -- the fewest persons in a group at the blanking taken (or the last tried)
    records     bigint NOT NULL,
    met         boolean NOT NULL, -- false: nothing was published for the body
    blanked     text NOT NULL,   -- the quasi-identifiers withheld, blank-separated; '' none
    suppressed  bigint,          -- cells its tables suppressed; NULL: no tables this run
    audit_added bigint,          -- cells an audit of the suppression added; NULL: none recorded
    PRIMARY KEY (run_no, body));
CREATE TABLE tdi.run_cell (
    run_no     bigint NOT NULL REFERENCES tdi.run ON DELETE CASCADE,
    body       text NOT NULL,
    year       integer NOT NULL,
    tbl        text NOT NULL,
    row_code   text NOT NULL,
    col_code   text NOT NULL,
    value      bigint, -- NULL exactly when suppressed
    suppressed boolean NOT NULL,
    PRIMARY KEY (run_no, body, tbl, row_code, col_code),
    CHECK ((value IS NULL) = suppressed));
COMMENT ON TABLE tdi.run_cell IS 'cells of the published tables the run report draws trends from, as published: a suppressed cell has no value';
