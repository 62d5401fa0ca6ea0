"""Survey templates for the paper and spreadsheet route (CSV and XLSX), per provider type.

A template is a file in the generic import format (``mapsvc/ingest/formats/generic.yaml``):
one row per provider, ``id`` = the provider's mapsvc id, one column per field the
provider may update and per capability that applies to the type (with a ``<key>_note``
column), pre-filled with the current answers. Row 1 holds Japanese labels for people,
row 2 the column keys the importer reads (it takes the row naming the most known columns
as the header), data starts on row 3. Filled templates go back in with
``mapsvc import FILE --review`` (or the admin upload) and land in the review queue.

Values are written the way the importer reads them: acceptance levels as
積極的受入/受入/要相談/不可/不明, flags as あり/なし/不明, options by their Japanese label,
ranked lists joined with 、. Empty cells leave the stored answer alone.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mapsvc.core._csv import csv_bytes, xlsx_text
from mapsvc.core.errors import InvalidInput
from mapsvc.core.models import Provider
from mapsvc.core.registry import provider_record
from mapsvc.core.taxonomy import UNKNOWN, Capability, Taxonomy
from mapsvc.upkeep.survey_form import SURVEY_FIELDS, applicable

ADDRESS_REFERENCE = "address_reference"  # not read by the importer: context for the reader
# shorter than the taxonomy's 不明（未回答） for the dropdown; the importer reads both
UNKNOWN_WORD = "不明"


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    choices: tuple[str, ...] = ()  # dropdown values (XLSX data validation)
    width: int = 14


def _words(taxonomy: Taxonomy, cap: Capability) -> dict[str, str]:
    """Level (or yes/no) key -> the taxonomy's Japanese label, for level and flag columns."""
    keys = [lv.key for lv in taxonomy.levels] if cap.kind == "level" else ["yes", "no"]
    return {key: taxonomy.level_label(key) for key in keys}


def _choices(taxonomy: Taxonomy, cap: Capability) -> tuple[str, ...]:
    if cap.kind in ("level", "flag"):
        return (*_words(taxonomy, cap).values(), UNKNOWN_WORD)
    if cap.kind == "choice":
        return tuple(o.ja for o in cap.options.values())
    return ()


def template_columns(taxonomy: Taxonomy, provider_type: str) -> list[Column]:
    """The template's columns for one provider type, in order."""
    if provider_type not in taxonomy.provider_types:
        raise InvalidInput(
            f"unknown provider type {provider_type!r}; expected one of {', '.join(taxonomy.provider_types)}",
            field="type",
        )
    f = taxonomy.fields
    cols = [
        Column("id", "事業所ID（変更しないでください）", width=38),
        Column("source_id", "出典ID（変更しないでください）", width=16),
        Column("type", "種別（変更しないでください）", width=12),
        Column("name", "名称", width=28),
        Column("kana", "名称（カナ）", width=20),
        Column(ADDRESS_REFERENCE, "所在地（参考：変更は担当者へ）", width=30),
        Column("respondent_name", "回答者氏名", width=14),
        Column("respondent_title", "回答者職名", width=14),
    ]
    for key in SURVEY_FIELDS:
        label = f[key].label.ja if key in f else key
        cols.append(Column(key, label, width=20))
    cols += [
        Column("service_area_km", "対応地域：半径（km）", width=10),
        Column("service_area_minutes", "対応地域：移動時間（分）", width=10),
        Column("service_area_codes", "対応地域：地域コード（、区切り）", width=16),
    ]
    for cap in applicable(taxonomy, provider_type).values():
        choices = _choices(taxonomy, cap)
        hint = (
            "／".join(choices)
            if choices
            else ("希望順に「、」区切り" if cap.kind == "ranked" else "自由記述")
        )
        audience = "" if cap.audience == "public" else "【専門職のみ公開】"
        cols.append(Column(cap.key, f"{cap.label.ja}{audience}［{hint}］", choices, width=14))
        cols.append(Column(f"{cap.key}_note", f"{cap.label.ja}：備考", width=18))
    return cols


def _cap_cell(taxonomy: Taxonomy, cap: Capability, value: dict[str, Any] | None) -> str:
    if not value:
        return ""
    if cap.kind in ("level", "flag"):
        level = value.get("level")
        if level == UNKNOWN:
            return UNKNOWN_WORD
        return _words(taxonomy, cap).get(str(level), "")
    if cap.kind == "choice":
        option = cap.options.get(str(value.get("value")))
        return option.ja if option else ""
    if cap.kind == "ranked":
        return "、".join(cap.options[o].ja for o in value.get("value") or [] if o in cap.options)
    return str(value.get("value") or "")


