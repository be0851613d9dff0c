"""`genomni studio`: a local web app over datasets, decompositions, eval outputs, training runs and footage."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..errors import GenomniError
from .app import app, console, quiet_hf


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
    model: Optional[Path] = typer.Option(None, help="A Casper model dir: the page can decompose a footage folder with it."),
    masks_model: Optional[Path] = typer.Option(None, help="A SAM 2 video model dir: the page can make masks from clicks with it."),
    work: Path = typer.Option(Path("studio_work"), help="Where the page's jobs write (masks, decompositions): new folders only."),
) -> None:
    """Look at datasets, decompositions, eval reports, training runs and footage in a browser; make masks and layers."""
    from ..options import check_output_dir
    from ..studio.actions import Setup
    from ..studio.discover import discover
    from ..studio.server import serve

    if not 0 <= port <= 65535:
        raise GenomniError(f"--port must be in 0..65535, got {port}")
    for flag, folder, marker in (("--model", model, "casper.json"), ("--masks-model", masks_model, "config.json")):
        if folder is not None and not (folder / marker).is_file():
            raise GenomniError(f"{flag} {folder}: no {marker}; give a {'Casper' if flag == '--model' else 'SAM 2 video'} model folder")
    check_output_dir("--work", work)
    items = discover(list(paths or ["."]))
    quiet_hf()  # the page's jobs load models: no download bars on the server's terminal
    setup = Setup(work, str(model) if model else None, str(masks_model) if masks_model else None)
    server = serve(items, host, port, setup)
    counts = ", ".join(f"{sum(i.kind == k for i in items)} {k}" for k in dict.fromkeys(i.kind for i in items))
    console.print(f"genomni studio: {counts}; open http://{host}:{server.server_address[1]}/ (Ctrl-C stops it)")
    try:
        server.serve_forever()
    finally:
        server.server_close()
