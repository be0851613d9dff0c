"""Object and HDRI catalogs: Blender primitives, meshes shipped with pybullet_data, user files.

User meshes (`--assets-dir`) are read in the layouts object sets are distributed in: loose OBJ/glTF files (named by
their file), Google Scanned Objects folders as distributed (`<Name>/meshes/model.obj` with its texture in
`<Name>/materials/textures/`, named by the folder), and Kubric asset manifests (a JSON file with an `assets` mapping
whose `kwargs.render_filename` names each object's render mesh; named by `metadata.category`, else the id; the
collision meshes beside them are not objects). Every asset is local: nothing is downloaded. Catalog order is
sorted, so asset choice by index is deterministic across machines with the same files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ...errors import GenomniError

PRIMITIVES = ("cube", "uv_sphere", "ico_sphere", "cylinder", "cone", "torus", "monkey")
# Named pybullet_data meshes that are closed objects (plane/terrain/cloth and hull soups are left out).
PYBULLET_NAMED = (
    "duck.obj",
    "bunny.obj",
    "soccerball.obj",
    "sphere_smooth.obj",
    "objects/mug.obj",
    "domino/domino.obj",
    "jenga/jenga.obj",
    "torus/torus_textured.obj",
    "tray/tray_textured.obj",
    "table/table.obj",
)
MESH_SUFFIXES = (".obj", ".glb", ".gltf")
HDRI_SUFFIXES = (".hdr", ".exr")


class AssetError(GenomniError):
    """A mesh file that cannot make an object (not importable, no mesh, no finite extent): it fails the scene
    attempt that drew it, which is resampled, not the run (pybullet_data's random_urdfs/168 is all NaN)."""


@dataclass(frozen=True)
class AssetRef:
    """One object asset: a primitive, or a mesh file named portably (`pybullet:REL` or `assets:REL`)."""

    kind: str  # "primitive" | "file"
    name: str  # primitive name or a short display name
    ref: str = ""  # portable file reference, resolved with `resolve`; kept in metadata
    textured: bool = False  # the file brings its own image texture (an OBJ whose .mtl has map_Kd, or a glTF)


def resolve(ref: str, assets_dir: str | None = None, hdri_dir: str | None = None) -> Path:
    """Absolute path of a portable reference (`pybullet:REL`, `assets:REL`, `hdri:REL`, `bpy:NAME` for the HDRIs
    shipped with bpy)."""
    from .hdri import bundled_dir

    root_name, _, rel = ref.partition(":")
    bundled = bundled_dir() if root_name == "bpy" else None
    roots = {"pybullet": str(pybullet_data_dir()), "assets": assets_dir, "hdri": hdri_dir, "bpy": str(bundled) if bundled else None}
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
    refs = [
        AssetRef("file", Path(n).stem.split("_")[0], f"pybullet:{n}", has_texture(root / n)) for n in PYBULLET_NAMED if (root / n).exists()
    ]
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


def find_texture(obj: Path, name: str) -> Path | None:
    """The image an OBJ's .mtl names (`map_Kd NAME`): beside the OBJ, or where Google Scanned Objects keep it
    (`../materials/textures/`, while their model.mtl names it as if beside the mesh)."""
    for candidate in (obj.parent / name, obj.parent.parent / "materials" / "textures" / Path(name).name):
        if candidate.is_file():
            return candidate
    return None


def kubric_manifests(root: Path) -> dict[str, str]:
    """Render-mesh path (relative to `root`) -> object name, from the Kubric asset manifests at `root` (JSON files
    with an `assets` mapping, as kubric's GSO.json / KuBasic.json); files they name that do not exist are left out."""
    names: dict[str, str] = {}
    for manifest in sorted(root.glob("*.json")):
        try:
            data = json.loads(manifest.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue
        assets = data.get("assets") if isinstance(data, dict) else None
        if not isinstance(assets, dict):
            continue
        for asset_id, entry in sorted(assets.items()):
            kwargs = entry.get("kwargs", {}) if isinstance(entry, dict) else {}
            render = str(kwargs.get("render_filename", "")).replace("{object_id}", asset_id)
            if render and (root / render).is_file() and Path(render).suffix.lower() in MESH_SUFFIXES:
                meta = entry.get("metadata") or {}
                names[str(Path(render))] = str(meta.get("category") or asset_id).replace("_", " ")
    return names


def user_meshes(folder: str | None) -> list[str]:
    """The object meshes of `--assets-dir`, relative to it and sorted: what Kubric manifests name, GSO folders'
    meshes/model.obj, and loose mesh files; Kubric collision meshes are not objects."""
    files = user_files(folder, MESH_SUFFIXES, "--assets-dir")
    if not folder:
        return files
    listed = kubric_manifests(Path(folder))
    if not listed:
        return [f for f in files if not Path(f).stem.startswith("collision_geometry")]
    return sorted(set(listed) | {f for f in files if not Path(f).stem.startswith(("collision_geometry", "visual_geometry"))})


def mesh_name(folder: str | None, rel: str, manifest: dict[str, str] | None = None) -> str:
    """What a user mesh is called in captions: its manifest name, a GSO folder's name, else the file's name."""
    path = Path(rel)
    if manifest and rel in manifest:
        return manifest[rel]
    if path.name == "model.obj" and path.parent.name == "meshes" and len(path.parts) >= 3:
        return path.parent.parent.name.replace("_", " ")
    return path.stem


def has_texture(path: Path) -> bool:
    """Whether a mesh file brings an image texture: a glTF/GLB, or an OBJ whose .mtl names an existing map_Kd image."""
    if path.suffix.lower() in (".glb", ".gltf"):
        return True
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return False
    for lib in (ln.split(None, 1)[1].strip() for ln in lines if ln.startswith("mtllib ") and len(ln.split()) > 1):
        try:
            mtl = (path.parent / lib).read_text(errors="replace").splitlines()
        except OSError:
            continue
        for ln in mtl:
            parts = ln.strip().split(None, 1)
            if len(parts) == 2 and parts[0] == "map_Kd" and find_texture(path, parts[1].strip()) is not None:
                return True
    return False


def catalog(sources: tuple[str, ...], asset_files: list[str], assets_dir: str | None = None) -> dict[str, list[AssetRef]]:
    """Assets per source, for the sources asked for."""
    out: dict[str, list[AssetRef]] = {}
    if "primitives" in sources:
        out["primitives"] = [AssetRef("primitive", n) for n in PRIMITIVES]
    if "pybullet" in sources:
        out["pybullet"] = pybullet_meshes()
    if "assets" in sources:
        manifest = kubric_manifests(Path(assets_dir)) if assets_dir else {}
        out["assets"] = [
            AssetRef("file", mesh_name(assets_dir, f, manifest), f"assets:{f}", has_texture(Path(assets_dir) / f) if assets_dir else False)
            for f in asset_files
        ]
    return {k: v for k, v in out.items() if v}
