"""Write docs/data-dictionary.md from the message types and their attribute docstrings.

Usage: python scripts/gen_data_dictionary.py [--check]
With --check, exit 1 (and say which types drifted) when the file differs from what it would write.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mcp_optimizer.messages.dictionary import render  # noqa: E402

TARGET = ROOT / "docs" / "data-dictionary.md"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        current = TARGET.read_text("utf-8") if TARGET.exists() else ""
        if current != text:
            print(
                "docs/data-dictionary.md is out of date with mcp_optimizer/messages; "
                "run: python scripts/gen_data_dictionary.py",
                file=sys.stderr,
            )
            return 1
        return 0
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_text(text, "utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
