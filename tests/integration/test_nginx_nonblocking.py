"""nginx never blocks a worker on Redis.

One worker (so every request below shares it), twostep_redis_timeout 1s.
With Redis frozen (SIGSTOP: the socket is open, nothing answers):
  - a verify POST waits for the timeout and gets the 503 page;
  - meanwhile other connections on the same worker are answered at once:
    an unprotected location, and a protected one with a trusted-device
    cookie (answered from the per-worker cache, no Redis round trip);
  - clients that give up while their reply is pending leak nothing.
After SIGCONT everything works again, with no reload.
"""

import os
import socket
import threading
import time
import base64

import pytest

from harness import BUILD, Client, csrf, password, reset_store
from server_nginx import NginxServer

FAST = 0.2      # seconds: "answered promptly"


@pytest.fixture(scope="module")
def nginx1(env):
    if not os.path.exists(os.path.join(BUILD, "ngx_http_twostep_module.so")):
        pytest.fail("the nginx module is not built: run make")
    srv = NginxServer(workers=1, redis_timeout="1s")
    d = os.path.join(env.tmp, "nginx-nonblocking")
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o755)
    from harness import free_port
    srv.start(d, free_port(), env.redis.url, env.key_file, env.htpasswd,
              env.groupfile)
    yield srv
    srv.stop()


@pytest.fixture
def srv(nginx1, env):
    if env.redis.proc is None:
        env.redis.start()
    reset_store(env.redis, env.key_file)
    before = len(nginx1.error_log())
    yield nginx1
    env.redis.thaw()
    new = nginx1.error_log()[before:]
    bad = [line for line in new.splitlines()
           if any(w in line for w in ("[alert]", "[emerg]", "[crit]",
                                      "exit signal", "AddressSanitizer"))]
    assert not bad, "nginx error log:\n" + "\n".join(bad)


def trusted_client(srv, user="dave"):
    """An enrolled user with a trusted-device cookie, the cache warm."""
    c = Client(srv, user)
    codes, _ = c.enroll(ret="/lab/")
    r = c.verify(codes.next(), trust=True, ret="/lab/")
    assert r.status_code == 303, (r.status_code, r.text[:300])
    for _ in range(3):
        r = c.get("/lab/")
        assert r.status_code == 200, (r.status_code, r.text[:300])
        assert r.headers["X-TwoStep-Status"] == "trusted"
    return c, codes


def timed_get(url, **kw):
    import requests
    t0 = time.monotonic()
    r = requests.get(url, allow_redirects=False, timeout=5, **kw)
    return r, time.monotonic() - t0


def test_worker_serves_others_while_redis_is_frozen(srv, env):
    c, codes = trusted_client(srv)
    # the form (and its csrf token) before the freeze
    page = c.get("/twostep/verify", params={"r": "/lab/"})
    assert page.status_code == 200
    token = csrf(page.text)
    lab_cookie = {"twostep": c.cookie()}
    auth = ("dave", password("dave"))

    env.redis.freeze()
    result = {}

    def slow_post():
        t0 = time.monotonic()
        r = Client(srv, "dave").post("/twostep/verify", data={
            "code": codes.next(), "csrf": token, "r": "/lab/"},
            cookies=lab_cookie)
        result["status"] = r.status_code
        result["retry"] = r.headers.get("Retry-After")
        result["body"] = r.text
        result["secs"] = time.monotonic() - t0

    t = threading.Thread(target=slow_post)
    t.start()
    time.sleep(0.1)
    answered = []
    while t.is_alive():
        r, secs = timed_get(srv.url("/public/"))
        assert r.status_code == 200
        answered.append(("public", secs))
        r, secs = timed_get(srv.url("/lab/file.txt"), auth=auth,
                            cookies=lab_cookie)
        assert r.status_code == 200, (r.status_code, r.text[:300])
        assert r.text == "lab file\n"
        answered.append(("lab", secs))
        time.sleep(0.1)
    t.join()

    assert result["status"] == 503, (result, result.get("body", "")[:500])
    assert result["retry"] == "30"
    assert "<html" in result["body"].lower()
    assert 0.9 <= result["secs"] < 3.0, result["secs"]
    assert len(answered) >= 6, answered
    slow = [a for a in answered if a[1] >= FAST]
    assert not slow, "answered slowly while Redis was frozen: %r" % slow

    # protected requests that need the store wait too, and fail closed
    r, secs = timed_get(srv.url("/lab-deny/"), auth=("alice",
                                                      password("alice")))
    assert r.status_code == 503 and 0.9 <= secs < 3.0, (r.status_code, secs)

    env.redis.thaw()
    # back without a reload
    c2 = Client(srv, "dave")
    c2.s.cookies.set("twostep", lab_cookie["twostep"])
    r = c2.get("/lab/")
    assert r.status_code == 200 and r.headers["X-TwoStep-Status"] == "trusted"
    r = Client(srv, "dave").verify(codes.next(), ret="/lab/")
    assert r.status_code == 303, (r.status_code, r.text[:300])
    assert r.headers["Location"] == "/lab/"


def _open_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def _raw_get(srv, path, user):
    tok = base64.b64encode(("%s:%s" % (user, password(user))).encode())
    s = socket.create_connection(("127.0.0.1", srv.port), 2)
    s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n"
              b"Authorization: Basic " + tok + b"\r\n\r\n")
    return s


def test_client_abort_while_reply_pending(srv, env):
    Client(srv, "alice").enroll()     # alice now needs the store
    worker = srv.worker_pids()
    assert len(worker) == 1
    worker = worker[0]
    # a first request so the command connection exists
    assert Client(srv, "alice").get("/lab/").status_code == 303
    fds = _open_fds(worker)

    env.redis.freeze()
    socks = [_raw_get(srv, "/lab/", "alice") for _ in range(20)]
    socks += [_raw_get(srv, "/twostep/verify", "alice") for _ in range(5)]
    time.sleep(0.3)
    for s in socks:
        s.close()           # gone while their replies are pending
    time.sleep(0.3)
    r, secs = timed_get(srv.url("/public/"))
    assert r.status_code == 200 and secs < FAST
    env.redis.thaw()
    time.sleep(1.5)         # late replies arrive for requests long gone

    assert srv.worker_pids() == [worker], "the worker died"
    r = Client(srv, "alice").get("/lab/")
    assert r.status_code == 303
    assert r.headers["Location"].startswith("/twostep/verify?r=")
    assert _open_fds(worker) <= fds + 1, (fds, _open_fds(worker))
    log = srv.access_log()
    assert " 499 " in log


def test_keepalive_after_post_head_and_index(srv, env):
    """A POST answered from the access phase (body unread) and a HEAD keep
    the connection usable; an index redirect does not repeat headers."""
    c, _ = trusted_client(srv)
    r = c.post("/lab/", data={"x": "y" * 5000})
    assert r.status_code == 200 or r.status_code == 405, r.status_code
    u = Client(srv, "alice")
    Client(srv, "alice").enroll()
    r = u.post("/lab/form", data={"x": "y" * 5000})
    assert r.status_code == 303
    assert r.headers["Location"] == "/twostep/verify?r=%2Flab%2Fform"
    r = u.head("/lab/")
    assert r.status_code == 303 and r.text == ""
    r = u.get("/public/")
    assert r.status_code == 200
    r = c.get("/lab/")
    assert r.status_code == 200 and r.text == "<h1>lab index</h1>\n"
    raw = r.raw.headers
    assert len(raw.getlist("X-TwoStep-Status")) == 1
    assert raw.getlist("X-TwoStep-Status") == ["trusted"]
    assert not raw.getlist("Set-Cookie")
