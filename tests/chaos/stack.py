"""The app as an operator runs it, on loopback: the Procfile's gunicorn, rq workers and clock, a private Redis.

Shared by ``tests/chaos`` and ``bench/soak.py``. Every process is started here, in a session of
its own (so ``kill -9`` takes a work horse with its worker), and ``Stack.close`` ends them all,
whatever state a test left them in (a frozen Redis is thawed first).
"""
from __future__ import annotations

import http.client
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from cryptography.fernet import Fernet
from redis import Redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SECRET = "chaos-api-secret-0123456789abcdef"
DOMAIN = "chaos-shop.myshopify.com"
TOKEN_KEY = Fernet.generate_key().decode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def procfile_command(process: str, **values: str) -> list[str]:
    """The Procfile's command for ``process`` as argv, without its env prefix, with ``$NAME``s filled in.

    gunicorn's ``--bind`` is left out (the caller binds to loopback): everything else is what
    production runs.
    """
    line = re.search(rf"^{process}:(.*)$", (ROOT / "Procfile").read_text(), re.M).group(1)  # type: ignore[union-attr]
    argv = [word for word in shlex.split(line) if not re.fullmatch(r"[A-Z_]+=.*", word)]
    if "--bind" in argv:
        index = argv.index("--bind")
        del argv[index:index + 2]
    filled = [re.sub(r"\$\{?([A-Z_]+)\}?", lambda m: values[m.group(1)], word) for word in argv]
    return [str(BIN / filled[0])] + filled[1:]


