"""`make bench`: what the twostep module costs, against the same server
without it. Run by scripts/bench.sh with /usr/bin/python3.

    bench.py [--rounds N] [--duration S] [--connections C] [--cold-users N]
             [--out DIR] [--update-md BENCHMARKS.md]

Starts a private Redis, one nginx (one worker) and one Apache (mpm_event, one
child), gets a trusted-device cookie through the real verify page, then:

  1. nginx, 1 KB static file, wrk keep-alive: plain, auth_basic, auth_basic +
     twostep (valid cookie), auth_basic + auth_request to a do-nothing
     server; the variants interleaved (ABCD, BCDA, ...) for N rounds, every
     ratio taken within a round, the median over rounds reported.
  2. The same for Apache (plain, auth_basic, auth_basic + twostep).
  3. Redis commands per valid-cookie request (INFO commandstats around the
     twostep runs).
  4. Cold paths: verify POSTs per second (distinct users, real codes), and
     the latency of a request whose cookie must be re-checked (an
     invalidation published before each one) next to a cached one.
  5. Micro-benchmarks of the core (build/bench/microbench).
  6. Resident size of the nginx worker and the Apache child before and after
     the valid-cookie requests (at least 100,000 each).

Every wrk run is checked: no socket errors, no non-2xx/3xx status, and bytes
per response equal to the size of the 200 response of that URL (wrk counts a
3xx as a success; a redirect is ~200 bytes, the 200 is ~1.2 KB).
The table goes to stdout, OUT/results.md and OUT/results.json; with
--update-md it replaces the block between the bench markers of that file.
"""

import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

from harness import (BUILD, CodeSource, csrf, ctl,  # noqa: E402
                     make_key_file, www_readable)
from redis_server import RedisServer  # noqa: E402

NGINX = "/usr/sbin/nginx"
APACHE = "/usr/sbin/apache2"
APACHE_MODDIR = "/usr/lib/apache2/modules"
MICROBENCH = os.path.join(BUILD, "bench", "microbench")
WRK_SCRIPT = os.path.join(HERE, "wrk_done.lua")

USER = "bench"
PASSWORD = "bench-pw"
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
FILE = "1k.html"
FILE_BODY = (("<!doctype html><title>1 KB</title><p>" + "x" * 1024)[:1023]
             + "\n").encode()
assert len(FILE_BODY) == 1024
PAGES = "/twostep"

NGINX_VARIANTS = ["plain", "basic", "ts", "authreq"]
APACHE_VARIANTS = ["plain", "basic", "ts"]
LABELS = {
    "plain": "plain static file",
    "basic": "auth_basic alone",
    "ts": "auth_basic + twostep (valid trusted cookie)",
    "authreq": "auth_basic + auth_request to a do-nothing server",
}
TARGET_RATIO = 0.95
# "no growth": at most this much (a few pages of allocator noise)
MEM_SLACK_KB = 64


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- files --------------------------------------------------------------

def htpasswd_line(user, pw):
    """{SHA} (one SHA-1): both nginx and Apache accept it, and it costs
    almost nothing, so the first factor hides nothing of the module's cost
    (apr1 would add ~1000 MD5 rounds to every request)."""
    digest = base64.b64encode(hashlib.sha1(pw.encode()).digest()).decode()
    return "%s:{SHA}%s\n" % (user, digest)


def write_site(root):
    for d in ("plain", "basic", "ts", "authreq"):
        os.makedirs(os.path.join(root, "htdocs", d), exist_ok=True)
        with open(os.path.join(root, "htdocs", d, FILE), "wb") as f:
            f.write(FILE_BODY)
    for d, _, files in os.walk(os.path.join(root, "htdocs")):
        os.chmod(d, 0o755)
        for n in files:
            os.chmod(os.path.join(d, n), 0o644)


def render(template, values):
    with open(os.path.join(HERE, template)) as f:
        text = f.read()
    for k, v in values.items():
        text = text.replace("@%s@" % k, v)
    left = re.findall(r"(?m)^[^#\n]*(@[A-Z_]+@)", text)
    if left:
        raise RuntimeError("%s: unrendered %s" % (template, left))
    return text


# ---- processes ------------------------------------------------------------

def children(pid):
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)],
                         capture_output=True, text=True)
    return [int(x) for x in out.stdout.split()]


