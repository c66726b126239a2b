-- schemas/state/004-population.sql: state database migration 4, applied by `tdi init` in one
-- transaction (state/st_db.c); embedded into tdi at build time (state/st_embed.sh).
-- Released: never edit it. A schema change is a new file with the next number.
--
-- drug: whether the episode is in the TDI population (tdi_in_population() of its primary drug,
-- common/tdi_codes.c, decided by the run that sent it): only such an episode is an entrant,
-- makes a person's first start of the year or an earlier year's treatment. NULL for a row sent
-- before this migration: counted as before (as a drug start) until its source is read again.
--
-- description: the TDI population of each episode sent: a start for a drug, or not
ALTER TABLE tdi.sent ADD COLUMN drug boolean;
COMMENT ON COLUMN tdi.sent.drug IS 'in the TDI population: the primary drug is a drug of the TDI list or not known (not alcohol, gambling, gaming, tobacco or another non-drug problem); NULL: sent before schema 4';
