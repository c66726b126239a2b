-- The receiver's database of `tdi load` (schema tdi_receiver, version 1): what a receiving body
-- holds after applying its submissions, and which files made it so. `tdi load` runs this file
-- once, in one transaction, when the schema is not there yet.
CREATE SCHEMA tdi_receiver;

CREATE TABLE tdi_receiver.version (version integer NOT NULL);
INSERT INTO tdi_receiver.version VALUES (1);

-- Every file applied (or superseded): a body's sequence of a year, from one run.
CREATE TABLE tdi_receiver.file (
    body           text NOT NULL,
    year           integer NOT NULL,
    sequence       bigint NOT NULL,
    run_id         text NOT NULL,
    file_name      text NOT NULL,
    sha256         text NOT NULL UNIQUE,
    key_id         text,
    schema_version text NOT NULL,
    appends        bigint NOT NULL,
    replaces       bigint NOT NULL,
    deletes        bigint NOT NULL,
    loaded_at      timestamptz NOT NULL DEFAULT now(),
    -- the run id of a later file with the same sequence that took this one's place
    superseded_by  text,
    PRIMARY KEY (body, year, sequence, run_id)
);

-- What each body holds: one row per episode, the submission's attributes as columns (NULL: the
-- attribute was left out, "does not apply"). Count treatment entrants with entrant = 1.
CREATE TABLE tdi_receiver.episode (
    body                        text NOT NULL,
    year                        integer NOT NULL,
    key                         text NOT NULL,
    person                      text NOT NULL,
    person_kind                 text,
    source                      text NOT NULL,
    centre                      text NOT NULL,
    region                      text NOT NULL,
    entrant                     smallint,
    quarter                     smallint,
    age                         smallint,
    first_use_age               smallint,
    setting                     text NOT NULL,
    centre_type                 text NOT NULL,
    residential_approach        text,
    planned_duration            text,
    detox_phase                 text,
    sex                         text NOT NULL,
    age_band                    text NOT NULL,
    nationality                 text NOT NULL,
    treatment_status            text NOT NULL,
    referral_source             text NOT NULL,
    living_with                 text NOT NULL,
    living_with_children        text NOT NULL,
    living_where                text NOT NULL,
    education                   text NOT NULL,
    labour_status               text NOT NULL,
    primary_drug                text NOT NULL,
    route                       text NOT NULL,
    frequency                   text NOT NULL,
    first_use_age_band          text NOT NULL,
    secondary_drug_1            text NOT NULL,
    secondary_drug_2            text NOT NULL,
    secondary_drug_3            text NOT NULL,
    secondary_drug_4            text NOT NULL,
    polydrug                    text NOT NULL,
    injecting                   text NOT NULL,
    years_since_first_injection text,
    needle_sharing              text NOT NULL,
    hiv_testing                 text NOT NULL,
    hcv_testing                 text NOT NULL,
    ost                         text NOT NULL,
    years_since_first_ost       text,
    PRIMARY KEY (body, year, key)
);

-- The rows the latest file of a body and year changed, as they were before it (old NULL: the
-- file added the key), so that a later file with the same sequence (a rerun after tdi died
-- between publishing and recording) can take its place.
CREATE TABLE tdi_receiver.undo (
    body     text NOT NULL,
    year     integer NOT NULL,
    sequence bigint NOT NULL,
    key      text NOT NULL,
    old      tdi_receiver.episode
);
CREATE INDEX undo_body_year ON tdi_receiver.undo (body, year);
