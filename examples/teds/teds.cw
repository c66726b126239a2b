# Crosswalk: US TEDS-A 2017 (codebook: SAMHSA, TEDS-A 2017) -> TDI Protocol 3.0.
#
# Local codes are the codebook's (teds.sql drops the ".0" of the float export). -9 is TEDS's
# "missing/unknown/not collected/invalid": mapped to "not known" on purpose. Where a TEDS code
# spans two or more TDI codes it maps to "not known" (or to the TDI group code, for drugs)
# rather than to a guess; each such line says why. A code missing here is reported by tdi as
# unmapped and its admission waits in quarantine (R006). TEDS SUB1 = 1 (no substance) has no
# primary_drug line on purpose: such an admission is not a TDI treatment demand for a drug, and
# teds.sql leaves it out of scope (WHERE), so it is neither read nor unmapped.

# --- SERVICES: setting class (residential-typology.md, "Cross-reference: US TEDS SERVICES") ---
setting  1  inpatient_detox        # Detox, 24-hour, hospital inpatient
setting  2  inpatient_detox        # Detox, 24-hour, free-standing residential
setting  3  residential_hospital   # Rehab/residential, hospital (non-detox)
setting  4  residential_community  # Rehab/residential, short term (30 days or fewer)
setting  5  residential_community  # Rehab/residential, long term (more than 30 days)
setting  6  outpatient             # Ambulatory, intensive outpatient
setting  7  outpatient             # Ambulatory, non-intensive outpatient
setting  8  outpatient             # Ambulatory, detoxification

# SERVICES again, for the planned duration of residential care (TDI: up to 3 months or more).
# Only "30 days or fewer" is surely within 3 months; "more than 30 days" and hospital rehab say
# nothing about 3 months. The non-residential codes need a line too (every code is mapped); tdi
# leaves planned_duration out for them whatever it is.
planned_duration  4  short
planned_duration  3  not_known
planned_duration  5  not_known
planned_duration  1  not_known
planned_duration  2  not_known
planned_duration  6  not_known
planned_duration  7  not_known
planned_duration  8  not_known

# --- AGE: age group at admission -> TDI age group ---
age_band   1  0-14    # 12-14
age_band   2  15-19   # 15-17
age_band   3  99      # 18-20: spans 15-19 and 20-24
age_band   4  20-24   # 21-24
age_band   5  25-29
age_band   6  30-34
age_band   7  35-39
age_band   8  40-44
age_band   9  45-49
age_band  10  50-54
age_band  11  99      # 55-64: spans 55-59 and 60-64
age_band  12  65+
age_band  -9  99

# --- GENDER (full TEDS-A file only; the sample has no such column) ---
sex   1  1
sex   2  2
sex  -9  99

# --- NOPRIOR: number of previous treatment episodes -> ever previously treated ---
treatment_status   0  1
treatment_status   1  2
treatment_status   2  2
treatment_status   3  2
treatment_status   4  2
treatment_status   5  2       # five or more
treatment_status  -9  3

# --- EMPLOY and DETNLF: labour status (full TEDS-A file only; the sample has no EMPLOY) ---
# teds.sql sends EMPLOY, or nlf-DETNLF when EMPLOY = 4 (not in the labour force).
labour_status   1      2     # full time
labour_status   2      99    # part time: hours, not whether the work is regular (2) or occasional (1)
labour_status   3      4     # unemployed (looking for work in the past 30 days, or on layoff)
labour_status   nlf-1  5     # not in labour force: homemaker
labour_status   nlf-2  3     # not in labour force: student
labour_status   nlf-3  5     # not in labour force: retired, disabled
labour_status   nlf-4  6     # not in labour force: resident of an institution (prison, hospital)
labour_status   nlf-5  6     # not in labour force: other
labour_status   nlf--9 99    # not in labour force, reason not known
labour_status   -9     99

