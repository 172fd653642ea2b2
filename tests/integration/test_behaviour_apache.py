"""Apache-only behaviour: configuration errors stop the server at start with
the core's message (or the directive's help text)."""

import os

import pytest

import server_apache
from harness import free_port


def start_fails(env, name, key_file=None, extra=""):
    """Starts an Apache with `extra` appended to the test configuration and
    returns the error it died with."""
    d = os.path.join(env.tmp, name)
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o755)
    srv = server_apache.ApacheServer()
    with open(os.path.join(srv.template_dir, "apache.conf.in")) as f:
        text = f.read()
    with open(os.path.join(d, "apache.conf.in"), "w") as f:
        f.write(text + "\n" + extra + "\n")
    srv.template_dir = d
    try:
        with pytest.raises(RuntimeError) as exc:
            srv.start(d, free_port(), env.redis.url, key_file or env.key_file,
                      env.htpasswd, env.groupfile)
        return str(exc.value)
    finally:
        srv.stop()


def test_bad_directive_value_is_refused_with_the_core_message(env):
    err = start_fails(env, "bad-skew", extra="TwoStepSkew banana")
    assert "TwoStepSkew" in err or "twostep_skew" in err, err
    assert "banana" in err, err


def test_bad_bind_ip_is_refused(env):
    err = start_fails(env, "bad-bind", extra="TwoStepBindIP prefix 40 64")
    assert "40" in err, err


def test_wrong_argument_count_shows_the_help_text(env):
    err = start_fails(env, "bad-argc", extra="TwoStepMaxAttempts 5")
    assert "failures per user, window, lockout" in err, err


def test_flag_takes_on_or_off(env):
    err = start_fails(env, "bad-where",
                      extra="<Location /x>\nTwoStep maybe\n</Location>")
    assert "TwoStep" in err, err


def test_missing_key_file_stops_the_start(env):
    err = start_fails(env, "no-key",
                      key_file=os.path.join(env.tmp, "does-not-exist.key"))
    assert "does-not-exist.key" in err, err
