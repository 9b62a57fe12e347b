"""Routing: which service and operation a request is, and its probed catalog entry.

The SigV4 credential scope gives the signing name, the signing name the
candidate botocore models (``mgh`` signs for two); the operation comes from
the form ``Action`` (ec2/query), ``X-Amz-Target`` (json),
``/service/S/operation/Op`` (smithy-rpc-v2-cbor) or the method and path
against the model's ``requestUri`` templates (rest-json). :func:`_routing`
holds the process-wide tables, filled per signing name as requests arrive.
"""

from __future__ import annotations

import functools
import re
import threading
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qs

import botocore.loaders
from botocore.model import ServiceModel

from awsprobe.catalog import CatalogEntry, dry_run_index, load_catalog
from awsprobe.sandbox.request import _Incoming
from awsprobe.tables import IAM_PREFIX_OVERRIDES

_CBOR_PATH_RE: Final = re.compile(r"/service/(?P<service>[^/]+)/operation/(?P<operation>[^/]+)")


@dataclass(frozen=True)
class _Route:
    service: str
    operation: str
    wire: str  # the protocol the request was serialized with
    model: ServiceModel


_LABEL_RE: Final = re.compile(r"\{([^}]+)\}")


@dataclass(frozen=True)
class _RestRoute:
    method: str
    path: re.Pattern[str]
    query: tuple[str, ...]  # names the query string must carry
    operation: str
    literal: int  # specificity: literal characters in the template


def _rest_routes(model: ServiceModel) -> tuple[_RestRoute, ...]:
    routes = []
    for name in model.operation_names:
        http_trait = model.operation_model(name).http
        template = str(http_trait.get("requestUri", "/"))
        path, _, query = template.partition("?")
        pattern, last = [], 0
        for label in _LABEL_RE.finditer(path):
            pattern.append(re.escape(path[last : label.start()]))
            pattern.append(".+" if label.group(1).endswith("+") else "[^/]+")
            last = label.end()
        pattern.append(re.escape(path[last:]))
        required = tuple(
            part.split("=", 1)[0] for part in query.split("&") if part and "{" not in part
        )
        literal = len(_LABEL_RE.sub("", path))
        routes.append(
            _RestRoute(
                str(http_trait.get("method", "POST")).upper(),
                re.compile("^" + "".join(pattern) + "/?$"),
                required,
                name,
                literal,
            )
        )
    return tuple(sorted(routes, key=lambda r: (-r.literal, r.operation)))


class _ServiceRouter:
    """Finds the operation of a request to one botocore service."""

    def __init__(self, model: ServiceModel) -> None:
        self.model = model
        self.service = str(model.service_name)
        metadata = model.metadata
        self.protocols = tuple(metadata.get("protocols") or [metadata.get("protocol", "")])
        self.target_prefix = metadata.get("targetPrefix")
        self.operations = frozenset(model.operation_names)
        has_rest = any(p.startswith("rest-") for p in self.protocols)
        self._rest = _rest_routes(model) if has_rest else ()

    def match(self, request: _Incoming) -> tuple[str, str] | None:
        """``(operation, wire protocol)`` when the request is for this service."""
        target = request.headers.get("X-Amz-Target")
        if target and self.target_prefix and "json" in self.protocols:
            prefix, _, operation = target.rpartition(".")
            if prefix == self.target_prefix and operation in self.operations:
                return operation, "json"
        if "smithy-rpc-v2-cbor" in self.protocols:
            found = _CBOR_PATH_RE.fullmatch(request.path)
            if (
                found
                and found["service"] == self.target_prefix
                and (found["operation"] in self.operations)
            ):
                return found["operation"], "smithy-rpc-v2-cbor"
        for protocol in ("ec2", "query"):
            if protocol in self.protocols:
                actions = request.form().get("Action")
                if actions and actions[-1] in self.operations:
                    return actions[-1], protocol
        if self._rest and not target:
            query = parse_qs(request.query, keep_blank_values=True)
            wire = "rest-json" if "rest-json" in self.protocols else "rest-xml"
            for route in self._rest:
                if (
                    route.method == request.method
                    and route.path.match(request.path)
                    and all(name in query for name in route.query)
                ):
                    return route.operation, wire
        return None


