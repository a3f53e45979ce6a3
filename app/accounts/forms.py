from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from wtforms import EmailField, HiddenField, IntegerField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange

from app.accounts.models import OrgKind, Role

ROLE_LABELS = {
    Role.teacher: _l("Teacher"),
    Role.coach: _l("Coach"),
    Role.facilitator: _l("PLC facilitator"),
    Role.school_leader: _l("School leader"),
    Role.admin: _l("Administrator"),
}


ORG_KIND_LABELS = {
    OrgKind.institute: _l("Institute"),
    OrgKind.municipality: _l("Municipality"),
    OrgKind.network: _l("School network"),
    OrgKind.school: _l("School"),
}


def csrf_input() -> Markup:
    """The hidden CSRF field of this request's session, for a form with no fields of its own (the layout's, a
    delete button's, each form of a kept fragment)."""
    return Markup('<input id="csrf_token" name="csrf_token" type="hidden" value="{}">').format(generate_csrf())


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])
    next = HiddenField()


class LanguageForm(FlaskForm):
    locale = SelectField(choices=[("en", "English"), ("he", "עברית"), ("ar", "العربية")])
    next = HiddenField()


class TokenForm(FlaskForm):
    name = StringField(_l("Token name"), validators=[DataRequired(), Length(max=100)])
    days = IntegerField(_l("Valid for (days)"), default=90, validators=[DataRequired(), NumberRange(1, 366)])


class ActionForm(FlaskForm):
    """A bare form: only its CSRF token (logout, revoke)."""


class UserForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    display_name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    role = SelectField(_l("Role"), choices=[(r.value, label) for r, label in ROLE_LABELS.items()])
    password = PasswordField(_l("Initial password"), validators=[DataRequired(), Length(min=10, max=1024)])


class PasswordChangeForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=1024)])
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=1024)])
    repeat = PasswordField(_l("New password again"), validators=[DataRequired(), Length(max=1024)])


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])


class ResetPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=1024)])
    repeat = PasswordField(_l("New password again"), validators=[DataRequired(), Length(max=1024)])