def cpu_ticks(pids):
    """utime + stime of these processes (all their threads), in ticks."""
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def wait_port(port, proc, name, want_children, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("%s exited during start-up" % name)
        try:
            with socket.create_connection(("127.0.0.1", port), 0.5):
                if len(children(proc.pid)) >= want_children:
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError("%s did not come up" % name)


class Server:
    """A private nginx or Apache started from a rendered config."""

    def __init__(self, kind, root, port, cmd, conf_text, conf_name,
                 check_cmd):
        self.kind, self.root, self.port = kind, root, port
        self.conf = os.path.join(root, conf_name)
        with open(self.conf, "w") as f:
            f.write(conf_text)
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C"}
        chk = subprocess.run(check_cmd, capture_output=True, text=True,
                             env=env)
        if chk.returncode != 0:
            raise RuntimeError("%s config test: %s%s" % (kind, chk.stdout,
                                                         chk.stderr))
        self._err = open(os.path.join(root, "stderr.log"), "w")
        self.proc = subprocess.Popen(cmd, stdout=self._err,
                                     stderr=subprocess.STDOUT, env=env)
        wait_port(port, self.proc, kind, 1)

    def workers(self):
        return children(self.proc.pid)

    def all_pids(self):
        return [self.proc.pid] + self.workers()

    def error_log(self):
        try:
            with open(os.path.join(self.root, "error.log"),
                      errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT if self.kind == "nginx"
                                  else signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                for pid in self.all_pids():
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
                self.proc.wait()
        self.proc = None
        self._err.close()


def module_copy(tmp, name):
    """The servers load a private copy of the module: a rebuild of build/
    while the bench runs (cp over the file) would otherwise change the code
    under the running servers and crash them."""
    dst = os.path.join(tmp, name)
    if not os.path.exists(dst):
        shutil.copy2(os.path.join(BUILD, name), dst)
        os.chmod(dst, 0o755)
    return dst


def start_nginx(tmp, redis_url, key_file, htpasswd):
    root = os.path.join(tmp, "nginx")
    for d in ("", "tmp"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
        os.chmod(os.path.join(root, d), 0o755)
    write_site(root)
    port, authport = free_port(), free_port()
    text = render("nginx.conf.in", {
        "ROOT": root, "PORT": str(port), "AUTHPORT": str(authport),
        "REDIS": redis_url, "KEYFILE": key_file, "HTPASSWD": htpasswd,
        "MODULE": module_copy(tmp, "ngx_http_twostep_module.so"),
        "USER": "user root;" if os.geteuid() == 0 else ""})
    conf = os.path.join(root, "nginx.conf")
    base = [NGINX, "-p", root + "/", "-c", conf,
            "-e", os.path.join(root, "error.log")]
    return Server("nginx", root, port, base, text, "nginx.conf",
                  base + ["-t"])


def start_apache(tmp, redis_url, key_file, htpasswd):
    root = os.path.join(tmp, "apache")
    os.makedirs(os.path.join(root, "run"), exist_ok=True)
    os.chmod(root, 0o755)
    os.chmod(os.path.join(root, "run"), 0o755)
    write_site(root)
    port = free_port()
    text = render("apache.conf.in", {
        "ROOT": root, "PORT": str(port), "REDIS": redis_url,
        "KEYFILE": key_file, "HTPASSWD": htpasswd, "MODDIR": APACHE_MODDIR,
        "MODULE": module_copy(tmp, "mod_twostep.so"),
        "USER_GROUP": ("User www-data\nGroup www-data"
                       if os.geteuid() == 0 else "")})
    conf = os.path.join(root, "httpd.conf")
    return Server("apache", root, port, [APACHE, "-f", conf, "-DFOREGROUND"],
                  text, "httpd.conf", [APACHE, "-t", "-f", conf])


# ---- HTTP ---------------------------------------------------------------------

def basic_auth(user, pw):
    return "Basic " + base64.b64encode(("%s:%s" % (user, pw)).encode()).decode()


class Http:
    """One kept-alive connection, no redirects followed."""

    def __init__(self, port):
        self.port = port
        self.c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    def request(self, method, path, headers=None, body=None):
        h = dict(headers or {})
        if body is not None:
            h["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            self.c.request(method, path, body=body, headers=h)
            r = self.c.getresponse()
        except (http.client.HTTPException, OSError):
            self.c.close()
            self.c = http.client.HTTPConnection("127.0.0.1", self.port,
                                                timeout=10)
            self.c.request(method, path, body=body, headers=h)
            r = self.c.getresponse()
        data = r.read()
        return r.status, r.getheaders(), data

    def close(self):
        self.c.close()


def header(headers, name):
    return [v for k, v in headers if k.lower() == name.lower()]


def raw_response_size(port, path, headers):
    """Bytes of the whole response (status line, headers, body) to one
    GET with these headers, read off the socket as wrk reads it."""
    req = "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % (path, port)
    req += "".join("%s: %s\r\n" % kv for kv in headers.items()) + "\r\n"
    with socket.create_connection(("127.0.0.1", port), 5) as s:
        s.sendall(req.encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        m = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
        need = int(m.group(1)) if m else 0
        while len(body) < need:
            chunk = s.recv(65536)
            if not chunk:
                break
            body += chunk
    status = int(head.split(b" ", 2)[1])
    return status, len(head) + 4 + len(body), body


def totp(secret_b32, t, period=30, digits=6):
    """RFC 6238 SHA1 code at unix time t (checked against oathtool once)."""
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    mac = hmac.new(key, struct.pack(">Q", int(t // period)),
                   hashlib.sha1).digest()
    off = mac[-1] & 15
    v = struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF
    return str(v % 10 ** digits).zfill(digits)


def get_trusted_cookie(port):
    """Through the real pages: GET verify (csrf), POST a fresh code with
    trust=1; returns the cookie value of the 303's Set-Cookie."""
    codes = CodeSource(SECRET)
    h = Http(port)
    auth = {"Authorization": basic_auth(USER, PASSWORD)}
    ret = "/ts/" + FILE
    st, _, body = h.request("GET", PAGES + "/verify?r=" +
                            urllib.parse.quote(ret, safe=""), auth)
    if st != 200:
        raise RuntimeError("verify page: HTTP %d" % st)
    form = urllib.parse.urlencode({"code": codes.next(), "trust": "1",
                                   "csrf": csrf(body.decode()), "r": ret})
    st, hdrs, body = h.request("POST", PAGES + "/verify", auth, form)
    h.close()
    if st != 303:
        raise RuntimeError("verify POST: HTTP %d: %s" % (st, body[:300]))
    for sc in header(hdrs, "Set-Cookie"):
        m = re.match(r"twostep=([^;]+)", sc)
        if m and m.group(1):
            return m.group(1)
    raise RuntimeError("verify POST set no twostep cookie")


# ---- wrk ------------------------------------------------------------------------

class Load:
    """wrk against one server: variants, their headers and checks."""

    def __init__(self, srv, cookie, connections, duration):
        self.srv = srv
        self.connections = connections
        self.duration = duration
        auth = basic_auth(USER, PASSWORD)
        self.headers = {
            "plain": {},
            "basic": {"Authorization": auth},
            "ts": {"Authorization": auth, "Cookie": "twostep=" + cookie},
            "authreq": {"Authorization": auth},
        }
        self.size = {}
        for v in self.headers:
            path = "/%s/%s" % (v, FILE)
            st, size, body = raw_response_size(srv.port, path,
                                               self.headers[v])
            if st != 200 or body != FILE_BODY:
                raise RuntimeError("%s %s: HTTP %d, not the file" % (
                    srv.kind, path, st))
            self.size[v] = size

    def run(self, variant, duration=None):
        """One wrk run; returns a dict of its results, server CPU included.
        Raises when any response was not the 200 of the file."""
        url = "http://127.0.0.1:%d/%s/%s" % (self.srv.port, variant, FILE)
        cmd = ["wrk", "-t1", "-c%d" % self.connections,
               "-d%ss" % (duration or self.duration), "--timeout", "5s",
               "-s", WRK_SCRIPT]
        for k, v in self.headers[variant].items():
            cmd += ["-H", "%s: %s" % (k, v)]
        pids = self.srv.all_pids()
        c0 = cpu_ticks(pids)
        out = subprocess.run(cmd + [url], capture_output=True, text=True,
                             timeout=(duration or self.duration) + 30)
        c1 = cpu_ticks(pids)
        m = re.search(r"WRKRESULT (.*)", out.stdout)
        if out.returncode != 0 or not m:
            raise RuntimeError("wrk failed: %s%s" % (out.stdout, out.stderr))
        r = {k: int(v) for k, v in
             (kv.split("=") for kv in m.group(1).split())}
        errs = sum(r[k] for k in ("connect", "read", "write", "status",
                                  "timeout"))
        per = r["bytes"] / max(r["requests"], 1)
        if errs or r["requests"] == 0 or \
                abs(per / self.size[variant] - 1) > 0.005:
            raise RuntimeError(
                "%s /%s/: not every response was the 200 of the file: %d "
                "requests, %d errors, %.1f bytes each (the 200 is %d)" % (
                    self.srv.kind, variant, r["requests"], errs, per,
                    self.size[variant]))
        r["rps"] = r["requests"] * 1e6 / r["duration_us"]
        tick = os.sysconf("SC_CLK_TCK")
        r["cpu_us_per_req"] = (c1 - c0) * 1e6 / tick / r["requests"]
        r["variant"] = variant
        return r


def interleaved(load, variants, rounds):
    """rounds x variants runs, each round in a rotated order; returns
    {variant: [result per round]}."""
    res = {v: [] for v in variants}
    for i in range(rounds):
        order = variants[i % len(variants):] + variants[:i % len(variants)]
        for v in order:
            r = load.run(v)
            res[v].append(r)
            log("%s round %d/%d %-8s %8.0f req/s  %5.1f us CPU/req" % (
                load.srv.kind, i + 1, rounds, v, r["rps"],
                r["cpu_us_per_req"]))
    return res


def summarize(res, variants):
    """Medians of throughput and of the per-round ratios to plain."""
    out = {}
    rounds = len(res["plain"])
    for v in variants:
        rps = [r["rps"] for r in res[v]]
        ratio = [res[v][i]["rps"] / res["plain"][i]["rps"]
                 for i in range(rounds)]
        cpu = [r["cpu_us_per_req"] for r in res[v]]
        out[v] = {
            "rps": statistics.median(rps),
            "ratio": statistics.median(ratio),
            "ratio_min": min(ratio), "ratio_max": max(ratio),
            "cpu_us_per_req": statistics.median(cpu),
            "p50_us": statistics.median(r["p50_us"] for r in res[v]),
            "requests": sum(r["requests"] for r in res[v]),
        }
        if v not in ("plain", "basic") and "basic" in res:
            out[v]["ratio_basic"] = statistics.median(
                res[v][i]["rps"] / res["basic"][i]["rps"]
                for i in range(rounds))
            out[v]["cpu_extra_us"] = statistics.median(
                res[v][i]["cpu_us_per_req"] -
                res["basic"][i]["cpu_us_per_req"] for i in range(rounds))
    return out


# ---- Redis ------------------------------------------------------------------------

class RedisConn:
    """A raw RESP connection (PUBLISH without a process per command)."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), 5)
        self.f = self.s.makefile("rb")

    def cmd(self, *args):
        parts = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.s.sendall(b"".join(parts))
        return self._read()

    def _read(self):
        line = self.f.readline().rstrip(b"\r\n")
        t, rest = line[:1], line[1:]
        if t in (b"+", b"-"):
            return rest.decode()
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)[:-2]
            return data
        if t == b"*":
            return [self._read() for _ in range(int(rest))]
        raise RuntimeError("bad RESP: %r" % line)

    def commandstats(self):
        """{command: calls}"""
        text = self.cmd("INFO", "commandstats").decode()
        out = {}
        for m in re.finditer(r"cmdstat_([^:]+):calls=(\d+)", text):
            out[m.group(1)] = int(m.group(2))
        return out

    def close(self):
        self.s.close()


def stats_delta(before, after, exclude=("info",)):
    d = {}
    for k, v in after.items():
        n = v - before.get(k, 0)
        if n and k not in exclude:
            d[k] = n
    return d


# ---- cold paths ---------------------------------------------------------------------

def cold_verify(port, users, threads=4):
    """Each user: GET the verify page (csrf), then POST a fresh code; the
    POSTs of all users timed together from `threads` client threads.
    Returns (GETs/s, POSTs/s, failures)."""
    now = time.time()
    tokens = {}
    conns = [Http(port) for _ in range(threads)]

    def get_pages(k):
        for i in range(k, len(users), threads):
            u = users[i][0]
            st, _, body = conns[k].request(
                "GET", PAGES + "/verify?r=%2Fts%2F" + FILE,
                {"Authorization": basic_auth(u, PASSWORD)})
            tokens[u] = csrf(body.decode()) if st == 200 else None

    def post_codes(k, fails):
        for i in range(k, len(users), threads):
            u, secret = users[i]
            form = urllib.parse.urlencode({
                "code": totp(secret, now), "trust": "1",
                "csrf": tokens[u] or "", "r": "/ts/" + FILE})
            st, hdrs, _ = conns[k].request(
                "POST", PAGES + "/verify",
                {"Authorization": basic_auth(u, PASSWORD)}, form)
            ok = st == 303 and any(c.startswith("twostep=") and
                                   not c.startswith("twostep=;")
                                   for c in header(hdrs, "Set-Cookie"))
            if not ok:
                fails.append((u, st))

    def timed(fn, *extra):
        ts = [threading.Thread(target=fn, args=(k,) + extra)
              for k in range(threads)]
        t0 = time.monotonic()
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        return time.monotonic() - t0

    # step boundary: codes were computed for `now`; the window is +-1
    # step, so a boundary crossed during the run still accepts them
    tg = timed(get_pages)
    fails = []
    tp = timed(post_codes, fails)
    for c in conns:
        c.close()
    return len(users) / tg, len(users) / tp, fails


def recheck_latency(port, redis, cookie, n):
    """Alternates a cached request and one whose user was invalidated just
    before (PUBLISH PREFIXinvalidate USER, then 2 ms so the server has read
    the message): the latency of each kind (median, us) and the Redis
    commands per re-checked request."""
    h = Http(port)
    hdrs = {"Authorization": basic_auth(USER, PASSWORD),
            "Cookie": "twostep=" + cookie}
    path = "/ts/" + FILE
    cached, rechecked = [], []
    before = redis.commandstats()
    for i in range(2 * n):
        recheck = i % 2 == 1
        if recheck:
            redis.cmd("PUBLISH", "twostep:invalidate", USER)
        time.sleep(0.002)
        t0 = time.perf_counter()
        st, _, body = h.request("GET", path, hdrs)
        dt = (time.perf_counter() - t0) * 1e6
        if st != 200 or body != FILE_BODY:
            raise RuntimeError("re-check request: HTTP %d" % st)
        (rechecked if recheck else cached).append(dt)
    after = redis.commandstats()
    h.close()
    d = stats_delta(before, after, exclude=("info", "publish"))
    return (statistics.median(cached), statistics.median(rechecked),
            sum(d.values()) / n, d)


# ---- micro-benchmarks ------------------------------------------------------------

def microbench(seconds):
    out = subprocess.run([MICROBENCH, str(seconds)], capture_output=True,
                         text=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError("microbench: " + out.stderr)
    res = {}
    for line in out.stdout.splitlines():
        name, ns, _ = line.split()
        res[name] = float(ns)
    return res


# ---- the machine ----------------------------------------------------------------

def first_line(cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        text = (out.stdout + out.stderr).strip()
        return text.splitlines()[0] if text else "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def machine():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"model name\s*:\s*(.*)", f.read())
            cpu = m.group(1).strip() if m else "?"
    except OSError:
        pass
    mem = 0
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) // 1024
    virt = first_line(["systemd-detect-virt"])
    try:
        with open("/etc/debian_version") as f:
            deb = f.read().strip()
    except OSError:
        deb = "?"
    return {
        "cpu": cpu, "cores": os.cpu_count(), "mem_mb": mem,
        "virt": virt, "kernel": platform.release(), "debian": deb,
        "nginx": first_line([NGINX, "-v"]).split("/")[-1],
        "apache": first_line([APACHE, "-v"]).split("/")[1].split()[0],
        "redis": re.sub(r".*v=(\S+).*", r"\1",
                        first_line(["redis-server", "--version"])),
        "openssl": first_line(["openssl", "version"]),
        "wrk": first_line(["wrk", "-v"]).split()[1],
    }


# ---- the report ----------------------------------------------------------------

def verdict(ok):
    return "met" if ok else "**missed**"


def report(m, cfg, ng, ap, redis_nginx, redis_apache, cold, micro, mem):
    L = []
    w = L.append
    w("Machine: %s, %d cores (%s), %d MB RAM; Linux %s, Debian %s; nginx %s, "
      "Apache %s, Redis %s, %s, wrk %s." % (
          m["cpu"], m["cores"], m["virt"], m["mem_mb"], m["kernel"],
          m["debian"], m["nginx"], m["apache"], m["redis"], m["openssl"],
          m["wrk"]))
    w("Load average at start / end: %s / %s (the machine is shared: "
      "anything above ~1 at the start means other work ran alongside)." % (
          m["load_start"], m["load_end"]))
    w("Load: wrk -t1 -c%d -d%ds keep-alive, 1 KB static file, %d rounds "
      "of interleaved variants; figures are medians over the rounds, "
      "ratios are taken within each round (min-max in brackets)." % (
          cfg.connections, cfg.duration, cfg.rounds))
    w("")
    w("| # | Measure | Result | Ratio to plain | Target | |")
    w("|---|---|---|---|---|---|")

    def thr(n, srv, res, variants):
        for v in variants:
            r = res[v]
            extra = ""
            if "cpu_extra_us" in r:
                extra = ", %+.2f us vs auth_basic" % r["cpu_extra_us"]
            target, ok = "", ""
            if v == "ts":
                target = ">= %.2f" % TARGET_RATIO
                ok = verdict(r["ratio"] >= TARGET_RATIO)
            w("| %s | %s: %s | %.0f req/s, p50 %d us, %.1f us CPU/req%s | "
              "%.3f [%.3f-%.3f] | %s | %s |" % (
                  n, srv, LABELS[v], r["rps"], r["p50_us"],
                  r["cpu_us_per_req"], extra, r["ratio"], r["ratio_min"],
                  r["ratio_max"], target, ok))

    thr(1, "nginx", ng, NGINX_VARIANTS)
    w("| 1 | nginx: twostep / auth_basic alone (the same server without "
      "the module) | | %.3f | >= %.2f | %s |" % (
          ng["ts"]["ratio_basic"], TARGET_RATIO,
          verdict(ng["ts"]["ratio_basic"] >= TARGET_RATIO)))
    w("| 1 | nginx: twostep / auth_request floor | | %.2f x | > 1 | %s |" % (
        ng["ts"]["rps"] / ng["authreq"]["rps"],
        verdict(ng["ts"]["rps"] > ng["authreq"]["rps"])))
    thr(2, "Apache", ap, APACHE_VARIANTS)
    w("| 2 | Apache: twostep / auth_basic alone (the same server without "
      "the module) | | %.3f | >= %.2f | %s |" % (
          ap["ts"]["ratio_basic"], TARGET_RATIO,
          verdict(ap["ts"]["ratio_basic"] >= TARGET_RATIO)))
    for srv, x in (("nginx", redis_nginx), ("Apache", redis_apache)):
        d = x["by_command"]
        w("| 3 | %s: Redis commands per valid-cookie request | %.6f (%d "
          "commands in %d requests%s; besides, %d PINGs = %.1f/s of the "
          "subscription's liveness check) | | 0 | %s |" % (
              srv, x["per_request"], x["total"], x["requests"],
              (": " + ", ".join("%s %d" % kv for kv in sorted(d.items())))
              if d else "", x["pings"], x["pings_per_s"],
              verdict(x["total"] == 0)))
    for srv in ("nginx", "Apache"):
        c = cold[srv]
        w("| 4 | %s: verify page GETs (cold, %d users) | %.0f /s | | | |" % (
            srv, c["users"], c["gets"]))
        w("| 4 | %s: verify POSTs, real codes, distinct users (%d) | %.0f /s"
          "%s | | | %s |" % (
              srv, c["users"], c["posts"],
              ", %d failed" % len(c["fails"]) if c["fails"] else "",
              verdict(not c["fails"])))
        w("| 4 | %s: request whose cookie is re-checked (after PUBLISH "
          "invalidate) | p50 %.0f us (cached: %.0f us); %.1f Redis commands "
          "each | %.2f x cached latency | | |" % (
              srv, c["recheck_us"], c["cached_us"], c["recheck_cmds"],
              c["recheck_us"] / c["cached_us"]))
    for k, label in (("totp_verify", "TOTP verification (SHA1, window +-1)"),
                     ("cookie_decode", "cookie verification (parse + "
                      "HMAC-SHA256)"),
                     ("protect_cached", "whole valid-cookie decision "
                      "(txn new/run/free, cache hit)"),
                     ("page_verify", "verify page render"),
                     ("page_enroll", "enroll page render (otpauth URI + QR "
                      "SVG)")):
        w("| 5 | core: %s | %.0f ns | | | |" % (label, micro[k]))
    for srv in ("nginx", "Apache"):
        x = mem[srv]
        w("| 6 | %s %s RSS before / after %d more valid-cookie requests "
          "(after warm-up: %d KB, then %d requests) | %d KB / %d KB "
          "(%+d KB) | | no growth | %s |" % (
              srv, "worker" if srv == "nginx" else "child", x["requests"],
              x["warm"], x["warmup_requests"], x["before"], x["after"],
              x["after"] - x["before"],
              verdict(x["after"] - x["before"] <= MEM_SLACK_KB
                      and x["requests"] >= 100000)))
    return "\n".join(L) + "\n"


def update_md(path, table):
    with open(path) as f:
        text = f.read()
    begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
    if begin not in text or end not in text:
        raise RuntimeError("%s has no bench markers" % path)
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    with open(path, "w") as f:
        f.write(head + begin + "\n" + table + end + tail)


# ---- main ------------------------------------------------------------------------

def redis_around(redis, fn):
    """Commands Redis executed while fn() ran, per request. PING is set
    apart: Apache's subscriber thread sends one every 500 ms per process
    (the liveness check of its invalidation subscription), whatever the
    load; it is not on the request path."""
    before = redis.commandstats()
    t0 = time.monotonic()
    reqs = fn()
    secs = time.monotonic() - t0
    after = redis.commandstats()
    d = stats_delta(before, after)
    pings = d.pop("ping", 0)
    total = sum(d.values())
    return {"per_request": total / max(reqs, 1), "total": total,
            "requests": reqs, "by_command": d, "pings": pings,
            "pings_per_s": pings / secs}


def bench_server(kind, srv, cookie, cfg, redis, variants, users):
    load = Load(srv, cookie, cfg.connections, cfg.duration)
    workers = srv.workers()
    if len(workers) != 1:
        raise RuntimeError("%s: expected one worker/child, found %s" % (
            kind, workers))
    worker = workers[0]
    # warm-up: every variant once (caches, Redis connection, the module's
    # per-process cache of the user)
    for v in variants:
        load.run(v, duration=1)
    rss0 = rss_kb(worker)
    ts_reqs = [0]

    def measured():
        res = interleaved(load, variants, cfg.rounds)
        ts_reqs[0] = sum(r["requests"] for r in res["ts"])
        measured.res = res
        return ts_reqs[0]

    red = redis_around(redis, measured)
    res = measured.res
    # top up to 100,000 valid-cookie requests for the memory check
    while ts_reqs[0] < 100000:
        r = load.run("ts", duration=2)
        ts_reqs[0] += r["requests"]
    rss1 = rss_kb(worker)
    # another 100,000: growth from here on is not warm-up (thread stacks,
    # malloc arenas, the first requests of each thread) but a leak
    more = 0
    while more < 100000:
        more += load.run("ts", duration=2)["requests"]
    rss2 = rss_kb(worker)
    if srv.workers() != [worker]:
        raise RuntimeError("%s: the worker changed during the run (crash?):"
                           " %s" % (kind, srv.error_log()[-2000:]))
    cached, rechecked, cmds, _ = recheck_latency(srv.port, redis, cookie,
                                                 cfg.recheck)
    gets, posts, fails = cold_verify(srv.port, users)
    if srv.workers() != [worker]:
        raise RuntimeError("%s: the worker changed during the cold paths" %
                           kind)
    return (summarize(res, variants), red,
            {"users": len(users), "gets": gets, "posts": posts,
             "fails": fails, "cached_us": cached, "recheck_us": rechecked,
             "recheck_cmds": cmds},
            {"warm": rss0, "before": rss1, "after": rss2,
             "warmup_requests": ts_reqs[0], "requests": more})


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--cold-users", type=int, default=150)
    ap.add_argument("--recheck", type=int, default=300)
    ap.add_argument("--micro-seconds", type=float, default=1.0)
    ap.add_argument("--out", default=os.path.join(BUILD, "bench"))
    ap.add_argument("--update-md")
    cfg = ap.parse_args()
    t_start = time.monotonic()
    load_start = loadavg()
    for tool in ("wrk", NGINX, APACHE, MICROBENCH):
        if not shutil.which(tool) and not os.access(tool, os.X_OK):
            raise SystemExit("bench: %s is missing (make deps; make)" % tool)
    os.makedirs(cfg.out, exist_ok=True)

    tmp = tempfile.mkdtemp(prefix="twostep-bench-")
    os.chmod(tmp, 0o755)
    redis = RedisServer().start()
    servers = []
    try:
        key_file = make_key_file(os.path.join(tmp, "twostep.key"))
        ctl(redis.url, key_file, "init")
        ctl(redis.url, key_file, "enroll", USER, "--secret", SECRET)
        # the Python TOTP must agree with oathtool
        ref = subprocess.run(["oathtool", "--totp", "-b", "-N", "@1000000000",
                              SECRET], capture_output=True, text=True)
        if ref.stdout.strip() != totp(SECRET, 1000000000):
            raise RuntimeError("TOTP of the driver disagrees with oathtool")
        cold_users = {}
        lines = [htpasswd_line(USER, PASSWORD)]
        log("enrolling %d cold-path users per server" % cfg.cold_users)
        for kind in ("nginx", "Apache"):
            cold_users[kind] = []
            for i in range(cfg.cold_users):
                u = "%s%04d" % (kind[0].lower(), i)
                secret = base64.b32encode(os.urandom(20)).decode().rstrip("=")
                ctl(redis.url, key_file, "enroll", u, "--secret", secret)
                cold_users[kind].append((u, secret))
                lines.append(htpasswd_line(u, PASSWORD))
        htpasswd = os.path.join(tmp, "htpasswd")
        with open(htpasswd, "w") as f:
            f.writelines(lines)
        www_readable(htpasswd, 0o640)

        ngx = start_nginx(tmp, redis.url, key_file, htpasswd)
        servers.append(ngx)
        apa = start_apache(tmp, redis.url, key_file, htpasswd)
        servers.append(apa)
        # one trusted cookie, issued by nginx; valid on both servers (same
        # key file, same Redis, same client address)
        cookie = get_trusted_cookie(ngx.port)
        rc = RedisConn(redis.port)

        log("microbenchmarks")
        micro = microbench(cfg.micro_seconds)
        log("nginx")
        ng, red_ng, cold_ng, mem_ng = bench_server(
            "nginx", ngx, cookie, cfg, rc, NGINX_VARIANTS,
            cold_users["nginx"])
        ngx.stop()
        log("Apache")
        apr, red_ap, cold_ap, mem_ap = bench_server(
            "apache", apa, cookie, cfg, rc, APACHE_VARIANTS,
            cold_users["Apache"])
        apa.stop()
        rc.close()
        for s in servers:
            bad = [ln for ln in s.error_log().splitlines()
                   if re.search(r"\[(emerg|alert|crit)\]|signal|segfault",
                                ln)]
            if bad:
                raise RuntimeError("%s error log:\n%s" % (s.kind,
                                                          "\n".join(bad)))
        m = machine()
        m["load_start"], m["load_end"] = load_start, loadavg()
        table = report(m, cfg, ng, apr, red_ng, red_ap,
                       {"nginx": cold_ng, "Apache": cold_ap}, micro,
                       {"nginx": mem_ng, "Apache": mem_ap})
        elapsed = time.monotonic() - t_start
        table += "\n`make bench` took %.0f s.\n" % elapsed
        print(table)
        with open(os.path.join(cfg.out, "results.md"), "w") as f:
            f.write(table)
        with open(os.path.join(cfg.out, "results.json"), "w") as f:
            json.dump({"machine": m, "nginx": ng, "apache": apr,
                       "redis": {"nginx": red_ng, "apache": red_ap},
                       "cold": {"nginx": cold_ng, "apache": cold_ap},
                       "micro": micro,
                       "memory": {"nginx": mem_ng, "apache": mem_ap},
                       "seconds": elapsed}, f, indent=1, default=str)
        if cfg.update_md:
            update_md(cfg.update_md, table)
            log("updated " + cfg.update_md)
        log("results in %s/results.md" % cfg.out)
    finally:
        for s in servers:
            s.stop()
        redis.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
