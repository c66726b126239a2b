#!/usr/bin/python3
"""tdi-workbook-gen.py FORM.xlsx TABLES.xml > tdi-workbook-2022.map

Generates the workbook layout tdi writes (schemas/tdi-workbook-2022.map) from the official TDI
form and a full tables file: every label cell of the form (text or number, with its column
widths), and for each table of the tables file the form row of each row code and the form
column of each column code. A table's data rows are the N rows below its header row (N = its
row codes), its data columns the header row's labelled columns from B (one per column code);
the script stops when the counts disagree. Cells inside a data grid are not labels (the form
has placeholder numbers there). Run by hand when the form changes; needs python3-openpyxl.

Lines (tab-separated; \\\\ \\n \\r \\t escaped in text):
  width COL WIDTH          a column's width
  label CELL s|n VALUE     a label cell: text or a number
  row TABLE CODE ROW       table TABLE's row code CODE is form row ROW
  col TABLE CODE COL       table TABLE's column code CODE is form column COL
  meta NAME CELL           where tdi writes what it knows of the methodology
"""
import re
import sys
import xml.etree.ElementTree as ET

import openpyxl
from openpyxl.utils import get_column_letter

NS = "{urn:tdi:tables:1}"


def esc(s):
    return s.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")


def main():
    ws = openpyxl.load_workbook(sys.argv[1]).active
    root = ET.parse(sys.argv[2]).getroot()
    out = []
    grid = set()
    # Table titles: "9.1.1 Primary drug ..." in column A.
    title_row = {}
    for r in range(1, ws.max_row + 1):
        v = ws.cell(r, 1).value
        m = re.match(r"\s*(\d+\.1\.\d+)\s", v) if isinstance(v, str) else None
        if m and m.group(1) not in title_row:
            title_row[m.group(1)] = r
    for t in root.findall(NS + "table"):
        tid = t.get("id")
        rows, cols = [], []
        for c in t:
            if c.get("row") not in rows:
                rows.append(c.get("row"))
            if c.get("column") not in cols:
                cols.append(c.get("column"))
        head = title_row[tid] + 1
        hcols = [c for c in range(2, ws.max_column + 1) if ws.cell(head, c).value is not None]
        if hcols != list(range(2, 2 + len(hcols))):
            sys.exit(f"{tid}: form header row {head} has gaps")
        if len(hcols) == len(cols):
            pairs = list(zip(cols, hcols))
        else:
            # More columns in the form (25.1.6 has an alcohol column): match by the code the
            # header starts with ("1.1 heroin", "TOTAL").
            bycode = {}
            for c in hcols:
                h = str(ws.cell(head, c).value).strip()
                m = re.match(r"(\d+(?:\.\d+)?)\.?\s", h)
                bycode["total" if h.upper() == "TOTAL" else m.group(1) if m else h] = c
            missing = [code for code in cols if code not in bycode]
            if missing:
                sys.exit(f"{tid}: column codes {missing} not in form header row {head}")
            pairs = [(code, bycode[code]) for code in cols]
        for i, code in enumerate(rows):
            fr = head + 1 + i
            if not isinstance(ws.cell(fr, 1).value, (str, int)):
                sys.exit(f"{tid}: row code {code}: form row {fr} has no label")
            out.append(f"row\t{tid}\t{code}\t{fr}")
        below = head + 1 + len(rows)
        if any(ws.cell(below, c).value is not None for c in hcols):
            sys.exit(f"{tid}: form row {below} has data cells: more rows than row codes")
        for fr in range(head + 1, head + 1 + len(rows)):
            grid.update((fr, c) for _, c in pairs)
        for code, c in pairs:
            out.append(f"col\t{tid}\t{code}\t{get_column_letter(c)}")
    labels = []
    for row in ws.iter_rows():
        for c in row:
            if c.value is None or (c.row, c.column) in grid:
                continue
            if isinstance(c.value, str):
                labels.append(f"label\t{c.coordinate}\ts\t{esc(c.value)}")
            elif isinstance(c.value, (int, float)):
                labels.append(f"label\t{c.coordinate}\tn\t{c.value}")
            else:
                sys.exit(f"{c.coordinate}: a {type(c.value).__name__} label")
    widths = []
    for letter, dim in sorted(ws.column_dimensions.items()):
        if dim.width:
            widths.append(f"width\t{letter}\t{dim.width:.2f}")
    meta = ["meta\tcollection_year\tB24", "meta\tcountry\tB32", "meta\ttreatment_year\tB35",
            "meta\tcounting_existing\tB71", "meta\tcounting_centre\tB72",
            "meta\tcounting_regional\tB73", "meta\tcounting_national\tB74",
            "meta\tnotes\tB168"]
    print("# tdi-workbook-2022.map: the layout of the official TDI workbook (2022 form), made by")
    print("# schemas/tdi-workbook-gen.py from the form and a tables file; read by tdi workbook.")
    print(f"sheet\t{ws.title}")
    for line in widths + labels + out + meta:
        print(line)


main()
