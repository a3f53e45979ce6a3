"""`classlab models ...`: install, list, assign and remove the speech models of this instance (app.speechmodels).

A click group in a module of its own, which app/cli.py registers with main.add_command(models). Every failure
the store foresees is a ModelError whose reason is one sentence; it is printed as one line and the command exits
with status 1, never with a traceback. The download's progress goes to stderr, so `list --json` and scripts that
read stdout see only results. The line is redrawn in place on a terminal and printed every 10 % otherwise (a log
file gets ten lines, not thousands).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from app import speechmodels
from app.config import LANGUAGES, Settings, load_settings
from app.speechmodels import ModelError


def _setting_mapping(settings: Settings) -> dict[str, str]:
    return dict(settings.whisper_models)  # WHISPER_MODELS: language -> installed name or model folder


@contextmanager
def _model_errors() -> Iterator[None]:
    try:
        yield
    except ModelError as exc:
        raise click.ClickException(exc.reason) from None


def _size(n: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


class _ProgressLine:
    """The progress callback of `install`: one line on stderr."""

    def __init__(self, label: str, *, tty: bool):
        self.label = label
        self.tty = tty
        self.shown: int | None = None  # the percentage last shown
        self.open = False  # a redrawn line without its newline yet

    def __call__(self, done: int, total: int) -> None:
        percent = 100 if total <= 0 else min(100, done * 100 // total)
        step = percent if self.tty else percent // 10 * 10
        if step == self.shown:
            return
        self.shown = step
        text = f"Downloading {self.label}: {step:3d}% ({_size(done)} of {_size(total)})"
        if self.tty:
            click.echo(f"\r{text}", nl=False, err=True)
            self.open = True
        else:
            click.echo(text, err=True)

    def finish(self) -> None:
        if self.open:
            click.echo("", err=True)
            self.open = False


@click.group("models", context_settings={"help_option_names": ["-h", "--help"]})
def models() -> None:
    """Speech models (CTranslate2 Whisper) in the instance folder, and the one for each lesson language."""


@models.command("install")
@click.argument("name")
@click.option("--language", "-l", "languages", multiple=True, metavar="LANG",
              help="Use the model for lessons in LANG (en, he, ar, or * for any); repeat for several.")
@click.option("--endpoint", default=None, metavar="URL",
              help="Hugging Face Hub endpoint or mirror (default: HF_ENDPOINT, else https://huggingface.co).")
@click.option("--revision", default=None, help="Branch, tag or commit to install (default: the main branch).")
def install_command(name: str, languages: tuple[str, ...], endpoint: str | None, revision: str | None) -> None:
    """Download NAME (a Hub repo id, or tiny, base, small, medium, large-v3, large-v3-turbo ...), verify it, install it.

    Only the files faster-whisper needs are fetched, each checked against the Hub's checksum; a failed or cut
    download installs nothing and keeps an earlier install of the same model.
    """
    settings = load_settings()
    line = _ProgressLine(name, tty=sys.stderr.isatty())
    try:
        with _model_errors():
            model = speechmodels.install(name, instance_path=settings.instance_path,
                                         endpoint=endpoint or settings.hub_endpoint, revision=revision,
                                         progress=line, languages=languages)
    finally:
        line.finish()
    click.echo(f"Installed {model.name} ({model.repo} at {model.commit[:12]}, {_size(model.size)}, "
               f"{'multilingual' if model.multilingual else 'English only'}) in {model.folder}.")
    if model.languages:
        click.echo(f"It transcribes lessons in: {', '.join(model.languages)}.")
    _warn_overridden(settings, model.languages)


def _warn_overridden(settings: Settings, languages: tuple[str, ...] | list[str]) -> None:
    overridden = [lang for lang in languages if lang in _setting_mapping(settings)]
    if overridden:
        click.echo(f"Note: WHISPER_MODELS sets {', '.join(overridden)}, and the setting wins.", err=True)


def _languages_report(settings: Settings) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for language in LANGUAGES:
        try:
            found = speechmodels.explain(language, _setting_mapping(settings), settings.instance_path,
                                         settings.whisper_model)
        except ModelError as exc:
            out[language] = {"error": exc.reason}
            continue
        out[language] = None if found is None else {
            "folder": found.folder, "model": found.model, "source": found.source, "key": found.key,
        }
    return out


@models.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: the installed models and each language's model.")
def list_command(as_json: bool) -> None:
    """The installed models, and which model each lesson language gets."""
    settings = load_settings()
    with _model_errors():
        installed = speechmodels.list_installed(settings.instance_path)
    report = _languages_report(settings)
    if as_json:
        click.echo(json.dumps({"models": [m.as_dict() for m in installed], "languages": report}, indent=2,
                              ensure_ascii=False))
        return
    if installed:
        rows = [("NAME", "LANGUAGES", "KIND", "SIZE", "FROM")] + [
            (m.name, ",".join(m.languages) or "-", "multilingual" if m.multilingual else "English only",
             _size(m.size), f"{m.repo}@{m.commit[:12]}")
            for m in installed
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    else:
        click.echo(f"No models installed in {speechmodels.models_folder(settings.instance_path)}.")
    click.echo("")
    click.echo("Lesson languages:")
    for language, found in report.items():
        if found is None:
            text = "no model"
        elif "error" in found:
            text = f"error: {found['error']}"
        else:
            via = found["source"] if found["key"] == language else f"{found['source']} for *"
            text = f"{found['model']} ({via}) {found['folder']}"
        click.echo(f"  {language}  {text}")


@models.command("assign")
@click.argument("language")
@click.argument("name")
def assign_command(language: str, name: str) -> None:
    """Use the installed model NAME for lessons in LANGUAGE (en, he, ar, or * for any language)."""
    settings = load_settings()
    with _model_errors():
        model = speechmodels.assign(language, name, settings.instance_path)
    click.echo(f"Lessons in {language} are transcribed with {model.name} ({model.folder}).")
    _warn_overridden(settings, [language.strip().lower()])


@models.command("unassign")
@click.argument("language")
def unassign_command(language: str) -> None:
    """Forget the model assigned to LANGUAGE (English falls back to WHISPER_MODEL)."""
    settings = load_settings()
    with _model_errors():
        previous = speechmodels.unassign(language, settings.instance_path)
    click.echo(f"{language} no longer uses {previous}." if previous else f"{language} had no model assigned.")


@models.command("remove")
@click.argument("name")
def remove_command(name: str) -> None:
    """Delete the installed model NAME, and its language assignments."""
    settings = load_settings()
    with _model_errors():
        lost = speechmodels.remove(name, settings.instance_path)
    click.echo(f"Removed {name}.")
    if lost:
        click.echo(f"No model assigned any more for: {', '.join(lost)}.")

