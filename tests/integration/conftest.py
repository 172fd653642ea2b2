"""Fixtures of the behaviour tests.

One Redis, one key file, one htpasswd and one group file per session; one
server per kind in SERVER_KINDS per session; every test starts from a fresh
Redis state (FLUSHALL, then twostepctl init). A server kind "K" is the class
KServer in server_K.py with the API of server_apache.ApacheServer:
start(tmpdir, port, redis_url, key_file, htpasswd, groupfile), stop(),
reload(), url(path, host=), base_url, error_log(), access_log(), pids().
"""

import importlib
import os
import shutil
import sys
import tempfile
from types import SimpleNamespace

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (BUILD, TWOSTEPCTL, free_port, make_groups,  # noqa: E402
                     make_htpasswd, make_key_file, reset_store)
from redis_server import RedisServer  # noqa: E402

SERVER_KINDS = ["apache", "nginx"]

# Lines in a server's error log that mean the module crashed or misbehaved.
FATAL = ("exit signal", "AddressSanitizer", "segfault", "Segmentation fault",
         "double free", "assert")


def server_class(kind):
    mod = importlib.import_module("server_" + kind)
    return getattr(mod, kind.capitalize() + "Server")


@pytest.fixture(scope="session")
def env():
    if not os.access(TWOSTEPCTL, os.X_OK):
        pytest.fail("build/twostepctl is missing: run make")
    tmp = tempfile.mkdtemp(prefix="twostep-it-")
    os.chmod(tmp, 0o755)
    redis = RedisServer().start()
    e = SimpleNamespace(
        tmp=tmp, redis=redis,
        key_file=make_key_file(os.path.join(tmp, "twostep.key")),
        htpasswd=make_htpasswd(os.path.join(tmp, "htpasswd")),
        groupfile=make_groups(os.path.join(tmp, "groups")))
    reset_store(redis, e.key_file)
    yield e
    redis.close()
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session", params=SERVER_KINDS)
def server_instance(request, env):
    kind = request.param
    if not os.path.exists(os.path.join(BUILD, {
            "apache": "mod_twostep.so",
            "nginx": "ngx_http_twostep_module.so"}.get(kind, kind))):
        pytest.fail("the %s module is not built: run make" % kind)
    srv = server_class(kind)()
    d = os.path.join(env.tmp, kind)
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o755)
    srv.start(d, free_port(), env.redis.url, env.key_file, env.htpasswd,
              env.groupfile)
    yield srv
    srv.stop()


@pytest.fixture
def server(server_instance, env):
    """The server of this kind, with a fresh store. After the test, Redis is
    running again and the error log shows no crash."""
    redis = env.redis
    if redis.proc is None:
        redis.start()
    reset_store(redis, env.key_file)
    server_instance.env = env
    before = len(server_instance.error_log())
    yield server_instance
    if redis.proc is None:
        redis.start()
    else:
        redis.thaw()
    new = server_instance.error_log()[before:]
    bad = [line for line in new.splitlines() if any(f in line for f in FATAL)]
    assert not bad, "server error log:\n" + "\n".join(bad)
