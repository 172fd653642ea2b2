"""A private Apache httpd (mpm_event, several child processes) loading
build/mod_twostep.so, for the behaviour tests.

    srv = ApacheServer()
    srv.start(tmpdir, port, redis_url, key_file, htpasswd, groupfile)
    srv.url("/lab/", host="127.0.0.2")
    srv.error_log(); srv.access_log(); srv.pids()
    srv.reload(); srv.stop()

The same class API is expected of every server kind (see conftest.py).
"""

import os
import signal
import subprocess
import time

from harness import BUILD
from server_base import ServerProcess

APACHE = "/usr/sbin/apache2"
MODDIR = "/usr/lib/apache2/modules"

class ApacheServer(ServerProcess):
    kind = "apache"
    name = "apache2"

    def min_pids(self):
        return 2            # the parent and at least one child

    # -- life cycle ----------------------------------------------------------
    def start(self, tmpdir, port, redis_url, key_file, htpasswd, groupfile):
        self.root = os.path.join(tmpdir, "apache")
        self.port = port
        os.makedirs(os.path.join(self.root, "run"), exist_ok=True)
        os.chmod(self.root, 0o755)
        os.chmod(os.path.join(self.root, "run"), 0o755)
        self.write_htdocs()
        user_group = ("User www-data\nGroup www-data"
                      if os.geteuid() == 0 else "")
        self.conf = self.render("apache.conf.in", "httpd.conf", {
            "ROOT": self.root, "PORT": str(port), "REDIS": redis_url,
            "KEYFILE": key_file, "HTPASSWD": htpasswd,
            "GROUPFILE": groupfile, "MODDIR": MODDIR,
            "MODULE": os.path.join(BUILD, "mod_twostep.so"),
            "USER_GROUP": user_group,
        })
        check = subprocess.run([APACHE, "-t", "-f", self.conf],
                               capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError("apache2 -t: " + check.stderr + check.stdout)
        self._errlog = open(os.path.join(self.root, "stderr.log"), "w")
        self.proc = subprocess.Popen(
            [APACHE, "-f", self.conf, "-DFOREGROUND"],
            stdout=self._errlog, stderr=subprocess.STDOUT,
            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C"})
        self._wait_ready()
        return self

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                for pid in self.pids():
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
                self.proc.wait()
        self.proc = None
        self._errlog.close()

    def reload(self):
        """Graceful restart (SIGUSR1): new children with the same config."""
        old = set(self.pids()) - {self.proc.pid}
        self.proc.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            now = set(self.pids()) - {self.proc.pid}
            if now and not (now & old):
                break
            time.sleep(0.1)
        self._wait_ready()
