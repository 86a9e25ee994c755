"""Work units on a Dask cluster: the client submits them, the scheduler places them, the workers compute.

Imported only when a build names a scheduler (``--scheduler`` or
``DASK_SCHEDULER_ADDRESS``), so a local build never loads Dask. Workers need
reportgen (and any plug-in kind) installed, not the course's files nor the
result store: units carry their inputs and return their values, and the
client writes the store. A worker that dies mid-unit has its units rerun
elsewhere by the scheduler; a unit's value does not depend on its worker.
"""

from __future__ import annotations

import logging
import threading
import uuid
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from .errors import BadInputError, BuildError
from .executors import Done, Executor, perform

SCHEMES = ("tcp", "tls", "ws", "wss")
"""How a build may reach a scheduler (tcp when an address names no scheme): Dask's own schemes, less inproc (a
scheduler inside this very process) and ucx (a library of its own, for GPU clusters)."""
ENCRYPTED = ("tls", "wss")
"""Schemes that need certificates: the client's come from Dask's configuration, as Dask's own tools read them."""
CONNECT_SECONDS = 10.0
"""Longest wait for the scheduler, and for its first worker (Dask's own connect timeout, when shorter, wins)."""


class DaskExecutor(Executor):
    """Units as tasks of the Dask cluster that ``client`` is connected to."""

    def __init__(self, client, address: str) -> None:
        import dask

        super().__init__()
        self.client = client
        # Units carry their inputs (workers share no filesystem), so an analysis's outcomes make a "large graph":
        # Dask's advice to load data through Dask instead does not apply.
        self._config = dask.config.set({"distributed.admin.large-graph-warning-threshold": "2GB"})
        threads = client.nthreads()
        self.slots = max(1, sum(threads.values()))
        self.description = f"Dask scheduler {address} ({len(threads)} workers, {self.slots} threads)"
        self._pending: set = set()
        self._pending_lock = threading.Lock()

    @property
    def concurrent(self) -> bool:
        """Always: even one remote worker is better fed by every study at once."""
        return True

    def _run(self, function: Callable, items: list, study: str) -> Iterator[tuple[int, Done]]:
        from distributed import KilledWorker, as_completed

        token = uuid.uuid4().hex[:8]
        futures = [self.client.submit(_perform_on_worker, function, item, pure=False,
                                      key=f"{study or 'build'}-{function.__name__}-{position}-{token}",
                                      priority=len(items) - position)  # costliest (first) first
                   for position, item in enumerate(items)]
        positions = {future.key: position for position, future in enumerate(futures)}
        with self._pending_lock:
            self._pending.update(futures)
        try:
            for future in as_completed(futures, loop=self.client.loop):
                try:
                    done = future.result()
                except KilledWorker as exc:
                    raise BuildError(f"Dask: a unit killed every worker that ran it ({exc})") from None
                yield positions[future.key], done
        finally:
            with self._pending_lock:
                self._pending.difference_update(futures)
            unfinished = [future for future in futures if not future.done()]
            if unfinished:
                self.client.cancel(unfinished)

    def _drop(self) -> None:
        """Cancel every task this build submitted and that has not finished."""
        with self._pending_lock:
            pending = list(self._pending)
        if pending:
            self.client.cancel(pending)

    def close(self) -> None:
        """Disconnect from the scheduler (the cluster keeps running)."""
        with _quiet():
            self.client.close()
        self._config.__exit__(None, None, None)


def _perform_on_worker(function: Callable[[Any], Any], item: Any) -> Done:
    from distributed import get_worker

    return perform(function, item, get_worker().address)


