-- schemas/state/003-quasi-identifiers.sql: state database migration 3, applied by `tdi init` in
-- one transaction (state/st_db.c); embedded into tdi at build time (state/st_embed.sh).
-- Released: never edit it. A schema change is a new file with the next number.
--
-- description: quasi-identifiers of what each body was sent, and each body's blanking
ALTER TABLE tdi.sent ADD COLUMN qi text, ADD COLUMN sens text;
COMMENT ON COLUMN tdi.sent.qi IS 'the episode''s quasi-identifiers as the body got them before blanking (sex|age_band|nationality|region|year|centre_type|quarter|centre): generalised codes only';
COMMENT ON COLUMN tdi.sent.sens IS 'its sensitive items (primary_drug|injecting|hiv_testing|hcv_testing)';
CREATE TABLE tdi.body_blanking (
    body    text NOT NULL,
    year    integer NOT NULL,
    blanked text NOT NULL, -- the quasi-identifiers withheld, blank-separated; '' none
    run_no  bigint NOT NULL,
    PRIMARY KEY (body, year));
