"""The `classlab` console script, run as a user would."""

import json

from tests.processes import classlab


def test_help_lists_the_operational_commands(tmp_path):
    out = classlab({"CLASSLAB_INSTANCE": str(tmp_path)}, "--help").stdout
    for command in ("run", "worker", "db", "user", "config", "health"):
        assert f"  {command} " in out
    assert "upgrade" in classlab({"CLASSLAB_INSTANCE": str(tmp_path)}, "db", "--help").stdout
    assert "create" in classlab({"CLASSLAB_INSTANCE": str(tmp_path)}, "user", "--help").stdout


def test_config_prints_effective_settings_with_secrets_masked(tmp_path):
    env = {"CLASSLAB_INSTANCE": str(tmp_path), "SECRET_KEY": "do-not-print-me",
           "DATABASE_URL": "postgresql://app:hunter2hunter2@db.internal/classlab", "BROKER_URL": "redis://mq:6379/1"}
    out = classlab(env, "config").stdout
    assert "do-not-print-me" not in out and "hunter2hunter2" not in out
    assert "postgresql://app:********@db.internal/classlab" in out
    values = json.loads(classlab(env, "config", "--json").stdout)
    assert values["BROKER_URL"] == "redis://mq:6379/1"
    assert values["RESULT_BACKEND"] == "redis://mq:6379/1"
    assert values["SECRET_KEY"] == "********"


def test_user_create_and_its_errors(stack):
    classlab(stack, "db", "upgrade")
    ok = classlab(stack, "user", "create", "--email", "Maya@School.example", "--role", "coach",
                  "--organization", "Tichon Bet", "--password", "long enough password")
    assert "Created coach maya@school.example" in ok.stdout
    dup = classlab(stack, "user", "create", "--email", "maya@school.example", "--password", "long enough password",
                   check=False)
    assert dup.returncode == 1 and "already exists" in dup.stderr and "Traceback" not in dup.stderr
    short = classlab(stack, "user", "create", "--email", "x@y.example", "--password", "short", check=False)
    assert short.returncode == 1 and "at least 10 characters" in short.stderr
    bad_role = classlab(stack, "user", "create", "--email", "x@y.example", "--role", "wizard",
                        "--password", "long enough password", check=False)
    assert bad_role.returncode == 2 and "wizard" in bad_role.stderr
