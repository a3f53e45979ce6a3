"""Import a package's every module now, before any test thread runs (CPython 3.11.7's gh-106905: two threads
parsing with `ast` at once fail with "AST constructor recursion depth mismatch", and pytest parses a plugin's
modules when they are first imported)."""

from __future__ import annotations

import importlib
import pkgutil


def import_all(package: str) -> int:
    """Import every submodule of `package` that imports (optional extras that are not installed are skipped);
    returns how many were imported."""
    root = importlib.import_module(package)
    count = 0
    for info in pkgutil.walk_packages(root.__path__, prefix=f"{package}."):
        try:
            importlib.import_module(info.name)
        except Exception:  # noqa: BLE001 - a module needing an extra this project does not install
            continue
        count += 1
    return count
