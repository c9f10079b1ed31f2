"""The recognizer as a local web page: a canvas to draw on, and the small JSON API it calls.

    GET  /                 the page (page/index.html, with page/page.js and page/page.css)
    POST /api/recognize    an image (PNG or JPEG) as the body; answers
                           {"digit": d, "probabilities": [p0, ..., p9], "image28": [[...], ...]}

The server only reads the drawing and answers: the image goes through the
same ``recognize`` as the drawing window and ``--image`` (the MNIST recipe and
the loaded model), so nothing of the recipe is written again in JavaScript.
It is Python's own ``http.server``: one thread per request, one model for all
of them, a time limit on slow clients, and answers, never tracebacks, for
what it cannot use.
"""
import http.server
import ipaddress
import json
import socket
import sys
import threading
import webbrowser
from pathlib import Path

import numpy as np

from common.errors import LabError
from draw_a_digit import recipe

PAGE_DIR = Path(__file__).resolve().parent / "page"
# The only files the server sends: a request's path is looked up here, never in the file system.
PAGE_FILES = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    "/page.js": ("page.js", "text/javascript; charset=utf-8"),
    "/page.css": ("page.css", "text/css; charset=utf-8"),
}
API_PATH = "/api/recognize"
MAX_BODY = 2 * 1024 * 1024      # A drawing as PNG is a few kilobytes; 2 MB leaves room for a photo.
DRAIN_LIMIT = 8 * MAX_BODY       # An oversized body is read (and thrown away) up to this much.
CLIENT_TIMEOUT = 20             # Seconds a client may take to send its request before it is dropped.


class Rejected(Exception):
    """A request the API cannot use: its HTTP status and a one-sentence reason."""

    def __init__(self, status: int, reason: str, headers: dict | None = None):
        super().__init__(reason)
        self.status, self.reason, self.headers = status, reason, headers or {}


def answer_for(recognize, body: bytes) -> dict:
    """What ``POST /api/recognize`` answers for ``body``; raises ``Rejected`` for a body it cannot use."""
    if not body:
        raise Rejected(400, "The request body is empty: send the drawing as a PNG or JPEG image.")
    try:
        image = recipe.decode_grey(body)
        seen, probabilities = recognize(image)
    except recipe.BlankImage:
        raise Rejected(400, "The drawing is blank: draw a digit first.") from None
    except recipe.ImageError as problem:
        raise Rejected(400, f"The body is not an image the server can read: {problem}.") from None
    probabilities = np.asarray(probabilities, dtype=float)
    return {"digit": int(np.argmax(probabilities)),
            "probabilities": [round(float(p), 6) for p in probabilities],
            "image28": np.round(np.asarray(seen, dtype=float), 4).tolist()}


class Handler(http.server.BaseHTTPRequestHandler):
    """One request: a page file, the API, or a JSON error. ``self.server.recognize`` does the work."""

    server_version = "draw-a-digit"
    timeout = CLIENT_TIMEOUT         # A client that stops sending is dropped, not waited for.

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path in PAGE_FILES:
            name, kind = PAGE_FILES[path]
            self._send(200, self.server.page[name], kind)
        elif path == API_PATH:
            self._error(Rejected(405, "Use POST to send a drawing to /api/recognize.", {"Allow": "POST"}))
        else:
            self._error(Rejected(404, f"There is nothing at {path}: the page is at /."))

    def do_HEAD(self):
        self.do_GET()

    def do_POST(self):
        path = self.path.split("?", 1)[0]
        if path != API_PATH:
            if path in PAGE_FILES:
                self._error(Rejected(405, f"{path} is a page: open it with GET.", {"Allow": "GET"}))
            else:
                self._error(Rejected(404, f"There is nothing at {path}: send drawings to {API_PATH}."))
            return
        try:
            answer = answer_for(self.server.recognize, self._body())
        except Rejected as rejected:
            self._error(rejected)
            return
        except (ConnectionError, TimeoutError, socket.timeout):
            raise                            # The client went away: nobody to answer.
        except Exception as error:           # A fault here, not the client's: say so, and log it here.
            print(f"draw-a-digit server: {type(error).__name__} while recognizing: {error}", file=sys.stderr)
            self._error(Rejected(500, "The server failed to recognize this drawing; its console says why."))
            return
        self._send(200, json.dumps(answer).encode("utf-8"), "application/json")

    def _other_method(self):
        allowed = "POST" if self.path.split("?", 1)[0] == API_PATH else "GET"
        self._error(Rejected(405, f"{self.command} is not supported here; use {allowed}.", {"Allow": allowed}))

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _other_method

    def _body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if length is None:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                raise Rejected(411, "Send the drawing with a Content-Length header, not in chunks.")
            return b""
        try:
            length = int(length)
        except ValueError:
            raise Rejected(400, "The Content-Length header is not a number.") from None
        if length < 0:
            raise Rejected(400, "The Content-Length header is negative.")
        if length > MAX_BODY:
            # Read what a browser would still be sending (so it gets the answer, not a broken
            # connection), up to a bound, then close.
            self.close_connection = True
            left = min(length, DRAIN_LIMIT)
            while left > 0 and (chunk := self.rfile.read(min(left, 65536))):
                left -= len(chunk)
            raise Rejected(413, f"The image is {length:,} bytes; the limit is {MAX_BODY:,} (2 MB).")
        return self.rfile.read(length)

    def _error(self, rejected: Rejected):
        body = json.dumps({"error": rejected.reason}).encode("utf-8")
        self._send(rejected.status, body, "application/json", rejected.headers)

    def _send(self, status: int, body: bytes, kind: str, headers: dict | None = None):
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format, *args):
        """Quiet: one line per request would bury the lab's own output."""


