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
