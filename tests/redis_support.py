"""A throwaway ``redis-server`` for tests, chaos runs and plain scripts.

:class:`RedisServer` starts Debian's (or any) ``redis-server`` on a free loopback port with no
persistence, in a temporary directory of its own, waits until it answers ``PING`` and can be
killed (``SIGKILL``, for outage tests), stopped and restarted on the same port::

    from tests.redis_support import RedisServer

    with RedisServer() as server:      # start() ... stop()
        print(server.url)              # redis://127.0.0.1:PORT/0
        server.kill()                  # an outage: clients see connection refused
        server.restart()               # back, empty, on the same port

``find_redis_server()`` says where the binary is (PATH, then /usr/sbin, /usr/bin), or None;
``INSTALL_HINT`` is the one command that installs it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from types import TracebackType

__all__ = ["INSTALL_HINT", "RedisServer", "find_redis_server", "free_port"]

INSTALL_HINT = "sudo apt-get install redis-server"
_CANDIDATES = ("/usr/sbin/redis-server", "/usr/bin/redis-server", "/usr/local/bin/redis-server")
_START_TIMEOUT = 10.0


def find_redis_server() -> str | None:
    """The path of a ``redis-server`` binary, or None when none is installed."""
    found = shutil.which("redis-server")
    if found:
        return found
    for candidate in _CANDIDATES:
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _ping(port: int, password: str | None) -> bool:
    """Whether the server on ``port`` answers PING (with AUTH first when it has a password)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            if password is not None:
                conn.sendall(f"AUTH {password}\r\n".encode())
                if not conn.recv(64).startswith(b"+OK"):
                    return False
            conn.sendall(b"PING\r\n")
            return conn.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """One ``redis-server`` process on 127.0.0.1 (``password`` sets ``--requirepass``)."""

    def __init__(self, *, port: int | None = None, password: str | None = None) -> None:
        binary = find_redis_server()
        if binary is None:
            raise RuntimeError(f"redis-server is not installed; install it with: {INSTALL_HINT}")
        self.binary = binary
        self.port = port if port is not None else free_port()
        self.password = password
        self._dir = tempfile.TemporaryDirectory(prefix="toolware-redis-")
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password is not None else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> RedisServer:
        """Start the server and wait (at most 10 s) until it answers PING."""
        if self.running:
            return self
        args = [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            self._dir.name,
            "--loglevel",
            "warning",
        ]
        if self.password is not None:
            args += ["--requirepass", self.password]
        self._process = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self._dir.name
        )
        deadline = time.monotonic() + _START_TIMEOUT
        while not _ping(self.port, self.password):
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"redis-server exited with {self._process.returncode} on port {self.port}"
                )
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"redis-server did not answer PING within {_START_TIMEOUT} s")
            time.sleep(0.01)
        return self

    def kill(self) -> None:
        """SIGKILL: the server dies at once, as in a crash (its data is lost)."""
        self._end(signal.SIGKILL)

    def stop(self) -> None:
        """SIGTERM and wait: a clean shutdown."""
        self._end(signal.SIGTERM)

    def restart(self) -> RedisServer:
        """Kill it if it runs, then start it again on the same port (empty)."""
        self.kill()
        return self.start()

    def close(self) -> None:
        """Stop the server and remove its directory."""
        self.stop()
        self._dir.cleanup()

    def _end(self, sig: signal.Signals) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(sig)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RedisServer(port={self.port}, running={self.running})"
