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


def md_to_rst(text):
    """Small Markdown subset → reStructuredText: headings, code fences, inline code, links, lists."""
    out, in_code = [], False
    for line in text.splitlines():
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
        heading = re.match(r"^(#{1,4})\s+(.*)$", line)
        if heading:
            title = heading.group(2).strip()
            char = {1: "~", 2: "~", 3: "^", 4: '"'}[len(heading.group(1))]
            out += ["", title, char * len(title), ""]
            continue
        line = re.sub(r"\[([^\]]+)\]\(([^)]+)\)", r"`\1 <\2>`_", line)
        line = re.sub(r"(?<!`)`([^`]+)`(?!`|_)", r"``\1``", line)
        line = re.sub(r"\*\*([^*]+)\*\*", r"**\1**", line)
        out.append(line)
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
