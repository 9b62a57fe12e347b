"""The sandbox's life: :class:`Sandbox`, from ``start()`` to ``stop()``, and its sessions.

``start()`` resets moto, creates the sandbox user and an admin user with
their keys and policies, puts moto's IAM enforcement on, and serves the
sandbox's app (:mod:`awsprobe.sandbox.server`) from a process of its own
where forking is safe (:mod:`awsprobe.sandbox.process`), else from a thread;
``stop()`` undoes all of it. Sessions for the sandbox's users read no
environment variable, profile or config file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Final

import boto3
import botocore.session
from botocore.config import Config

from awsprobe.errors import SandboxError
from awsprobe.sandbox.app import _apply_policy, _SandboxApp
from awsprobe.sandbox.identities import (
    _ADMIN_POLICY,
    _ADMIN_POLICY_NAME,
    _POLICY_NAME,
    _put_inline_policy,
)
from awsprobe.sandbox.layers import scp_levels
from awsprobe.sandbox.moto_adapter import (
    _PARTITION,
    SANDBOX_ACCOUNT,
    WsgiApp,
    iam_backend,
    iam_enforced,
    mock_aws_active,
    moto_app,
    reset,
)
from awsprobe.sandbox.policy import DEMO_POLICY, validate_policy, validate_scps
from awsprobe.sandbox.process import _STOP_TIMEOUT, _ServerProcess
from awsprobe.sandbox.request import RecordedRequest
from awsprobe.sandbox.routing import _shared_loader

if TYPE_CHECKING:
    from awsprobe.sandbox.server import _Server

logger = logging.getLogger(__name__)


def _fork_safe() -> bool:
    """Whether the server may be forked into a process of its own (see ``parallel``)."""
    import multiprocessing

    from awsprobe.probing.parallel import fork_safe

    return fork_safe() and not multiprocessing.current_process().daemon


def _botocore_session() -> Any:
    """A botocore session that reads no environment variable and no config file."""
    variables = {}
    for name, spec in botocore.session.Session.SESSION_VARIABLES.items():
        config_name, _env_vars, default, convert = spec
        variables[name] = (config_name, None, _ISOLATED_DEFAULTS.get(name, default), convert)
    session = botocore.session.Session(session_vars=variables)
    session.register_component("data_loader", _shared_loader())
    session.set_config_variable("ignore_configured_endpoint_urls", True)
    session.set_default_client_config(Config(proxies={}))
    return session


_ISOLATED_DEFAULTS: Final = {"config_file": os.devnull, "credentials_file": os.devnull}


_REGION_RE: Final = re.compile(r"[a-z]{2}(-[a-z]+)+-\d+")
_USER_NAME_RE: Final = re.compile(r"[\w+=,.@-]{1,64}")


def _isolated_session(access_key_id: str, secret: str, region: str) -> boto3.Session:
    return boto3.Session(
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret,
        region_name=region,
        botocore_session=_botocore_session(),
    )


@dataclass(frozen=True)
class _Keys:
    access_key_id: str
    secret_access_key: str


class Sandbox:
    """A local AWS on 127.0.0.1 that answers dry runs as AWS does (see :mod:`awsprobe.sandbox`).

    ``policy`` is the identity policy of the sandbox user (``None``:
    :data:`DEMO_POLICY`); it is validated at once, as are ``region``,
    ``user_name`` and ``scps``.

    ``scps`` are the service control policies attached to the sandbox
    account (at most five, each checked by :func:`validate_scp`). Given any,
    the account is a member account of an organization whose root and OUs
    hold only ``FullAWSAccess``: every request of every principal in it (the
    admin user's too) must then be allowed by at least one of them, and is
    denied by a Deny in any (AWS Organizations User Guide, "SCP evaluation").
    They are the SCPs *attached*, so ``FullAWSAccess`` is not added for you:
    a deny-list keeps it beside its Deny statements
    (:data:`awsprobe.sandbox.layers.FULL_AWS_ACCESS`). None or empty: no SCP
    applies, as in an account outside an organization or its management
    account. Requests moto answers itself (anything but dry runs and the
    calls of :mod:`awsprobe.sandbox.intercept`) are judged by moto, which
    knows no SCPs.

    ``start()`` (or ``with``) resets moto, creates the user
    with an access key and ``policy`` inline, plus an admin user
    (``Action: *``), and serves on a free loopback port, from a process of
    its own where forking is safe (see :mod:`awsprobe.sandbox`), else from a
    thread. The first request for a service loads its model and catalog
    entries.

    While running: :attr:`endpoint_url`, :attr:`access_key_id`,
    :meth:`session`, :meth:`admin_session`, :meth:`env`, :meth:`set_policy`
    and :attr:`requests`. Only one sandbox may run per process at a time.
    Requests may arrive from any number of threads; start and stop a
    sandbox from one thread.
    """

    _running: ClassVar[Sandbox | None] = None
    _running_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(
        self,
        policy: Mapping[str, Any] | None = None,
        *,
        region: str = "us-east-1",
        user_name: str = "awsprobe-sandbox",
        scps: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        self.policy = validate_policy(DEMO_POLICY if policy is None else policy)
        #: The SCPs attached to the sandbox account (validated copies).
        self.scps: tuple[dict[str, Any], ...] = tuple(validate_scps(scps or ()))
        if not isinstance(region, str) or not _REGION_RE.fullmatch(region):
            raise SandboxError(f"region {region!r} is not a region name such as 'us-east-1'")
        if region.startswith(("cn-", "us-gov-", "us-iso")):
            raise SandboxError(f"the sandbox serves the aws partition only, not {region!r}")
        if not isinstance(user_name, str) or not _USER_NAME_RE.fullmatch(user_name):
            raise SandboxError(
                f"user name {user_name!r} is not a valid IAM user name "
                "(1-64 letters, digits and +=,.@_-)"
            )
        self.region = region
        self.user_name = user_name
        self.admin_user_name = f"{user_name[:58]}-admin"
        self.account = SANDBOX_ACCOUNT
        self.user_arn = f"arn:{_PARTITION}:iam::{self.account}:user/{user_name}"
        self._keys: _Keys | None = None
        self._admin_keys: _Keys | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._process: _ServerProcess | None = None
        self._stopped_requests: list[RecordedRequest] | None = None  # a process's, at its stop
        self._app: _SandboxApp | None = None
        self._moto: WsgiApp | None = None  # moto's app, once start() may have changed moto
        self._moto_auth = contextlib.ExitStack()  # moto's IAM enforcement, while running
        self._url: str | None = None

    @classmethod
    def from_files(
        cls,
        policy: str | os.PathLike[str] | None = None,
        scps: Sequence[str | os.PathLike[str]] = (),
        *,
        region: str | None = None,
    ) -> Sandbox:
        """A sandbox (not started) whose policy and SCPs are read from JSON files.

        ``policy`` None is :data:`DEMO_POLICY`, ``region`` None ``us-east-1``.
        Each file is read and checked by :func:`load_policy` or :func:`load_scp`;
        an error is a one-line :class:`SandboxError` naming the file.
        """
        from awsprobe.sandbox.policy import load_policy, load_scp

        document = load_policy(policy) if policy is not None else None
        return cls(document, region=region or "us-east-1", scps=[load_scp(p) for p in scps])

    def __repr__(self) -> str:
        state = self._url or "stopped"
        return f"<Sandbox {self.user_arn} {self.region} {state}>"

    # -- lifecycle -----------------------------------------------------------------------

    def __enter__(self) -> Sandbox:
        return self.start() if self._url is None else self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> Sandbox:
        """Reset moto, create the identities and serve. Returns ``self``."""
        with Sandbox._running_lock:
            if Sandbox._running is self:
                return self
            if Sandbox._running is not None:
                raise SandboxError(
                    f"another sandbox is already running in this process ({Sandbox._running!r}); "
                    "stop it first: moto's state is global, so only one can run at a time"
                )
            Sandbox._running = self
        try:
            self._start()
        except BaseException:
            self._teardown()
            raise
        logger.debug("sandbox serving at %s", self._url)
        return self

    def _start(self) -> None:
        moto = moto_app()
        if mock_aws_active():
            raise SandboxError(
                "a moto mock_aws is active in this process; the sandbox shares moto's state, "
                "so stop the mock before starting a sandbox"
            )
        self._stopped_requests = None
        self._moto = moto
        reset(moto)
        self._app = _SandboxApp(moto, self.account, scp_levels(self.scps))
        self._keys = self._create_user(self.user_name, _POLICY_NAME, self.policy)
        self._admin_keys = self._create_user(
            self.admin_user_name, _ADMIN_POLICY_NAME, _ADMIN_POLICY
        )
        from awsprobe.sandbox.server import _make_server  # werkzeug: loaded on start only

        self._server = _make_server(self._app)
        port = self._server.server_address[1]
        # moto checks every pass-through request's signature and policies from now on
        self._moto_auth.enter_context(iam_enforced(moto))
        if _fork_safe():
            try:
                self._process = _ServerProcess(self._server, self._app, f"awsprobe-sandbox-{port}")
            except OSError:  # no fork to be had (process limits): serve from a thread
                logger.debug("sandbox: could not fork its server", exc_info=True)
        if self._process is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"awsprobe-sandbox-{port}",
                daemon=True,
            )
            self._thread.start()
        self._url = f"http://127.0.0.1:{port}"

    def _create_user(self, name: str, policy_name: str, policy: Mapping[str, Any]) -> _Keys:
        iam = iam_backend(self.account)
        iam.create_user(self.region, name)
        key = iam.create_access_key(name)
        sessions = self._app.sessions if self._app is not None else None
        _put_inline_policy(self.account, name, policy_name, policy, sessions)
        return _Keys(key.access_key_id, key.secret_access_key)

    def set_policy(self, policy: Mapping[str, Any]) -> None:
        """Replace the sandbox user's policy while running; the next request sees it.

        Faster than a new sandbox: tests of several policies share one server.
        An empty ``Statement`` list leaves the user with no permissions.
        """
        document = validate_policy(policy)
        self._user_keys()
        if self._process is not None:
            self._process.call("set_policy", (self.account, self.user_name, document))
        else:
            assert self._app is not None  # running
            _apply_policy(self._app, self.account, self.user_name, document)
        self.policy = document

    def stop(self) -> None:
        """Stop serving, close every connection, and give moto back its global state."""
        if Sandbox._running is not self:
            return
        self._teardown()
        logger.debug("sandbox stopped")

    def _teardown(self) -> None:
        server, thread, process = self._server, self._thread, self._process
        deadline = time.monotonic() + _STOP_TIMEOUT
        if process is not None:
            self._stopped_requests = process.stop(deadline)
            self._process = None
        elif server is not None:
            if thread is not None:
                server.shutdown()
            while thread is not None and thread.is_alive() and time.monotonic() < deadline:
                server.close_connections()
                thread.join(0.05)
            server.join_handlers(deadline)
        if server is not None:
            server.server_close()
        self._server = self._thread = None
        self._url = None
        if self._moto is not None:
            self._moto_auth.close()  # moto's authentication settings as they were
            reset(self._moto)
            self._moto = None
        with Sandbox._running_lock:
            if Sandbox._running is self:
                Sandbox._running = None

    # -- what callers use ----------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the sandbox is serving."""
        return self._url is not None

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:<port>``; pass it as every client's ``endpoint_url``."""
        if self._url is None:
            raise SandboxError("the sandbox is not running; call start() or use 'with Sandbox()'")
        return self._url

    @property
    def access_key_id(self) -> str:
        """The sandbox user's access key id."""
        return self._user_keys().access_key_id

    @property
    def secret_access_key(self) -> str:
        """The sandbox user's secret access key."""
        return self._user_keys().secret_access_key

    def _user_keys(self) -> _Keys:
        if self._keys is None or self._url is None:
            raise SandboxError("the sandbox is not running; call start() or use 'with Sandbox()'")
        return self._keys

    def session(self) -> boto3.Session:
        """A boto3 session with the sandbox user's keys and region.

        It reads no environment variable, profile or config file. Clients
        still need ``endpoint_url=sandbox.endpoint_url``.
        """
        keys = self._user_keys()
        return _isolated_session(keys.access_key_id, keys.secret_access_key, self.region)

    def admin_session(self) -> boto3.Session:
        """A boto3 session of an admin user (``Action: *``), for creating real moto resources."""
        self._user_keys()
        assert self._admin_keys is not None
        keys = self._admin_keys
        return _isolated_session(keys.access_key_id, keys.secret_access_key, self.region)

    def env(self) -> dict[str, str]:
        """Environment variables that point an AWS CLI or awsprobe subprocess at the sandbox."""
        keys = self._user_keys()
        return {
            "AWS_ACCESS_KEY_ID": keys.access_key_id,
            "AWS_SECRET_ACCESS_KEY": keys.secret_access_key,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "AWS_ENDPOINT_URL": self.endpoint_url,
        }

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received since ``start()``, in arrival order (a copy)."""
        if self._process is not None:
            answer: list[RecordedRequest] = self._process.call("requests")
            return answer
        if self._stopped_requests is not None:
            return list(self._stopped_requests)
        return self._app.requests if self._app is not None else []
