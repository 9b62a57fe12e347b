"""The sandbox: a local AWS on 127.0.0.1 that answers dry runs the way AWS does.

There is no AWS account in a test run, so awsprobe brings its own: moto's
in-memory AWS, served on a free loopback port, behind a thin WSGI layer that
answers every *dry run* itself. Use it as a context manager::

    with Sandbox(policy) as sandbox:
        ec2 = guarded_client(sandbox.session(), "ec2", endpoint_url=sandbox.endpoint_url)

Design
======

::

    botocore client ──HTTP/1.1 keep-alive──▶ server (werkzeug, 127.0.0.1:<free port>,
                                             one thread per connection)
                                  │
                        app: _SandboxApp (a WSGI app)
                  routing: identify service + operation
                                  │
              ┌─── a dry run of a probed catalog operation, sts:DecodeAuthorizationMessage
              │    or sts:GetCallerIdentity
              │        auth: SigV4 (keys from moto's IAM) → evaluation: the caller's
              │        identity policies → answers: the service's own protocol, with
              │        real-AWS codes, statuses and texts
              │
              └─── anything else: passed to moto untouched (moto's IAM enforcement is on)

The rooms, each a module of this package, lower ones never importing higher
ones: ``conditions`` (IAM's condition operators), ``evaluation`` (the
evaluator), ``policy`` (loading and validation), ``request`` (the request
model), ``routing``, ``moto_adapter`` (every use of moto), ``sessions``
(what the sandbox keeps beyond moto: minted session credentials, AssumeRole
extras, users' permissions boundaries), ``identities`` (principals in moto's
IAM and STS), ``layers`` (a principal's policy layers: identity, boundary,
session, SCPs), ``callers`` (remembered callers and verdicts), ``intercept``
(the STS and IAM calls answered or watched here: ``GetSessionToken``,
``Put``/``DeleteUserPermissionsBoundary``, ``AssumeRole``, ``CreateUser``,
``GetUser``), ``simulate`` (``iam:SimulatePrincipalPolicy`` and
``iam:GetContextKeysForPrincipalPolicy``, which moto lacks, answered with the
sandbox's own evaluator), ``auth`` (the SigV4 check), ``cbor``, ``answers`` (per protocol),
``messages`` (encoded authorization messages), ``app`` (request in, answer
out, no socket), ``server`` (the only code that knows sockets), ``process``
(the server in a process of its own) and ``lifecycle`` (:class:`Sandbox`).
Whether a request is a dry run is decided by
:func:`awsprobe.guard.check_request`, the same wire check that guards
awsprobe's own clients, so the sandbox and the guard can never disagree.

*How it differs from moto* (moto 5.2: ``moto/ec2/responses/_base_response.py``
``error_on_dryrun``, ``moto/core/authorization.py``; getmoto/moto#1980):

* moto honours ``DryRun`` on about 92 EC2 operations and *executes* the rest;
  here no dry run of a probed operation ever reaches moto.
* moto denies EC2 calls with ``AccessDenied`` in an ``<ErrorResponse>``;
  here EC2 says ``UnauthorizedOperation`` (403) with an encoded authorization
  failure message, KMS ``AccessDeniedException`` (400), and so on: the codes
  come from each catalog entry's ``success_codes``/``denial_codes``, the
  statuses from the service model's ``httpStatusCode`` or :data:`DIALECTS`.
* moto has no ``iam:SimulatePrincipalPolicy``; here it is answered by the
  same evaluator as the dry runs, for a user, group or role, with its identity
  policies, permissions boundary and the sandbox's SCPs (:mod:`.simulate`).
* moto has no ``sts:DecodeAuthorizationMessage``; here it decodes the
  sandbox's own messages. ``sts:GetCallerIdentity`` is answered here too, with
  the same identity moto would give (and, as in AWS, whatever the caller's
  policies say).
* moto's policy evaluator matches actions case-sensitively and treats a
  failed ``Condition`` as a deny; :func:`evaluate` follows IAM: an explicit
  Deny beats an Allow beats the implicit deny, actions match
  case-insensitively with ``*``/``?``, resources segment by segment, and
  conditions over the request context AWS would build (:mod:`.context`).

Evaluation limits (documented, deliberate):

* The policy layers of one account (:func:`policy_set`): identity policies
  (user inline, user managed, group inline and group managed; a role's inline
  and managed for its sessions), the user's or role's permissions boundary,
  the session policies of an ``AssumeRole`` session (``Policy`` and
  ``PolicyArns``), and the SCPs given as ``Sandbox(scps=...)``, all attached
  to the sandbox account, the root and OUs above holding only
  ``FullAWSAccess``. Credentials from the sandbox's ``GetSessionToken`` and
  ``AssumeRole`` carry ``aws:TokenIssueTime`` and ``aws:MultiFactorAuthPresent``
  (and ``aws:MultiFactorAuthAge`` with MFA); an MFA code is not checked.
  Requests moto answers (not dry runs, not the calls of ``intercept``) are
  judged by moto's own evaluator: identity policies only.
* Each action is authorized on each resource the request touches
  (:func:`~awsprobe.sandbox.context.request_contexts`, from the Service
  Authorization Reference); a key the sandbox does not set is absent, and the
  documented absent-key rules apply. What IAM's documentation leaves undefined
  is *unjudged* (:attr:`Decision.unjudged`): an Allow that needs it grants
  nothing, a Deny that needs it denies. Resource-based policies, RCPs and VPC
  endpoint policies are not evaluated.
* SigV4 signatures are verified (with botocore's own signer); clock skew
  and message expiry are not checked.

Process-wide state
==================

moto keeps its backends and its IAM-enforcement switch in module globals.
So only one :class:`Sandbox` may run per process at a time (a second
``start()`` raises :class:`SandboxError`), starting one resets every moto
backend, and a ``moto.mock_aws`` must not be active meanwhile. ``stop()``
resets the backends again and restores moto's authentication settings, so
``mock_aws`` works unauthenticated afterwards. The server is thread safe:
each connection has its own thread, and the sandbox's own state is read-only
after ``start()`` apart from the request log and the remembered callers,
which are locked.

*Where it serves.* Where forking is safe (Linux, and no other thread in the
process: :func:`awsprobe.probing.parallel.fork_safe`), ``start()`` sets moto up and
forks the server into a process of its own, with a GIL of its own;
:meth:`Sandbox.set_policy`, :attr:`Sandbox.requests` and ``stop()`` reach it
over a pipe, and it exits when ``stop()`` says so or when its parent is gone.
Elsewhere it serves from a thread named ``awsprobe-sandbox-<port>``, in this
process. Either way moto's state in this process is what ``start()`` made it,
and ``stop()`` restores it as above.

*Remembered callers.* Looking a caller up in moto's IAM and evaluating its
policies is done once per access key, action and region, and remembered
until moto's state may have changed: any request the sandbox passes to moto
(an IAM or STS call, or anything else) and :meth:`Sandbox.set_policy` forget
everything. A verdict whose policies have a condition on ``aws:CurrentTime``
or ``aws:EpochTime`` is never remembered. Change moto's IAM through the
sandbox's endpoint (or ``set_policy``), never by calling moto's backends.
"""

