"""Schemathesis hooks of the contract checks (.ci/contrat.sh).

POST /v1/imports takes NDJSON files (`application/x-ndjson`): one JSON document per line.
Schemathesis has no serializer for that media type; the body is described as a string, so it
is sent as is (UTF-8).
"""

import json

import schemathesis


@schemathesis.serializer("application/x-ndjson")
def ndjson(ctx, value):
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    return (json.dumps(value, ensure_ascii=False) + "\n").encode("utf-8", "surrogatepass")
