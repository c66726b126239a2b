-- schemas/state/009-reid-groups.sql: state database migration 9, applied by `tdi init` in one
-- transaction (state/st_db.c); embedded into tdi at build time (state/st_embed.sh).
-- Released: never edit it. A schema change is a new file with the next number.
--
-- The re-identification check's groups, kept so that a nightly run moves them by its changes
-- instead of grouping every record a body holds again (state/st_reid.c; docs/design.md,
-- "Re-identification check"; issue 16). Per body and year one grouping is kept (reid_kept.mask:
-- the tuple positions of tdi.sent.qi grouped by, bit i for field i + 1): the one its files are
-- blanked at, the only one a run that reads a source incrementally checks. Its groups are keyed
-- by the kept fields joined by '|' (reid_group.gkey) with their records, distinct persons (the
-- person key, or the episode when a row has none) and per sensitive item the number of distinct
-- codes (NULL for none); reid_sens holds per group, item (1-4: primary_drug, injecting,
-- hiv_testing, hcv_testing) and code the records, which a delete needs to know whether a code is
-- gone from a group. The groups equal the body's rows of tdi.sent for the year; a commit that
-- changes those rows moves them or drops them (then the next run that publishes rebuilds).
-- Nothing here is kept before a run builds it: a database migrated from version 8 gets its
-- groups with its next published file.
--
-- description: the re-identification check's groups per body, year and grouping, moved by each run
CREATE TABLE tdi.reid_kept (
    body text NOT NULL,
    year integer NOT NULL,
    mask integer NOT NULL, -- the tuple positions grouped by
    PRIMARY KEY (body, year));
CREATE TABLE tdi.reid_group (
    body    text NOT NULL,
    year    integer NOT NULL,
    gkey    text NOT NULL,
    records bigint NOT NULL,
    persons bigint NOT NULL,
    d1      integer, d2 integer, d3 integer, d4 integer, -- distinct codes per sensitive item
    PRIMARY KEY (body, year, gkey));
CREATE TABLE tdi.reid_sens (
    body text NOT NULL,
    year integer NOT NULL,
    gkey text NOT NULL,
    item smallint NOT NULL,
    code text NOT NULL,
    n    bigint NOT NULL,
    PRIMARY KEY (body, year, gkey, item, code));
COMMENT ON TABLE tdi.reid_group IS 'the re-identification check''s groups of the grouping reid_kept names: generalised codes and counts only';