from __future__ import annotations

from awsprobe.sandbox.answers import (
    DENIAL_CODE_PREFERENCE,
    DIALECTS,
    DRY_RUN_MESSAGES,
    ENCODED_MESSAGE_SERVICES,
    MOTO_SPELLINGS,
    Dialect,
)
from awsprobe.sandbox.conditions import CONDITION_OPERATORS
from awsprobe.sandbox.evaluation import Decision, PolicySet, RequestContext, authorize, evaluate
from awsprobe.sandbox.layers import FULL_AWS_ACCESS, policy_set
from awsprobe.sandbox.lifecycle import Sandbox
from awsprobe.sandbox.moto_adapter import SANDBOX_ACCOUNT
from awsprobe.sandbox.policy import (
    DEMO_POLICY,
    load_policy,
    load_scp,
    validate_policy,
    validate_scp,
)
from awsprobe.sandbox.request import RecordedRequest

__all__ = [
    "CONDITION_OPERATORS",
    "DEMO_POLICY",
    "DENIAL_CODE_PREFERENCE",
    "DIALECTS",
    "DRY_RUN_MESSAGES",
    "ENCODED_MESSAGE_SERVICES",
    "FULL_AWS_ACCESS",
    "MOTO_SPELLINGS",
    "SANDBOX_ACCOUNT",
    "Decision",
    "Dialect",
    "PolicySet",
    "RecordedRequest",
    "RequestContext",
    "Sandbox",
    "authorize",
    "evaluate",
    "load_policy",
    "load_scp",
    "policy_set",
    "validate_policy",
    "validate_scp",
]
