"""The `classlab` console script: operational commands over the same service functions as the app."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import click

from app.cli_models import models as speech_models
from app.config import load_settings


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """ClassLab: clinical teaching with lesson video, diagnostics, plans and rehearsals."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--with-worker/--no-worker", default=False, help="Also start a background Celery worker.")
def run(host: str, port: int, with_worker: bool) -> None:
    """Start the web app (development server; use gunicorn in production)."""
    from app import create_app, db
    from app.accounts.service import ensure_initial_admin

    settings = load_settings()
    app = create_app(settings)
    with db.session_scope() as s:
        first = ensure_initial_admin(s)
    click.echo(f"ClassLab on http://{host}:{port}/")
    if first:
        path = os.path.join(settings.instance_path, "initial-admin.txt")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(f"{first[0]}\n{first[1]}\n")
        click.echo(f"First run: log in as {first[0]} with password {first[1]} (also saved in {path}).")
    else:
        click.echo("Log in with your account; `classlab user create` adds one.")
    worker = None
    if with_worker:
        # Its own session and process group: a terminal's Ctrl-C reaches only this process, which then stops
        # the worker in order (warm shutdown), and the group lets us end whatever the worker leaves behind.
        worker = subprocess.Popen([sys.executable, "-m", "app.cli", "worker", "--beat"], start_new_session=True,
                                  preexec_fn=_term_when_parent_dies if sys.platform == "linux" else None)
        click.echo(f"Worker started (pid {worker.pid}).")
    # A service manager stops us with SIGTERM, whose default kills at once, skipping the clean-up below;
    # as a KeyboardInterrupt, the development server returns as it does on Ctrl-C.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        app.run(host=host, port=port, threaded=True, use_reloader=False)
    finally:
        if worker is not None:
            stop_process_group(worker)


def _term_when_parent_dies() -> None:
    """In the worker, before it starts: SIGTERM it should we die without stopping it (SIGKILL, a crash)."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _interrupt(signum, _frame) -> None:
    raise KeyboardInterrupt


def stop_process_group(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """Ask a worker we started to stop, then end anything left in its process group.

    SIGTERM goes to the worker's main process only: Celery's warm shutdown then stops its pool. Sent to the
    whole group, it would also reach the pool's children, which the main process would replace.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not leave the worker behind
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            click.echo(f"Worker still running after {grace:g} s: killed.", err=True)
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass  # nobody left in the group
    proc.wait()


@main.command()
@click.option("--concurrency", "-c", default=None, type=int, help="Worker processes (default: cores).")
@click.option("--loglevel", "-l", default="INFO", show_default=True)
@click.option("--queues", "-Q", default=None, help="Comma-separated queues to consume.")
@click.option("--beat/--no-beat", default=False, help="Also run the periodic sweeper (run it on ONE worker only).")
@click.option("--pool", "-P", default=None, type=click.Choice(["prefork", "threads", "solo"]),
              help="Celery's execution pool (default: prefork).")
def worker(concurrency: int | None, loglevel: str, queues: str | None, beat: bool, pool: str | None) -> None:
    """Start a Celery worker for the slow work (media, transcription, analytics)."""
    from workers.celery_app import celery_app

    argv = ["worker", f"--loglevel={loglevel}", "--without-gossip", "--without-mingle"]
    # A worker machine may have every setting in its environment (SECRET_KEY, Redis, S3) and no instance
    # folder yet; the beat keeps its schedule there and would fail on its first tick, leaving no sweeper.
    instance = load_settings().instance_path
    os.makedirs(instance, exist_ok=True)
    if beat:
        schedule = os.path.join(instance, "celerybeat-schedule")
        argv += ["--beat", f"--schedule={schedule}"]
    if concurrency:
        argv.append(f"--concurrency={concurrency}")
    if queues:
        argv.append(f"--queues={queues}")
    if pool:
        argv.append(f"--pool={pool}")
    celery_app.worker_main(argv)


@main.group()
def db() -> None:
    """Database schema (Alembic migrations)."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: head). Safe to run again."""
    from app import migrate

    url = load_settings().database_url
    migrate.upgrade(url, revision)
    click.echo(f"Database at revision {migrate.current(url)}.")


@db.command("current")
def db_current() -> None:
    """Print the database's migration revision."""
    from app import migrate

    url = load_settings().database_url
    click.echo(f"current: {migrate.current(url)}  head: {migrate.head(url)}")


