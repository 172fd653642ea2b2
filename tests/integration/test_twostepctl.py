"""twostepctl end to end: build/twostepctl against a private redis-server.

Builds nothing: run `make build/twostepctl` first (make integration does).
TOTP codes come from oathtool, so the tool is checked against an
independent implementation.
"""

import json
import os
import re
import stat
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from redis_server import RedisServer  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CTL = os.environ.get("TWOSTEPCTL") or os.path.join(ROOT, "build", "twostepctl")
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
COMMANDS = ["keygen", "init", "status", "list", "enroll", "disable",
            "backup-codes", "devices", "revoke", "unlock", "verify", "audit"]

# No skip when the binary is missing: the tests then fail, as they should.


def run(*args, env=None, check=None):
    """Runs twostepctl with a clean TWOSTEP_* environment."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("TWOSTEP_")}
    e.update(env or {})
    # errors="replace": a stray byte must fail an assertion, not the runner.
    p = subprocess.run([CTL] + [str(a) for a in args], env=e,
                       capture_output=True, encoding="utf-8",
                       errors="replace", timeout=30)
    if check is not None:
        assert p.returncode == check, (args, p.returncode, p.stdout, p.stderr)
    return p


def totp(secret, at=None, digits=6, period=30):
    args = ["oathtool", "--totp", "-b", "-d", str(digits),
            "-s", "%ds" % period]
    if at is not None:
        args += ["-N", "@%d" % int(at)]
    return subprocess.run(args + [secret], capture_output=True, text=True,
                          check=True).stdout.strip()


# ---- fixtures ---------------------------------------------------------------

@pytest.fixture(scope="module")
def redis():
    with RedisServer() as r:
        yield r


@pytest.fixture
def keyfile(tmp_path):
    path = tmp_path / "keys"
    run("keygen", "--out", path, check=0)
    return str(path)


@pytest.fixture
def ctl(redis, keyfile):
    """twostepctl bound to the test Redis and key file, on a clean store."""
    redis.flushall()
    env = {"TWOSTEP_REDIS": redis.url, "TWOSTEP_KEY_FILE": keyfile}

    def call(*args, check=None):
        return run(*args, env=env, check=check)
    call("init", check=0)
    return call


# ---- keygen -----------------------------------------------------------------

KEYLINE = re.compile(r"^[A-Za-z0-9_-]{1,16}:[A-Za-z0-9+/]{43}=?$")


def key_lines(text):
    return [l for l in text.splitlines() if l and not l.startswith("#")]


def test_keygen_prints_a_new_key_each_time():
    a = run("keygen", check=0).stdout.strip()
    b = run("keygen", check=0).stdout.strip()
    assert KEYLINE.match(a), a
    assert KEYLINE.match(b), b
    assert a != b


def test_keygen_out_writes_0600_and_refuses_to_overwrite(tmp_path):
    path = tmp_path / "k"
    run("keygen", "--out", path, check=0)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    before = path.read_text()
    assert len(key_lines(before)) == 1
    assert KEYLINE.match(key_lines(before)[0])
    p = run("keygen", "--out", path)
    assert p.returncode == 1
    assert "exists" in p.stderr
    assert path.read_text() == before


def test_keygen_out_respects_no_umask(tmp_path):
    path = tmp_path / "k"
    old = os.umask(0)
    try:
        run("keygen", "--out=%s" % path, check=0)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_keygen_rotate_prepends_and_keeps_old(tmp_path, redis):
    path = tmp_path / "k"
    run("keygen", "--out", path, check=0)
    os.chmod(path, 0o640)
    first = key_lines(path.read_text())
    run("keygen", "--rotate", path, check=0)
    second = key_lines(path.read_text())
    assert len(second) == 2
    assert second[1:] == first
    assert second[0] != first[0]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    run("keygen", "--rotate", path, check=0)
    third = key_lines(path.read_text())
    assert third[1:] == second
    # The rotated file is a valid key file for the other commands.
    redis.flushall()
    run("init", env={"TWOSTEP_REDIS": redis.url,
                     "TWOSTEP_KEY_FILE": str(path)}, check=0)


def test_keygen_rotate_refuses_bad_or_missing_file(tmp_path):
    bad = tmp_path / "bad"
    bad.write_text("this is not a key\n")
    os.chmod(bad, 0o600)
    p = run("keygen", "--rotate", bad)
    assert p.returncode != 0
    assert bad.read_text() == "this is not a key\n"
    p = run("keygen", "--rotate", tmp_path / "missing")
    assert p.returncode != 0
    assert not (tmp_path / "missing").exists()


def test_keygen_rotate_refuses_world_readable(tmp_path):
    path = tmp_path / "k"
    run("keygen", "--out", path, check=0)
    os.chmod(path, 0o644)
    before = path.read_text()
    p = run("keygen", "--rotate", path)
    assert p.returncode != 0
    assert path.read_text() == before


# ---- usage ------------------------------------------------------------------

@pytest.mark.parametrize("args, needle", [
    ([], "no command"),
    (["frobnicate"], "unknown command"),
    (["status"], "status"),
    (["status", "a", "b"], "too many"),
    (["verify", "alice"], "verify"),
    (["revoke", "alice"], "--all"),
    (["revoke", "alice", "dev1", "--all"], "--all"),
    (["audit", "--count", "x"], "--count"),
    (["audit", "--count", "0"], "--count"),
    (["status", "alice", "--secret", "X"], "--secret"),
    (["init", "--bogus"], "--bogus"),
    (["status", "--redis"], "--redis"),
    (["keygen", "--out", "a", "--rotate", "b"], "--rotate"),
    (["--json=1", "list"], "--json"),
    (["-x"], "-x"),
])
def test_usage_errors_exit_2(args, needle):
    p = run(*args)
    assert p.returncode == 2, (args, p.stdout, p.stderr)
    assert needle in p.stderr
    assert "--help" in p.stderr
    assert p.stdout == ""


def test_missing_key_file_is_exit_2(redis):
    p = run("init", env={"TWOSTEP_REDIS": redis.url})
    assert p.returncode == 2
    assert "key file" in p.stderr


@pytest.mark.parametrize("args, needle", [
    (["--timeout", "x"], "twostep_redis_timeout"),
    (["--redis", "bogus://x"], "twostep_redis"),
    (["--key-file", "/nonexistent/keys"], "/nonexistent/keys"),
])
def test_bad_settings_exit_2(keyfile, args, needle):
    p = run("status", "alice", *args, env={"TWOSTEP_KEY_FILE": keyfile})
    assert p.returncode == 2
    assert needle in p.stderr
    assert p.stdout == ""


def test_help_and_version():
    p = run("--help", check=0)
    for c in COMMANDS:
        assert c in p.stdout
    assert "--redis" in p.stdout
    p = run("--version", check=0)
    assert re.match(r"^twostepctl \d+\.\d+\.\d+$", p.stdout.strip())


@pytest.mark.parametrize("cmd", COMMANDS)
def test_help_for_every_command(cmd):
    p = run(cmd, "--help", check=0)
    assert p.stdout.startswith("usage: twostepctl [OPTIONS] %s" % cmd)
    assert "--redis" in p.stdout
    p2 = run("--help", cmd, check=0)
    assert p2.stdout == p.stdout


def test_store_down_is_exit_2(keyfile):
    from redis_server import free_port
    p = run("status", "alice", "--redis",
            "redis://127.0.0.1:%d/0" % free_port(), "--timeout", "300ms",
            env={"TWOSTEP_KEY_FILE": keyfile})
    assert p.returncode == 2
    assert p.stderr


def test_options_win_over_environment(redis, keyfile):
    from redis_server import free_port
    env = {"TWOSTEP_REDIS": "redis://127.0.0.1:%d/0" % free_port(),
           "TWOSTEP_KEY_FILE": keyfile}
    run("init", "--redis", redis.url, env=env, check=0)
    assert run("init", env=env).returncode == 2


def test_frozen_redis_times_out(redis, keyfile):
    redis.freeze()
    try:
        t0 = time.monotonic()
        p = run("status", "alice", "--redis", redis.url, "--key-file",
                keyfile, "--timeout", "300ms")
        elapsed = time.monotonic() - t0
    finally:
        redis.thaw()
    assert p.returncode == 2
    assert elapsed < 5


# ---- operations (need the engine's admin operations) --------------------------

def enroll_alice(ctl):
    p = ctl("enroll", "alice", "--secret", SECRET, check=0)
    assert "otpauth://totp/" in p.stdout
    return p


def test_init_is_idempotent(ctl, redis):
    ctl("init", check=0)
    keys = redis.cli("KEYS", "twostep:*")
    assert "twostep:marker" in keys


def test_prefix_option(ctl, redis):
    ctl("--prefix", "other:", "init", check=0)
    assert "other:marker" in redis.cli("KEYS", "other:*")


def test_enroll_verify_replay(ctl):
    enroll_alice(ctl)
    # A code of the step just before now is accepted within the skew; use
    # the current code, then show it cannot be replayed.
    code = totp(SECRET)
    ctl("verify", "alice", code, check=0)
    p = ctl("verify", "alice", code)
    assert p.returncode == 1
    p = ctl("verify", "alice", "000000" if code != "000000" else "111111")
    assert p.returncode == 1


def test_enroll_generated_secret(ctl):
    p = ctl("enroll", "bob", check=0)
    m = re.search(r"secret=([A-Z2-7]+)", p.stdout)
    assert m, p.stdout
    ctl("verify", "bob", totp(m.group(1)), check=0)


def test_verify_unknown_user_refused(ctl):
    assert ctl("verify", "nobody", "123456").returncode == 1


def test_status_json(ctl):
    enroll_alice(ctl)
    doc = json.loads(ctl("--json", "status", "alice", check=0).stdout)
    assert isinstance(doc, dict)
    assert doc.get("user") == "alice"
    assert doc.get("enabled") in (True, 1)
    doc = json.loads(ctl("status", "nobody", "--json", check=0).stdout)
    assert doc.get("enabled") in (False, 0, None)


def test_disable(ctl):
    enroll_alice(ctl)
    ctl("disable", "alice", check=0)
    doc = json.loads(ctl("--json", "status", "alice", check=0).stdout)
    assert doc.get("enabled") in (False, 0)
    assert ctl("verify", "alice", totp(SECRET)).returncode == 1


def test_backup_codes_work_once(ctl):
    enroll_alice(ctl)
    p = ctl("backup-codes", "alice", check=0)
    # one indented XXXXX-XXXXX line per code (a code may hold no digit)
    codes = re.findall(r"^  ([0-9A-Z]{5}-[0-9A-Z]{5})$", p.stdout, re.M)
    assert len(codes) == 10, p.stdout
    ctl("verify", "alice", codes[0], check=0)
    assert ctl("verify", "alice", codes[0]).returncode == 1
    ctl("verify", "alice", codes[1], check=0)
    # A new set voids the old one.
    ctl("backup-codes", "alice", check=0)
    assert ctl("verify", "alice", codes[2]).returncode == 1


def test_devices_revoke_unlock_list_audit(ctl):
    enroll_alice(ctl)
    ctl("devices", "alice", check=0)
    doc = json.loads(ctl("--json", "devices", "alice", check=0).stdout)
    assert isinstance(doc, dict)
    ctl("revoke", "alice", "--all", check=0)
    assert ctl("revoke", "alice", "no-such-device").returncode in (0, 1)
    for _ in range(6):
        ctl("verify", "alice", "000001")
    ctl("unlock", "alice", check=0)
    ctl("verify", "alice", totp(SECRET), check=0)
    out = ctl("list", check=0).stdout
    assert "alice" in out
    doc = json.loads(ctl("--json", "list", check=0).stdout)
    assert "alice" in json.dumps(doc)
    out = ctl("audit", check=0).stdout
    assert "alice" in out
    assert "twostepctl:" in out
    assert "\ufffd" not in out          # every field is what was written
    short = ctl("audit", "--count", "1", check=0).stdout
    assert len(short.strip().splitlines()) < len(out.strip().splitlines())


def test_audit_json_events(ctl):
    enroll_alice(ctl)
    ctl("verify", "alice", "000001")
    doc = json.loads(ctl("--json", "audit", "--count", "5", check=0).stdout)
    events = doc["events"]
    assert 1 <= len(events) <= 5
    now_ms = time.time() * 1000
    for ev in events:
        assert abs(ev["time_ms"] - now_ms) < 3600 * 1000, ev
        assert ev["actor"].startswith("twostepctl:"), ev
        assert "\ufffd" not in json.dumps(ev, ensure_ascii=False), ev
    assert any(ev["event"] == "enrolled" for ev in events)
    wrong = [ev for ev in events if ev["event"] == "code-wrong"]
    assert wrong and wrong[0]["detail"].startswith("attempt"), wrong


def test_lockout_refuses_good_code_until_unlock(ctl):
    enroll_alice(ctl)
    for _ in range(5):
        ctl("verify", "alice", "000001")
    assert ctl("verify", "alice", totp(SECRET)).returncode == 1
    ctl("unlock", "alice", check=0)
    ctl("verify", "alice", totp(SECRET), check=0)


def test_binary_user_names_are_safe(ctl, redis):
    odd = "we ird\"<user>'; FLUSHALL"
    p = ctl("enroll", odd, "--secret", SECRET, check=0)
    assert "otpauth://" in p.stdout
    ctl("verify", odd, totp(SECRET), check=0)
    assert "marker" in redis.cli("KEYS", "twostep:marker")


def test_enroll_hardware_token_60s_8_digits_sha256(ctl):
    """A programmable token (e.g. Protectimus SLIM) with 60 s steps."""
    p = ctl("enroll", "token-user", "--secret", SECRET, "--period", "60",
            "--digits", "8", "--algorithm", "SHA256", "--issuer", "Lab",
            check=0)
    assert "period=60" in p.stdout and "digits=8" in p.stdout
    assert "algorithm=SHA256" in p.stdout and "issuer=Lab" in p.stdout
    code = subprocess.run(["oathtool", "--totp=sha256", "-b", "-d", "8",
                           "-s", "60s", SECRET], capture_output=True,
                          text=True, check=True).stdout.strip()
    ctl("verify", "token-user", code, check=0)
    ctl("verify", "token-user", code, check=1)       # a step counts once
    st = json.loads(ctl("--json", "status", "token-user", check=0).stdout)
    assert (st["period"], st["digits"], st["algorithm"]) == (60, 8, "SHA256")
    # parameters outside the ranges are refused as bad usage
    ctl("enroll", "x", "--period", "0", check=2)
