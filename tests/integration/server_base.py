"""What every private test server shares: waiting until it answers on both
loopback addresses, its process tree, its URLs and its log files. The
server kinds (server_apache.py, server_nginx.py) add how they start, stop
and reload."""

import os
import socket
import subprocess
import time

HOSTS = ("127.0.0.1", "127.0.0.2")


class ServerProcess:
    name = "server"          # the program, for messages

    def __init__(self):
        self.proc = None
        self.root = None
        self.port = None

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