@main.group()
def user() -> None:
    """User accounts."""


@user.command("create")
@click.option("--email", required=True)
@click.option("--name", "display_name", default="", help="Display name.")
@click.option("--role", default="teacher", show_default=True,
              type=click.Choice(["teacher", "coach", "facilitator", "school_leader", "admin"]))
@click.option("--organization", "organization", default="", help="School or organization name (created if new).")
@click.option("--kind", default="school", show_default=True,
              type=click.Choice(["school", "network", "municipality", "institute"]), help="Kind of a new organization.")
@click.option("--locale", default=None, type=click.Choice(["en", "he", "ar"]))
@click.password_option("--password", envvar="CLASSLAB_PASSWORD", help="Prompted for when omitted.")
def user_create(email, display_name, role, organization, kind, locale, password) -> None:
    """Create a user account."""
    from app import db as database
    from app.accounts import service
    from app.errors import ClassLabError

    database.bind(load_settings().database_url)
    try:
        with database.session_scope() as s:
            org = service.find_or_create_organization(s, organization, kind) if organization else None
            created = service.create_user(
                s, email=email, password=password, display_name=display_name, role=role, organization=org,
                locale=locale,
            )
            click.echo(f"Created {created.role.value} {created.email} (id {created.id}).")
    except ClassLabError as exc:
        raise click.ClickException(exc.detail) from None


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def config(as_json: bool) -> None:
    """Print the effective settings, secrets masked."""
    values = load_settings().masked()
    if as_json:
        click.echo(json.dumps(values, indent=2))
        return
    width = max(map(len, values))
    for name, value in values.items():
        click.echo(f"{name.ljust(width)}  {value}")


@main.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=str))
@click.option("--title", default=None, help="Title (default: the file name).")
@click.option("--owner", "owner_email", default=None, help="Owner's e-mail (default: the first administrator).")
@click.option("--wait", is_flag=True, help="Wait until the video is ready or failed.")
@click.option("--inline", is_flag=True, help="Run the pipeline in this process instead of on a worker.")
@click.option("--timeout", default=4 * 3600.0, show_default=True, help="Seconds to wait with --wait.")
@click.option("--language", type=click.Choice(["he", "ar", "en"]), default=None,
              help="The language the lesson is taught in (default: the owner's).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def ingest(path, title, owner_email, wait, inline, timeout, as_json, language) -> None:
    """Add a lesson recording from a file: the same pipeline as an upload."""
    import time
    from pathlib import Path

    from sqlalchemy import select

    from app import db as database
    from app import jobs
    from app.accounts.models import Role, User
    from app.errors import ClassLabError, msg
    from app.video import service
    from app.video.models import Video, VideoStatus
    from storage import open_storage

    settings = load_settings()
    database.bind(settings.database_url)
    jobs.bind(settings)
    store = open_storage(settings)
    try:
        with database.session_scope() as s:
            if owner_email:
                owner = s.scalar(select(User).where(User.email == owner_email.strip().lower()))
                if owner is None:
                    raise ClassLabError(msg("No user with e-mail %(email)s.", email=owner_email))
            else:
                owner = s.scalar(select(User).where(User.role == Role.admin).order_by(User.id))
                if owner is None:
                    raise ClassLabError(msg("No owner: pass --owner EMAIL (or create an administrator first)."))
            video = service.ingest_file(s, store, owner, Path(path), title=title, language=language)
            video_id, public_id = video.id, video.public_id
        if inline:
            from workers.pipeline import run_inline

            run_inline(video_id, settings, store, analyse=True)
        else:
            with database.session_scope() as s:
                service.start_processing(s, s.get(Video, video_id))
    except ClassLabError as exc:
        raise click.ClickException(exc.detail) from None
    if not as_json:
        click.echo(f"video {public_id} queued" if not inline else f"video {public_id} processed")
    deadline = time.monotonic() + timeout
    last = None
    while wait and not inline:
        with database.session_scope() as s:
            v = s.get(Video, video_id)
            state = (v.status.value, v.step, round(v.progress * 100))
            done = v.status in (VideoStatus.ready, VideoStatus.failed)
        if state != last and not as_json:
            click.echo(f"  {state[0]}{' · ' + state[1] if state[1] else ''} {state[2]}%", err=True)
            last = state
        if done:
            break
        if time.monotonic() > deadline:
            raise click.ClickException(f"Still processing after {timeout:g} s; is a worker running?")
        time.sleep(0.25)
    with database.session_scope() as s:
        summary = service.summary(s.get(Video, video_id))
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        click.echo(f"id: {summary['id']}\nstatus: {summary['status']}\nduration: {summary['duration']}")
        if summary["failure_reason"]:
            click.echo(f"reason: {summary['failure_reason']}")
        for kind, asset in summary["assets"].items():
            click.echo(f"asset {kind}: {asset['key']} ({asset['size']} bytes)")
        click.echo("transcript:\n" + summary["transcript"])
    if summary["status"] == "failed":
        sys.exit(1)


@main.group()
def diagnostics() -> None:
    """The diagnostic item bank."""


@diagnostics.command("import")
@click.argument("folder", required=False, type=click.Path(exists=True, file_okay=False, path_type=str))
def diagnostics_import(folder: str | None) -> None:
    """Load misconceptions, items and diagnostics from YAML (default: the starter bank). Safe to repeat."""
    from pathlib import Path

    from app import db as database
    from app.diagnostics import bankfile, service

    try:
        bank = bankfile.load_bank(Path(folder) if folder else None)
    except bankfile.BankError as exc:
        raise click.ClickException(str(exc)) from None
    database.bind(load_settings().database_url)
    with database.session_scope() as s:
        report = service.import_bank(s, None, bank)
    click.echo(f"misconceptions: {report.misconceptions}, items added: {report.items_added}, "
               f"new versions: {report.items_versioned}, updated: {report.items_updated}, "
               f"unchanged: {report.items_unchanged}, diagnostics: {report.diagnostics}")


@main.group()
def rehearsals() -> None:
    """Rehearsal scenarios."""


@rehearsals.command("import")
@click.argument("folder", required=False, type=click.Path(exists=True, file_okay=False, path_type=str))
def rehearsals_import(folder: str | None) -> None:
    """Load the library's scenarios (default: the ones shipped; after `diagnostics import`). Safe to repeat."""
    from pathlib import Path

    from app import db as database
    from app.rehearsals import service
    from app.rehearsals.scenariofile import ScenarioFileError

    database.bind(load_settings().database_url)
    try:
        with database.session_scope() as s:
            report = service.import_library(s, Path(folder) if folder else None)
    except ScenarioFileError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"scenarios added: {report.added}, unchanged: {report.unchanged}")


