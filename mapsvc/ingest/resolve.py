"""A mapping bound to one file's header: which actual column (or template) gives each
target field, found once per file so that every row is read the same way."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from mapsvc.core.codes import header_index, header_key
from mapsvc.core.taxonomy import Taxonomy
from mapsvc.ingest.cells import CapabilityColumnBinding, CellMemo
from mapsvc.ingest.mapping import TEMPLATE_FIELD, Mapping
from mapsvc.ingest.spec import ROW, TYPE
from mapsvc.ingest.text import clean, clean_multiline

FILENAME = "@filename"  # rule column that tests the file name instead of a cell
MULTILINE = frozenset({"hours", "notes_professional", "contact_hours"})
# (normaliser, headers tried in order, template or None, the columns the template names)
Reader = tuple[Callable[[str | None], str], tuple[str, ...], str | None, tuple[str, ...]]


@dataclass
class Resolved:
    """A mapping bound to one file's header: target field -> actual header name."""

    mapping: Mapping
    columns: dict[str, str]
    templates: dict[str, str]
    # further header variants present in the file, tried in order when the first is empty
    fallbacks: dict[str, list[str]]
    type_column: str | None
    rule_columns: dict[tuple[str, ...], str | None]
    capability_columns: list[CapabilityColumnBinding]
    extra: dict[str, str]
    filename: str
    cell_memo: CellMemo = field(default_factory=CellMemo)  # see cells.capability_cells
    # target -> how to read it (see :meth:`reader`), built on first use: joins bound after
    # resolve() add columns and fallbacks
    readers: dict[str, Reader] = field(default_factory=dict)
    _given: frozenset[str] | None = None

    def given(self) -> frozenset[str]:
        """The targets this file fills (a column or a template), settled on first use."""
        if self._given is None:
            self._given = frozenset(self.columns) | frozenset(self.templates)
        return self._given

    def reader(self, target: str) -> Reader:
        """How a row gives the value of ``target``: the normaliser, the headers to try in
        order, and the template (with the columns it names) when the mapping has one."""
        found = self.readers.get(target)
        if found is None:
            headers: tuple[str, ...] = ()
            if target in self.columns:
                headers = (self.columns[target], *self.fallbacks.get(target, ()))
            template = self.templates.get(target)
            parts = (
                tuple(p.split("|", 1)[0] for p in TEMPLATE_FIELD.findall(template))
                if template is not None
                else ()
            )
            norm = clean_multiline if target in MULTILINE else clean
            found = self.readers[target] = (norm, headers, template, parts)
        return found


def _find(header_keys: dict[str, str], variants: tuple[str, ...]) -> str | None:
    for v in variants:
        actual = header_keys.get(header_key(v))
        if actual is not None:
            return actual
    return None


def resolve(mapping: Mapping, header: list[str], taxonomy: Taxonomy, filename: str) -> Resolved:
    """Bind a mapping to a header; raise ``ValueError`` listing missing required columns."""
    keys = header_index(header)
    keys.setdefault(ROW, ROW)
    keys.setdefault(TYPE, TYPE)
    columns: dict[str, str] = {}
    templates: dict[str, str] = {}
    fallbacks: dict[str, list[str]] = {}
    for target, spec in mapping.columns.items():
        present = list(dict.fromkeys(a for v in spec.headers if (a := keys.get(header_key(v)))))
        if present:
            columns[target] = present[0]
            if len(present) > 1:
                fallbacks[target] = present[1:]
        # a template fills in whatever of its columns the file has (missing ones render
        # empty); a source id template only when the file has every column it names
        need = all if target == "source_id" else any
        if spec.template and need(header_key(h) in keys for h in spec.template_headers()):
            templates[target] = TEMPLATE_FIELD.sub(
                lambda m: (
                    "{"
                    + "|".join(
                        [
                            keys.get(header_key(m.group(1).split("|")[0]), "@missing"),
                            *m.group(1).split("|")[1:],
                        ]
                    )
                    + "}"
                ),
                spec.template,
            )
    missing = [t for t in mapping.required_columns if t not in columns and t not in templates]
    if missing:
        wanted = "; ".join(
            f"{t} (one of: {', '.join(mapping.columns[t].headers) or mapping.columns[t].template})"
            for t in missing
        )
        raise ValueError(f"missing required column(s): {wanted}")
    rule_columns: dict[tuple[str, ...], str | None] = {}
    for rule in (*mapping.type_rules, *mapping.status_rules):
        rule_columns[rule.column] = (
            FILENAME if rule.column == (FILENAME,) else _find(keys, rule.column)
        )
    cap_cols: list[CapabilityColumnBinding] = []
    for cap_spec in mapping.capability_columns:
        actual = _find(keys, cap_spec.headers)
        if actual is not None:
            cap_cols.append(
                (
                    actual,
                    cap_spec.capability,
                    cap_spec,
                    _find(keys, cap_spec.note_headers) if cap_spec.note_headers else None,
                )
            )
    if mapping.capabilities_from_headers:
        claimed = {c[0] for c in cap_cols}
        for key in taxonomy.capabilities:
            actual = keys.get(header_key(key))
            if actual is not None and actual not in claimed:
                cap_cols.append((actual, key, None, keys.get(header_key(f"{key}_note"))))
    extra = {
        name: actual
        for name, variants in mapping.extra.items()
        if (actual := _find(keys, variants))
    }
    return Resolved(
        mapping,
        columns,
        templates,
        fallbacks,
        _find(keys, mapping.type_column) if mapping.type_column else None,
        rule_columns,
        cap_cols,
        extra,
        filename,
    )
