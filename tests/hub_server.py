"""A minimal stand-in for the Hugging Face Hub's file protocol on 127.0.0.1, for tests that
exercise the real download path (huggingface_hub with ``HF_ENDPOINT`` pointing here).

It serves ``ROOT/<org>/<repo>/<file>`` as revision ``main`` of repository ``<org>/<repo>``:
``HEAD``/``GET /<org>/<repo>/resolve/<revision>/<file>`` with the headers the client reads
(``X-Repo-Commit``, ``ETag`` = the file's sha256, ``Content-Length``), 404 with
``X-Error-Code: EntryNotFound`` / ``RepoNotFound`` otherwise, and ``/api/models/<org>/<repo>``
with the file list. Every request is logged in ``Hub.requests``.
"""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

COMMIT = "0123456789abcdef0123456789abcdef01234567"


class Hub:
    def __init__(self, root: Path):
        self.root, self.requests = Path(root), []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _send(self, code, headers, body=b""):
                self.send_response(code)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                if self.command == "GET" and body:
                    self.wfile.write(body)

            def _route(self):
                hub.requests.append((self.command, self.path))
                parts = self.path.split("?")[0].strip("/").split("/")
                if parts[:2] == ["api", "models"] and len(parts) >= 4:
                    repo = hub.root / parts[2] / parts[3]
                    if not repo.is_dir():
                        return self._send(404, {"X-Error-Code": "RepoNotFound"})
                    body = json.dumps(
                        {
                            "id": f"{parts[2]}/{parts[3]}",
                            "sha": COMMIT,
                            "siblings": [{"rfilename": f.name} for f in repo.iterdir()],
                        }
                    ).encode()
                    return self._send(
                        200,
                        {"Content-Type": "application/json", "Content-Length": str(len(body))},
                        body,
                    )
                if len(parts) >= 5 and parts[2] == "resolve":
                    repo = hub.root / parts[0] / parts[1]
                    if not repo.is_dir():
                        return self._send(404, {"X-Error-Code": "RepoNotFound"})
                    f = repo.joinpath(*parts[4:])
                    if not f.is_file():
                        return self._send(
                            404, {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": COMMIT}
                        )
                    body = f.read_bytes()
                    return self._send(
                        200,
                        {
                            "X-Repo-Commit": COMMIT,
                            "ETag": '"' + hashlib.sha256(body).hexdigest() + '"',
                            "Content-Length": str(len(body)),
                            "Content-Type": "application/octet-stream",
                        },
                        body,
                    )
                return self._send(404, {})

            do_GET = do_HEAD = _route

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "Hub":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
