"""docs/design.md's dependency table against the build.

The table ("Folders are the components": folder, owns, depends on) must name, for every
component, exactly the project libraries its src/<component>/CMakeLists.txt links the
component's library to (metersync_<name> in target_link_libraries of metersync_<component>).
The build enforces the rule (a component sees only the headers of what it links), this test
keeps the document true to it.

Run by pytest with the rest of tests/, and by ctest (`design_dependency_table`) as a script.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def components() -> list[str]:
    return sorted(p.parent.name for p in (REPO / "src").glob("*/CMakeLists.txt"))


def _without_comments(text: str) -> str:
    return "\n".join(line.split("#", 1)[0] for line in text.splitlines())


def linked(component: str) -> set[str]:
    """Project libraries linked to metersync_<component>, from its CMakeLists.txt."""
    text = _without_comments((REPO / "src" / component / "CMakeLists.txt").read_text())
    found: set[str] = set()
    for call in re.finditer(r"target_link_libraries\s*\(([^)]*)\)", text):
        words = call.group(1).split()
        if not words or words[0] != f"metersync_{component}":
            continue
        for word in words[1:]:
            match = re.fullmatch(r"metersync_(\w+)", word)
            if match:
                found.add(match.group(1))
    return found


def documented() -> dict[str, set[str]]:
    """The design document's table: component -> the components it depends on."""
    text = (REPO / "docs" / "design.md").read_text()
    section = text.split("## Folders are the components", 1)[1].split("\n## ", 1)[0]
    known = set(components())
    table: dict[str, set[str]] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 3:
            continue
        folder = re.fullmatch(r"`src/(\w+)`", cells[0])
        if not folder:
            continue
        # "— (OpenSSL)": outside libraries in parentheses are not components.
        depends = re.sub(r"\([^)]*\)", "", cells[2])
        names = {word for word in re.findall(r"[a-z_]+", depends)}
        unknown = names - known
        assert not unknown, f"design.md: src/{folder.group(1)} depends on unknown {sorted(unknown)}"
        table[folder.group(1)] = names
    return table


def differences() -> list[str]:
    table = documented()
    problems = []
    for component in components():
        if component not in table:
            problems.append(f"src/{component}: not in docs/design.md's table")
            continue
        built, written = linked(component), table[component]
        if built != written:
            problems.append(
                f"src/{component}: the build links {sorted(built) or 'nothing'}, "
                f"docs/design.md says {sorted(written) or 'nothing'}"
            )
    for component in sorted(set(table) - set(components())):
        problems.append(f"docs/design.md names src/{component}, which has no CMakeLists.txt")
    return problems


def test_design_table_names_exactly_what_each_component_links():
    assert differences() == []


if __name__ == "__main__":
    problems = differences()
    for problem in problems:
        print(problem, file=sys.stderr)
    sys.exit(1 if problems else 0)
