"""The naive boto3 loop as a user writes it, run as its own process (figure 1w).

``python benchmarks/naive_loop.py ENDPOINT_URL CALLS REGION``: CALLS is a pickle of
``[(method, params), ...]`` that the bench wrote from the catalog (the same operations and
parameters awsprobe sends; pickled because parameters may hold bytes and timestamps), so
the loop carries its list as a hand-written script would. One client, one call after
another, every ``ClientError`` counted by code; prints the counts as JSON.
"""

from __future__ import annotations

import json
import pickle
import sys
from collections import Counter


def main() -> int:
    import boto3
    from botocore.exceptions import ClientError

    url, path, region = sys.argv[1:4]
    with open(path, "rb") as source:
        calls = pickle.load(source)  # written by the bench itself, never a downloaded file
    client = boto3.client("ec2", region_name=region, endpoint_url=url)
    codes: Counter[str] = Counter()
    for method, params in calls:
        try:
            getattr(client, method)(**params)
            codes["ran"] += 1
        except ClientError as exc:
            codes[exc.response["Error"]["Code"]] += 1
    print(json.dumps(dict(codes)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