def fresh_database(base_url: str, name: str) -> str:
    """Drop and create ``name`` next to DATABASE_URL's database; returns its URL (psycopg driver)."""
    url = make_url(base_url).set(drivername="postgresql+psycopg")
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> float:
    """Poll until ``predicate()`` is true; returns the monotonic time it became so, or raises TimeoutError."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if predicate():
                return time.monotonic()
        except Exception:  # a dependency that is still starting (or faulted on purpose) is just not ready yet
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


class PrivateRedis:
    """A redis-server of our own on a free port: it can be frozen, thawed, and restarted empty."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.directory)], stdout=subprocess.DEVNULL, start_new_session=True)
        wait_for(lambda: Redis(port=self.port, socket_timeout=1).ping(), 20, "redis-server")

    def freeze(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None:
            self.thaw()
            self.process.kill()
            self.process.wait(10)
            self.process = None

    def restart(self) -> None:
        """Stop it hard and start a new, empty one on the same port (as a crashed Redis without persistence)."""
        self.stop()
        self.start()


@dataclass
class Proc:
    name: str
    argv: list[str]
    process: subprocess.Popen[bytes]
    log: Path
    replaced: bool = False


@dataclass
class Stack:
    """gunicorn, rq workers and (optionally) the clock, each started from the Procfile's own command line."""

    database_url: str
    directory: Path
    env_extra: dict[str, str] = field(default_factory=dict)
    redis: PrivateRedis = field(init=False)
    port: int = field(init=False)
    procs: list[Proc] = field(default_factory=list, init=False)
    _logs: list[IO[bytes]] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self.redis = PrivateRedis(self.directory)
        self.port = free_port()
        self.engine: Engine = create_engine(self.database_url, pool_size=2)
        self.restarts: dict[str, int] = {}
        self._closing = threading.Event()
        self._supervisor = threading.Thread(target=self._supervise, daemon=True)
        self._supervisor.start()

    def _supervise(self) -> None:
        """Start a worker or clock process again when it exits, as the platform's process manager does.

        Counted in ``restarts``: a process that dies of a fault is a finding even when its
        replacement then does the work.
        """
        while not self._closing.wait(0.5):
            for proc in list(self.procs):
                if proc.name in ("worker", "clock") and not proc.replaced and proc.process.poll() is not None:
                    proc.replaced = True
                    self.restarts[proc.name] = self.restarts.get(proc.name, 0) + 1
                    self.spawn(proc.name, proc.argv)

    @property
    def env(self) -> dict[str, str]:
        """Production settings (the Procfile's default), pointed at our own database and Redis."""
        return {**os.environ, "LOYALTY_ENV": "production", "DATABASE_URL": self.database_url,
                "REDIS_URL": self.redis.url, "SECRET_KEY": "chaos-secret-key", "SHOPIFY_API_KEY": "chaos-api-key",
                "SHOPIFY_API_SECRET": SECRET, "APP_URL": "https://loyalty.example.com",
                "TOKEN_ENCRYPTION_KEY": TOKEN_KEY, "AUTO_MIGRATE": "false", "PYTHONPATH": str(ROOT),
                "PATH": f"{BIN}:{os.environ.get('PATH', '')}", **self.env_extra}

    def spawn(self, name: str, argv: list[str]) -> Proc:
        log_path = self.directory / f"{name}-{len(self.procs)}.log"
        handle = log_path.open("wb")
        self._logs.append(handle)
        process = subprocess.Popen(argv, cwd=ROOT, env=self.env, stdout=handle, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        proc = Proc(name, argv, process, log_path)
        self.procs.append(proc)
        return proc

    def start_web(self) -> Proc:
        argv = procfile_command("web", PORT=str(self.port)) + ["--bind", f"127.0.0.1:{self.port}"]
        proc = self.spawn("web", argv)
        wait_for(lambda: self.get("/ping")[0] == 200, 60, "gunicorn", interval=0.2)
        return proc

    def start_worker(self) -> Proc:
        before = self.registered_workers()
        proc = self.spawn("worker", procfile_command("worker", REDIS_URL=self.redis.url))
        wait_for(lambda: self.registered_workers() > before, 60, "an rq worker", interval=0.2)
        return proc

    def start_clock(self) -> Proc:
        return self.spawn("clock", procfile_command("clock", REDIS_URL=self.redis.url))

    def registered_workers(self) -> int:
        return len(Redis(port=self.redis.port, socket_timeout=1).keys("rq:worker:*"))

    def alive(self, name: str) -> list[Proc]:
        return [p for p in self.procs if p.name == name and p.process.poll() is None]

    def kill9(self, proc: Proc) -> None:
        """SIGKILL the process and its children (an rq worker and its work horse, which RQ puts in a session
        of its own); the supervisor restarts it."""
        for pid in [proc.process.pid, *children(proc.process.pid)]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.process.wait(10)

    def get(self, path: str, timeout: float = 2) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar_one()

    def terminate_backends(self) -> int:
        """pg_terminate_backend every connection to the app's database but this one; returns how many."""
        with self.engine.connect() as conn:
            ended = conn.execute(text(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar_one()
            conn.commit()
        return int(ended)

    def flask(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """``flask --app app ARGS`` with the stack's environment (as the on-call engineer runs it)."""
        return subprocess.run([str(BIN / "flask"), "--app", "app", *args], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, timeout=timeout)

    def tail(self, name: str, chars: int = 3000) -> str:
        """The end of every log of ``name`` processes, for assertion messages."""
        return "\n".join(f"--- {p.log.name}\n{p.log.read_text(errors='replace')[-chars:]}"
                         for p in self.procs if p.name == name)

    def rss_kib(self) -> dict[str, int]:
        """Resident memory of every live process of the stack and its children (gunicorn workers, work horses)."""
        sizes: dict[str, int] = {}
        for proc in self.procs:
            if proc.process.poll() is not None:
                continue
            for pid in [proc.process.pid, *children(proc.process.pid)]:
                rss = _rss(pid)
                if rss is not None:
                    sizes[f"{proc.name}:{pid}{'' if pid == proc.process.pid else ' (child)'}"] = rss
        return sizes

    def close(self) -> None:
        self._closing.set()
        self._supervisor.join(5)
        self.redis.thaw()
        for proc in self.procs:
            if proc.process.poll() is None:
                try:
                    os.killpg(proc.process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 15
        for proc in self.procs:
            try:
                proc.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.process.wait(10)
        for handle in self._logs:
            handle.close()
        self.redis.stop()
        self.engine.dispose()


def children(pid: int) -> list[int]:
    """The direct children of a process (gunicorn workers, an rq work horse)."""
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _rss(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


@dataclass
class Delivery:
    webhook_id: str
    body: bytes
    topic: str = "orders/paid"
    domain: str = DOMAIN


@dataclass
class Outcome:
    webhook_id: str
    status: int  # 0: no HTTP answer (refused, reset, timed out)
    seconds: float
    sent_at: float
    error: str = ""


def signed_headers(delivery: Delivery) -> dict[str, str]:
    from loyalty_app.security import webhook_hmac

    return {"X-Shopify-Topic": delivery.topic, "X-Shopify-Shop-Domain": delivery.domain,
            "X-Shopify-Webhook-Id": delivery.webhook_id, "X-Shopify-API-Version": "2026-10",
            "X-Shopify-Hmac-Sha256": webhook_hmac(SECRET, delivery.body), "Content-Type": "application/json"}


def order_deliveries(prefix: str, order_ids: Sequence[int], customer_of: Callable[[int], int]) -> list[Delivery]:
    """Signed ``orders/paid`` bodies for distinct orders (Shopify's sample order, re-keyed)."""
    from tests.helpers import simple_order

    return [Delivery(f"{prefix}-{order_id}", json.dumps(simple_order(order_id, customer_of(order_id),
                                                                     f"{10 + order_id % 90}.00")).encode())
            for order_id in order_ids]


def send(port: int, deliveries: Sequence[Delivery], connections: int, seconds: float | None = None,
         timeout: float = 30) -> list[Outcome]:
    """POST every delivery over ``connections`` keep-alive connections; spread evenly over ``seconds`` if given.

    Each outcome keeps its status and the time from sending to the full answer. A connection that
    fails is reopened for the next delivery; the failed one is recorded with status 0.
    """
    start = time.monotonic()
    step = (seconds or 0) / max(1, len(deliveries))
    lock = threading.Lock()
    outcomes: list[Outcome] = []

    def share(k: int) -> None:
        connection: http.client.HTTPConnection | None = None
        mine = []
        for i in range(k, len(deliveries), connections):
            due = start + i * step
            if (delay := due - time.monotonic()) > 0:
                time.sleep(delay)
            delivery = deliveries[i]
            sent = time.monotonic()
            try:
                if connection is None:
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
                connection.request("POST", "/webhooks", body=delivery.body, headers=signed_headers(delivery))
                response = connection.getresponse()
                response.read()
                mine.append(Outcome(delivery.webhook_id, response.status, time.monotonic() - sent, sent - start))
                if response.getheader("Connection", "").lower() == "close":
                    connection.close()
                    connection = None
            except (OSError, http.client.HTTPException) as exc:
                mine.append(Outcome(delivery.webhook_id, 0, time.monotonic() - sent, sent - start,
                                    f"{type(exc).__name__}: {exc}"))
                if connection is not None:
                    connection.close()
                connection = None
        if connection is not None:
            connection.close()
        with lock:
            outcomes.extend(mine)

    with ThreadPoolExecutor(connections) as pool:
        list(pool.map(share, range(connections)))
    return outcomes


def install_shop(database_url: str) -> None:
    """Install the chaos shop (default program) with the token key the stack's processes use."""
    from loyalty_app import create_app
    from loyalty_app.extensions import db
    from loyalty_app.services.shops import install_shop as install

    app = create_app({"LOYALTY_ENV": "test", "DATABASE_URL": database_url, "TOKEN_ENCRYPTION_KEY": TOKEN_KEY,
                      "SHOPIFY_API_SECRET": SECRET, "AUTO_MIGRATE": False, "REDIS_URL": None})
    with app.app_context():
        session = db.session()
        install(session, DOMAIN, "shpat_chaos", app.extensions["token_box"])
        session.commit()
        session.close()
    app.extensions["db"].dispose()


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0
