"""A private redis-server for tests.

    from redis_server import RedisServer

    with RedisServer() as r:              # or r = RedisServer(); r.start()
        r.url                             # "redis://127.0.0.1:PORT/0"
        r.cli("SET", "k", "v")            # redis-cli's output, stripped
        r.flushall()
        r.freeze(); r.thaw()              # SIGSTOP / SIGCONT: a hung Redis
        r.restart()                       # stop + start, same port, no data
    # stopped (by PID) and its temp dir removed

Constructor options: password="secret" (requirepass; url becomes
redis://:secret@...), unix_socket=True (also listen on r.socket_path; r.unix_url
is "unix:PATH"), extra=["--maxmemory", "10mb"] (more redis-server args).
The server listens on a free high loopback port, in its own temp dir, with
`--save '' --appendonly no`, and start() returns once PING answers.
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
REDIS_CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"


def free_port():
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    def __init__(self, password=None, unix_socket=False, extra=None):
        self.password = password
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="twostep-redis-")
        self.socket_path = (os.path.join(self.dir, "redis.sock")
                            if unix_socket else None)
        self.extra = list(extra or [])
        self.proc = None

    # -- addresses ---------------------------------------------------------
    @property
    def url(self):
        auth = ":%s@" % self.password if self.password else ""
        return "redis://%s127.0.0.1:%d/0" % (auth, self.port)

    @property
    def unix_url(self):
        return "unix:%s" % self.socket_path

    # -- life cycle --------------------------------------------------------
    def start(self, timeout=10.0):
        args = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", self.dir, "--save", "", "--appendonly", "no",
                "--daemonize", "no", "--logfile",
                os.path.join(self.dir, "redis.log")]
        if self.password:
            args += ["--requirepass", self.password]
        if self.socket_path:
            args += ["--unixsocket", self.socket_path, "--unixsocketperm",
                     "700"]
        self.proc = subprocess.Popen(args + self.extra,
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("redis-server exited: see %s/redis.log"
                                   % self.dir)
            try:
                if self.cli("PING", timeout=1) == "PONG":
                    return self
            except (subprocess.SubprocessError, OSError):
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("redis-server did not answer PING")

    def stop(self):
        """Stops the server by its PID (thawing it first if frozen)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self):
        """Stop and start again on the same port (the data is gone)."""
        self.stop()
        self.start()

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    # -- faults and helpers ------------------------------------------------
    def freeze(self):
        """SIGSTOP: the socket stays open but nothing answers."""
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self):
        self.proc.send_signal(signal.SIGCONT)

    def cli(self, *args, timeout=10):
        """Runs one command with redis-cli; returns its output, stripped."""
        cmd = [REDIS_CLI, "-h", "127.0.0.1", "-p", str(self.port)]
        env = dict(os.environ)
        if self.password:
            env["REDISCLI_AUTH"] = self.password
        out = subprocess.run(cmd + [str(a) for a in args], env=env,
                             capture_output=True, text=True, timeout=timeout,
                             check=True)
        return out.stdout.strip()

    def flushall(self):
        self.cli("FLUSHALL")
