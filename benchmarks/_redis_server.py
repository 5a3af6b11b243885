"""A throwaway redis-server for the benchmarks and the chaos suite, and the RedisState factory.

``RedisServer`` starts ``redis-server`` on a free local port in a temporary directory, with no
persistence, and can kill it (SIGKILL, as a crash would) and start it again on the same port.
It is ``tests/redis_support.py``'s ``RedisServer`` when that is there (merged from the Redis
work); until then a small one of our own with the same methods (``start``, ``kill``, ``stop``,
``url``, ``running``, a context manager).

``redis_state(url, **options)`` builds ``toolware.state.redis.RedisState``: the one place that
knows how it is constructed, so that a change of constructor is fixed here only. It raises
ImportError while that module is not merged.
"""

from __future__ import annotations

import importlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["LocalRedisServer", "RedisServer", "redis_state"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class LocalRedisServer:
    """``with LocalRedisServer() as server: server.url``; ``kill()`` and ``start()`` again."""

    def __init__(self, port: int | None = None) -> None:
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        self.port = port or _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._directory = tempfile.TemporaryDirectory(prefix="toolware-redis-")
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 5.0) -> None:
        assert self.binary is not None
        self._process = subprocess.Popen(
            [
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
                self._directory.name,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.02)  # a setup wait, outside any measured or clocked region
        self.stop()
        raise RuntimeError(f"redis-server did not answer on port {self.port} within {timeout} s")

    def kill(self) -> None:
        """SIGKILL, as a crash: no shutdown, connections dropped."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait()
        self._process = None

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def __enter__(self) -> LocalRedisServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
        self._directory.cleanup()


ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # so that the tests package (tests/redis_support.py) imports
    sys.path.append(str(ROOT))
try:
    from tests.redis_support import RedisServer
except ImportError:  # not merged yet
    RedisServer = LocalRedisServer  # type: ignore[misc,assignment]


def redis_state(url: str, **options: Any) -> Any:
    """``RedisState(url, **options)`` (``lease_size=1`` turns leases off)."""
    return importlib.import_module("toolware.state.redis").RedisState(url, **options)
