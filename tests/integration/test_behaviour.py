"""Behaviour of a protected server, the same scenarios for every server kind
(see conftest.SERVER_KINDS). Locations of the test configuration:

  /twostep/        the pages (Basic auth)
  /twostep-short/  the pages, session cookies living 2 s
  /lab/            TwoStep On, bind exact    (+ index.html, file.txt)
  /lab-prefix/     TwoStepBindIP prefix 8 64
  /lab-open/       TwoStepBindIP off
  /lab-deny/       TwoStepStoreDown deny
  /public/         no authentication at all
Groups: lab (enforced) = alice bob carol; admins = carol; staff = dave erin.
"""

import html
import re
import time
import urllib.parse

import requests

from harness import (PAGES, Client, csrf, ctl, input_value, make_groups,
                     secret_of,
                     set_cookie_headers, totp, wait_until)

LAB_FILE = "/lab/file.txt"
CODE_REFUSED = "That code didn't"


def refused(resp):
    """403 with the page's "That code didn't ..." message."""
    return (resp.status_code == 403
            and CODE_REFUSED in html.unescape(resp.text))


def verify_redirect(path):
    return PAGES + "/verify?r=" + urllib.parse.quote(path, safe="")


def location_path(resp):
    loc = resp.headers.get("Location", "")
    parts = urllib.parse.urlsplit(loc)
    return parts.path + ("?" + parts.query if parts.query else "")


def enrolled(server, user, trust=False, source="127.0.0.1"):
    """A user enrolled through the pages, plus a second browser verified
    with a TOTP code (trusted device when trust). Returns (browser, codes,
    backup codes)."""
    first = Client(server, user, source=source)
    codes, backups = first.enroll()
    b = Client(server, user, source=source)
    r = b.verify(codes.next(), trust=trust, ret=LAB_FILE)
    assert r.status_code == 303, (r.status_code, r.text[:500])
    assert location_path(r) == LAB_FILE
    assert b.cookie()
    return b, codes, backups


def fresh_get(server, path, cookie_from, host="127.0.0.1"):
    """GET on a new connection (so on any child process), with the twostep
    cookie of a browser."""
    c = Client(server, cookie_from.user, host=host)
    cookie_from.copy_cookie_to(c)
    return c.get(path, headers={"Connection": "close"})


def header_count(resp, name):
    return len(resp.raw.headers.getlist(name))


# ---- enrollment and verification ------------------------------------------

def test_not_enrolled_and_not_enforced_passes(server):
    dave = Client(server, "dave")
    r = dave.get(LAB_FILE)
    assert r.status_code == 200
    assert r.text == "lab file\n"
    assert r.headers["X-TwoStep-Status"] == "not-enrolled"


def test_public_needs_nothing(server):
    r = requests.get(server.url("/public/"), timeout=10)
    assert r.status_code == 200 and "public" in r.text


def test_enforced_user_is_sent_to_enrollment_until_setup_succeeds(server):
    alice = Client(server, "alice")
    r = alice.get(LAB_FILE)
    assert r.status_code == 303
    assert location_path(r) == PAGES + "/enroll?r=" + urllib.parse.quote(
        LAB_FILE, safe="")
    assert "lab file" not in r.text
    page = alice.get(location_path(r))
    assert page.status_code == 200
    secret = secret_of(page.text)
    # A reload shows the same pending secret.
    assert secret_of(alice.get(PAGES + "/enroll").text) == secret
    # Still nothing while the set-up is pending, nor after a wrong code.
    assert alice.get(LAB_FILE).status_code == 303
    now = int(time.time())
    wrong = f"{(int(totp(secret, now)) + 1) % 1000000:06d}"
    bad = alice.post(PAGES + "/enroll", data={
        "code": wrong, "csrf": csrf(page.text), "r": LAB_FILE})
    assert refused(bad)
    assert secret_of(bad.text) == secret
    assert alice.get(LAB_FILE).status_code == 303
    assert alice.get("/lab/").status_code == 303
    # The right code: 2-step on, backup codes shown, a session cookie.
    ok = alice.post(PAGES + "/enroll", data={
        "code": totp(secret, now - 30), "csrf": csrf(page.text),
        "r": LAB_FILE})
    assert ok.status_code == 200, ok.text[:1000]
    codes = input_value(ok.text, "codes").split()
    assert len(codes) == 10
    assert alice.cookie()
    r = alice.get(LAB_FILE)
    assert r.status_code == 200 and r.text == "lab file\n"
    assert r.headers["X-TwoStep-Status"] == "verified"
    assert r.headers["X-TwoStep-User"] == "alice"


