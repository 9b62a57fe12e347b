"""Amazon Resource Names: the one parser.

``arn:partition:service:region:account-id:resource`` -- six colon-separated parts, the
last of which may itself hold colons and slashes (IAM User Guide, "IAM identifiers";
AWS General Reference, "Amazon Resource Names"). The principal parser (who am I), the
probe tasks' resource ARNs and the sandbox's session principals take ARNs apart here.
(The sandbox's ``ArnLike`` matcher compares a *pattern* part by part, which need not be
an ARN at all; it splits on colons itself.)
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Arn", "parse_arn"]


@dataclass(frozen=True)
class Arn:
    """An ARN taken apart; :attr:`resource` keeps everything after the fifth colon."""

    partition: str
    service: str
    region: str
    account: str
    resource: str

    @property
    def parts(self) -> tuple[str, str, str, str, str, str]:
        """The six colon-separated parts, ``"arn"`` first."""
        return ("arn", self.partition, self.service, self.region, self.account, self.resource)

    def __str__(self) -> str:
        return ":".join(self.parts)


def parse_arn(text: str) -> Arn | None:
    """``text`` as an :class:`Arn`, or ``None`` when it does not have the six parts."""
    parts = text.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return None
    return Arn(*parts[1:])
