"""Generate each addon's README.rst from its readme/*.md fragments (as OCA's tooling does).

python scripts/gen_addon_readme.py           # write README.rst files
python scripts/gen_addon_readme.py --check   # exit 1 when one is out of date
"""

import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = [
    ("DESCRIPTION", None),
    ("INSTALL", "Installation"),
    ("CONFIGURE", "Configuration"),
    ("USAGE", "Usage"),
    ("ROADMAP", "Known issues / Roadmap"),
    ("CONTRIBUTORS", "Contributors"),
]


TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$")
TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")


def inline(text):
    """Markdown inline markup → reStructuredText: links, inline code (bold and emphasis agree)."""
    text = re.sub(r"\[([^\]]+)\]\(([^)]+)\)", r"`\1 <\2>`_", text)
    return re.sub(r"(?<!`)`([^`]+)`(?!`|_)", r"``\1``", text)


def table_cells(row):
    """The cells of a Markdown table row; a ``|`` inside inline code belongs to the cell."""
    row = row.strip()
    row = row[1:] if row.startswith("|") else row
    row = row[:-1] if row.endswith("|") and not row.endswith("\\|") else row
    cells, cell, in_code = [], "", False
    for char in row:
        if char == "`":
            in_code = not in_code
        if char == "|" and not in_code:
            cells.append(cell.strip())
            cell = ""
            continue
        cell += char
    cells.append(cell.strip())
    return [c.replace("\\|", "|") for c in cells]


def list_table(rows):
    """A Markdown table (header row, rule, body rows) as an RST ``list-table``."""
    out = ["", ".. list-table::", "   :header-rows: 1", ""]
    for row in rows:
        for i, cell in enumerate(table_cells(row)):
            bullet = "   * -" if i == 0 else "     -"
            out.append("%s %s" % (bullet, inline(cell)) if cell else bullet)
    out.append("")
    return out


def md_to_rst(text):
    """Small Markdown subset → reStructuredText: headings, code fences, tables, inline code,
    links, lists."""
    out, in_code = [], False
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if line.startswith("```"):
            if not in_code:
                out += ["", ".. code-block:: %s" % (line[3:].strip() or "text"), ""]
            else:
                out.append("")
            in_code = not in_code
            continue
        if in_code:
            out.append("   " + line if line else "")
            continue
        if TABLE_ROW.match(line) and i < len(lines) and TABLE_RULE.match(lines[i]):
            rows = [line]
            i += 1  # the rule under the header
            while i < len(lines) and TABLE_ROW.match(lines[i]):
                rows.append(lines[i])
                i += 1
            out += list_table(rows)
            continue
        heading = re.match(r"^(#{1,4})\s+(.*)$", line)
        if heading:
            title = heading.group(2).strip()
            char = {1: "~", 2: "~", 3: "^", 4: '"'}[len(heading.group(1))]
            out += ["", title, char * len(title), ""]
            continue
        out.append(inline(line))
    return "\n".join(out).strip() + "\n"


def render(addon_dir):
    manifest = ast.literal_eval((addon_dir / "__manifest__.py").read_text())
    name = manifest["name"]
    parts = [
        "=" * len(name),
        name,
        "=" * len(name),
        "",
        manifest.get("summary", ""),
        "",
        ".. |license| image:: https://img.shields.io/badge/licence-%s-blue.png" % manifest["license"],
        "",
        "|license|",
        "",
    ]
    for fragment, title in SECTIONS:
        path = addon_dir / "readme" / ("%s.md" % fragment)
        if not path.exists():
            continue
        if title:
            parts += [title, "=" * len(title), ""]
        parts += [md_to_rst(path.read_text()), ""]
    parts += ["Credits", "=======", "", "Authors", "~~~~~~~", "", "* %s" % manifest["author"], ""]
    return "\n".join(parts).rstrip() + "\n"


def main():
    check = "--check" in sys.argv
    stale = []
    for addon_dir in sorted((ROOT / "addons").iterdir()):
        if not (addon_dir / "__manifest__.py").exists():
            continue
        text = render(addon_dir)
        target = addon_dir / "README.rst"
        if target.exists() and target.read_text() == text:
            continue
        stale.append(addon_dir.name)
        if not check:
            target.write_text(text)
    if check and stale:
        sys.stdout.write("README.rst out of date (run scripts/gen_addon_readme.py): %s\n" % ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
