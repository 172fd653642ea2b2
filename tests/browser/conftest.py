"""Fixtures of the browser tests: headless Chromium (Selenium) against the
servers of the integration suite.

Reused from tests/integration (not copied): the server classes
(server_apache.ApacheServer, server_nginx.NginxServer), the Redis, key file,
htpasswd and group file of its `env` fixture, reset_store, the code helpers.
Both servers run at once for the whole session (the cross-server test needs
both), sharing that Redis and key file.

Screenshots of every page, at 375 px and 1280 px width, go to
tests/output/browser/<test>/ (not committed).
"""

import base64
import importlib.util
import os
import shutil
import sys
import tempfile

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

HERE = os.path.dirname(os.path.abspath(__file__))
INTEGRATION = os.path.join(HERE, "..", "integration")
OUTPUT = os.path.join(HERE, "..", "output", "browser")
sys.path.insert(0, INTEGRATION)

# The integration suite's conftest, under its own module name so that it
# cannot clash with this file's "conftest" when both suites run together.
_spec = importlib.util.spec_from_file_location(
    "twostep_integration_conftest", os.path.join(INTEGRATION, "conftest.py"))
_it = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_it)

from harness import (BUILD, free_port, password,  # noqa: E402
                     reset_store)

env = _it.env          # the session's Redis, key file, htpasswd, groups
SERVER_KINDS = _it.SERVER_KINDS
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM = "/usr/bin/chromium"
WIDTHS = (375, 1280)
WAIT = 10              # seconds any page may take to appear


@pytest.fixture(scope="session")
def servers(env):
    """Both servers, started once, sharing env's Redis and key file."""
    for tool in (CHROMEDRIVER, CHROMIUM, "/usr/bin/zbarimg", "/usr/bin/oathtool"):
        if not os.access(tool, os.X_OK):
            pytest.fail("%s is missing: run make deps" % tool)
    started = {}
    try:
        for kind in SERVER_KINDS:
            so = {"apache": "mod_twostep.so",
                  "nginx": "ngx_http_twostep_module.so"}[kind]
            if not os.path.exists(os.path.join(BUILD, so)):
                pytest.fail("the %s module is not built: run make" % kind)
            d = os.path.join(env.tmp, "browser-" + kind)
            os.makedirs(d, exist_ok=True)
            os.chmod(d, 0o755)
            srv = _it.server_class(kind)()
            srv.start(d, free_port(), env.redis.url, env.key_file,
                      env.htpasswd, env.groupfile)
            srv.env = env
            started[kind] = srv
        yield started
    finally:
        for srv in started.values():
            srv.stop()


def _check_logs(srvs, before):
    for kind, srv in srvs.items():
        new = srv.error_log()[before[kind]:]
        bad = [ln for ln in new.splitlines() if any(f in ln for f in _it.FATAL)]
        assert not bad, "%s error log:\n%s" % (kind, "\n".join(bad))


@pytest.fixture
def fresh(servers, env):
    """Every test starts from an empty store (FLUSHALL + init) and ends with
    no crash in either server's error log."""
    reset_store(env.redis, env.key_file)
    before = {k: len(s.error_log()) for k, s in servers.items()}
    yield servers
    _check_logs(servers, before)


@pytest.fixture(params=SERVER_KINDS)
def server(request, fresh):
    """One server kind per test run, with a fresh store."""
    return fresh[request.param]


# ---- the browser ------------------------------------------------------------

