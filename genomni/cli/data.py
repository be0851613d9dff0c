"""`genomni data inspect|validate|import|export`."""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from ..errors import GenomniError
from ..footage import MaskOptions
from ..options import check_output_dir
from .app import PROGRESS, console, data_app, invocation
from .options import config_options


@data_app.command(
    "inspect",
    epilog=(
        "Examples:\n\n"
        "  genomni data inspect data/kubric\n\n"
        "  genomni data inspect data/kubric --preview preview.png --gif preview.gif --count 6\n\n"
        "  genomni data inspect data/kubric --json > summary.json"
    ),
)
def data_inspect(
    directory: str = typer.Argument(..., help="A shard directory or URL (with manifest.jsonl and dataset.json)."),
    preview: Optional[Path] = typer.Option(
        None, help="Write a PNG: input | trimask | target (| pass C | quadmask for interaction samples), middle frame, one row per sample."
    ),
    gif: Optional[Path] = typer.Option(None, help="Write the same grid as an animated GIF."),
    count: int = typer.Option(4, help="Samples in the preview."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Totals, per-source counts and QC summaries of a shard directory, with optional previews."""
    from ..datasets.inspect import previews, summarize

    for flag, path, suffixes in (("--preview", preview, (".png", ".jpg", ".jpeg")), ("--gif", gif, (".gif",))):
        if path is not None and path.suffix.lower() not in suffixes:
            raise GenomniError(f"{flag} {path}: the file name must end in {' or '.join(suffixes)}")
    summary = summarize(directory)
    if preview or gif:
        previews(directory, preview, gif, count)
    if as_json:
        print(json.dumps(asdict(summary), indent=2))
        return
    console.print(
        f"[bold]{directory}[/bold]: {summary.samples} samples in {summary.shards} shards, "
        f"resolution {', '.join(summary.resolutions)}, frames {', '.join(map(str, summary.frames))}"
    )
    scenes = summary.scenes
    if scenes:
        console.print(
            f"scenes: {scenes.get('done')} of {scenes.get('requested')} done, {scenes.get('dropped')} dropped, "
            f"{scenes.get('resampled')} resampled by QC; complete: {summary.complete}"
        )
    table = Table("source", "samples")
    for src, n in summary.per_source.items():
        table.add_row(src, str(n))
    console.print(table)
    qc = Table("QC figure", "mean", "min", "max")
    for name, st in summary.qc.items():
        qc.add_row(name, f"{st['mean']:.4g}", f"{st['min']:.4g}", f"{st['max']:.4g}")
    console.print(qc)
    for d in summary.dropped_scenes:
        console.print(f"dropped scene {d['index']}: {d['reason']}")
    if preview:
        console.print(f"preview: {preview}")
    if gif:
        console.print(f"gif: {gif}")


@data_app.command(
    "validate", epilog=("Examples:\n\n  genomni data validate data/kubric\n\n  genomni data validate data/paste --json > problems.json")
)
def data_validate(
    directory: str = typer.Argument(..., help="A shard directory or URL (s3://, gs://, ...)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Decode every sample and check the data contract; exit 1 when any sample is bad (each listed with its reason)."""
    from ..datasets.validate import validate_dir

    result = validate_dir(directory)
    if as_json:
        print(json.dumps(asdict(result), indent=2))
    else:
        for b in result.bad:
            console.print(f"bad {b['key']} ({b['shard']}): {b['reason']}", markup=False)
        console.print(f"{directory}: {result.ok} of {result.samples} samples pass")
    if result.bad:
        raise typer.Exit(1)


@data_app.command(
    "import",
    epilog=(
        "Examples:\n\n"
        "  genomni data import gen_omnimatte_train/ --out data/omnimatte --source omnimatte\n\n"
        "  genomni data import train-casper/omnimatte+tripod --captions train-casper/omnimatte+tripod.json --out data/ot\n\n"
        "  genomni data import gen-omnimatte-public/examples --out footage/   (sequence folders: footage, no target)\n\n"
        "  genomni data import exported_png/ --out data/again"
    ),
)
@config_options(MaskOptions, config_file=False)
def data_import(
    masks: MaskOptions,
    root: Path = typer.Argument(
        ...,
        help="A folder of sample folders (or one folder): gen-omnimatte tuples (rgb_full.mp4 + "
        "mask.mp4 + rgb_removed.mp4), VOID folders (the same beside metadata.json; quadmask mask.mp4), PNG tuples (input/ + bg/ or target/ + trimask/), sequence "
        "folders (input_video.mp4 + mask_NN.mp4 + prompt.json, with bg/ for a target) or Kubric "
        "render folders (rgba_*.png + segmentation_*.png).",
    ),
    out: Path = typer.Option(
        ...,
        help="New shard directory; for sequence folders without a clean background and Kubric render folders, a folder of footage folders.",
    ),
    source: str = typer.Option("omnimatte", help="meta.source of the imported samples (used by --mix)."),
    captions: Optional[Path] = typer.Option(
        None,
        help="Captions JSON: the public [{path, short_prompt}] list or {folder: caption}, for folders without caption.txt or prompt.json.",
    ),
    progress: bool = PROGRESS,
) -> None:
    """Import training samples into shards, or sequence folders without a target into footage folders."""
    from ..datasets.interchange import (
        check_source_name,
        import_footage,
        import_samples,
        load_captions,
        root_captions,
        sample_folders,
        targetless,
    )
    from ..progress import progress_bar

    check_source_name(source)
    check_output_dir("--out", out)
    folders = sample_folders(root)
    with progress_bar(progress) as bar:
        task = bar.add_task("import", total=len(folders))
        advance = lambda _folder: bar.advance(task)  # noqa: E731
        if targetless(folders):
            written = import_footage(folders, out, masks.mask_threshold, on_folder=advance)
        else:
            card = import_samples(
                root,
                out,
                source,
                command=" ".join(invocation),
                captions=load_captions(captions) if captions else root_captions(root),
                threshold=masks.mask_threshold,
                on_folder=advance,
            )
    if targetless(folders):
        console.print(
            f"{out}: {len(written)} footage folders (no clean background, so no samples); use them with "
            f"`genomni decompose` or `genomni generate tripod`"
        )
    else:
        console.print(f"{out}: {card['samples']} samples imported")


@data_app.command(
    "export",
    epilog=(
        "Examples:\n\n"
        "  genomni data export data/kubric-val --out footage/ --format footage --limit 4\n\n"
        "  genomni data export data/kubric-val --out footage/ --key kubric-s0000003-all\n\n"
        "  genomni data export data/kubric --format hub --split train=0.95,val=0.05 --license cc-by-4.0 --out hub/kubric\n\n"
        "  genomni data export data/interactions --format void --out void_data/   (VOID's trainer: --data_root void_data)"
    ),
)
def data_export(
    directory: str = typer.Argument(..., help="A shard directory or URL (s3://, gs://, ...)."),
    out: Path = typer.Option(..., help="Output folder (one subfolder per sample)."),
    format: str = typer.Option(
        "footage",
        help="footage (input.mkv + masks/objectNN/ + target.mkv), gen-omnimatte (rgb_full/mask/rgb_removed.mp4), png (lossless "
        "folders), void (Netflix VOID's training folders: quadmask mask.mp4, metadata.json, void_train_data.json) or hub (a Hugging Face dataset folder: data/<split>/ shards and a dataset card, for huggingface-cli upload).",
    ),
    key: Optional[list[str]] = typer.Option(None, help="Sample key to export; repeatable (default: all)."),
    limit: Optional[int] = typer.Option(None, min=1, help="Export at most this many samples."),
    benchmark: bool = typer.Option(False, help="Only samples with every object removed (target = clean background): an eval benchmark."),
    skip_bad: bool = typer.Option(False, help="Skip damaged samples (each listed, and counted) instead of stopping."),
    split: str = typer.Option("train=1", help="--format hub: splits by scene, NAME=SHARE pairs adding up to 1, e.g. train=0.95,val=0.05."),
    license: str = typer.Option(
        "other", help="--format hub: the card's license (a Hub license id such as cc-by-4.0; other = see the card)."
    ),
) -> None:
    """Export samples: footage folders for remove/decompose/eval, gen-omnimatte training tuples, PNG folders, or a Hub dataset."""
    from ..datasets.export import export_footage

    check_output_dir("--out", out)
    skipped: list | None = [] if skip_bad else None
    if format == "hub":
        from ..datasets.hub import export_hub, parse_splits

        if key or limit is not None or benchmark:
            raise GenomniError("--format hub exports every sample (splits by scene): leave out --key, --limit and --benchmark")
        if not re.fullmatch(r"[a-z0-9][a-z0-9.+-]*", license):
            raise GenomniError(f"--license {license!r}: give a Hub license id such as cc-by-4.0, cc0-1.0, apache-2.0 or other")
        hub = export_hub(directory, out, parse_splits(split), license, skip_bad)
        for b in hub.skipped:
            console.print(f"skipped {b.key} ({b.shard}): {b.reason}", markup=False)
        shares = ", ".join(f"{name} {n} samples / {hub.scenes[name]} scenes" for name, n in hub.samples.items())
        console.print(f"{out}: a Hub dataset ({shares}); publish it with `huggingface-cli upload --repo-type dataset REPO {out}`")
        return
    if format in ("gen-omnimatte", "png"):
        from ..datasets.interchange import export_samples

        written = export_samples(directory, out, format, skipped, list(key) if key else None, limit, benchmark)
    elif format == "footage":
        written = export_footage(directory, out, list(key) if key else None, limit, benchmark, skipped)
    elif format == "void":
        from ..datasets.void_format import export_void

        written = export_void(directory, out, list(key) if key else None, limit, benchmark, skipped)
    else:
        raise GenomniError(f"--format {format!r}: choose footage, gen-omnimatte, png, void or hub")
    for b in skipped or []:
        console.print(f"skipped {b.key} ({b.shard}): {b.reason}", markup=False)
    console.print(f"{out}: {len(written)} {format} folders" + (f", {len(skipped)} damaged samples skipped" if skip_bad else ""))
