"""A scripted HTTP server on loopback that answers like a daemon (or like a port squatter),
recording requests."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cluster.address import NONCE_HEADER, PROOF_HEADER, expected_proof


class FakeDaemon:
    """`token`: the token it proves (None: no proof header at all). `script[path]`: a list of answers used in
    order, each (status, body_object, headers) or "drop" (close the connection without answering); the last
    answer repeats."""

    def __init__(self, token: str | None, script: dict):
        self.token, self.script = token, {path: list(answers) for path, answers in script.items()}
        self.requests: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                fake.answer(self, None)

            def do_POST(self):
                fake.answer(self, self.rfile.read(int(self.headers.get("Content-Length", 0))))

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "FakeDaemon":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def answer(self, handler: BaseHTTPRequestHandler, body: bytes | None) -> None:
        self.requests.append({"path": handler.path, "headers": dict(handler.headers),
                              "body": json.loads(body) if body else None})
        answers = self.script.get(handler.path) or [(200, {"status": "ok"}, {})]
        reply = answers.pop(0) if len(answers) > 1 else answers[0]
        if reply == "drop":
            handler.close_connection = True
            handler.connection.shutdown(2)
            return
        status, document, headers = reply
        data = json.dumps(document).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        nonce = handler.headers.get(NONCE_HEADER)
        if nonce and self.token:
            handler.send_header(PROOF_HEADER, expected_proof(self.token, nonce))
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)

    def bodies(self, path: str) -> list:
        return [request["body"] for request in self.requests if request["path"] == path]

    def saw_token(self, token: str) -> bool:
        return any(token in json.dumps(request) for request in self.requests)
