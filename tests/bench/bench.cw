# Crosswalk of the synthetic benchmark clinic (tests/bench/gen.sql): local code -> TDI code.
# Same format as examples/crosswalks/*.cw. No VALID_FROM lines: the server-built peer
# (tests/bench/peer.sql) maps through the same lines with a plain join. KRATOM is left out on
# purpose: its rows end in quarantine (rule R006).

setting  OUTPT      outpatient
setting  DAYCARE    outpatient
setting  LOWTH      low_threshold
setting  RESI-TC    residential_community
setting  RESI-HOSP  residential_hospital
setting  DETOX      inpatient_detox
setting  GP         general_practitioner
setting  PRISON     prison

sex  M  1
sex  F  2
sex  U  99

treatment_status  N    1
treatment_status  Y    2
treatment_status  "?"  3

primary_drug  HEROIN         1.1
primary_drug  heroin         1.1
primary_drug  METHADONE      1.2
primary_drug  BUPRENORPHINE  1.3
primary_drug  FENTANYL       1.4
primary_drug  COCAINE        2.1
primary_drug  CRACK          2.2
primary_drug  AMPHET         3.1
primary_drug  METHAMPHET     3.2
primary_drug  MDMA           3.3
primary_drug  BENZO          4.2
primary_drug  GHB            4.3
primary_drug  KETAMINE       5.2
primary_drug  CANNABIS       7.1
primary_drug  Cannabis       7.1
primary_drug  SPICE          7.2
primary_drug  ALCOHOL        8
primary_drug  OTHER          9
primary_drug  UNKNOWN        99

route  INJ    1
route  SMOKE  2
route  ORAL   3
route  SNIFF  4
route  OTHER  5