def template_row(
    taxonomy: Taxonomy, record: dict[str, Any], columns: Sequence[Column]
) -> list[str]:
    """One provider's row, pre-filled with its current values."""
    caps = record.get("capabilities") or {}
    area = record.get("service_area") or {}
    cells: dict[str, str] = {
        "id": record["id"],
        "source_id": record.get("source_id") or "",
        "type": record["type"],
        "name": record.get("name") or "",
        "kana": record.get("kana") or "",
        ADDRESS_REFERENCE: record.get("address") or "",
        "service_area_km": f"{area['km']:g}" if area.get("kind") == "radius" else "",
        "service_area_minutes": f"{area['minutes']:g}" if area.get("kind") == "travel_time" else "",
        "service_area_codes": "、".join(area.get("codes") or [])
        if area.get("kind") == "codes"
        else "",
    }
    for key in SURVEY_FIELDS:
        cells[key] = str(record.get(key) or "")
    for col in columns:
        cap = taxonomy.capabilities.get(col.key)
        if cap is not None:
            cells[col.key] = _cap_cell(taxonomy, cap, caps.get(col.key))
        elif col.key.endswith("_note") and col.key[:-5] in taxonomy.capabilities:
            cells[col.key] = str((caps.get(col.key[:-5]) or {}).get("note") or "")
    return [cells.get(col.key, "") for col in columns]


def template_records(
    session: Session, provider_type: str, uids: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """Current records of one type (or just ``uids``), by name."""
    stmt = (
        select(Provider)
        .where(Provider.type == provider_type, Provider.status != "closed")
        .order_by(Provider.name, Provider.id)
    )
    if uids:
        stmt = stmt.where(Provider.uid.in_(list(uids)))
    records = [provider_record(p) for p in session.scalars(stmt)]
    if uids:
        missing = sorted(set(uids) - {r["id"] for r in records})
        if missing:
            raise InvalidInput(
                f"no {provider_type} provider with id {', '.join(missing)}", field="provider"
            )
    return records


def template_csv(
    taxonomy: Taxonomy, provider_type: str, records: Sequence[dict[str, Any]]
) -> bytes:
    """The CSV template (UTF-8 with BOM, so Excel opens it correctly)."""
    columns = template_columns(taxonomy, provider_type)
    return csv_bytes(
        [
            [c.label for c in columns],
            [c.key for c in columns],
            *(template_row(taxonomy, record, columns) for record in records),
        ]
    )


def template_xlsx(
    taxonomy: Taxonomy, provider_type: str, records: Sequence[dict[str, Any]]
) -> bytes:
    """The XLSX template: labels, keys, one row per provider, dropdowns for level columns."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    columns = template_columns(taxonomy, provider_type)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "回答"[:31]
    ws.append([c.label for c in columns])
    ws.append([c.key for c in columns])
    for record in records:
        ws.append(template_row(taxonomy, record, columns))
    for row_cells in ws.iter_rows():
        for cell in row_cells:
            xlsx_text(cell)  # a name like =HYPERLINK(…) stays text, never a formula
    last_row = max(len(records) + 2, 200)
    label_fill = PatternFill("solid", fgColor="DDEBF7")
    key_font = Font(color="808080", size=9)
    locked_fill = PatternFill("solid", fgColor="EEEEEE")
    for index, col in enumerate(columns, start=1):
        letter = get_column_letter(index)
        ws.column_dimensions[letter].width = col.width
        head = ws.cell(row=1, column=index)
        head.fill = label_fill
        head.font = Font(bold=True)
        head.alignment = Alignment(wrap_text=True, vertical="top")
        ws.cell(row=2, column=index).font = key_font
        for row in range(3, len(records) + 3):
            cell = ws.cell(row=row, column=index)
            cell.number_format = "@"  # text: keeps leading zeros of phone numbers
            if col.key in ("id", "source_id", "type", ADDRESS_REFERENCE):
                cell.fill = locked_fill
        if col.choices:
            formula = '"' + ",".join(col.choices) + '"'
            if len(formula) <= 255:  # Excel's limit for an inline list
                dv = DataValidation(type="list", formula1=formula, allow_blank=True)
                dv.error = "一覧から選んでください / choose from the list"
                dv.errorTitle = col.label[:32]
                ws.add_data_validation(dv)
                dv.add(f"{letter}3:{letter}{last_row}")
    ws.row_dimensions[1].height = 60
    ws.freeze_panes = "E3"
    notes = wb.create_sheet("記入方法")
    for line in INSTRUCTIONS:
        notes.append([line])
    notes.column_dimensions["A"].width = 100
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


INSTRUCTIONS = (
    "在宅医療・介護資源マップ 追加調査票（記入方法）",
    "1. 「回答」シートの3行目以降が各事業所の行です。現在登録されている内容が入っています。",
    "2. 変更のある欄だけ書き換えてください。空欄のままの欄は現在の登録内容を変更しません。",
    "3. 受入状況は 積極的受入／受入／要相談／不可／不明 から選んでください（不明は「不可」とは別の扱いです）。",
    "4. 届出などは あり／なし／不明、連絡方法は希望順に「、」で区切って記入してください（例：電話、FAX）。",
    "5. 1行目の【専門職のみ公開】の項目は住民向けの地図には表示されません。",
    "6. 事業所ID・出典ID・種別の列は変更しないでください。所在地の変更は市の担当者へご連絡ください。",
    "7. 2行目（英字の列名）は読み取りに使います。消したり並べ替えたりしないでください。",
    "ご回答は市の担当者が確認してから地図に反映されます。",
)