def test_enrolled_user_without_cookie_is_sent_to_verify(server):
    b, codes, _ = enrolled(server, "dave")
    fresh = Client(server, "dave")
    r = fresh.get(LAB_FILE + "?a=1&b=2")
    assert r.status_code == 303
    assert location_path(r) == verify_redirect(LAB_FILE + "?a=1&b=2")
    assert "lab file" not in r.text
    # The verified browser passes.
    r = b.get(LAB_FILE)
    assert r.status_code == 200 and r.text == "lab file\n"
    assert r.headers["X-TwoStep-Status"] == "verified"


def test_session_and_trusted_cookie_attributes(server):
    first = Client(server, "dave")
    codes, _ = first.enroll()
    s = Client(server, "dave")
    r = s.verify(codes.next(), trust=False, ret="/lab/")
    assert r.status_code == 303 and location_path(r) == "/lab/"
    (sc,) = set_cookie_headers(r)
    assert sc.startswith("twostep=")
    attrs = [a.strip().lower() for a in sc.split(";")[1:]]
    assert "path=/" in attrs and "httponly" in attrs
    assert "samesite=lax" in attrs
    assert not any(a.startswith("max-age") for a in attrs)
    assert "secure" not in attrs  # plain HTTP
    t = Client(server, "dave")
    r = t.verify(codes.next(), trust=True, ret="/lab/")
    assert r.status_code == 303
    (tc,) = set_cookie_headers(r)
    attrs = [a.strip().lower() for a in tc.split(";")[1:]]
    assert "max-age=2592000" in attrs
    assert "httponly" in attrs and "samesite=lax" in attrs
    r = t.get("/lab/")
    assert r.status_code == 200 and "lab index" in r.text
    assert r.headers["X-TwoStep-Status"] == "trusted"


