"""What every private test server shares: waiting until it answers on both
loopback addresses, its process tree, its URLs and its log files. The
server kinds (server_apache.py, server_nginx.py) add how they start, stop
and reload."""

import os
import socket
import subprocess
import time

HOSTS = ("127.0.0.1", "127.0.0.2")

# The document root of every server kind (see the locations in
# test_behaviour.py's docstring).
PAGES = {
    "lab/index.html": "<h1>lab index</h1>\n",
    "lab/file.txt": "lab file\n",
    "lab-prefix/index.html": "<h1>lab-prefix index</h1>\n",
    "lab-prefix/file.txt": "lab-prefix file\n",
    "lab-open/index.html": "<h1>lab-open index</h1>\n",
    "lab-open/file.txt": "lab-open file\n",
    "lab-deny/index.html": "<h1>lab-deny index</h1>\n",
    "lab-deny/file.txt": "lab-deny file\n",
    "lab-any/file.txt": "lab-any file\n",
    "public/index.html": "<h1>public</h1>\n",
    "index.html": "<h1>home</h1>\n",
}


class ServerProcess:
    name = "server"          # the program, for messages
    template_dir = os.path.dirname(os.path.abspath(__file__))

    def __init__(self):
        self.proc = None
        self.root = None
        self.port = None

    def write_htdocs(self):
        """The test pages under ROOT/htdocs, readable by the server's user."""
        top = os.path.join(self.root, "htdocs")
        for rel, text in PAGES.items():
            path = os.path.join(top, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
        for d, _, files in os.walk(top):
            os.chmod(d, 0o755)
            for n in files:
                os.chmod(os.path.join(d, n), 0o644)

    def render(self, template, out_name, values):
        """template (next to this file) with @KEY@ replaced; returns the
        path of the rendered file under ROOT."""
        with open(os.path.join(self.template_dir, template)) as f:
            text = f.read()
        for k, v in values.items():
            text = text.replace("@%s@" % k, v)
        path = os.path.join(self.root, out_name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def min_pids(self):
        """How many processes (parent included) a ready server has."""
        return 1

    def _wait_ready(self, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited: %s\n%s" % (
                    self.name, self.stderr_text(), self.error_log()))
            ok = 0
            for host in HOSTS:
                try:
                    with socket.create_connection((host, self.port), 0.5):
                        ok += 1
                except OSError:
                    pass
            if ok == len(HOSTS) and len(self.pids()) >= self.min_pids():
                return
            time.sleep(0.05)
        raise RuntimeError("%s did not come up: %s" % (self.name,
                                                       self.error_log()))

    # -- facts -------------------------------------------------------------
    def url(self, path, host="127.0.0.1"):
        return "http://%s:%d%s" % (host, self.port, path)

    @property
    def base_url(self):
        return self.url("")

    def pids(self):
        """The parent and its children."""
        if self.proc is None:
            return []
        out = subprocess.run(["ps", "-o", "pid=", "--ppid",
                              str(self.proc.pid)],
                             capture_output=True, text=True)
        return [self.proc.pid] + [int(x) for x in out.stdout.split()]

    def _read(self, name):
        try:
            with open(os.path.join(self.root, name), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def error_log(self):
        return self._read("error.log")

    def access_log(self):
        return self._read("access.log")

    def stderr_text(self):
        return self._read("stderr.log")
