#!/usr/bin/python3
"""workbook_check.py FORM.xlsx|- MAP TABLES.xml WORKBOOK.xlsx

Reads a workbook tdi wrote with an independent reader (openpyxl) and checks it against the
tables file it was made from and the official form (FORM, or - when the form is not at hand:
the labels are then checked against the layout file only):
  - every label cell of the form (outside the data grids) holds the form's value, and no label
    of the form is missing from the layout;
  - every <cell> of the tables file is the same number at its row and column, every
    <suppressed> cell the text "c" on grey fill, every <empty> cell empty;
  - the methodological cells: collection year (year + 1), body, year of treatment, "X" at the
    counting level; nothing else is written.
Prints one line of figures; exits 1 with the first differences when anything differs.
"""
import re
import sys
import xml.etree.ElementTree as ET

import openpyxl
from openpyxl.utils import column_index_from_string, coordinate_to_tuple

NS = "{urn:tdi:tables:1}"


def unesc(s):
    out, i = [], 0
    while i < len(s):
        if s[i] == "\\" and i + 1 < len(s):
            out.append({"n": "\n", "r": "\r", "t": "\t"}.get(s[i + 1], s[i + 1]))
            i += 2
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def main():
    form_path, map_path, tables_path, wb_path = sys.argv[1:5]
    labels, rows, cols, meta = {}, {}, {}, {}
    for line in open(map_path, encoding="utf-8"):
        f = line.rstrip("\n").split("\t")
        if f[0] == "label":
            v = unesc(f[3])
            labels[coordinate_to_tuple(f[1])] = int(v) if f[2] == "n" else v
        elif f[0] == "row":
            rows.setdefault(f[1], {})[f[2]] = int(f[3])
        elif f[0] == "col":
            cols.setdefault(f[1], {})[f[2]] = column_index_from_string(f[3])
        elif f[0] == "meta":
            meta[f[1]] = coordinate_to_tuple(f[2])
    grid = {(r, c) for t in rows for r in rows[t].values() for c in cols[t].values()}
    errors = []

    def err(msg):
        errors.append(msg)

    ws = openpyxl.load_workbook(wb_path).active
    if ws.title != "2375":
        err(f"sheet is {ws.title!r}, the form's is '2375'")
    got = {(c.row, c.column): c for row in ws.iter_rows() for c in row if c.value is not None}

    # The labels: the form's, or the layout's when the form is not at hand.
    nlabels = 0
    if form_path != "-":
        form = openpyxl.load_workbook(form_path).active
        for row in form.iter_rows():
            for c in row:
                if c.value is None or (c.row, c.column) in grid:
                    continue
                nlabels += 1
                if labels.get((c.row, c.column)) != c.value:
                    err(f"{c.coordinate}: the layout's label differs from the form's")
                w = got.get((c.row, c.column))
                if w is None or w.value != c.value:
                    err(f"{c.coordinate}: label {c.value!r:.40} in the form, "
                        f"{None if w is None else w.value!r:.40} in the workbook")
        if nlabels != len(labels):
            err(f"the form has {nlabels} labels, the layout {len(labels)}")
    else:
        for (r, c), v in labels.items():
            nlabels += 1
            w = got.get((r, c))
            if w is None or w.value != v:
                err(f"row {r} column {c}: label {v!r:.40} missing")

    # The numbers.
    root = ET.parse(tables_path).getroot()
    nnum = nsup = nempty = nsup_out = 0
    for t in root.findall(NS + "table"):
        tid = t.get("id")
        if re.match(r"4[0-3]\.", tid):
            # residential outcomes, clients in treatment: not in the form, left out (their
            # suppressed cells are in the root's count all the same)
            nsup_out += sum(1 for e in t if e.tag == NS + "suppressed")
            continue
        for e in t:
            kind = e.tag[len(NS):]
            pos = (rows[tid][e.get("row")], cols[tid][e.get("column")])
            w = got.get(pos)
            where = f"{tid} row {e.get('row')} column {e.get('column')}"
            if kind == "cell":
                nnum += 1
                if w is None or not isinstance(w.value, (int, float)) or \
                        abs(w.value - float(e.get("value"))) > 1e-9:
                    err(f"{where}: {e.get('value')} in the tables, "
                        f"{None if w is None else w.value!r} in the workbook")
            elif kind == "suppressed":
                nsup += 1
                if w is None or w.value != "c" or "C0C0C0" not in str(w.fill.fgColor.rgb):
                    err(f"{where}: suppressed, the workbook has "
                        f"{None if w is None else w.value!r}")
            elif kind == "empty":
                nempty += 1
                if w is not None:
                    err(f"{where}: empty, the workbook has {w.value!r}")
    if nsup + nsup_out != int(root.get("suppressedCells")):
        err(f"{nsup} + {nsup_out} (tables 40-43) suppressed elements, "
            f"the root says {root.get('suppressedCells')}")

    # The methodology, and nothing else written.
    year = int(root.get("year"))
    want = {meta["collection_year"]: year + 1, meta["treatment_year"]: year,
            meta["country"]: root.get("body"), meta["counting_existing"]: "X",
            meta["counting_" + root.get("countingLevel")]: "X"}
    for pos, v in want.items():
        w = got.get(pos)
        if w is None or w.value != v:
            err(f"methodology cell {pos}: want {v!r}, got {None if w is None else w.value!r}")
    allowed = set(labels) | grid | set(want) | {meta["notes"]}
    for pos, w in got.items():
        if pos not in allowed:
            err(f"{w.coordinate}: {w.value!r:.40} written where the form has nothing")
    for e in errors[:20]:
        print("workbook_check: " + e, file=sys.stderr)
    print(f"labels {nlabels}, numbers {nnum}, suppressed {nsup}, empty {nempty}, "
          f"differences {len(errors)}")
    sys.exit(1 if errors else 0)


main()
