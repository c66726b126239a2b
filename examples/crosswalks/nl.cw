# Crosswalk of Kliniek De Brug (sample database clinic_nl): local code -> TDI code.
#
# One mapping a line: ITEM LOCAL_CODE TDI_CODE [VALID_FROM]   (see en.cw for the details)
# The file is UTF-8; codes with letters outside ASCII or with blanks are written in "double quotes".

# Setting class
setting  ambulant             outpatient
setting  dagbehandeling       outpatient
setting  laagdrempelig        low_threshold
setting  klinisch-tc          residential_community
setting  klinisch-ziekenhuis  residential_hospital
setting  ontgifting           inpatient_detox
setting  gevangenis           prison

# Sex
sex  man       1
sex  vrouw     2
sex  onbekend  99

# Ever previously treated (eerder behandeld)
treatment_status  nee       1
treatment_status  ja        2
treatment_status  onbekend  3

# Primary drug (hoofdmiddel)
primary_drug  "heroïne"          1.1
primary_drug  methadon           1.2
primary_drug  "cocaïne"          2.1
primary_drug  basecoke           2.2
primary_drug  speed              3.1
primary_drug  "crystal meth"     3.2
primary_drug  xtc                3.3
primary_drug  benzodiazepinen    4.2
primary_drug  GHB                4.3
primary_drug  ketamine           5.2
primary_drug  cannabis           7.1
primary_drug  alcohol            8
primary_drug  overig             9

# Usual route (gebruikswijze); "chinezen" is chasing the dragon: inhaling
route  spuiten   1
route  roken     2
route  chinezen  2
route  slikken   3
route  snuiven   4
route  anders    5

# --- De rest van het TDI-record (intakeformulier) ---

# Klinische programma's (alleen residentieel): aanpak en geplande duur. Ontgifting bij de start
# registreert deze kliniek niet: de view laat detox_phase weg (niet gekend).
residential_approach  TG          therapeutic_community
residential_approach  minnesota   twelve_step
residential_approach  cgt         cbt
residential_approach  psychodynamisch  other_psychotherapeutic
residential_approach  eclectisch  combined
planned_duration      kort        short
planned_duration      lang        long

# Nationaliteit als landengroep: 1 Belg, 2 andere EU, 3 buiten de EU
nationality  "België"   1
nationality  Nederland  2
nationality  Frankrijk  2
nationality  Marokko    3
nationality  Turkije    3

# Verwijzer
referral_source  justitie   1
referral_source  huisarts   2
referral_source  andere-vz  3
referral_source  ggz        4
referral_source  school     5
referral_source  zelf       6
referral_source  overig     7

# Woonsituatie: met wie, met kinderen, waar
living_with           alleen      1
living_with           ouders      2
living_with           partner     3
living_with           vrienden    4
living_with           detentie    5
living_with           instelling  6
living_with_children  nee         1
living_with_children  ja          2
living_where          vast        1
living_where          dakloos     2
living_where          detentie    3
living_where          anders      4

# Opleiding en werk
education      geen       1
education      lager      2
education      secundair  3
education      hoger      4
labour_status  interim    1
labour_status  vast       2
labour_status  student    3
labour_status  werkloos   4
labour_status  uitkering  5
labour_status  anders     6

# Gebruiksfrequentie hoofdmiddel, laatste 30 dagen
frequency  dagelijks  1
frequency  4-6/week   2
frequency  2-3/week   3
frequency  wekelijks  4
frequency  niet       5

# Bijmiddelen: de primary_drug-regels hierboven gelden ook; alleen "geen" heeft een eigen regel.
secondary_drug  geen  0
polydrug        ja    1
polydrug        nee   2

# Spuiten (eender welk middel), naalden delen, HIV- en HCV-test, substitutiebehandeling
injecting       nooit    1
injecting       vroeger  2.1
injecting       12m      2.2
injecting       30d      2.3
injecting       weigert  3
needle_sharing  nooit    1
needle_sharing  vroeger  2.1
needle_sharing  12m      2.2
needle_sharing  30d      2.3
hiv_testing     nooit    1
hiv_testing     vroeger  2.1
hiv_testing     12m      2.2
hcv_testing     nooit    1
hcv_testing     vroeger  2.1
hcv_testing     12m      2.2
ost             nooit    1
ost             vroeger  2
ost             huidig   3

# Ontslag: reden van beëindiging en nazorg
discharge_reason  afgerond        completed
discharge_reason  uitval          dropped_out
discharge_reason  verwezen        referred_on
discharge_reason  overgeplaatst   transferred
discharge_reason  detentie        incarcerated
discharge_reason  overleden       died
discharge_reason  anders          other
aftercare         geen            none
aftercare         ambulant        outpatient
aftercare         zelfhulp        self_help
aftercare         beschermd-wonen housing
aftercare         anders          other
aftercare         onbekend        not_known