# --- PSOURCE: referral source (full TEDS-A file only) ---
referral_source   1  6    # individual, self
referral_source   2  3    # alcohol/drug use care provider
referral_source   3  4    # other health care provider
referral_source   4  5    # school
referral_source   5  7    # employer/EAP
referral_source   6  7    # other community referral
referral_source   7  1    # court/criminal justice
referral_source  -9  99

# --- LIVARAG: living arrangements -> living where ---
living_where   1  2     # homeless
living_where   2  99    # dependent living: a supervised setting or minors with parents, either
living_where   3  1     # independent living
living_where  -9  99

# --- EDUC: years of school completed -> highest level (ISCED) ---
education   1  99    # 8 years or less: ISCED 0, 1 or part of 2
education   2  3     # 9-11 years: lower secondary completed
education   3  3     # 12 years or GED
education   4  99    # 13-15 years: some college (ISCED 3) or an associate's degree (ISCED 5)
education   5  4     # 16 years or more
education  -9  99

# --- SUB1: primary substance -> TDI drug list (also SUB2, SUB3 as secondary drugs) ---
primary_drug   2  8      # alcohol (kept in extraction; not a TDI primary-drug table row)
primary_drug   3          2      # cocaine/crack, route not smoking or snorting: form not known
primary_drug   3-smoked   2.2    # cocaine smoked (teds.sql): crack, as in SAMHSA's reports
primary_drug   3-snorted  2.1    # cocaine snorted (teds.sql): powder
primary_drug   4  7.1    # marijuana/hashish
primary_drug   5  1.1    # heroin
primary_drug   6  1.2    # non-prescription methadone
primary_drug   7  1      # other opiates and synthetics: buprenorphine, fentanyl and others together
primary_drug   8  5.3    # PCP
primary_drug   9  5      # other hallucinogens: LSD among others
primary_drug  10  3.2    # methamphetamine
primary_drug  11  3      # other amphetamines: amphetamines and MDMA together
primary_drug  12  3.5    # other stimulants
primary_drug  13  4.2    # benzodiazepines
primary_drug  14  4.4    # other non-benzodiazepine tranquilizers
primary_drug  15  4.1    # barbiturates
primary_drug  16  4.4    # other non-barbiturate sedatives or hypnotics
primary_drug  17  6      # inhalants
primary_drug  18  9      # over-the-counter medications
primary_drug  19  99     # other: GHB/GBL, ketamine, phenytoin... (4.3, 5.2, 9): not known
primary_drug  -9  99

# Secondary drugs (SUB2, SUB3) use the primary_drug lines; TEDS's "none" is the only extra.
secondary_drug  1  0

# --- ROUTE1: usual route of the primary substance ---
route   1  3     # oral
route   2  2     # smoking
route   3  4     # inhalation: TEDS's intranasal use (snorting); smoking is its own code
route   4  1     # injection
route   5  5     # other
route  -9  99

# --- FREQ1: frequency of use at admission (past month) ---
frequency   1  5    # no use in the past month
frequency   2  99   # some use: 1 to 29 days, spans the TDI classes 2, 3 and 4
frequency   3  1    # daily use
frequency  -9  99

# --- FRSTUSE1: age at first use of the primary substance -> TDI age group ---
first_use_age_band   1  0-14    # 11 and under
first_use_age_band   2  0-14    # 12-14
first_use_age_band   3  15-19   # 15-17
first_use_age_band   4  99      # 18-20: spans 15-19 and 20-24
first_use_age_band   5  20-24   # 21-24
first_use_age_band   6  25-29
first_use_age_band   7  99      # 30 and older: spans every group from 30-34 up
first_use_age_band  -9  99

# --- IDU: injection reported among the routes of the admission's substances ---
# 1 means injecting now or recently, without saying when: "ever injected, timing not known".
# 0 only says no current substance is injected, not that the person never injected: not known.
injecting   1  2
injecting   0  99
injecting  -9  99