class _Routing:
    """Everything the sandbox knows about the services it answers for.

    One per process, filled per SigV4 signing name on the first request that
    carries it: a router per botocore service that signs with that name and
    has probed catalog entries (or, for pass-through traffic such as ``iam``
    or ``sts``, the same-named service), and those services' catalog entries,
    keyed by (service, operation). Only the models a request needs are loaded.
    """

    def __init__(self) -> None:
        self.loader = _shared_loader()  # models straight from it: no botocore session needed
        self._entries: dict[tuple[str, str], CatalogEntry] = {}
        self._by_signing_name: dict[str, list[_ServiceRouter]] = {}
        self._variants: dict[tuple[str, str], ServiceModel] = {}
        self._lock = threading.Lock()

    def _routers_for(self, signing_name: str) -> list[_ServiceRouter]:
        # the dry-run index records each service's IAM prefix, which is its signing
        # name unless IAM_PREFIX_OVERRIDES says otherwise: check those by their model
        index = dry_run_index()
        candidates = sorted(
            service
            for service, row in index.items()
            if row.iam_prefix.lower() == signing_name or service in IAM_PREFIX_OVERRIDES
        )
        routers = []
        for service in candidates:
            model = self._model(service)
            if str(model.signing_name).lower() != signing_name:
                continue
            entries = [e for e in load_catalog(services=[service]) if e.service == service]
            if entries:
                self._entries.update(((e.service, e.operation), e) for e in entries)
                routers.append(_ServiceRouter(model))
        if not routers and signing_name in self.loader.list_available_services("service-2"):
            # pass-through traffic (iam, sts, s3...): the same-named model, to record it
            model = self._model(signing_name)
            if str(model.signing_name).lower() == signing_name:
                routers.append(_ServiceRouter(model))
        return routers

    def _model(self, service: str) -> ServiceModel:
        return ServiceModel(self.loader.load_service_model(service, "service-2"), service)

    def routers(self, signing_name: str) -> list[_ServiceRouter]:
        with self._lock:
            if signing_name not in self._by_signing_name:
                self._by_signing_name[signing_name] = self._routers_for(signing_name)
            return self._by_signing_name[signing_name]

    def entry(self, route: _Route) -> CatalogEntry | None:
        """The probed catalog entry of a routed request, if it has one."""
        return self._entries.get((route.service, route.operation))

    def identify(self, request: _Incoming) -> _Route | None:
        if request.auth is None:
            return None
        for router in self.routers(request.auth.service):
            found = router.match(request)
            if found is not None:
                operation, wire = found
                return _Route(router.service, operation, wire, self.model_for(router, wire))
        return None

    def model_for(self, router: _ServiceRouter, wire: str) -> ServiceModel:
        """The service model whose resolved protocol is the one the request used."""
        model = router.model
        if getattr(model, "resolved_protocol", model.protocol) == wire or wire == "rest-xml":
            return model
        key = (router.service, wire)
        with self._lock:
            if key not in self._variants:
                raw = dict(self.loader.load_service_model(router.service, "service-2"))
                raw["metadata"] = {**raw["metadata"], "protocol": wire, "protocols": [wire]}
                self._variants[key] = ServiceModel(raw, router.service)
            return self._variants[key]


_ROUTING: dict[str, _Routing] = {}
_ROUTING_LOCK = threading.Lock()


def _routing() -> _Routing:
    """The process-wide routing tables, filled as requests arrive (see :class:`_Routing`)."""
    with _ROUTING_LOCK:
        if "routing" not in _ROUTING:
            _ROUTING["routing"] = _Routing()
        return _ROUTING["routing"]


@functools.cache
def _shared_loader() -> Any:
    return botocore.loaders.create_loader()
