"""The receipt specs: one per model, read generically, and the README's identity table is theirs."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from sms_receipts.parsing import GlobeSmsReport, IntlSmsReport, LegacyIntlSmsReport, Receipt
from sms_receipts.parsing.models import ALL_MODELS

ROOT = Path(__file__).resolve().parents[2]
CELL = re.compile(r"(?<!\\)\|")


def _label(model: type[Receipt]) -> str:
    return model.type_name if model.schema_name == model.type_name else model.schema_name


def spec_rows() -> list[tuple[str, str, str]]:
    """(types, identity fields, entity key) per distinct spec, in model order, as the README spells them."""
    rows: dict[int, list] = {}
    for model in ALL_MODELS:
        spec = model.spec
        fields = ", ".join(spec.identity)
        if spec.items:
            fields += f", each {spec.items} entry's ({', '.join(spec.item_fields)})"
        parts = ["<" + (part if isinstance(part, str) else " or ".join(part)) + ">" for part in spec.entity]
        row = rows.setdefault(id(spec), [[], fields, "|".join(parts)])
        row[0].append(model)
    return [
        (", ".join(map(_label, models)), fields, f"`{models[0].type_name if len(models) == 1 else '<type>'}:{entity}`")
        for models, fields, entity in rows.values()
    ]


def readme_rows() -> list[tuple[str, str, str]]:
    section = (ROOT / "README.md").read_text("utf-8").split("### Identity", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("| ") and "---" not in line]
    assert lines[0] == "| type | identity fields | entity key |"
    cells = [tuple(cell.strip().replace("\\|", "|") for cell in CELL.split(line)[1:-1]) for line in lines[1:]]
    return cells


def test_the_readme_identity_table_is_the_modules():
    # Moved from test_identity: the table the README documents is the one the specs define.
    documented = readme_rows()
    assert documented == spec_rows()
    assert any(row[0] == "IntlSmsReport (legacy BizId/SendStatus schema)" for row in documented)


def test_the_international_reports_share_one_spec_and_the_legacy_one_fits_it():
    assert GlobeSmsReport.spec is IntlSmsReport.spec
    legacy, current = LegacyIntlSmsReport.spec, IntlSmsReport.spec
    assert (legacy.event_time, legacy.identity[3:]) == (current.event_time, current.identity[3:])
    assert legacy.identity_name == "IntlSmsReport.legacy" and current.identity_name is None


def test_identity_and_rules_read_the_specs_without_a_type_ladder():
    models = {model.__name__ for model in ALL_MODELS}
    for path in ("shared/sms_receipts/parsing/identity.py", "shared/sms_receipts/storage/rules.py"):
        source = (ROOT / path).read_text("utf-8")
        named = {node.id for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Name)}
        assert not named & models, path  # no model is named: every type is read through its spec


def test_every_entity_part_is_an_identity_field():
    for model in ALL_MODELS:
        for part in model.spec.entity:
            assert set((part,) if isinstance(part, str) else part) <= set(model.spec.identity), model
