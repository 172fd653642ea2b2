"""A private nginx (master + workers) loading build/ngx_http_twostep_module.so,
for the behaviour tests. Same class API as server_apache.ApacheServer:

    srv = NginxServer()
    srv.start(tmpdir, port, redis_url, key_file, htpasswd, groupfile)
    srv.url("/lab/", host="127.0.0.2")
    srv.error_log(); srv.access_log(); srv.pids()
    srv.reload(); srv.stop()

Options (constructor): workers=2, redis_timeout="300ms", master=True.
Environment: TWOSTEP_NGINX_ASAN=1 loads build/asan-nginx/ (built by
`NGX_TWOSTEP_ASAN=1 scripts/build-nginx.sh build`) with libasan preloaded;
TWOSTEP_NGINX_VALGRIND=1 runs nginx (master_process off, one process) under
valgrind memcheck, writing ROOT/valgrind.log.
"""

import os
import re
import signal
import subprocess
import time

from harness import BUILD
from server_base import ServerProcess

NGINX = "/usr/sbin/nginx"
VALGRIND_MAX_LOST = 64 * 1024

def asan_mode():
    return os.environ.get("TWOSTEP_NGINX_ASAN") == "1"


def valgrind_mode():
    return os.environ.get("TWOSTEP_NGINX_VALGRIND") == "1"


def module_path():
    if asan_mode():
        return os.path.join(BUILD, "asan-nginx", "ngx_http_twostep_module.so")
    return os.path.join(BUILD, "ngx_http_twostep_module.so")


def _asan_env():
    lib = subprocess.run(["gcc", "-print-file-name=libasan.so"],
                         capture_output=True, text=True).stdout.strip()
    return {"LD_PRELOAD": lib,
            "ASAN_OPTIONS": "detect_leaks=0:log_path=@ROOT@/asan",
            "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1:"
                             "abort_on_error=1:log_path=@ROOT@/ubsan"}


class NginxServer(ServerProcess):
    kind = "nginx"
    name = "nginx"

    def __init__(self, workers=2, redis_timeout="300ms", master=True):
        super().__init__()
        self.workers = workers
        self.redis_timeout = redis_timeout
        self.master = master and not valgrind_mode()

    # -- life cycle ----------------------------------------------------------
    def start(self, tmpdir, port, redis_url, key_file, htpasswd, groupfile):
        self._args = (tmpdir, port, redis_url, key_file, htpasswd, groupfile)
        self.root = os.path.join(tmpdir, "nginx")
        self.port = port
        for d in ("", "tmp", "logs"):
            os.makedirs(os.path.join(self.root, d), exist_ok=True)
            os.chmod(os.path.join(self.root, d), 0o755)
        self.write_htdocs()
        # workers as root can read the root-owned key file; otherwise they
        # run as the user starting the test
        user = "user root;" if os.geteuid() == 0 else ""
        self.conf = self.render("nginx.conf.in", "nginx.conf", {
            "ROOT": self.root, "PORT": str(port), "REDIS": redis_url,
            "KEYFILE": key_file, "HTPASSWD": htpasswd,
            "GROUPFILE": groupfile, "MODULE": module_path(), "USER": user,
            "WORKERS": str(self.workers), "TIMEOUT": self.redis_timeout,
            "MASTER": "on" if self.master else "off",
        })
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C"}
        if asan_mode():
            env.update({k: v.replace("@ROOT@", self.root)
                        for k, v in _asan_env().items()})
        self.env = env
        check = subprocess.run(self._cmd() + ["-t"], capture_output=True,
                               text=True, env=env)
        if check.returncode != 0:
            raise RuntimeError("nginx -t: " + check.stderr + check.stdout)
        cmd = self._cmd()
        if valgrind_mode():
            cmd = ["valgrind", "--tool=memcheck", "--error-exitcode=99",
                   "--trace-children=no", "--num-callers=30",
                   "--errors-for-leak-kinds=none", "--leak-check=full",
                   "--keep-debuginfo=yes",
                   "--log-file=%s" % os.path.join(self.root, "valgrind.log")
                   ] + cmd
        self._errlog = open(os.path.join(self.root, "stderr.log"), "w")
        self.proc = subprocess.Popen(cmd, stdout=self._errlog,
                                     stderr=subprocess.STDOUT, env=env)
        self._wait_ready(60 if valgrind_mode() else 15)
        return self

    def _cmd(self):
        return [NGINX, "-p", self.root + "/", "-c", self.conf,
                "-e", os.path.join(self.root, "error.log")]

    def min_pids(self):
        return 1 + (self.workers if self.master else 0)

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            # QUIT: graceful, so workers run their exit_process and the
            # module's connections are closed the orderly way
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(timeout=30 if valgrind_mode() else 15)
            except subprocess.TimeoutExpired:
                for pid in self.pids():
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
                self.proc.wait()
        self.returncode = self.proc.returncode
        self.proc = None
        self._errlog.close()
        if valgrind_mode():
            log = self.valgrind_log()
            lost = re.search(r"definitely lost: ([\d,]+) bytes", log)
            lost = int(lost.group(1).replace(",", "")) if lost else 0
            # memory errors fail; so does a leak that grows with requests
            # (what the core keeps for the process's life, its config and
            # keys, is a few KB)
            if (self.returncode == 99 or "ERROR SUMMARY: 0 errors" not in log
                    or lost > VALGRIND_MAX_LOST):
                raise RuntimeError("valgrind found errors in nginx:\n" +
                                   log[-20000:])

    def reload(self):
        """SIGHUP: new workers with the same config, old ones leave."""
        if not self.master:
            # one process (valgrind mode): nginx re-reads its configuration
            # in place without restarting modules' process state, which is
            # a debugging mode only; restart instead
            self.stop()
            self.start(*self._args)
            return
        old = set(self.pids()) - {self.proc.pid}
        self.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            now = set(self.pids()) - {self.proc.pid}
            if len(now) >= self.workers and not (now & old):
                break
            time.sleep(0.1)
        self._wait_ready()

    # -- facts -------------------------------------------------------------------
    def worker_pids(self):
        return [p for p in self.pids() if p != self.proc.pid]

    def error_log(self):
        """error.log, plus the sanitizer reports in ASan mode. A worker that
        died on a signal also shows as "exit signal" (conftest's FATAL)."""
        text = self._read("error.log")
        for n in sorted(os.listdir(self.root)) if self.root else []:
            if n.startswith(("asan.", "ubsan.")):
                text += "\nAddressSanitizer/UBSan report %s:\n" % n
                text += self._read(n)
        crashed = [line for line in text.splitlines()
                   if "exited on signal" in line]
        if crashed:
            text += "".join("\nexit signal: %s" % line for line in crashed)
        return text

    def valgrind_log(self):
        return self._read("valgrind.log")
