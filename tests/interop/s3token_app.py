"""Swift's S3 front end with keystone, as a proxy runs it, in front of a recording app.

Run with the s3 venv's python (swift is kept out of the clients' venv):

    python s3token_app.py AUTH_URI PORT_FILE RECORD_FILE REPLIES_FILE [SERVICE_AUTH_JSON]

Builds the WSGI pipeline `s3api s3token <recorder>` from Swift's own filter factories
(the proxy pipeline's `... s3api s3token keystoneauth proxy-server`, with the recorder
where keystoneauth and the proxy would be), serves it with eventlet as Swift's proxy does
on 127.0.0.1 on a free port (written to PORT_FILE once listening) and appends one JSON line per request that reaches the
recorder to RECORD_FILE: the path, the X-* headers s3token set, and `keystone.token_info`;
and the status of every /v3/s3tokens reply s3token got to REPLIES_FILE.
SERVICE_AUTH_JSON holds s3token's keystoneauth options (auth_type, auth_url, username, …)
for its service token; without it s3token calls /v3/s3tokens unauthenticated.
"""

from __future__ import annotations

import json
import os
import sys

import eventlet
import eventlet.wsgi
from swift.common.http_protocol import SwiftHttpProtocol
from swift.common.middleware.s3api import s3api, s3token


def recorder(record_file: str):
    def app(environ, start_response):
        seen = {
            "method": environ["REQUEST_METHOD"],
            "path": environ["PATH_INFO"],
            "query": environ.get("QUERY_STRING", ""),
            "headers": {key[5:].replace("_", "-").title(): value
                        for key, value in environ.items()
                        if key.startswith("HTTP_X_")},
            "token_info": environ.get("keystone.token_info"),
        }
        with open(record_file, "a", encoding="utf-8") as out:
            out.write(json.dumps(seen) + "\n")
        # What a Swift account GET (?format=json) answers for an account with no containers;
        # s3api renders it as an empty ListAllMyBucketsResult.
        start_response("200 OK", [("Content-Type", "application/json; charset=utf-8"),
                                  ("Content-Length", "2")])
        return [b"[]"]

    return app


def record_keystone_replies(record_file: str) -> None:
    """Appends the status of each /v3/s3tokens reply s3token gets (one JSON line each), by
    wrapping the `requests.post` its module calls; the filter itself is unchanged."""
    post = s3token.requests.post

    def recording_post(url, *args, **kwargs):
        resp = post(url, *args, **kwargs)
        with open(record_file, "a", encoding="utf-8") as out:
            out.write(json.dumps({"url": url, "status": resp.status_code}) + "\n")
        return resp

    s3token.requests.post = recording_post


def main() -> None:
    auth_uri, port_file, record_file, replies_file = sys.argv[1:5]
    service_auth = json.loads(sys.argv[5]) if len(sys.argv) > 5 else {}
    record_keystone_replies(replies_file)
    conf = {"log_level": "DEBUG", "log_name": "s3token"}
    app = s3token.filter_factory(conf, auth_uri=auth_uri, http_timeout="30",
                                 **service_auth)(recorder(record_file))
    app = s3api.filter_factory({}, log_level="DEBUG")(app)
    # eventlet's WSGI server with Swift's protocol class, as Swift's proxy serves its
    # pipeline (eventlet's own would invent `Content-Type: text/plain`, which s3api then
    # puts into the SigV2 string to sign).
    sock = eventlet.listen(("127.0.0.1", 0))
    with open(port_file + ".tmp", "w", encoding="utf-8") as out:
        out.write(str(sock.getsockname()[1]))
    os.replace(port_file + ".tmp", port_file)
    eventlet.wsgi.server(sock, app, protocol=SwiftHttpProtocol, log=sys.stderr)


if __name__ == "__main__":
    main()