def test_tampered_cookie_is_refused(server):
    b, _, _ = enrolled(server, "dave")
    value = b.cookie()
    parts = value.split(".")
    assert len(parts) == 10, value
    forged = []
    p = list(parts)
    p[5] = str(int(p[5]) + 86400 * 365)           # later expiry
    forged.append(".".join(p))
    p = list(parts)
    p[1] = "d" if p[1] == "s" else "s"            # other kind
    forged.append(".".join(p))
    forged.append(value[:-1] + ("A" if value[-1] != "A" else "B"))  # MAC
    forged.append(value[: len(value) // 2])       # truncated
    forged.append("x" * 5000)                     # huge
    forged.append("1." + "." * 20)
    for v in forged:
        c = Client(server, "dave")
        c.s.cookies.set("twostep", v)
        r = c.get(LAB_FILE)
        assert r.status_code == 303, (v, r.status_code)
        assert location_path(r) == verify_redirect(LAB_FILE)
    # The genuine one still passes.
    assert b.get(LAB_FILE).status_code == 200


def test_signed_expiry_is_enforced(server):
    first = Client(server, "dave")
    codes, _ = first.enroll()
    b = Client(server, "dave")
    page = b.get("/twostep-short/verify", params={"r": LAB_FILE})
    assert page.status_code == 200
    r = b.post("/twostep-short/verify", data={
        "code": codes.next(), "csrf": csrf(page.text), "r": LAB_FILE})
    assert r.status_code == 303
    assert b.get(LAB_FILE).status_code == 200
    t = wait_until(lambda: b.get(LAB_FILE).status_code == 303, 4, 0.2)
    assert t is not None, "a 2 s session cookie still passes after 4 s"


# ---- IP binding -------------------------------------------------------------

def test_trusted_cookie_from_another_address(server):
    b, _, _ = enrolled(server, "dave", trust=True)
    other = Client(server, "dave", source="127.0.0.2")
    b.copy_cookie_to(other)
    r = other.get(LAB_FILE)
    assert r.status_code == 303
    assert location_path(r) == verify_redirect(LAB_FILE)
    r = other.get("/lab-prefix/file.txt")
    assert r.status_code == 200 and r.text == "lab-prefix file\n"
    r = other.get("/lab-open/file.txt")
    assert r.status_code == 200 and r.text == "lab-open file\n"
    # And from the address it was issued to, everywhere.
    for path in (LAB_FILE, "/lab-prefix/file.txt", "/lab-open/file.txt"):
        assert b.get(path).status_code == 200, path


# ---- codes ------------------------------------------------------------------------

def test_backup_code_works_once(server):
    first = Client(server, "dave")
    _, backups = first.enroll()
    a = Client(server, "dave")
    r = a.verify(backups[0], ret=LAB_FILE)
    assert r.status_code == 303 and location_path(r) == LAB_FILE
    assert a.get(LAB_FILE).status_code == 200
    b = Client(server, "dave")
    r = b.verify(backups[0], ret=LAB_FILE)
    assert refused(r)
    assert b.get(LAB_FILE).status_code == 303


def test_replayed_totp_code_is_refused(server):
    first = Client(server, "dave")
    codes, _ = first.enroll()
    a = Client(server, "dave")
    code = codes.next()
    assert a.verify(code).status_code == 303
    b = Client(server, "dave")
    r = b.verify(code)
    assert refused(r)
    # The enrollment code is spent too.
    c = Client(server, "dave")
    r = c.verify(totp(codes.secret, (codes.last - 1) * 30 + 1))
    assert r.status_code == 403


def test_attempt_limit_gives_429_with_retry_after(server):
    first = Client(server, "dave")
    codes, _ = first.enroll()
    c = Client(server, "dave")
    page = c.get(PAGES + "/verify")
    token = csrf(page.text)
    statuses = []
    for _ in range(5):
        r = c.post(PAGES + "/verify", data={"code": "000000", "csrf": token,
                                            "r": "/"})
        statuses.append(r.status_code)
    assert statuses[:4] == [403] * 4, statuses
    assert statuses[4] in (403, 429), statuses
    # Locked: even the right code gets 429, unchecked.
    r = c.post(PAGES + "/verify", data={"code": codes.next(), "csrf": token,
                                        "r": "/"})
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) > 0
    assert not c.cookie()


# ---- pages ------------------------------------------------------------------------

def test_admin_page_only_for_admin_groups(server):
    alice = Client(server, "alice")
    r = alice.get(PAGES + "/admin")
    assert r.status_code == 403
    dave = Client(server, "dave")
    assert dave.get(PAGES + "/admin").status_code == 403
    carol = Client(server, "carol")
    # An administrator's password alone does not reach the admin page: set
    # up 2-step first, then verify in this browser.
    r = carol.get(PAGES + "/admin")
    assert r.status_code == 303
    assert location_path(r) == PAGES + "/enroll?r=%2Ftwostep%2Fadmin"
    codes, _ = carol.enroll()
    r = carol.get(PAGES + "/admin")
    assert r.status_code == 200
    assert "carol" in r.text
    other_browser = Client(server, "carol")
    r = other_browser.get(PAGES + "/admin")
    assert r.status_code == 303
    assert location_path(r) == PAGES + "/verify?r=%2Ftwostep%2Fadmin"
    r = other_browser.post(PAGES + "/admin/disable", data={
        "user": "alice", "csrf": csrf(carol.get(PAGES + "/").text)})
    assert r.status_code in (303, 400)
    assert not location_path(r).startswith(PAGES + "/admin")


def _revocation_is_fast(server, victim, revoke):
    """Warms every child with the victim's trusted cookie, revokes, and
    checks the cookie stops passing within 1 s on fresh connections."""
    for _ in range(12):
        r = fresh_get(server, LAB_FILE, victim)
        assert r.status_code == 200
        assert r.headers["X-TwoStep-Status"] == "trusted"
    revoke()
    t0 = time.monotonic()
    took = wait_until(
        lambda: fresh_get(server, LAB_FILE, victim).status_code != 200,
        1.0, 0.02)
    assert took is not None, "the revoked cookie still passes after 1 s"
    time.sleep(max(0.0, 1.0 - (time.monotonic() - t0)))
    statuses = [fresh_get(server, LAB_FILE, victim).status_code
                for _ in range(12)]
    assert 200 not in statuses, statuses


def test_admin_disable_revokes_within_one_second(server):
    alice, _, _ = enrolled(server, "alice", trust=True)
    carol = Client(server, "carol")
    carol.enroll()

    def revoke():
        page = carol.get(PAGES + "/admin")
        assert page.status_code == 200
        r = carol.post(PAGES + "/admin/disable",
                       data={"user": "alice", "csrf": csrf(page.text)})
        assert r.status_code == 303
        assert location_path(r) == PAGES + "/admin?done=disabled&user=alice"
        assert "now off for alice" in carol.get(location_path(r)).text

    _revocation_is_fast(server, alice, revoke)
    # Enforced and no longer enrolled: back to enrollment.
    r = fresh_get(server, LAB_FILE, alice)
    assert r.status_code == 303
    assert location_path(r).startswith(PAGES + "/enroll")
    # Audited with the admin's name.
    assert any("carol" in line and "alice" in line
               for line in server.error_log().splitlines()
               if "twostep:" in line), server.error_log()[-3000:]


def test_twostepctl_disable_revokes_within_one_second(server):
    alice, _, _ = enrolled(server, "alice", trust=True)
    env = server.env

    def revoke():
        ctl(env.redis.url, env.key_file, "disable", "alice")

    _revocation_is_fast(server, alice, revoke)


def test_csrf_missing_or_forged_is_400(server):
    first = Client(server, "dave")
    codes, _ = first.enroll()
    c = Client(server, "dave")
    r = c.post(PAGES + "/verify", data={"code": codes.next(), "r": "/"})
    assert r.status_code == 400
    assert "expired" in r.text
    r = c.post(PAGES + "/verify", data={"code": "123456", "csrf": "x" * 40,
                                        "r": "/"})
    assert r.status_code == 400
    # A real token of another user is forged for this one.
    erin = Client(server, "erin")
    token = csrf(erin.get(PAGES + "/enroll").text)
    r = c.post(PAGES + "/verify", data={"code": "123456", "csrf": token,
                                        "r": "/"})
    assert r.status_code == 400
    r = c.post(PAGES + "/signout", data={})
    assert r.status_code == 400


def test_hostile_return_paths_end_at_root(server):
    first = Client(server, "dave")
    _, backups = first.enroll()
    hostile = ["//x", "/\\x", "https:x", "/\r\nX", "/%2F%2Fx",
               "http://evil.example/", "/%0d%0aX"]
    for i, ret in enumerate(hostile[:5]):
        c = Client(server, "dave")
        page = c.get(PAGES + "/verify", params={"r": ret})
        assert page.status_code == 200
        assert input_value(page.text, "r") == "/", ret
        r = c.post(PAGES + "/verify", data={
            "code": backups[i], "csrf": csrf(page.text), "r": ret})
        assert r.status_code == 303, (ret, r.status_code)
        assert r.headers["Location"] in ("/", server.url("/")), (
            ret, r.headers["Location"])
    # The raw forms in the query string too.
    c = Client(server, "dave")
    for raw in ("//x", "/%5Cx", "https:x", "/%0d%0aX", "/%2F%2Fx"):
        page = c.s.get(server.url(PAGES + "/verify?r=" + raw),
                       allow_redirects=False, timeout=10)
        assert page.status_code == 200
        assert input_value(page.text, "r") == "/", raw


def test_post_to_protected_url_is_redirected_not_swallowed(server):
    enrolled(server, "dave")
    c = Client(server, "dave")
    r = c.post(LAB_FILE, data={"field": "x" * 5000})
    assert r.status_code == 303
    assert location_path(r) == verify_redirect(LAB_FILE)
    # The connection stays usable after the unread body.
    r2 = c.get(LAB_FILE)
    assert r2.status_code == 303


def test_head_requests(server):
    b, _, _ = enrolled(server, "dave")
    fresh = Client(server, "dave")
    r = fresh.head(LAB_FILE)
    assert r.status_code == 303
    assert location_path(r) == verify_redirect(LAB_FILE)
    assert r.text == ""
    r = b.head(LAB_FILE)
    assert r.status_code == 200
    assert r.text == ""
    assert int(r.headers["Content-Length"]) == len("lab file\n")


def test_directory_index_after_verification(server):
    b, _, _ = enrolled(server, "dave")
    r = b.get("/lab/")
    assert r.status_code == 200 and "lab index" in r.text
    assert r.headers["X-TwoStep-Status"] == "verified"
    fresh = Client(server, "dave")
    r = fresh.get("/lab/")
    assert r.status_code == 303
    assert location_path(r) == verify_redirect("/lab/")


def test_status_and_user_reach_the_access_log(server):
    b, _, _ = enrolled(server, "dave")
    assert b.get("/lab/file.txt?marker=envlog").status_code == 200

    def logged():
        return any("marker=envlog" in line and "status=verified" in line
                   and "user=dave" in line
                   for line in server.access_log().splitlines())
    assert wait_until(logged, 2), server.access_log()[-2000:]


def test_no_duplicated_headers(server):
    b, _, _ = enrolled(server, "dave")
    fresh = Client(server, "dave")
    responses = [fresh.get(LAB_FILE), fresh.get(PAGES + "/verify"),
                 fresh.post(LAB_FILE, data={"a": "b"}), b.get(LAB_FILE),
                 b.get(PAGES + "/")]
    for r in responses:
        for name in set(k.lower() for k in r.raw.headers.keys()):
            if name == "set-cookie":
                continue
            assert header_count(r, name) == 1, (r.url, name,
                                                r.raw.headers.getlist(name))
    page = responses[1]
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "Content-Security-Policy" in page.headers


def test_sign_out(server):
    b, _, _ = enrolled(server, "dave", trust=True)
    assert b.get(LAB_FILE).status_code == 200
    old = b.cookie()
    r = b.signout()
    assert r.status_code == 200
    (sc,) = set_cookie_headers(r)
    assert re.match(r"twostep=;", sc) and "max-age=0" in sc.lower()
    assert b.get(LAB_FILE).status_code == 303
    # The signed-out trusted device is revoked: its old cookie is dead too.
    c = Client(server, "dave")
    c.s.cookies.set("twostep", old)
    assert wait_until(lambda: c.get(LAB_FILE).status_code == 303, 1.0)


# ---- store outage -----------------------------------------------------------------

def test_store_down_and_back(server):
    redis = server.env.redis
    b, codes, backups = enrolled(server, "dave", trust=True)
    assert b.get("/lab-deny/file.txt").status_code == 200
    redis.cli("SAVE")           # so that the restart keeps the data
    redis.stop()
    # A new login cannot be checked: 503 with Retry-After.
    fresh = Client(server, "dave")
    r = fresh.get(LAB_FILE)
    assert r.status_code == 503
    assert r.headers["Retry-After"] == "30"
    assert "lab file" not in r.text
    # A valid cookie passes where store_down is "cookie", not under "deny".
    r = b.get(LAB_FILE)
    assert r.status_code == 200 and r.text == "lab file\n"
    assert r.headers["X-TwoStep-Status"] in ("store-down", "trusted")
    r = b.get("/lab-deny/file.txt")
    assert r.status_code == 503
    # Pages need the store.
    assert fresh.get(PAGES + "/verify").status_code == 503
    # Back, with no reload.
    redis.start()

    def works():
        return fresh.get(LAB_FILE).status_code == 303
    assert wait_until(works, 5, 0.1)
    assert b.get("/lab-deny/file.txt").status_code == 200
    r = fresh.verify(backups[0], ret=LAB_FILE)
    assert r.status_code == 303
    assert fresh.get(LAB_FILE).status_code == 200


def test_store_without_marker_fails_closed(server):
    redis = server.env.redis
    enrolled(server, "dave")
    redis.flushall()            # the marker is gone
    fresh = Client(server, "dave")
    r = fresh.get(LAB_FILE)
    assert r.status_code == 503
    ctl(server.env.redis.url, server.env.key_file, "init")
    # Marker back; dave's data is gone, so dave is simply not enrolled.
    r = Client(server, "dave").get(LAB_FILE)
    assert r.status_code == 200


def test_frozen_store_times_out(server):
    redis = server.env.redis
    b, _, _ = enrolled(server, "dave")
    redis.freeze()
    try:
        t0 = time.monotonic()
        r = Client(server, "dave").get(LAB_FILE)
        took = time.monotonic() - t0
        assert r.status_code == 503
        assert took < 3, took
    finally:
        redis.thaw()
    assert wait_until(
        lambda: Client(server, "dave").get(LAB_FILE).status_code == 303, 5)


def test_audit_lines_in_error_log(server):
    first = Client(server, "dave")
    codes, backups = first.enroll()
    c = Client(server, "dave")
    c.verify("000000")
    c.verify(backups[0])
    log = server.error_log()
    assert re.search(r"twostep: .*dave", log), log[-3000:]
    text = "\n".join(line for line in log.splitlines()
                     if "twostep:" in line and "dave" in line)
    assert "enrol" in text.lower(), text
    assert "backup" in text.lower(), text


# ---- concurrency and reload ---------------------------------------------------

def test_concurrent_requests(server):
    import concurrent.futures
    b, _, _ = enrolled(server, "dave", trust=True)

    def one(i):
        if i % 3 == 0:
            r = Client(server, "dave").get(LAB_FILE)       # no cookie
            return r.status_code == 303
        if i % 3 == 1:
            r = fresh_get(server, LAB_FILE, b)
            return r.status_code == 200 and r.text == "lab file\n"
        r = Client(server, "erin").get(PAGES + "/enroll")
        return r.status_code == 200
    with concurrent.futures.ThreadPoolExecutor(12) as ex:
        results = list(ex.map(one, range(120)))
    assert all(results), results.count(False)


def test_graceful_reload_keeps_cookies_and_store(server):
    b, _, backups = enrolled(server, "dave", trust=True)
    server.reload()
    assert b.get(LAB_FILE).status_code == 200
    c = Client(server, "dave")
    assert c.get(LAB_FILE).status_code == 303
    assert c.verify(backups[0], ret=LAB_FILE).status_code == 303
    assert c.get(LAB_FILE).status_code == 200


def test_group_file_edit_takes_effect_without_reload(server):
    """Adding a user to an enforced group sends them to enrollment at their
    next request, in every process, without a reload (each process looks
    at the file at most once a second)."""
    dave = Client(server, "dave")
    assert dave.get(LAB_FILE).status_code == 200
    path = server.env.groupfile
    with open(path) as f:
        original = f.read()

    def all_answer(status):
        return all(dave.get(LAB_FILE, headers={"Connection": "close"})
                   .status_code == status for _ in range(8))
    try:
        make_groups(path, original.replace("lab: alice bob carol",
                                           "lab: alice bob carol dave"))
        assert wait_until(lambda: all_answer(303), timeout=5) is not None
        r = dave.get(LAB_FILE)
        assert location_path(r).startswith(PAGES + "/enroll")
    finally:
        make_groups(path, original)
    assert wait_until(lambda: all_answer(200), timeout=5) is not None


def test_account_page_needs_the_second_step(server):
    """With 2-step on, the account page (devices, addresses, buttons) and
    revoking devices are for a browser that passed the second step: the
    password alone is sent to verify first."""
    alice, _, _ = enrolled(server, "alice", trust=True)
    assert alice.get(PAGES + "/").status_code == 200
    thief = Client(server, "alice")               # the password only
    r = thief.get(PAGES + "/")
    assert r.status_code == 303
    assert location_path(r) == PAGES + "/verify?r=%2Ftwostep%2F"
    token = csrf(thief.get(PAGES + "/enroll").text)
    r = thief.post(PAGES + "/devices/revoke",
                   data={"device": "all", "csrf": token})
    assert r.status_code == 303
    assert location_path(r).startswith(PAGES + "/verify")
    # nothing was revoked: the trusted browser still passes
    r = alice.get(LAB_FILE)
    assert r.status_code == 200 and r.headers["X-TwoStep-Status"] == "trusted"


def test_oversized_form_is_refused(server):
    """Both servers apply the core's form limit (64 KiB) before reading."""
    alice = Client(server, "alice")
    r = alice.post(PAGES + "/verify", data={"code": "1" * (70 * 1024)})
    assert r.status_code == 413
