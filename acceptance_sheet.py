"""The acceptance basic information table (VPDN业务受理基础信息表) as staff open it: an XLSX
workbook (a sheet per section) or a CSV file (the sections one after the other, UTF-8 with a
byte-order mark so that Excel reads the Chinese right), headers in Chinese or English."""

import csv
import io
from pathlib import Path
from typing import Any, Literal

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from models.acceptance import MEMBER_COLUMNS, PROVINCE_COLUMNS, SECTIONS, SERVICE_FIELDS, AcceptanceTable

Language = Literal["zh", "en"]


def sections(table: AcceptanceTable, lang: Language) -> list[tuple[str, list[str], list[list[Any]]]]:
    """The table's sections: (title, header row, rows)."""
    pick = 1 if lang == "zh" else 2
    field, value = ("字段", "值") if lang == "zh" else ("Field", "Value")
    service = [[names[pick], table.service.get(names[0], "")] for names in SERVICE_FIELDS
               if names[0] in table.service]
    members = [[getattr(row, key) or "" for key, *_ in MEMBER_COLUMNS] for row in table.members]
    provinces = [[getattr(row, key) if getattr(row, key) is not None else "" for key, *_ in PROVINCE_COLUMNS]
                 for row in table.provinces]
    return [
        (SECTIONS["service"][pick - 1], [field, value], service),
        (SECTIONS["members"][pick - 1], [names[pick] for names in MEMBER_COLUMNS], members),
        (SECTIONS["provinces"][pick - 1], [names[pick] for names in PROVINCE_COLUMNS], provinces),
    ]


def write_table(table: AcceptanceTable, path: Path, lang: Language = "zh") -> None:
    """Write the table to `path`: .xlsx or .csv by its suffix."""
    path.write_bytes(table_bytes(table, path.suffix, lang))


def table_bytes(table: AcceptanceTable, suffix: str, lang: Language = "zh") -> bytes:
    """The table as the content of a .xlsx or .csv file."""
    if suffix.lower() == ".xlsx":
        return _xlsx(table, lang)
    if suffix.lower() == ".csv":
        return _csv(table, lang)
    raise ValueError(f"{suffix}: the table is written as .xlsx or .csv")


def _xlsx(table: AcceptanceTable, lang: Language) -> bytes:
    workbook = Workbook(write_only=False)
    workbook.remove(workbook.active)
    for title, header, rows in sections(table, lang):
        sheet = workbook.create_sheet(title)
        sheet.append(header)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:  # without the control characters a worksheet cannot hold
            sheet.append([ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value for value in row])
        sheet.freeze_panes = "A2"
        for column, name in zip(sheet.columns, header):
            sheet.column_dimensions[column[0].column_letter].width = max(12, min(48, 2 * len(name) + 4))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _csv(table: AcceptanceTable, lang: Language) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    for number, (title, header, rows) in enumerate(sections(table, lang)):
        if number:
            writer.writerow([])
        writer.writerow([f"[{title}]"])
        writer.writerow(header)
        writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")
