"""Authentication: the SigV4 signature check, with botocore's own signer.

A request authenticates when its ``Authorization`` signature is the one
botocore's ``SigV4Auth`` computes for the same method, URL, signed headers,
body and timestamp with the principal's secret (and, for a session, its
token). Clock skew and expiry are not checked.
"""

from __future__ import annotations

import hmac
import logging

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from awsprobe.sandbox.identities import _Principal
from awsprobe.sandbox.request import _Auth, _Incoming

logger = logging.getLogger(__name__)


def _signature_matches(request: _Incoming, auth: _Auth, principal: _Principal) -> bool:
    """Whether ``principal`` signed exactly this request (SigV4, recomputed by botocore)."""
    token = request.headers.get("X-Amz-Security-Token")
    if principal.session_token is not None and token != principal.session_token:
        return False
    headers = {k: v for k, v in request.headers.items() if k.lower() in auth.signed_headers}
    timestamp = request.headers.get("X-Amz-Date")
    if timestamp is None or "host" not in auth.signed_headers:
        return False
    signed = AWSRequest(method=request.method, url=request.url, data=request.body, headers=headers)
    signed.context["timestamp"] = timestamp
    credentials = Credentials(auth.access_key_id, principal.secret, principal.session_token)
    signer = SigV4Auth(credentials, auth.service, auth.region)
    try:
        canonical = signer.canonical_request(signed)
        expected = signer.signature(signer.string_to_sign(signed, canonical), signed)
    except Exception:  # a header botocore cannot canonicalise: not a valid signature
        logger.debug("could not recompute a SigV4 signature", exc_info=True)
        return False
    return hmac.compare_digest(str(expected), auth.signature)
