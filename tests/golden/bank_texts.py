"""Every authored rich text of the starter bank, keyed so that a golden file can name each one."""

from __future__ import annotations

from collections.abc import Iterator

from app.diagnostics.bankfile import Bank

# (key, Markdown, "block" | "inline"): block texts are shown as stems, inline ones inside a line
BankText = tuple[str, str, str]


def bank_texts(bank: Bank) -> Iterator[BankText]:
    for item in bank.items.values():
        yield f"item/{item.key}/stem", item.stem, "block"
        for lang, text in sorted(item.translations.items()):
            yield f"item/{item.key}/{lang}", text, "block"
        for choice in item.choices:
            yield f"item/{item.key}/choice/{choice.key}", choice.text, "inline"
        if item.model_answer:
            yield f"item/{item.key}/model_answer", item.model_answer, "block"
        if item.rubric:
            for n, level in enumerate(item.rubric.levels):
                yield f"item/{item.key}/rubric/level/{n}", level.description, "inline"
            for n, pattern in enumerate(item.rubric.patterns):
                yield f"item/{item.key}/rubric/pattern/{n}", pattern.pattern, "inline"
    for m in bank.misconceptions.values():
        yield f"misconception/{m.key}/description", m.description, "block"
        yield f"misconception/{m.key}/typical_reasoning", m.typical_reasoning, "inline"
