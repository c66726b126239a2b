/* tdi_record: the source column contract (see README.md, "Source query"). */
#include "tdi_record.h"

const tdi_column_def tdi_columns[TDI_COL_COUNT] = {
    [TDI_COL_EPISODE_ID] = {"episode_id", "text", 1, -1},
    [TDI_COL_CLIENT_ID] = {"client_id", "text", 1, -1},
    [TDI_COL_CENTRE_ID] = {"centre_id", "text", 0, -1},
    [TDI_COL_START_DATE] = {"start_date", "date", 0, -1},
    [TDI_COL_BIRTH_DATE] = {"birth_date", "date", 1, -1},
    [TDI_COL_SETTING] = {"setting", "text", 0, TDI_ITEM_SETTING},
    [TDI_COL_SEX] = {"sex", "text", 0, TDI_ITEM_SEX},
    [TDI_COL_TREATMENT_STATUS] = {"treatment_status", "text", 0, TDI_ITEM_TREATMENT_STATUS},
    [TDI_COL_PRIMARY_DRUG] = {"primary_drug", "text", 0, TDI_ITEM_PRIMARY_DRUG},
    [TDI_COL_ROUTE] = {"route", "text", 0, TDI_ITEM_ROUTE},
};
