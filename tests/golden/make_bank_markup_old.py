"""One-off: record what the hand-written app/diagnostics/markup.py made of every text in the starter bank.

Run once, before markup.py was replaced by app/richtext.py (markdown-it-py + latex2mathml + nh3):

    PYTHONPATH=$PWD .venv/bin/python tests/golden/make_bank_markup_old.py

The JSON it writes is the golden file tests/unit/test_richtext_golden.py compares the new renderer with.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from app.diagnostics.bankfile import load_bank
from app.diagnostics.markup import render_inline, render_stem
from tests.golden.bank_texts import bank_texts

OUT = Path(__file__).with_name("bank_markup_old.json")


def main() -> None:
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    entries = {}
    for key, text, mode in bank_texts(load_bank()):
        html = render_stem(text) if mode == "block" else render_inline(text)
        entries[key] = {"mode": mode, "markdown": text, "html": str(html)}
    golden = {"made_by": f"app/diagnostics/markup.py at commit {commit}", "entries": entries}
    OUT.write_text(json.dumps(golden, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{len(entries)} texts -> {OUT}")


if __name__ == "__main__":
    main()
