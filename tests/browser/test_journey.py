"""The user's journey in a real browser (headless Chromium), against nginx and
Apache: enrollment from the QR code, backup codes and their download, the
session versus "trust this computer", a backup code, the account and admin
pages, a wrong code and the lockout, and a cookie of one server accepted by
the other.

Users and groups are those of tests/integration (alice, bob, carol in the
enforced group lab; carol in admins; passwords USER-pw). Codes come from
oathtool (harness.CodeSource: never-used steps within the skew window, so
no test waits for the next 30 s step).
"""

import os
import re
import subprocess
import time

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from harness import CodeSource, ctl, totp

CODE_RE = re.compile(r"^[0-9A-Z]{5}-[0-9A-Z]{5}$")


def zbar(png_path):
    """The text of the QR code in an image, via zbarimg."""
    out = subprocess.run(["zbarimg", "--raw", "-q", png_path],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, "zbarimg found no code in %s" % png_path
    return out.stdout.strip()


def restart(browsers, b, srv):
    """A browser restart: a new profile that keeps only the persistent
    cookies (those with an expiry); session cookies are gone."""
    keep = b.persistent_cookies()
    b.quit()
    nb = browsers(b.user)
    if keep:
        nb.add_cookies(srv, keep)
    return nb


def enroll_in_browser(b, srv, shots=True):
    """From /lab/ through the enrollment page to the backup codes page.
    Returns (CodeSource, the backup codes shown)."""
    b.open(srv, "/lab/")
    b.wait_path("/twostep/enroll")
    assert "requires 2-step verification" in b.text()
    if shots:
        b.shot("enroll")
    # The QR code, as a camera would see it, against the tappable link.
    svg = b.find(".qr svg")
    png = os.path.join(b.tmp, "qr.png")
    svg.screenshot(png)
    link = b.find("a[href^='otpauth:']").get_attribute("href")
    uri = zbar(png)
    assert uri == link, (uri, link)
    m = re.search(r"[?&]secret=([A-Z2-7]+)", uri)
    assert m, uri
    assert uri.startswith("otpauth://totp/")
    codes = CodeSource(m.group(1))
    b.submit_code(codes.next(), button="Verify and save")
    assert "now on" in b.text(), b.text()
    shown = [li.text.strip() for li in b.find_all(".codes li")]
    assert len(shown) == 10 and all(CODE_RE.match(c) for c in shown), shown
    return codes, shown


def test_journey(server, browsers):
    srv = server

    # 1. alice (group lab, enforced) is sent to enrollment; the QR code
    #    decodes to the link's URI; oathtool's code enables 2-step.
    b = browsers("alice")
    codes, backup = enroll_in_browser(b, srv)
    b.shot("backup-codes")

    # 2. Download gives a file with the same codes.
    btn = [x for x in b.find_all("button") if x.text.strip() == "Download"]
    assert btn, "no Download button"
    btn[0].click()
    name, text = b.wait_download()
    assert name == "twostep-backup-codes.txt", name
    in_file = [ln.strip() for ln in text.splitlines()
               if CODE_RE.match(ln.strip())]
    assert in_file == backup, (in_file, backup)

    # 3. Continue returns to the page first asked for.
    b.find("a[href='/lab/']").click()
    b.wait_path("/lab/")
    assert "lab index" in b.h1()
    b.shot("lab")

    # 4. Browser restart, no trust box: the session cookie is gone and the
    #    code is asked again.
    b = restart(browsers, b, srv)
    b.open(srv, "/lab/")
    b.wait_path("/twostep/verify")
    assert "Trust this computer" in b.text()
    b.shot("verify")
    b.submit_code(codes.next())
    b.wait_path("/lab/")
    b = restart(browsers, b, srv)
    b.open(srv, "/lab/")
    b.wait_path("/twostep/verify")

    # 5. With the trust box ticked: a new browser session with the same
    #    cookies goes straight through.
    b.submit_code(codes.next(), trust=True)
    b.wait_path("/lab/")
    assert b.persistent_cookies(), "no persistent (device) cookie"
    b = restart(browsers, b, srv)
    b.open(srv, "/lab/")
    b.wait_path("/lab/")
    assert "lab index" in b.h1()
    trusted = b

    # 6. A backup code works once (two other computers).
    other = browsers("alice")
    other.open(srv, "/lab/")
    other.wait_path("/twostep/verify")
    other.submit_code(backup[0])
    other.wait_path("/lab/")
    other.quit()
    third = browsers("alice")
    third.open(srv, "/lab/")
    third.wait_path("/twostep/verify")
    third.submit_code(backup[0].lower())
    assert third.path().startswith("/twostep/verify")
    assert "didn't work" in third.find("[role=alert]").text
    third.shot("verify-backup-code-used")
    third.quit()

    # 7. The account page lists the trusted computer and revokes it.
    b = trusted
    b.open(srv, "/twostep/")
    b.wait_path("/twostep/")
    rows = [f for f in b.find_all("form[action$='/devices/revoke']")
            if f.find_element(By.NAME, "device").get_attribute("value") != "all"]
    assert len(rows) == 1, b.text()
    assert "Chrome" in b.text()
    b.shot("account")
    b.click_button("Revoke", scope=rows[0])
    b.wait_path("/twostep/")
    assert not [f for f in b.find_all("form[action$='/devices/revoke']")
                if f.find_element(By.NAME, "device").get_attribute("value") != "all"]
    b.shot("account-revoked")
    b.open(srv, "/lab/")
    b.wait_path("/twostep/verify")


def enroll_cli(env, user):
    """Turns 2-step on for user with twostepctl; returns a CodeSource."""
    out = ctl(env.redis.url, env.key_file, "enroll", user).stdout
    m = re.search(r"secret: ([A-Z2-7]+)", out)
    assert m, out
    return CodeSource(m.group(1))


def sign_in(b, srv, codes, path="/lab/"):
    b.open(srv, path)
    b.wait_path("/twostep/verify")
    b.submit_code(codes.next())
    b.wait_path(path)


def test_admin_disables_user(server, browsers):
    srv, env = server, server.env
    carol = enroll_cli(env, "carol")
    bob_codes = enroll_cli(env, "bob")

    # bob (verified, not an admin) is refused the admin page
    bob = browsers("bob")
    sign_in(bob, srv, bob_codes)
    bob.open(srv, "/twostep/admin")
    bob.wait_loaded()
    assert "administrator" in bob.text().lower(), bob.text()
    assert not bob.find_all("form[action$='/admin/disable']")
    bob.shot("admin-refused")

    b = browsers("carol")
    sign_in(b, srv, carol)
    b.open(srv, "/twostep/admin")
    b.wait_path("/twostep/admin")
    b.shot("admin")
    row = [tr for tr in b.find_all("tr") if tr.find_elements(
        By.CSS_SELECTOR, "input[name=user][value=bob]")]
    assert row, b.text()
    b.click_button("Disable", scope=row[0])
    b.wait_path("/twostep/admin")
    b.shot("admin-disabled")
    st = ctl(env.redis.url, env.key_file, "--json", "status", "bob").stdout
    assert '"enabled":false' in st.replace(" ", ""), st
    # bob's verified browser is sent to set-up again (group lab requires
    # it). The servers' caches learn of the change from Redis: the
    # contract is "everywhere within 1 second", so poll up to 2 s.
    def sent_to_enroll(_):
        bob.open(srv, "/lab/")
        bob.wait_loaded()
        return bob.path().startswith("/twostep/enroll")
    WebDriverWait(bob.d, 2, poll_frequency=0.2).until(
        sent_to_enroll, "bob's old cookie still opens /lab/ after 2 s")


def test_wrong_code_and_lockout(server, browsers):
    srv, env = server, server.env
    codes = enroll_cli(env, "bob")
    b = browsers("bob")
    b.open(srv, "/lab/")
    b.wait_path("/twostep/verify")
    # a code that is none of the window's (now-1 .. now+1 and a margin)
    now = time.time()
    window = {totp(codes.secret, now + k * 30) for k in range(-2, 3)}
    wrong = next(c for c in ("000000", "111111", "222222", "333333",
                             "444444", "555555") if c not in window)
    b.submit_code(wrong)
    alert = b.find("[role=alert]").text
    assert "didn't work" in alert and "backup code" in alert, alert
    b.shot("verify-wrong-code")
    for _ in range(6):
        if "Try again in" in b.text():
            break
        b.submit_code(wrong)
    body = b.text()
    assert re.search(r"Try again in (1[0-5]|[1-9]) minutes?", body), body
    b.shot("locked")
    # even the right code is refused while locked
    b.open(srv, "/twostep/verify")
    b.wait_path("/twostep/verify")
    b.submit_code(codes.next())
    assert "Try again in" in b.text()


def last_lab_request(srv):
    """The access log line of the server's last GET /lab/."""
    lines = [ln for ln in srv.access_log().splitlines()
             if '"GET /lab/ ' in ln]
    return lines[-1] if lines else ""


def test_cookie_of_nginx_opens_apache(fresh, browsers):
    nginx, apache = fresh["nginx"], fresh["apache"]
    b = browsers("alice")
    enroll_in_browser(b, nginx, shots=False)
    # The cookie is host-only for 127.0.0.1: the browser sends it to both
    # ports. Apache accepts what nginx signed (one key, one Redis).
    b.open(apache, "/lab/")
    b.wait_path("/lab/")
    assert "lab index" in b.h1()
    assert "status=verified" in last_lab_request(apache)
    # and the other way: a trusted device made on Apache opens nginx
    b2 = browsers("bob")
    bob = enroll_cli(fresh["nginx"].env, "bob")
    b2.open(apache, "/lab/")
    b2.wait_path("/twostep/verify")
    b2.submit_code(bob.next(), trust=True)
    b2.wait_path("/lab/")
    b2 = restart(browsers, b2, apache)
    b2.open(nginx, "/lab/")
    b2.wait_path("/lab/")
    assert "lab index" in b2.h1()
    assert "status=trusted" in last_lab_request(nginx)
