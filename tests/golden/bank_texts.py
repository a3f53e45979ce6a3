"""Every authored rich text of the starter bank, keyed so that a golden file can name each one."""

from __future__ import annotations

from collections.abc import Iterator

from app.diagnostics.bankfile import Bank, Texts, pick

# (key, Markdown, "block" | "inline"): block texts are shown as stems, inline ones inside a line
BankText = tuple[str, str, str]


def bank_texts(bank: Bank) -> Iterator[BankText]:
    """The English texts, and the stems' Hebrew and Arabic, under the keys of the golden file (made when only
    stems were translated)."""

    def en(texts: Texts, languages: tuple[str, ...]) -> str:
        return pick(texts, "en", languages)

    for item in bank.items.values():
        yield f"item/{item.key}/stem", en(item.stem, item.languages), "block"
        for lang in ("ar", "he"):
            if lang in item.stem and item.stem[lang] != item.stem.get("en"):
                yield f"item/{item.key}/{lang}", item.stem[lang], "block"
        for choice in item.choices:
            yield f"item/{item.key}/choice/{choice.key}", en(choice.text, item.languages), "inline"
        if item.model_answer:
            yield f"item/{item.key}/model_answer", en(item.model_answer, item.languages), "block"
        if item.rubric:
            for n, level in enumerate(item.rubric.levels):
                yield f"item/{item.key}/rubric/level/{n}", en(level.description, item.languages), "inline"
            for n, pattern in enumerate(item.rubric.patterns):
                yield f"item/{item.key}/rubric/pattern/{n}", en(pattern.pattern, item.languages), "inline"
    for m in bank.misconceptions.values():
        yield f"misconception/{m.key}/description", en(m.description, m.languages), "block"
        yield f"misconception/{m.key}/typical_reasoning", en(m.typical_reasoning, m.languages), "inline"