class Browser:
    """One Chromium with its own profile (user-data-dir), download folder and
    screenshot numbering.

    Basic auth: the first navigation to an origin carries the credentials in
    the URL (http://alice:pw@127.0.0.1:PORT/lab/). Headless Chromium answers
    the server's 401 challenge with them and keeps them for the origin's
    later navigations, form POSTs and redirects, so only `open` needs them.
    (Checked with Chromium 120+ --headless=new; the alternative, an
    Authorization header set with CDP Network.setExtraHTTPHeaders, is not
    needed.)"""

    def __init__(self, tmp, shots, user=None):
        self.tmp = tempfile.mkdtemp(prefix="chrome-", dir=tmp)
        self.downloads = os.path.join(self.tmp, "downloads")
        os.makedirs(self.downloads)
        self.shots = shots
        self.user = user
        o = webdriver.ChromeOptions()
        o.binary_location = CHROMIUM
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu",
                  "--disable-dev-shm-usage", "--disable-background-networking",
                  "--no-first-run", "--disable-component-update",
                  "--disable-sync", "--hide-scrollbars",
                  "--force-device-scale-factor=1",
                  "--user-data-dir=" + os.path.join(self.tmp, "profile"),
                  "--window-size=1280,900"):
            o.add_argument(a)
        o.add_experimental_option("prefs", {
            "download.default_directory": self.downloads,
            "download.prompt_for_download": False})
        self.d = webdriver.Chrome(service=Service(CHROMEDRIVER), options=o)
        # A server that never answers fails the test instead of hanging it
        # (Selenium's default page load timeout is 300 s).
        self.d.set_page_load_timeout(2 * WAIT)
        self.d.set_script_timeout(WAIT)
        self.d.execute_cdp_cmd("Page.setDownloadBehavior", {
            "behavior": "allow", "downloadPath": self.downloads})

    # -- navigation -------------------------------------------------------------
    def open(self, srv, path, user=None):
        """Navigates to srv's path, as `user` (Basic credentials in the URL)."""
        user = user or self.user
        url = srv.url(path)
        if user:
            url = url.replace("http://", "http://%s:%s@" % (user, password(user)), 1)
        self.d.get(url)

    def path(self):
        """The current URL's path and query (credentials and origin cut)."""
        u = self.d.current_url
        return "/" + u.split("/", 3)[3] if u.count("/") >= 3 else u

    def wait_path(self, prefix):
        WebDriverWait(self.d, WAIT).until(
            lambda d: self.path().startswith(prefix),
            "expected a page under %s" % prefix)
        self.wait_loaded()

    def wait_loaded(self):
        WebDriverWait(self.d, WAIT, ignored_exceptions=(WebDriverException,)).until(
            lambda d: d.execute_script("return document.readyState") == "complete")

    def find(self, css):
        return WebDriverWait(self.d, WAIT).until(
            EC.presence_of_element_located((By.CSS_SELECTOR, css)))

    def find_all(self, css):
        return self.d.find_elements(By.CSS_SELECTOR, css)

    def text(self):
        return self.d.find_element(By.TAG_NAME, "body").text

    def h1(self):
        return self.find("h1").text

    def click_button(self, label, scope=None):
        """Clicks the submit button whose text is `label` and waits until a
        new document has replaced this one and has loaded. (The old
        document is marked with a window property: WebDriver's staleness
        check races with the navigation and can fail with an inspector
        error instead of saying "stale".)"""
        root = scope or self.d
        btn = [b for b in root.find_elements(By.TAG_NAME, "button")
               if b.text.strip() == label]
        assert btn, "no button %r on %s" % (label, self.path())
        self.d.execute_script("window.twostepOldPage = true")
        btn[0].click()
        WebDriverWait(self.d, WAIT, ignored_exceptions=(WebDriverException,)).until(
            lambda d: d.execute_script(
                "return window.twostepOldPage !== true"
                " && document.readyState === 'complete'"),
            "no new page after clicking %r" % label)

    def submit_code(self, code, trust=False, button="Verify", field="code"):
        box = self.find("input[name=%s]" % field)
        box.clear()
        box.send_keys(code)
        if trust:
            cb = self.find("input[name=trust]")
            if not cb.is_selected():
                cb.click()
        self.click_button(button)

    # -- cookies ------------------------------------------------------------------
    def persistent_cookies(self):
        """What survives a browser restart: cookies with an expiry."""
        return [c for c in self.d.get_cookies() if "expiry" in c]

    def add_cookies(self, srv, cookies):
        """Puts cookies into this browser (it must be on the origin first:
        the public home page)."""
        self.d.get(srv.url("/"))
        for c in cookies:
            c = {k: v for k, v in c.items() if k != "sameSite" or v}
            self.d.add_cookie(c)

    # -- files -----------------------------------------------------------------------
    def wait_download(self, timeout=WAIT):
        """The text of the one downloaded file (waits until complete)."""
        def done(_):
            # Chromium may create the final name empty while the data goes
            # to NAME.crdownload: done when no partial file is left and the
            # file has content.
            names = os.listdir(self.downloads)
            if not names or any(n.endswith((".crdownload", ".tmp"))
                                for n in names):
                return False
            full = os.path.join(self.downloads, names[0])
            return names[0] if os.path.getsize(full) > 0 else False
        name = WebDriverWait(self.d, timeout).until(done, "no download")
        with open(os.path.join(self.downloads, name)) as f:
            return name, f.read()

    def shot(self, name):
        """The whole page at each width in WIDTHS, then back to 1280."""
        self.shots.take(self, name)

    def quit(self):
        if self.d is None:
            return
        try:
            self.d.quit()
        except WebDriverException:
            pass
        self.d = None


class Shots:
    """Numbered screenshots of one test: OUTPUT/<test>/NN-name-<width>.png."""

    def __init__(self, test_name):
        self.dir = os.path.join(OUTPUT, test_name)
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.n = 0

    def take(self, b, name):
        # The viewport is set exactly with CDP device metrics (a window size
        # includes invisible browser chrome), tall enough for the whole page.
        self.n += 1
        d = b.d
        for w in WIDTHS:
            metrics = {"width": w, "height": 800, "deviceScaleFactor": 1,
                       "mobile": w < 600}
            d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
            # the content's height, not the viewport's (scrollHeight is
            # never less than the viewport)
            h = d.execute_script(
                "return Math.ceil(document.documentElement"
                ".getBoundingClientRect().height)")
            metrics["height"] = max(300, min(int(h), 6000))
            d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
            png = d.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
            with open(os.path.join(self.dir, "%02d-%s-%d.png"
                                   % (self.n, name, w)), "wb") as f:
                f.write(base64.b64decode(png["data"]))
        d.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


@pytest.fixture
def browsers(request, tmp_path):
    """Factory: browsers(user=None) → a new Browser (a new profile, as after
    a browser restart or on another computer). All quit after the test."""
    os.chmod(tmp_path, 0o755)
    shots = Shots(request.node.name.replace("[", "-").rstrip("]"))
    made = []

    def make(user=None):
        b = Browser(str(tmp_path), shots, user)
        made.append(b)
        return b
    make.shots = shots
    yield make
    rep = getattr(request.node, "rep_call", None)
    for i, b in enumerate(made):
        if rep is not None and rep.failed and b.d is not None:
            _dump(b, os.path.join(shots.dir, "failed-browser%d" % i))
        b.quit()


def _dump(b, base):
    """What a failed test's browser showed: URL, HTML, a screenshot."""
    try:
        with open(base + ".html", "w") as f:
            f.write("<!-- %s -->\n%s" % (b.d.current_url, b.d.page_source))
        b.d.save_screenshot(base + ".png")
    except WebDriverException:
        pass


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keeps each phase's report on the test item (for _dump)."""
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)

