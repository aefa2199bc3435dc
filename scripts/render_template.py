"""Write the parts of template.yml that follow from the table schema: `make template`.

    python scripts/render_template.py [--check]

The tables (ALIYUN::OTS::Table resources), the functions' dependencies on them, and the table ARNs
of the least-privilege policies are generated from `shared/sms_receipts/storage/schema.py`, the one
definition that `sms-receipts init-tables` and the store read too. Each generated part sits between
`# BEGIN GENERATED <name>` and `# END GENERATED <name>` lines and takes their indentation; the rest
of template.yml is written by hand. A block may name the tables it covers, `# BEGIN GENERATED
table-arns: send_log` (schema names, space-separated; every name must be the schema's): a role that
needs an action on some tables only; without names it covers every table. `--check` exits 1 when
template.yml differs from what this script would write (the deploy tests run it).

It imports the schema from the installed package, so it runs in the project's venv (`make template`).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from sms_receipts.storage.schema import TABLES

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "template.yml"

BLOCK = re.compile(
    r"^(?P<indent>[ ]*)# BEGIN GENERATED (?P<name>[\w-]+)(?P<note>[^\n]*)\n"
    r"(?P<body>.*?)"
    r"^(?P=indent)# END GENERATED (?P=name)\n",
    re.DOTALL | re.MULTILINE,
)


def logical_id(table_name: str) -> str:
    return "Table" + "".join(part.capitalize() for part in table_name.split("_"))


def render_tables(tables) -> list[str]:
    lines: list[str] = []
    for table in tables:
        lines += [
            f"# {table.name}: {table.description}",
            f"{logical_id(table.name)}:",
            "  Type: ALIYUN::OTS::Table",
            "  Properties:",
            "    InstanceName:",
            "      Fn::GetAtt: [OtsInstance, InstanceName]",
            "    TableName:",
            f"      Fn::Sub: ${{TablePrefix}}{table.name}",
            "    PrimaryKey:",
        ]
        for column, kind in table.primary_key:
            lines += [f"      - Name: {column}", f"        Type: {kind}"]
        # as `init-tables` creates them: no expiry, one version, no reserved throughput
        lines += [
            "    TimeToLive: -1",
            "    MaxVersions: 1",
            "    ReservedThroughput:",
            "      Read: 0",
            "      Write: 0",
        ]
    return lines


def render_table_ids(tables) -> list[str]:
    return [f"- {logical_id(table.name)}" for table in tables]


def render_table_arns(tables) -> list[str]:
    return [
        "- Fn::Sub: acs:ots:${ALIYUN::Region}:${ALIYUN::AccountId}:instance/${OtsInstanceName}/table/"
        f"${{TablePrefix}}{table.name}"
        for table in tables
    ]


RENDERERS = {"tables": render_tables, "table-ids": render_table_ids, "table-arns": render_table_arns}


def selected(note: str, tables: list) -> list:
    """The tables a block's note names (`: name name`), in the schema's order; all of them without names."""
    if not note.startswith(": "):
        return tables
    names = note[2:].split()
    unknown = sorted(set(names) - {table.name for table in tables})
    if unknown or not names:
        raise SystemExit(f"template.yml: a generated block names no table or an unknown one: {unknown or note!r}")
    return [table for table in tables if table.name in names]


def render(text: str) -> str:
    tables = list(TABLES.values())
    seen = set()

    def replace(match: re.Match) -> str:
        name, indent = match.group("name"), match.group("indent")
        if name not in RENDERERS:
            raise SystemExit(f"template.yml: unknown generated block {name!r}")
        seen.add(name)
        body = "".join(f"{indent}{line}\n" for line in RENDERERS[name](selected(match.group("note"), tables)))
        return f"{indent}# BEGIN GENERATED {name}{match.group('note')}\n{body}{indent}# END GENERATED {name}\n"

    result = BLOCK.sub(replace, text)
    missing = set(RENDERERS) - seen
    if missing:
        raise SystemExit(f"template.yml: no generated block for {', '.join(sorted(missing))}")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if template.yml is not up to date")
    args = parser.parse_args(argv)
    current = TEMPLATE.read_text(encoding="utf-8")
    rendered = render(current)
    if args.check:
        if rendered != current:
            print("template.yml is out of date with shared/sms_receipts/storage/schema.py: run make template")
            return 1
        return 0
    if rendered != current:
        TEMPLATE.write_text(rendered, encoding="utf-8")
        print("template.yml: generated parts rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())