class Server(http.server.ThreadingHTTPServer):
    """A thread per request; they share one ``recognize``, which a lock keeps to one call at a time."""

    daemon_threads = True
    request_queue_size = 64          # Connections waiting to be accepted; the default 5 turns a burst away.

    def __init__(self, address, recognize):
        self.page = {name: (PAGE_DIR / name).read_bytes() for name, _ in PAGE_FILES.values()}
        lock = threading.Lock()

        def recognize_one_at_a_time(image):
            with lock:
                return recognize(image)

        self.recognize = recognize_one_at_a_time
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.address_family = family
        super().__init__(address, Handler)

    def handle_error(self, request, client_address):
        """A client that went away or broke its request: drop it, keep serving, say nothing to the others."""
        error = sys.exc_info()[1]
        if not isinstance(error, (ConnectionError, TimeoutError, socket.timeout)):
            print(f"draw-a-digit server: {type(error).__name__} while answering {client_address[0]}: {error}",
                  file=sys.stderr)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def start(recognize, host: str = "127.0.0.1", port: int = 8000) -> Server:
    """A server bound to ``host:port`` (port 0: a free one), not yet serving; one-line errors as ``LabError``."""
    try:
        return Server((host, port), recognize)
    except OSError as error:
        if error.errno in (98, 48, 10048):          # Address in use: Linux, macOS, Windows.
            raise LabError(f"port {port} is already in use (another program, or this lab running already); "
                           f"choose another with --port N, or --port 0 for a free one") from None
        if error.errno in (13, 10013):              # Permission denied: ports below 1024.
            raise LabError(f"not allowed to listen on port {port}; choose a port above 1023 with --port N") from None
        raise LabError(f"cannot listen on {host}:{port} ({error.strerror or error}); "
                       f"check --host and --port") from None


def address_of(server: Server) -> str:
    host, port = server.server_address[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def serve(recognize, host: str, port: int, open_browser: bool) -> str:
    """Serve the page until Ctrl-C; returns the address it served on."""
    server = start(recognize, host, port)
    address = address_of(server)
    if not is_loopback(host):
        print(f"Warning: listening on {host}, so anyone who can reach this computer on port "
              f"{server.server_address[1]} can use the recognizer.", file=sys.stderr)
    print(f"Serving on {address} (Ctrl-C stops it)", flush=True)
    if open_browser:
        threading.Thread(target=webbrowser.open, args=(address,), daemon=True).start()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        print("\nStopped.")
    finally:
        server.server_close()
    return address


def check(recognize, host: str, port: int) -> dict:
    """Serve in the background, fetch the page and recognize one drawn 1 through the API, stop (the smoke run)."""
    import io
    import urllib.request

    from PIL import Image, ImageDraw

    server = start(recognize, host, port)
    address = address_of(server)
    print(f"Serving on {address} (a smoke run: one check, then it stops)", flush=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        with urllib.request.urlopen(address, timeout=30) as response:
            page_ok = response.status == 200 and b"<canvas" in response.read()
        sheet = Image.new("L", (280, 280), 255)
        ImageDraw.Draw(sheet).line([(140, 40), (140, 240)], fill=0, width=17)
        png = io.BytesIO()
        sheet.save(png, format="PNG")
        request = urllib.request.Request(address + API_PATH.lstrip("/"), data=png.getvalue(), method="POST",
                                         headers={"Content-Type": "image/png"})
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.loads(response.read())
    finally:
        server.shutdown()
        server.server_close()
    print(f"The page {'loads' if page_ok else 'did NOT load'}; a drawn 1 sent to {API_PATH} was read as "
          f"{answer['digit']} ({answer['probabilities'][answer['digit']]:.1%}).")
    return {"address": address, "page_ok": page_ok, "answer": answer}
