"""The studio's web server: a JSON and image API over `views`, and the page (plain HTML, CSS and JavaScript shipped
in the package: nothing is fetched from the internet).

Hand-written over the standard library's threading HTTP server rather than Gradio or an ASGI framework: a
local, single-user viewer of folders needs a dozen GET routes and no new dependency, starts in well under a
second, and its page (a grid of thousands of samples, synced frame scrubbers) is plain DOM work that Gradio's
component model does not fit.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import re
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from ..errors import GenomniError
from .actions import Setup, decompose_job, edits_from, export_job, masks_job
from .discover import Item
from .jobs import Job, Jobs
from .views import VIEWS

logger = logging.getLogger(__name__)
STATIC = ("index.html", "studio.js", "studio.css")
MAX_BODY = 2**20  # bytes: a click list, never more


class Studio:
    """The items shown and their views, made on first use (a damaged item fails alone, as a one-line error), and
    the jobs started from the page (`actions`), whose outputs join the items."""

    def __init__(self, items: list[Item], setup: Setup | None = None):
        self.items = list(items)
        self.setup = setup
        self.jobs = Jobs()
        self._views: dict[int, Any] = {}
        self._lock = threading.Lock()

    def add(self, kind: str, path: str) -> Item:
        with self._lock:
            item = Item(len(self.items), kind, path)
            self.items.append(item)
            return item

    def act(self, action: str, item_id: int, body: Any) -> Job:
        """Start `action` (masks for a video, decompose for a footage folder) on an item, checked first."""
        item = self.item(item_id)
        if self.setup is None:
            raise GenomniError("this studio runs no jobs (it was started without a work folder)")
        if action == "masks" and item.kind == "video":
            work, made = masks_job(self.setup, item.path, body), "footage"
        elif action == "decompose" and item.kind == "footage":
            work, made = decompose_job(self.setup, item.path), "decomposition"
        elif action == "export" and item.kind == "decomposition":
            background = body.get("background") if isinstance(body, dict) else None
            work, made = export_job(self.setup, item.path, body, self.clip_path(background)), "video"
        else:
            raise GenomniError(f"{action!r} cannot be run on a {item.kind}")
        self.setup.work.mkdir(parents=True, exist_ok=True)
        return self.jobs.start(action, item_id, lambda report: self.add(made, str(work(report))).id)

    def clip_path(self, item_id: Any) -> str | None:
        """The path of the clip item `item_id` (a new background), None for none; one line for anything else."""
        if item_id in (None, ""):
            return None
        item = self.item(_int(str(item_id), "background"))
        if item.kind != "video":
            raise GenomniError(f"background {item_id}: a {item.kind}, not a clip")
        return item.path

    def item(self, item_id: int) -> Item:
        with self._lock:
            if not 0 <= item_id < len(self.items):
                raise GenomniError(f"no item {item_id}")
            return self.items[item_id]

    def view(self, item_id: int) -> Any:
        item = self.item(item_id)
        with self._lock:
            if item_id not in self._views:
                self._views[item_id] = VIEWS[item.kind](item.path)
            return self._views[item_id]

    def listing(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{"id": i.id, "kind": i.kind, "path": i.path, "title": i.title} for i in self.items]

    def abilities(self) -> dict[str, bool]:
        s = self.setup
        return {"jobs": s is not None, "sam2": bool(s and s.masks_model), "decompose": bool(s and s.casper_model)}


def _int(text: str, what: str) -> int:
    if not re.fullmatch(r"-?\d{1,9}", text):
        raise GenomniError(f"{what} must be a whole number, got {text!r}")
    return int(text)


def _float(text: str, what: str) -> float | None:
    if text == "":
        return None
    try:
        value = float(text)
    except ValueError:
        raise GenomniError(f"{what} must be a number, got {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise GenomniError(f"{what} must be a finite number, got {text!r}")
    return value


def route(studio: Studio, path: str, query: dict[str, str]) -> tuple[str, bytes]:
    """(content type, body) for a GET of `path`; GenomniError for anything that cannot be answered."""
    parts = [unquote(p) for p in path.strip("/").split("/") if p]
    if not parts or parts == ["index.html"]:
        return "text/html; charset=utf-8", _static("index.html")
    if parts[0] == "static" and len(parts) == 2 and parts[1] in STATIC:
        return (mimetypes.guess_type(parts[1])[0] or "text/plain") + "; charset=utf-8", _static(parts[1])
    if parts == ["api", "items"]:
        return _json(studio.listing())
    if parts == ["api", "abilities"]:
        return _json(studio.abilities())
    if parts[:2] == ["api", "jobs"] and len(parts) == 3:
        return _json(studio.jobs.get(_int(parts[2], "job")).public())
    if parts[:2] == ["api", "jobs"] and len(parts) == 2:
        return _json([j.public() for j in studio.jobs.of_item(_int(query.get("item", ""), "item"))])
    if len(parts) < 3 or parts[0] not in ("api", "media"):
        raise GenomniError(f"no page {path}")
    view = studio.view(_int(parts[1], "item"))
    kind, rest = studio.item(int(parts[1])).kind, parts[2:]
    if parts[0] == "api":
        if rest == ["summary"]:
            return _json(view.summary())
        if kind == "dataset" and rest == ["page"]:
            ranges: dict[str, tuple[float | None, float | None]] = {}
            for name, value in query.items():
                if name.startswith(("min_", "max_")) and value != "":
                    lo, hi = ranges.get(name[4:], (None, None))
                    number = _float(value, name)
                    ranges[name[4:]] = (number, hi) if name.startswith("min_") else (lo, number)
            return _json(
                view.page(
                    page=_int(query.get("page", "0"), "page"),
                    per=_int(query.get("per", "24"), "per"),
                    source=query.get("source", ""),
                    scenario=query.get("scenario", ""),
                    text=query.get("q", ""),
                    sort=query.get("sort", ""),
                    descending=query.get("desc", "") == "1",
                    ranges=ranges,
                )
            )
        if kind == "dataset" and len(rest) == 2 and rest[0] == "sample":
            return _json(view.details(rest[1]))
        if kind == "eval" and rest == ["scene"]:
            return _json(view.scene(query.get("benchmark", ""), query.get("scene", "")))
    else:
        if kind == "dataset" and len(rest) == 3 and rest[0] == "sample" and rest[2] == "preview.gif":
            return "image/gif", view.preview_gif(rest[1])
        if kind == "dataset" and len(rest) == 4 and rest[0] == "sample" and rest[2] == "frame":
            return "image/png", view.frame_png(rest[1], _int(rest[3].removesuffix(".png"), "frame"))
        if kind == "decomposition" and len(rest) == 2:
            edits = edits_from(
                {k: [v for v in query.get(k, "").split(",") if v] for k in ("drop", "retime", "move")},
                studio.clip_path(query.get("background")),
            )
            return "image/png", view.frame_png(rest[0], _int(rest[1].removesuffix(".png"), "frame"), query.get("name", ""), edits)
        if kind == "eval" and len(rest) == 2 and rest[0] == "worst":
            return "image/png", view.worst_png(rest[1])
        if kind == "run" and len(rest) == 3 and rest[0] == "validation":
            return mimetypes.guess_type(rest[2])[0] or "application/octet-stream", view.video(rest[1], rest[2])
        if kind in ("footage", "video") and len(rest) == 1:
            return "image/png", view.frame_png(_int(rest[0].removesuffix(".png"), "frame"))
    raise GenomniError(f"no page {path}")


def _json(value: Any) -> tuple[str, bytes]:
    return "application/json", json.dumps(value, allow_nan=False, default=str).encode("utf-8")


def _static(name: str) -> bytes:
    return resources.files("genomni.studio").joinpath("static", name).read_bytes()


def act(studio: Studio, path: str, body: bytes) -> tuple[str, bytes]:
    """POST /api/<item>/<action> with a JSON body: start a job; its state as JSON."""
    parts = [p for p in path.strip("/").split("/") if p]
    if len(parts) != 3 or parts[0] != "api":
        raise GenomniError(f"no action {path}")
    try:
        request = json.loads(body or b"{}")
    except ValueError:
        raise GenomniError("the request body is not JSON") from None
    return _json(studio.act(parts[2], _int(parts[1], "item"), request).public())


class Handler(BaseHTTPRequestHandler):
    studio: Studio

    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        url = urlparse(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        self._answer(lambda: route(self.studio, url.path, query))

    def do_POST(self) -> None:  # noqa: N802 (the standard library's name)
        header = self.headers.get("Content-Length") or "0"
        length = int(header) if header.isdigit() else -1

        def answer() -> tuple[str, bytes]:
            if not 0 <= length <= MAX_BODY:
                raise GenomniError(f"a request of {length} bytes; at most {MAX_BODY}")
            return act(self.studio, urlparse(self.path).path, self.rfile.read(length))

        self._answer(answer)

    def _answer(self, make: Any) -> None:
        try:
            ctype, body = make()
            status = HTTPStatus.OK
        except GenomniError as exc:  # a one-line reason the page shows, never a traceback
            status, ctype, body = HTTPStatus.UNPROCESSABLE_ENTITY, "application/json", json.dumps({"error": str(exc)}).encode()
        except Exception as exc:  # noqa: BLE001 (the page gets one line; the log gets the traceback)
            logger.exception("studio: %s failed", self.path)
            status = HTTPStatus.INTERNAL_SERVER_ERROR
            ctype, body = "application/json", json.dumps({"error": f"{type(exc).__name__}: {exc}".splitlines()[0]}).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store" if ctype.startswith(("application/json", "text/")) else "max-age=3600")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the standard library's signature)
        logger.debug("studio: " + format, *args)


def serve(items: list[Item], host: str = "127.0.0.1", port: int = 8765, setup: Setup | None = None) -> ThreadingHTTPServer:
    """A started-up server (call `serve_forever`); a port in use is one line. With a `setup`, the page can start
    jobs (masks, decompose) that write under its work folder."""
    handler = type("StudioHandler", (Handler,), {"studio": Studio(items, setup)})
    try:
        server = ThreadingHTTPServer((host, port), handler)
    except OSError as exc:
        raise GenomniError(f"--host {host} --port {port}: cannot listen there ({exc.strerror}); choose another --port") from exc
    server.daemon_threads = True
    return server
