"""Object and HDRI catalogs: Blender primitives, meshes shipped with pybullet_data, user files.

Every asset is local: nothing is downloaded. Catalog order is sorted, so asset choice by index is
deterministic across machines with the same files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ...errors import GenomniError

PRIMITIVES = ("cube", "uv_sphere", "ico_sphere", "cylinder", "cone", "torus", "monkey")
# Named pybullet_data meshes that are closed objects (plane/terrain/cloth and hull soups are left out).
PYBULLET_NAMED = ("duck.obj", "bunny.obj", "soccerball.obj", "sphere_smooth.obj", "objects/mug.obj")
MESH_SUFFIXES = (".obj", ".glb", ".gltf")
HDRI_SUFFIXES = (".hdr", ".exr")


@dataclass(frozen=True)
class AssetRef:
    """One object asset: a primitive, or a mesh file named portably (`pybullet:REL` or `assets:REL`)."""

    kind: str  # "primitive" | "file"
    name: str  # primitive name or a short display name
    ref: str = ""  # portable file reference, resolved with `resolve`; kept in metadata


def resolve(ref: str, assets_dir: str | None = None, hdri_dir: str | None = None) -> Path:
    """Absolute path of a portable reference (`pybullet:REL`, `assets:REL`, `hdri:REL`)."""
    root_name, _, rel = ref.partition(":")
    roots = {"pybullet": str(pybullet_data_dir()), "assets": assets_dir, "hdri": hdri_dir}
    root = roots.get(root_name)
    if not root or not rel:
        raise GenomniError(f"cannot resolve asset reference {ref!r} (is --assets-dir/--hdri-dir set?)")
    return Path(root) / rel


def pybullet_data_dir() -> Path:
    import pybullet_data

    return Path(pybullet_data.getDataPath())


def pybullet_meshes() -> list[AssetRef]:
    """The named meshes plus the 1000 procedurally made `random_urdfs` shapes of pybullet_data."""
    root = pybullet_data_dir()
    refs = [AssetRef("file", Path(n).stem, f"pybullet:{n}") for n in PYBULLET_NAMED if (root / n).exists()]
    rand = root / "random_urdfs"
    if rand.is_dir():
        for d in sorted(rand.iterdir()):
            obj = d / f"{d.name}.obj"
            if obj.exists():
                refs.append(AssetRef("file", f"shape{d.name}", f"pybullet:random_urdfs/{d.name}/{d.name}.obj"))
    return refs


def user_files(folder: str | None, suffixes: tuple[str, ...], what: str) -> list[str]:
    """Sorted paths (relative to `folder`) of files with the given suffixes; a clear error when none."""
    if not folder:
        return []
    root = Path(folder)
    if not root.is_dir():
        raise GenomniError(f"{what} folder {root} does not exist")
    files = sorted(str(p) for p in root.rglob("*") if p.suffix.lower() in suffixes and p.is_file())
    if not files:
        raise GenomniError(f"{what} folder {root} has no {'/'.join(suffixes)} files")
    for f in files:
        try:
            with open(f, "rb") as fh:
                head = fh.read(64)
        except OSError as exc:
            raise GenomniError(f"{what} file {f} is unreadable: {exc.strerror}") from exc
        if not head:
            raise GenomniError(f"{what} file {f} is empty")
    return [str(Path(f).relative_to(root)) for f in files]


def catalog(sources: tuple[str, ...], asset_files: list[str]) -> dict[str, list[AssetRef]]:
    """Assets per source, for the sources asked for."""
    out: dict[str, list[AssetRef]] = {}
    if "primitives" in sources:
        out["primitives"] = [AssetRef("primitive", n) for n in PRIMITIVES]
    if "pybullet" in sources:
        out["pybullet"] = pybullet_meshes()
    if "assets" in sources:
        out["assets"] = [AssetRef("file", Path(f).stem, f"assets:{f}") for f in asset_files]
    return {k: v for k, v in out.items() if v}
