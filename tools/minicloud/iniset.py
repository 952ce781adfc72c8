"""devstack's `iniset FILE SECTION OPTION VALUE` (inc/ini-config): sets one option, creating
the file and the section when missing, keeping every other line as it was."""

import re
import sys
from pathlib import Path


def iniset(path: Path, section: str, option: str, value: str) -> None:
    lines = path.read_text().splitlines() if path.exists() else []
    header = re.compile(r"^\[(.+)\]\s*$")
    current, section_end, replaced = None, None, False
    for i, line in enumerate(lines):
        found = header.match(line)
        if found:
            current = found.group(1)
            continue
        if current == section:
            section_end = i + 1
            key = line.split("=", 1)[0].strip()
            if "=" in line and key == option and not line.lstrip().startswith("#"):
                lines[i] = f"{option} = {value}"
                replaced = True
                break
    if not replaced:
        if section_end is None:
            at = next((i + 1 for i, line in enumerate(lines)
                       if header.match(line) and header.match(line).group(1) == section), None)
            if at is None:
                lines += [f"[{section}]", f"{option} = {value}"]
            else:
                lines.insert(at, f"{option} = {value}")
        else:
            lines.insert(section_end, f"{option} = {value}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit("usage: iniset.py FILE SECTION OPTION VALUE")
    iniset(Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4])
