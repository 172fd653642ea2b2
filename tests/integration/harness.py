"""Helpers shared by the behaviour tests of every server kind.

Files: key file (twostepctl keygen), htpasswd (users alice..erin, apr1 so
both Apache and nginx accept it), group file. Codes: oathtool. Clients:
requests sessions with Basic auth, optionally bound to another loopback
source address (127.0.0.2) so that IP binding can be tested.
"""

import grp
import html
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.parse

import requests
import requests.adapters

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(ROOT, "build")
TWOSTEPCTL = os.path.join(BUILD, "twostepctl")

USERS = ["alice", "bob", "carol", "dave", "erin"]
GROUPS = "lab: alice bob carol\nadmins: carol\nstaff: dave erin\n"
PAGES = "/twostep"


def password(user):
    return user + "-pw"


def free_port():
    """A port free on both 127.0.0.1 and 127.0.0.2."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        try:
            with socket.socket() as s2:
                s2.bind(("127.0.0.2", port))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port")


def www_readable(path, mode=0o640):
    """Root-owned, group www-data (the servers' children), mode."""
    try:
        gid = grp.getgrnam("www-data").gr_gid
        if os.geteuid() == 0:
            os.chown(path, 0, gid)
    except KeyError:
        mode |= 0o004 if mode & 0o040 else 0
    os.chmod(path, mode)


# ---- files ------------------------------------------------------------------

def ctl(redis_url, key_file, *args, check=True):
    """Runs build/twostepctl; returns the CompletedProcess."""
    cmd = [TWOSTEPCTL]
    if redis_url:
        cmd += ["--redis", redis_url]
    if key_file:
        cmd += ["--key-file", key_file]
    out = subprocess.run(cmd + list(args), capture_output=True, text=True,
                         timeout=30)
    if check and out.returncode != 0:
        raise RuntimeError("twostepctl %s: exit %d: %s%s" % (
            " ".join(args), out.returncode, out.stdout, out.stderr))
    return out


def make_key_file(path):
    ctl(None, None, "keygen", "--out", path)
    www_readable(path, 0o640)
    return path


def make_htpasswd(path, users=USERS):
    first = True
    for u in users:
        flags = "-bc" if first else "-b"
        subprocess.run(["htpasswd", flags, path, u, password(u)], check=True,
                       capture_output=True)
        first = False
    www_readable(path, 0o640)
    return path


def make_groups(path, text=GROUPS):
    with open(path, "w") as f:
        f.write(text)
    www_readable(path, 0o644)
    return path


def reset_store(redis, key_file):
    """Fresh state for one test: FLUSHALL, init, and tell every server's
    cache that each user changed (a FLUSHALL alone publishes nothing)."""
    redis.flushall()
    ctl(redis.url, key_file, "init")
    for u in USERS:
        redis.cli("PUBLISH", "twostep:invalidate", u)


# ---- codes ------------------------------------------------------------------

def totp(secret, t=None, digits=6, period=30, alg="SHA1"):
    """The code of `secret` at unix time t (now when None), via oathtool."""
    args = ["oathtool", "--totp=" + alg.lower(), "-b", "-d", str(digits),
            "-s", "%ds" % period]
    if t is not None:
        args += ["-N", "@%d" % int(t)]
    out = subprocess.run(args + [secret], capture_output=True, text=True,
                         check=True)
    return out.stdout.strip()


class CodeSource:
    """Hands out TOTP codes of steps never used before for one secret, within
    the default skew window (now-1 .. now+1), so that no test waits for the
    next 30 s step. At most three codes per window; then falls back to
    waiting for the next step (never hit by the suite)."""

    def __init__(self, secret, period=30):
        self.secret = secret
        self.period = period
        self.last = None

    def next(self):
        now = time.time()
        # Too close to a step boundary: the server may already be in the
        # next step when the code arrives.
        if self.period - (now % self.period) < 1.5:
            time.sleep(self.period - (now % self.period) + 0.1)
            now = time.time()
        step = int(now // self.period)
        cand = step - 1 if self.last is None else max(step - 1, self.last + 1)
        if cand > step + 1:
            time.sleep((cand - 1) * self.period - now + 0.2)
        self.last = cand
        return totp(self.secret, cand * self.period + 1, period=self.period)

    def used(self):
        """A code whose step was already accepted (a replay)."""
        return totp(self.secret, self.last * self.period + 1,
                    period=self.period)


# ---- HTML ---------------------------------------------------------------------

def _attr(tag, name):
    m = re.search(r'\b%s\s*=\s*("([^"]*)"|\'([^\']*)\'|([^\s>]+))' % name,
                  tag, re.I)
    if not m:
        return None
    v = m.group(2) if m.group(2) is not None else (
        m.group(3) if m.group(3) is not None else m.group(4))
    return html.unescape(v)


def input_value(page, field):
    """value of the first <input name=field>, or None."""
    for tag in re.findall(r"<input\b[^>]*>", page, re.I):
        if _attr(tag, "name") == field:
            return _attr(tag, "value")
    return None


def csrf(page):
    v = input_value(page, "csrf")
    assert v, "no csrf token in page:\n" + page[:2000]
    return v


def otpauth_uri(page):
    m = re.search(r'href\s*=\s*"(otpauth://[^"]+)"', page)
    assert m, "no otpauth link in page:\n" + page[:2000]
    return html.unescape(m.group(1))


def secret_of(page):
    uri = otpauth_uri(page)
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(uri).query)
    return q["secret"][0]


def backup_codes(page):
    v = input_value(page, "codes")
    assert v, "no backup codes in page:\n" + page[:2000]
    return v.split()


# ---- clients --------------------------------------------------------------------

class SourceAddressAdapter(requests.adapters.HTTPAdapter):
    """Connects from a chosen local address (e.g. 127.0.0.2)."""

    def __init__(self, source_address, **kw):
        self.source_address = source_address
        super().__init__(**kw)

    def init_poolmanager(self, *args, **kw):
        kw["source_address"] = (self.source_address, 0)
        return super().init_poolmanager(*args, **kw)


class Client:
    """One browser: a cookie jar, Basic credentials, a source address.
    Redirects are never followed automatically: tests look at each hop."""

    def __init__(self, srv, user, source="127.0.0.1", host="127.0.0.1"):
        self.srv = srv
        self.user = user
        self.host = host
        self.s = requests.Session()
        self.s.auth = (user, password(user)) if user else None
        ad = SourceAddressAdapter(source)
        self.s.mount("http://", ad)

    def url(self, path):
        return self.srv.url(path, host=self.host)

    def get(self, path, **kw):
        kw.setdefault("allow_redirects", False)
        kw.setdefault("timeout", 10)
        return self.s.get(self.url(path), **kw)

    def head(self, path, **kw):
        kw.setdefault("allow_redirects", False)
        kw.setdefault("timeout", 10)
        return self.s.head(self.url(path), **kw)

    def post(self, path, data=None, **kw):
        kw.setdefault("allow_redirects", False)
        kw.setdefault("timeout", 10)
        return self.s.post(self.url(path), data=data, **kw)

    def cookie(self):
        """The twostep cookie value in the jar, or None."""
        for c in self.s.cookies:
            if c.name in ("twostep", "__Host-twostep"):
                return c.value
        return None

    def copy_cookie_to(self, other):
        for c in self.s.cookies:
            other.s.cookies.set_cookie(c)

    # -- flows ----------------------------------------------------------------
    def enroll(self, ret="/"):
        """Enrolls through the pages; returns (CodeSource, backup codes)."""
        r = self.get(PAGES + "/enroll", params={"r": ret})
        assert r.status_code == 200, (r.status_code, r.text[:500])
        codes = CodeSource(secret_of(r.text))
        r2 = self.post(PAGES + "/enroll", data={
            "code": codes.next(), "csrf": csrf(r.text), "r": ret})
        assert r2.status_code == 200, (r2.status_code, r2.text[:1000])
        assert self.cookie(), "no cookie after enrollment"
        return codes, backup_codes(r2.text)

    def verify(self, code, trust=False, ret="/"):
        """GET then POST the verify page; returns the POST response."""
        r = self.get(PAGES + "/verify", params={"r": ret})
        assert r.status_code == 200, (r.status_code, r.text[:500])
        data = {"code": code, "csrf": csrf(r.text), "r": ret}
        if trust:
            data["trust"] = "1"
        return self.post(PAGES + "/verify", data=data)

    def signout(self):
        r = self.get(PAGES + "/")
        assert r.status_code == 200, (r.status_code, r.text[:500])
        return self.post(PAGES + "/signout", data={"csrf": csrf(r.text)})


def set_cookie_headers(resp):
    """Every Set-Cookie header line of a response."""
    raw = resp.raw.headers
    if hasattr(raw, "getlist"):
        return raw.getlist("Set-Cookie")
    v = resp.headers.get("Set-Cookie")
    return [v] if v else []


def wait_until(pred, timeout, interval=0.05):
    """Polls pred() until true; returns the seconds it took, or None."""
    t0 = time.monotonic()
    while True:
        if pred():
            return time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            return None
        time.sleep(interval)


def which_or_skip(name):
    return shutil.which(name)