@main.group()
def keys() -> None:
    """The institute's keys for signing certificates (Ed25519, the private halves in the instance's keys/)."""


@keys.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def keys_list(as_json: bool) -> None:
    """Every signing key, newest first: in use or retired, and whether this machine holds its private half."""
    from pathlib import Path

    from app import db as database
    from app.standards import service

    settings = load_settings()
    database.bind(settings.database_url)
    with database.session_scope() as s:
        rows = [{"key": k.public_multibase, "created_at": k.created_at.isoformat(),
                 "state": "retired" if k.retired_at else "in use",
                 "here": (Path(service.key_folder(settings.instance_path)) / f"{k.public_multibase}.pem").exists()}
                for k in service.keys(s)]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("No signing key yet: `classlab keys rotate` makes one (the first certificate issued does too).")
    for row in rows:
        click.echo(f"{row['key']}  {row['state']:<7}  {row['created_at'][:19]}  "
                   f"{'private key here' if row['here'] else 'private key not on this machine'}")


@keys.command("rotate")
def keys_rotate() -> None:
    """Make a new signing key and retire the one in use: it signs nothing new, and what it signed stays valid.
    Copy the instance's keys/ folder to every machine that issues certificates."""
    from app import db as database
    from app.standards import service

    settings = load_settings()
    database.bind(settings.database_url)
    with database.session_scope() as s:
        row = service.rotate_key(s, settings.instance_path)
        key = row.public_multibase
    click.echo(f"New signing key {key} in {service.key_folder(settings.instance_path)}; the previous one is retired.")


@main.group()
def goals() -> None:
    """School, network and city goals and their indicators."""