def check_address(address: str, shown: str | None = None) -> None:
    """Refuse, as bad input, an address a build cannot reach a scheduler at: another scheme than :data:`SCHEMES`, or
    no HOST:PORT. ``shown`` is how the message names it (default ``--scheduler ADDRESS``). Imports no Dask."""
    shown = shown or f"--scheduler {address}"
    named, _, location = address.rpartition("://")
    scheme = named or "tcp"
    if scheme not in SCHEMES:
        raise BadInputError(f"{shown}: a Dask scheduler is reached by tcp://, tls://, ws:// or wss://HOST:PORT, "
                            f"not {scheme}://")
    host, _, port = location.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")  # an IPv6 address, [::1]:8786
    # Checked here: Dask would spend its whole connect timeout on a port out of range or a host with a space.
    if not host or any(c.isspace() for c in host) or not (port.isascii() and port.isdigit() and 0 < int(port) < 65536):
        raise BadInputError(f"{shown}: expected {scheme}://HOST:PORT, with a port from 1 to 65535")


def connect(address: str) -> DaskExecutor:
    """Reach the scheduler at ``address`` and wait for a worker; exit 1 with one line when that fails."""
    try:
        import dask
        from dask.utils import parse_timedelta
        from distributed import Client
        from distributed.comm.addressing import get_address_host_port, parse_address
    except ImportError:
        raise BadInputError("--scheduler needs Dask, which is not installed: pip install 'reportgen[dask]'") \
            from None
    try:
        # Checked before a client exists: a half-built one upsets the next. In-process addresses have no port.
        scheme = parse_address(address)[0]
        if scheme != "inproc":
            get_address_host_port(address)
    except ValueError as exc:
        raise BadInputError(f"--scheduler {address}: not a Dask scheduler address ({exc})") from None
    if scheme != "inproc":  # an in-process cluster (a library caller's, a test's) is reached as Dask reaches it
        check_address(address)
    security = _security(address) if scheme in ENCRYPTED else None
    setting = dask.config.get("distributed.comm.timeouts.connect")
    try:
        configured = parse_timedelta(setting, default="seconds")
    except (KeyError, TypeError, ValueError):  # set by DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT or a Dask config file
        raise BadInputError(f"Dask's distributed.comm.timeouts.connect: expected a duration such as 10s, "
                            f"got {setting!r}") from None
    seconds = min(CONNECT_SECONDS, configured)
    with _quiet():
        try:
            client = Client(address, timeout=seconds, set_as_default=False, security=security)
        except (OSError, TimeoutError) as exc:
            raise BuildError(f"--scheduler {address}: cannot reach the Dask scheduler within {seconds:g} s "
                             f"({exc.__class__.__name__}); nothing was written") from None
        try:
            client.wait_for_workers(1, timeout=seconds)
        except TimeoutError:
            client.close()
            raise BuildError(f"--scheduler {address}: the scheduler has no worker (waited {seconds:g} s); "
                             f"start one with: dask worker {address}") from None
    return DaskExecutor(client, address)


def _security(address: str):
    """The client's TLS settings from Dask's configuration (``distributed.comm.tls``); bad input when they are
    missing or unreadable: without them Dask would wait out its timeouts and end in a traceback."""
    from distributed.security import Security

    security = Security()
    try:
        context = security.get_connection_args("client")["ssl_context"]
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
        raise BadInputError(f"--scheduler {address}: the TLS certificates in Dask's configuration cannot be used "
                            f"({exc.__class__.__name__}: {exc})") from None
    if context is None:
        raise BadInputError(f"--scheduler {address}: TLS needs the cluster's CA certificate and a client certificate "
                            "and key in Dask's configuration: distributed.comm.tls.ca-file, .client.cert and "
                            ".client.key (e.g. as DASK_DISTRIBUTED__COMM__TLS__CA_FILE, "
                            "DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT and DASK_DISTRIBUTED__COMM__TLS__CLIENT__KEY)")
    return security


@contextmanager
def _quiet() -> Iterator[None]:
    """Keep Dask's own log lines (retries, timeouts, closing comms) off the build's terminal while it runs."""
    logger = logging.getLogger("distributed")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)
