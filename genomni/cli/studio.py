"""`genomni studio`: a local web app over datasets, decompositions, eval outputs, training runs and footage."""

from __future__ import annotations

from typing import Optional

import typer

from ..errors import GenomniError
from .app import app, console


@app.command(
    "studio",
    epilog=("Examples:\n\n  genomni studio data/kubric out/ runs/\n\n  genomni studio demo_out --port 8800"),
)
def studio_cmd(
    paths: Optional[list[str]] = typer.Argument(
        None, help="Folders (or shard URLs) holding genomni outputs, searched 4 folders down (default: the current folder)."
    ),
    host: str = typer.Option("127.0.0.1", help="Address to listen on (loopback: only this machine; 0.0.0.0: the network)."),
    port: int = typer.Option(8765, help="Port to listen on (0: any free port)."),
) -> None:
    """Look at datasets, decompositions, eval reports, training runs and footage in a browser."""
    from ..studio.discover import discover
    from ..studio.server import serve

    if not 0 <= port <= 65535:
        raise GenomniError(f"--port must be in 0..65535, got {port}")
    items = discover(list(paths or ["."]))
    server = serve(items, host, port)
    counts = ", ".join(f"{sum(i.kind == k for i in items)} {k}" for k in dict.fromkeys(i.kind for i in items))
    console.print(f"genomni studio: {counts}; open http://{host}:{server.server_address[1]}/ (Ctrl-C stops it)")
    try:
        server.serve_forever()
    finally:
        server.server_close()
