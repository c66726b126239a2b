-- The receiver's schema, version 2 (`tdi load` applies it once, in one transaction, after 001;
-- a released file never changes: the next change is 003): the run number of each file.
--
-- run_no: the submission's runNo (schema 2.3), the sender's ledger run number. Of two files with
-- one sequence the larger run_no is the later (a rerun after a run that published and died
-- before its commit); run_id is a clock time and orders only files without a runNo. NULL: the
-- file has none, or was loaded before this version (tdi load then orders by run_id).
ALTER TABLE tdi_receiver.file ADD COLUMN run_no bigint;
COMMENT ON COLUMN tdi_receiver.file.run_no IS 'runNo of the file (the sender''s run number): orders the files of one sequence; NULL: none';
-- one run writes one file of a sequence: two of the same run are refused
CREATE UNIQUE INDEX file_run_no ON tdi_receiver.file (body, year, sequence, run_no);
