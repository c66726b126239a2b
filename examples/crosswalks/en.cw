# Crosswalk of Riverside Recovery (sample database clinic_en): local code -> TDI code.
#
# One mapping a line: ITEM LOCAL_CODE TDI_CODE [VALID_FROM]
#   ITEM        setting, sex, treatment_status, primary_drug or route
#   VALID_FROM  YYYY-MM-DD: the mapping holds for episodes starting on or after that day; without
#               it, from the beginning. The latest mapping in force at the start date wins.
# Fields are separated by blanks; "double quotes" around a field with blanks in it. '#' starts a
# comment. A NULL or blank local code is "not known" without a line here; a code missing here
# sends its episode to quarantine (rule R006) until a line is added.

# Setting class: outpatient low_threshold general_practitioner prison residential_community
# residential_hospital inpatient_detox other not_known
setting  OUTPT      outpatient
setting  DAYCARE    outpatient
# From 1 July 2025 the day-care unit runs as a drop-in service without appointment.
setting  DAYCARE    low_threshold          2025-07-01
setting  RESI-TC    residential_community
setting  RESI-HOSP  residential_hospital
setting  DETOX      inpatient_detox
setting  GP         general_practitioner
setting  PRISON     prison

# Sex: 1 male, 2 female, 99 not known
sex  M  1
sex  F  2
sex  U  99

# Ever previously treated: 1 never, 2 previously, 3 not known
treatment_status  N    1
treatment_status  Y    2
treatment_status  "?"  3

# Primary drug: workbook codes (tdi-protocol drug list)
primary_drug  HEROIN         1.1
primary_drug  METHADONE      1.2
primary_drug  BUPRENORPHINE  1.3
primary_drug  FENTANYL       1.4
primary_drug  COCAINE        2.1
primary_drug  CRACK          2.2
primary_drug  AMPHET         3.1
primary_drug  METHAMPHET     3.2
primary_drug  MDMA           3.3
primary_drug  BENZO          4.2
primary_drug  KETAMINE       5.2
primary_drug  CANNABIS       7.1
primary_drug  SPICE          7.2
primary_drug  ALCOHOL        8
primary_drug  OTHER          9
primary_drug  UNKNOWN        99

# Usual route: 1 inject, 2 smoke/inhale, 3 eat/drink, 4 sniff, 5 other, 99 not known
route  INJ    1
route  SMOKE  2
route  ORAL   3
route  SNIFF  4
route  OTHER  5