@goals.command("compute")
@click.option("--year", type=int, help="The school year, named by the year it ends (default: the current one).")
@click.option("--term", type=click.IntRange(1, 2), help="1 (September to January) or 2 (default: the current one).")
def goals_compute(year: int | None, term: int | None) -> None:
    """Compute the indicators ClassLab measures itself (coaching cycles closed, community meetings held, diagnostic
    mastery) for every school taking part, for one term. Running it again replaces that term's computed values."""
    from datetime import date

    from app import db as database
    from app.errors import ClassLabError
    from app.goals import service

    today = date.today()
    year, term = year or service.school_year(today), term or service.term_of(today)
    settings = load_settings()
    database.bind(settings.database_url)
    try:
        with database.session_scope() as s:
            n = service.compute_values(s, year=year, term=term)
    except ClassLabError as exc:
        raise click.ClickException(str(exc.detail)) from None
    click.echo(f"{n} values computed for {year - 1}–{year}, term {term}.")


@main.group()
def plans() -> None:
    """Learning plans."""


@plans.command("import")
@click.argument("folder", required=False, type=click.Path(exists=True, file_okay=False, path_type=str))
def plans_import(folder: str | None) -> None:
    """Load the activity library and its prerequisites (default: the ones shipped; after `diagnostics import`,
    whose misconceptions they name), and the misconceptions as a framework for tagging lesson moments."""
    from pathlib import Path

    from app import db as database
    from app.plans import service
    from app.plans.activityfile import ActivityFileError

    database.bind(load_settings().database_url)
    try:
        with database.session_scope() as s:
            report = service.import_library(s, Path(folder) if folder else None)
    except ActivityFileError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"activities added: {report.added}, updated: {report.updated}, unchanged: {report.unchanged}, "
               f"prerequisites: {report.prerequisites}")


@main.group()
def meetings() -> None:
    """PLC meetings."""


@meetings.command("import")
@click.argument("folder", required=False, type=click.Path(exists=True, file_okay=False, path_type=str))
def meetings_import(folder: str | None) -> None:
    """Load the protocol library (default: the protocols shipped in app/meetings/protocols/)."""
    from pathlib import Path

    from app import db as database
    from app.meetings import service
    from app.meetings.protocolfile import ProtocolFileError

    database.bind(load_settings().database_url)
    try:
        with database.session_scope() as s:
            report = service.import_library(s, Path(folder) if folder else None)
    except ProtocolFileError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"protocols added: {report.added}, updated: {report.updated}, unchanged: {report.unchanged}")


@main.group()
def frameworks() -> None:
    """Observation frameworks for tagging feedback."""


@frameworks.command("import")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=str))
def frameworks_import(files: tuple[str, ...]) -> None:
    """Load framework YAML files (default: the two starter frameworks). A new version becomes current."""
    from pathlib import Path

    from app import db as database
    from app.errors import ClassLabError
    from app.feedback import service as feedback
    from app.feedback.frameworks import FrameworkError, load_framework_text, load_starter_frameworks

    try:
        found = ([load_framework_text(Path(f).name, Path(f).read_bytes()) for f in files]
                 if files else load_starter_frameworks())
    except FrameworkError as exc:
        raise click.ClickException(str(exc)) from None
    database.bind(load_settings().database_url)
    try:
        with database.session_scope() as s:
            for framework in found:
                row = feedback.import_framework(s, framework)
                click.echo(f"{row.key} v{row.version}: {row.title}{' (current)' if row.current else ''}")
    except ClassLabError as exc:
        raise click.ClickException(exc.detail) from None


@main.command()
@click.option("--stuck-after", default=None, type=int, help="Seconds without progress (default STUCK_AFTER_SECONDS).")
def sweep(stuck_after: int | None) -> None:
    """Re-queue videos stuck in a step and remove abandoned uploads (the worker's beat does this too)."""
    from app import db as database
    from app import jobs

    settings = load_settings()
    database.bind(settings.database_url)
    jobs.bind(settings)
    from workers.video import sweep as sweep_task

    click.echo(json.dumps(sweep_task(stuck_after)))


@main.command()
@click.option("--timeout", default=10.0, show_default=True)
def health(timeout: float) -> None:
    """Send a health task through the broker and print the worker's answer."""
    from app import db as database
    from app.errors import ClassLabError
    from workers.health import ping_worker

    database.bind(load_settings().database_url)
    try:
        click.echo(json.dumps(ping_worker(timeout=timeout)))
    except ClassLabError as exc:
        raise click.ClickException(exc.detail) from None


main.add_command(speech_models)  # `classlab models install|list|assign|remove` (app/cli_models.py)

if __name__ == "__main__":
    main()
