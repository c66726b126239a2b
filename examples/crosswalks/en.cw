# Crosswalk of Riverside Recovery (sample database clinic_en): local code -> TDI code.
#
# One mapping a line: ITEM LOCAL_CODE TDI_CODE [VALID_FROM]
#   ITEM        a TDI item (README.md, "Crosswalk files"): setting, sex, primary_drug, ...
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
# Not drugs: kept in the submission with codes of their own, never entrants, in no table.
primary_drug  GAMBLING       gambling

# Usual route: 1 inject, 2 smoke/inhale, 3 eat/drink, 4 sniff, 5 other, 99 not known
route  INJ    1
route  SMOKE  2
route  ORAL   3
route  SNIFF  4
route  OTHER  5

# --- The rest of the TDI record (the intake questionnaire) ---

# Residential programmes only (tdi leaves them out for other settings): approach, planned length,
# whether the programme starts with a detox phase (a boolean in the clinic: 'true'/'false')
residential_approach  TC      therapeutic_community
residential_approach  12STEP  twelve_step
residential_approach  CBT     cbt
residential_approach  PSYCHO  other_psychotherapeutic
residential_approach  MIXED   combined
planned_duration      6W      short
planned_duration      12W     short
planned_duration      6M      long
planned_duration      9M      long
detox_phase           true    yes
detox_phase           false   no

# Nationality as a country group: 1 national (Belgian), 2 other EU, 3 non-EU
nationality  BE  1
nationality  NL  2
nationality  FR  2
nationality  MA  3
nationality  US  3

# Source of referral: 1 court/probation/police, 2 GP, 3 other drug treatment centre, 4 other
# health or social service, 5 education, 6 self/family/friends, 7 other
referral_source  COURT     1
referral_source  GP        2
referral_source  OTHER-TC  3
referral_source  HOSP      4
referral_source  SCHOOL    5
referral_source  SELF      6
referral_source  OTHER     7

# Living with whom: 1 alone, 2 family of origin, 3 partner/children, 4 friends/others, 5 detention,
# 6 institution or shelter; with children: 1 no, 2 yes; where: 1 stable, 2 unstable/homeless,
# 3 detention
living_with           ALONE    1
living_with           PARENTS  2
living_with           PARTNER  3
living_with           FRIENDS  4
living_with           PRISON   5
living_with           SHELTER  6
living_with_children  N        1
living_with_children  Y        2
living_where          STABLE   1
living_where          NFA      2
living_where          PRISON   3

# Education: 1 none, 2 primary, 3 secondary, 4 higher; labour: 1 occasional, 2 regular, 3 student,
# 4 unemployed, 5 benefits/pension/house-maker/disabled
education      NONE        1
education      PRIMARY     2
education      SECONDARY   3
education      HIGHER      4
labour_status  CASUAL      1
labour_status  REGULAR     2
labour_status  STUDENT     3
labour_status  UNEMPLOYED  4
labour_status  BENEFITS    5

# Frequency of use of the primary drug, last 30 days
frequency  DAILY   1
frequency  4-6W    2
frequency  2-3W    3
frequency  WEEKLY  4
frequency  NONE30  5

# Secondary drugs use the primary_drug lines above; only "none" needs a line of its own.
secondary_drug  NONE  0
polydrug        true   1
polydrug        false  2

# Injecting (any drug) and needle sharing: 1 never, 2.1 not in 12 months, 2.2 in 12 months not in
# 30 days, 2.3 in 30 days, 3 would not answer; HIV/HCV testing: 1 never, 2.1 not in 12 months,
# 2.2 in 12 months; OST: 1 never, 2 ever but not now, 3 currently
injecting       NEVER    1
injecting       PAST     2.1
injecting       12M      2.2
injecting       30D      2.3
injecting       REFUSED  3
needle_sharing  NEVER    1
needle_sharing  PAST     2.1
needle_sharing  12M      2.2
needle_sharing  30D      2.3
hiv_testing     NEVER    1
hiv_testing     PAST     2.1
hiv_testing     12M      2.2
hcv_testing     NEVER    1
hcv_testing     PAST     2.1
hcv_testing     12M      2.2
ost             NEVER    1
ost             PAST     2
ost             CURRENT  3

# Discharge (the discharge letter): why the episode ended, and the care that follows it
discharge_reason  COMPL      completed
discharge_reason  DROPOUT    dropped_out
discharge_reason  REFER      referred_on
discharge_reason  TRANSF     transferred
discharge_reason  PRISON     incarcerated
discharge_reason  DIED       died
discharge_reason  OTHER      other
discharge_reason  "?"        not_known
aftercare         NONE       none
aftercare         OUTPT      outpatient
aftercare         AA         self_help
aftercare         SUPPHOUSE  housing
aftercare         OTHER      other
aftercare         "?"        not_known
