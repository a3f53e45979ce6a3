"""E-mailing notifications: a thin task around plain functions (compose a message, hand it to SMTP).

The web app enqueues `classlab.notifications.email` after the commit that created the notification,
only when SMTP_HOST is set. Each message is written in its reader's language (User.locale, else
DEFAULT_LOCALE) from the compiled catalogues in app/translations.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid

from celery import signals

from app import db, jobs
from app.config import Settings
from app.db import utcnow
from app.notifications import messages, service
from app.notifications.models import Notification
from workers.celery_app import TransientError, celery_app

log = logging.getLogger(__name__)
SETTINGS = celery_app.conf.classlab_settings


@signals.worker_process_init.connect
@signals.worker_init.connect
def _email_from_the_worker_too(**_kwargs) -> None:
    """Notifications created by a task (an export that is ready) are e-mailed as well."""
    service.configure(SETTINGS)


class Refused(Exception):
    """The SMTP server refused the message for good (5xx): retrying would not help."""


def compose(note: Notification, settings: Settings) -> EmailMessage:
    """The plain-text e-mail of one notification, in its reader's language."""
    user = note.user
    gettext = messages.translations(user.locale or settings.default_locale).gettext
    text = messages.render(note.kind, note.params, gettext)
    base = settings.public_url.rstrip("/")
    link = service.local_path(note.link)
    subject = gettext(messages.EMAIL_SUBJECT) % {"message": text.removesuffix(".")}
    body = [text, ""]
    if link:
        body += [gettext(messages.EMAIL_OPEN), base + link, ""]
    body += ["-- ", gettext(messages.EMAIL_FOOTER) % {"url": base + "/notifications/"}]
    msg = EmailMessage()
    msg["Subject"] = " ".join(subject.split())  # one line: a title cannot start a header of its own
    msg["From"] = settings.mail_from
    msg["To"] = user.email
    msg["Message-ID"] = make_msgid(idstring=f"notification.{note.id}")
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content("\n".join(body) + "\n")
    return msg


def deliver(msg: EmailMessage, settings: Settings) -> None:
    """Hand a message to the SMTP server: STARTTLS unless turned off, implicit TLS on port 465, login when
    SMTP_USER is set. A passing failure raises TransientError (the task retries), a refusal Refused."""
    context = ssl.create_default_context()
    try:
        if settings.smtp_port == 465:
            smtp = smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port, timeout=30, context=context)
        else:
            smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30)
        with smtp:
            if settings.smtp_starttls and settings.smtp_port != 465:
                smtp.starttls(context=context)
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password)
            smtp.send_message(msg)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        if all(code >= 500 for code in codes):
            raise Refused(f"recipient refused: {codes}") from exc
        raise TransientError(f"recipient deferred: {codes}") from exc
    except smtplib.SMTPResponseException as exc:
        if exc.smtp_code >= 500:
            raise Refused(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
        raise TransientError(f"SMTP {exc.smtp_code}") from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise TransientError(f"SMTP {settings.smtp_host}:{settings.smtp_port}: {type(exc).__name__}: {exc}") from exc


def email_notification(notification_id: int, settings: Settings) -> str:
    """Send one notification's e-mail unless it was sent already; what happened, in a word or two."""
    if not settings.smtp_host:
        return "skipped: no SMTP_HOST"
    with db.session_scope() as s:
        note = s.get(Notification, notification_id)
        if note is None:
            return "skipped: no such notification"
        if note.emailed_at is not None:
            return "skipped: already sent"
        if not note.user.active or not service.emailable(note.user.email):
            return "skipped: no address"
        msg = compose(note, settings)
    # No transaction stays open while the SMTP server takes its time.
    try:
        deliver(msg, settings)
    except Refused as why:
        log.warning("the e-mail of notification %s was refused: %s", notification_id, why)
        return "refused"
    with db.session_scope() as s:
        note = s.get(Notification, notification_id)
        if note is not None:
            note.emailed_at = utcnow()
    return "sent"


@celery_app.task(name=jobs.NOTIFICATIONS_EMAIL, max_retries=8)
def email(notification_id: int) -> str:
    return email_notification(notification_id, SETTINGS)


# ------------------------------------------------------------------------------------- password reset

RESET_SUBJECT = "ClassLab: reset your password"
RESET_BODY = ("Someone (we hope you) asked to reset the password of your ClassLab account %(email)s.\n\n"
              "Open this link within an hour to choose a new password:\n%(link)s\n\n"
              "If it was not you, ignore this e-mail: your password stays as it is.")


def compose_reset(user, token: str, settings: Settings) -> EmailMessage:
    """The reset e-mail, in its reader's language."""
    gettext = messages.translations(user.locale or settings.default_locale).gettext
    link = f"{settings.public_url.rstrip('/')}/password/reset/{token}"
    msg = EmailMessage()
    msg["Subject"] = gettext(RESET_SUBJECT)
    msg["From"] = settings.mail_from
    msg["To"] = user.email
    msg["Message-ID"] = make_msgid(idstring=f"password-reset.{user.id}")
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(gettext(RESET_BODY) % {"email": user.email, "link": link} + "\n")
    return msg


def email_reset(user_id: int, token: str, settings: Settings) -> str:
    if not settings.smtp_host:
        return "skipped: no SMTP_HOST"
    from app.accounts.models import User

    with db.session_scope() as s:
        user = s.get(User, user_id)
        if user is None or not user.active:
            return "skipped: no such user"
        msg = compose_reset(user, token, settings)
    try:
        deliver(msg, settings)
    except Refused as why:
        log.warning("the password reset e-mail of user %s was refused: %s", user_id, why)
        return "refused"
    return "sent"


@celery_app.task(name=jobs.ACCOUNTS_PASSWORD_RESET, max_retries=5)
def password_reset(user_id: int, token: str) -> str:
    return email_reset(user_id, token, SETTINGS)
