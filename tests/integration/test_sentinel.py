"""High availability through Redis Sentinel, for every server kind.

Per server kind: a Redis master, a replica of it (started first, so that the
sentinel learns of it from its very first INFO of the master instead of
after its 10 s INFO period), one redis-sentinel monitoring the master as
"m" with quorum 1, and the server configured with
sentinel://127.0.0.1:DEAD,127.0.0.1:SPORT/m (nothing listens on DEAD: the
next sentinel must be asked). twostepctl talks through the same URL.

  1. init + enroll through the sentinel; a verify and a protected request
     work through the server;
  2. SENTINEL failover m promotes the replica; once the sentinel names it,
     the old master is stopped; with no reload the server goes on: a new
     verification (writes on the new master), twostepctl through the
     sentinel, and a revocation reaching the server.

The Apache module asks the sentinel at each connect (blocking executor);
nginx must find the new master on its own, without blocking (its log
names the master it found).
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import FATAL, SERVER_KINDS, server_class
from harness import (BUILD, Client, CodeSource, ctl, free_port, make_groups,
                     make_htpasswd, make_key_file, wait_until)
from redis_server import REDIS_CLI, REDIS_SERVER, RedisServer

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
LAB_FILE = "/lab/file.txt"
MODULE_FILE = {"apache": "mod_twostep.so",
               "nginx": "ngx_http_twostep_module.so"}


class Sentinel:
    """One redis-sentinel on a free loopback port, in its own directory
    (sentinel rewrites its configuration file)."""

    def __init__(self, master_port, name="m"):
        self.port = free_port()
        self.dead_port = free_port()
        self.name = name
        self.dir = tempfile.mkdtemp(prefix="twostep-sentinel-")
        self.conf = os.path.join(self.dir, "sentinel.conf")
        with open(self.conf, "w") as f:
            f.write("port %d\nbind 127.0.0.1\ndaemonize no\ndir %s\n"
                    "logfile %s\n"
                    "sentinel monitor %s 127.0.0.1 %d 1\n"
                    "sentinel down-after-milliseconds %s 2000\n"
                    "sentinel failover-timeout %s 10000\n" % (
                        self.port, self.dir,
                        os.path.join(self.dir, "sentinel.log"),
                        name, master_port, name, name))
        self.proc = subprocess.Popen([REDIS_SERVER, self.conf, "--sentinel"],
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)

    @property
    def url(self):
        # a sentinel that refuses connections first: the next one is asked
        return "sentinel://127.0.0.1:%d,127.0.0.1:%d/%s" % (
            self.dead_port, self.port, self.name)

    def cli(self, *args):
        out = subprocess.run([REDIS_CLI, "-h", "127.0.0.1", "-p",
                              str(self.port)] + [str(a) for a in args],
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip()

    def master_port(self):
        """The port the sentinel names for the master now, or None."""
        lines = self.cli("SENTINEL", "get-master-addr-by-name",
                         self.name).split()
        return int(lines[1]) if len(lines) == 2 else None

    def knows_good_replica(self):
        out = self.cli("SENTINEL", "replicas", self.name)
        return "master-link-status\nok" in out and "disconnected" not in out

    def log(self):
        try:
            with open(os.path.join(self.dir, "sentinel.log")) as f:
                return f.read()
        except OSError:
            return ""

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(params=SERVER_KINDS)
def ha(request):
    """master, replica, sentinel, files and a server of this kind."""
    kind = request.param
    if not os.path.exists(os.path.join(BUILD, MODULE_FILE.get(kind, kind))):
        pytest.fail("the %s module is not built: run make" % kind)
    tmp = tempfile.mkdtemp(prefix="twostep-ha-")
    os.chmod(tmp, 0o755)
    # no 5 s diskless-sync delay before the first sync
    master = RedisServer(extra=["--repl-diskless-sync-delay", "0"]).start()
    replica = sentinel = srv = None
    try:
        replica = RedisServer(
            extra=["--replicaof", "127.0.0.1", str(master.port)]).start()
        assert wait_until(lambda: "master_link_status:up" in replica.cli(
            "INFO", "replication"), 10) is not None, "replica never synced"
        sentinel = Sentinel(master.port)
        assert wait_until(sentinel.knows_good_replica, 15, 0.1) is not None, \
            "the sentinel never saw the replica:\n" + sentinel.log()
        key = make_key_file(os.path.join(tmp, "twostep.key"))
        ctl(sentinel.url, key, "init")
        srv = server_class(kind)()
        d = os.path.join(tmp, kind)
        os.makedirs(d)
        os.chmod(d, 0o755)
        files = (key, make_htpasswd(os.path.join(tmp, "htpasswd")),
                 make_groups(os.path.join(tmp, "groups")))
        srv.start(d, free_port(), sentinel.url, *files)
        yield type("HA", (), dict(kind=kind, master=master, replica=replica,
                                  sentinel=sentinel, srv=srv, key=key,
                                  files=files, tmp=tmp))
        assert_no_crash(srv)
    finally:
        if srv is not None:
            srv.stop()
        if sentinel is not None:
            sentinel.close()
        for r in (replica, master):
            if r is not None:
                r.close()
        shutil.rmtree(tmp, ignore_errors=True)


def assert_no_crash(srv):
    bad = [line for line in srv.error_log().splitlines()
           if any(f in line for f in FATAL)]
    assert not bad, "server error log:\n" + "\n".join(bad)


def repl_offset(redis, field):
    for line in redis.cli("INFO", "replication").splitlines():
        if line.startswith(field + ":"):
            return int(line.split(":", 1)[1])
    return None


def enroll_and_verify(ha, user):
    """twostepctl enroll through the sentinel; then a browser verifies
    through the server and reads the protected file."""
    out = ctl(ha.sentinel.url, ha.key, "enroll", user, "--secret", SECRET)
    assert "otpauth://totp/" in out.stdout
    codes = CodeSource(SECRET)
    b = Client(ha.srv, user)
    r = b.get(LAB_FILE)
    assert r.status_code == 303, (r.status_code, r.text[:300])
    assert "/verify" in r.headers["Location"]
    r = b.verify(codes.next(), ret=LAB_FILE)
    assert r.status_code == 303, (r.status_code, r.text[:500])
    r = b.get(LAB_FILE)
    assert r.status_code == 200 and r.text == "lab file\n"
    assert r.headers["X-TwoStep-Status"] == "verified"
    return b, codes


def test_sentinel_verify_then_failover(ha):
    b, codes = enroll_and_verify(ha, "bob")

    # Everything written so far is on the replica before it takes over (a
    # replica fed by a diskless sync gets the stream only after its first
    # REPLCONF ACK, up to a second later; WAIT would not see that: it
    # counts this client's own writes, none).
    assert wait_until(lambda: repl_offset(ha.replica, "slave_repl_offset")
                      == repl_offset(ha.master, "master_repl_offset"),
                      5, 0.05) is not None, "the replica lags behind"

    t0 = time.monotonic()
    assert ha.sentinel.cli("SENTINEL", "failover", "m") == "OK"
    moved = wait_until(lambda: ha.sentinel.master_port() == ha.replica.port,
                       20, 0.1)
    assert moved is not None, "no failover:\n" + ha.sentinel.log()
    assert ha.replica.cli("ROLE").splitlines()[0] == "master"
    ha.master.stop()
    time.sleep(0.3)     # the servers see their old connections close

    # The verified browser still passes; a new browser verifies (a code
    # step and counters written on the new master), with no reload.
    r = b.get(LAB_FILE)
    assert r.status_code == 200 and r.text == "lab file\n", \
        ha.srv.error_log()[-2000:]
    c = Client(ha.srv, "bob")
    r = c.verify(codes.next(), ret=LAB_FILE)
    assert r.status_code == 303, (r.status_code, r.text[:500])
    r = c.get(LAB_FILE)
    assert r.status_code == 200 and r.text == "lab file\n"
    assert r.headers["X-TwoStep-Status"] == "verified"

    # twostepctl follows the sentinel too; a revocation reaches the server
    # (bob is in the enforced group: disabled, he is sent to enrollment).
    status = ctl(ha.sentinel.url, ha.key, "status", "bob")
    assert "bob" in status.stdout
    ctl(ha.sentinel.url, ha.key, "disable", "bob")
    assert wait_until(lambda: c.get(LAB_FILE).status_code == 303, 2) \
        is not None, "revocation did not reach the server after failover"
    assert time.monotonic() - t0 < 40

    if ha.kind == "nginx":
        # each worker found the new master through the sentinel itself
        assert ("redis master 127.0.0.1:%d named by sentinel"
                % ha.replica.port) in ha.srv.error_log()



def test_nginx_resolves_host_names_when_configured(tmp_path):
    """nginx looks twostep_redis host names up when it reads its
    configuration (a worker never calls getaddrinfo): a name works, and a
    name that does not resolve is refused by `nginx -t`."""
    from server_nginx import NginxServer
    if not os.path.exists(os.path.join(BUILD, MODULE_FILE["nginx"])):
        pytest.fail("the nginx module is not built: run make")
    os.chmod(tmp_path, 0o755)
    files = (make_key_file(str(tmp_path / "twostep.key")),
             make_htpasswd(str(tmp_path / "htpasswd")),
             make_groups(str(tmp_path / "groups")))
    with RedisServer() as redis:
        url = "redis://localhost:%d/0" % redis.port
        ctl(url, files[0], "init")
        srv = NginxServer()
        srv.start(str(tmp_path), free_port(), url, *files)
        try:
            r = Client(srv, "dave").get(LAB_FILE)
            assert r.status_code == 200, (r.status_code, srv.error_log())
            assert r.headers["X-TwoStep-Status"] == "not-enrolled"
            assert_no_crash(srv)
        finally:
            srv.stop()
    with pytest.raises(RuntimeError, match="host not found"):
        NginxServer().start(str(tmp_path), free_port(),
                            "redis://no-such-host.invalid:6379/0", *files)


def test_silent_sentinel_is_passed_over(ha):
    """The first sentinel accepts connections and never answers: after
    twostep_redis_timeout the next one is asked, and service goes on."""
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(64)         # the kernel accepts; nobody ever reads
    try:
        url = "sentinel://127.0.0.1:%d,127.0.0.1:%d/m" % (
            hole.getsockname()[1], ha.sentinel.port)
        srv = server_class(ha.kind)()
        d = os.path.join(ha.tmp, "silent")
        os.makedirs(d)
        os.chmod(d, 0o755)
        srv.start(d, free_port(), url, *ha.files)
        try:
            dave = Client(srv, "dave")
            # nginx: a request may give up (503) while its worker is still
            # waiting on the silent sentinel; the next ones pass
            ok = wait_until(lambda: dave.get(LAB_FILE).status_code == 200,
                            5, 0.1)
            assert ok is not None, srv.error_log()[-2000:]
            r = dave.get(LAB_FILE)
            assert r.headers["X-TwoStep-Status"] == "not-enrolled"
            if ha.kind == "nginx":
                assert "did not answer within" in srv.error_log()
            assert_no_crash(srv)
        finally:
            srv.stop()
    finally:
        hole.close()
