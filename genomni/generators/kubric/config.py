"""The kubric generator's configuration: one dataclass, validated with one-line errors."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, get_args

from ...errors import GenomniError
from ...options import SEED_BOUNDS, option, require, resolution_fields
from ..run import MAX_SCENES

MIN_INTERACTION_FRAMES = 4  # push, deform and stack: frames before the contact, at it, and of the change
MIN_PUSH_SECONDS = 1 / 3  # a pusher launched from clear of the things it hits needs this long (benchmarks/README.md)
MotionName = Literal["drop", "throw", "static"]
Scenario = Literal["standard", "similar", "push", "deform", "stack"]
ObjectSource = Literal["primitives", "pybullet", "assets"]
Floor = Literal["plain", "wood", "tiles", "concrete", "checker"]
MOTIONS: tuple[str, ...] = get_args(MotionName)
SCENARIOS: tuple[str, ...] = get_args(Scenario)
OBJECT_SOURCES: tuple[str, ...] = get_args(ObjectSource)
FLOORS: tuple[str, ...] = get_args(Floor)


def scenario_fields(text: str) -> dict[str, Any]:
    """`--scenario standard=0.6,similar=0.2,push=0.2` (or plain names, weight 1) -> the names and their weights."""
    names, weights = [], []
    for part in (p.strip() for p in str(text).split(",") if p.strip()):
        name, _, weight = part.partition("=")
        try:
            w = float(weight) if weight else 1.0
        except ValueError:
            raise GenomniError(f"--scenario takes NAME[=WEIGHT],...; {part!r} has no number after '='") from None
        names.append(name.strip())
        weights.append(w)
    return {"scenarios": tuple(names), "scenario_weights": tuple(weights)}


def area_fields(text: str) -> dict[str, Any]:
    """`--object-area MIN,MAX` -> the two area fields (fractions of the frame)."""
    parts = str(text).split(",")
    try:
        lo, hi = (float(p) for p in parts)
    except ValueError:
        raise GenomniError(f"--object-area takes MIN,MAX fractions of the frame, e.g. 0.01,0.15; got {text!r}") from None
    return {"min_object_area": lo, "max_object_area": hi}


# The reference works' render settings (`--preset`); options given with it override them. gen-omnimatte: the paper's
# Kubric clips (256x256, 80 frames, kubric's Blender defaults of 128 spp with denoising). void: Netflix VOID's
# data_generation/kubric_variable_objects.py defaults (384 px, 60 frames at 12 fps, 32 spp, kubric's denoising).
PRESETS: dict[str, dict[str, Any]] = {
    "gen-omnimatte": {"height": 256, "width": 256, "frames": 80, "fps": 24.0, "samples": 128, "denoise": True},
    "void": {"height": 384, "width": 384, "frames": 60, "fps": 12.0, "samples": 32, "denoise": True},
}


def preset_values(given: dict[str, Any]) -> dict[str, Any]:
    """The field values `--preset NAME` stands for ({} without one): the layer under the file and the options."""
    return dict(PRESETS.get(given.get("preset") or "none", {}))


@dataclass
class KubricConfig:
    """Everything that determines the content of a kubric run (sample k = f(seed, k, config))."""

    preset: Literal["none", "gen-omnimatte", "void"] = option(
        "none",
        "Start from a reference work's render settings: gen-omnimatte (256x256, 80 frames, 128 spp, denoised) or void "
        "(384 px, 60 frames at 12 fps, 32 spp, denoised); options given override them.",
    )

    num_scenes: int = option(8, "Scenes to make (each gives 1 + objects samples, a one-object scene 1).")
    seed: int = option(0, "Run seed: scene k is a pure function of (seed, k, config).", bounds=SEED_BOUNDS)
    frames: int = option(24, "Frames per clip.")
    height: int = option(128, "N (square) or WIDTHxHEIGHT.", flag="resolution", parse=resolution_fields)
    width: int = 128
    samples: int = option(16, "Cycles samples per pixel.")
    fps: float = option(24.0, "Frames per second (physics sampling and video rate).")
    min_objects: int = option(1, "Fewest objects per scene.")
    max_objects: int = option(3, "Most objects per scene.")
    object_sources: tuple[ObjectSource, ...] = option(
        ("primitives", "pybullet"), "Object sources, comma-separated: " + ",".join(OBJECT_SOURCES) + ".", flag="objects"
    )
    min_object_area: float = option(
        0.01,
        "On-screen area of each object as a fraction of the frame, MIN,MAX: log-uniform "
        "between them (the size in metres follows from its distance to the camera).",
        flag="object_area",
        parse=area_fields,
        show_default="0.01,0.15",
    )
    max_object_area: float = 0.15
    scenarios: tuple[Scenario, ...] = option(
        ("standard",),
        "Scene families mixed by weight, NAME[=WEIGHT],...: standard (1-3 objects, each removed alone "
        "and all together), similar (5-12 copies of one object, some removed, the rest kept), push (an object "
        "knocks resting things over; the target is the scene simulated without it), deform (objects dropped on a sheet "
        "held at its rim; the target is the sheet simulated without them), stack (a box holds things up; without it they "
        "fall). push, deform and stack samples also carry VOID's quadmask and pass C. Recorded as meta.scene.scenario.",
        flag="scenario",
        parse=scenario_fields,
        show_default="standard",
    )
    scenario_weights: tuple[float, ...] = (1.0,)
    keep_identity_samples: bool = option(
        False,
        "Keep the solo sample of one-object scenes: its target is its input (a pair that teaches 'change nothing').",
    )
    motions: tuple[MotionName, ...] = option(MOTIONS, "Object motions, comma-separated: " + ",".join(MOTIONS) + ".")
    floors: tuple[Floor, ...] = option(FLOORS, "Floor materials, comma-separated: " + ",".join(FLOORS) + ".")
    assets_dir: str | None = option(None, "Folder of your own OBJ/GLB meshes (adds source 'assets').")
    hdri_dir: str | None = option(None, "Folder of your own .hdr/.exr environment maps (added to the bundled ones).")
    bundled_hdris: bool = option(True, "Use the eight CC0 Poly Haven HDRIs shipped inside the bpy wheel.")
    hdri_prob: float = option(1.0, "Chance that an HDRI lights the scene and forms its backdrop (else Cycles' sky).")
    glossy_floor_prob: float = option(0.3, "Chance of a glossy or mirror-like floor.")
    walls_prob: float = option(0.3, "Chance of walls behind the objects.")
    camera_motion_prob: float = option(0.3, "Chance of a slowly orbiting camera.")
    max_extra_lights: int = option(0, "Point lights besides the sun (each adds render time: benchmarks/generate_kubric.py).")
    max_bounces: int = option(4, "Cycles light bounces.")
    render_device: Literal["cpu", "gpu"] = option(
        "cpu", "Cycles device: cpu, or gpu (every GPU of the first backend found: OptiX, CUDA, HIP, oneAPI; recorded in meta)."
    )
    denoise: bool = option(
        True,
        "Cycles' OpenImageDenoise (fast prefilter, balanced quality) on every pass: far cleaner frames for a little "
        "more render time (benchmarks/render_fidelity.py); --no-denoise keeps the raw renders.",
    )
    effect_crop: bool = option(True, "Render target passes only inside the objects' effect boxes (docs/generate.md).")
    max_cut: float = option(
        0.02,
        "Resample scenes where, in some frame, more than this share of an object's projected area lies outside the "
        "frame (checked on the simulated poses before rendering; 1 allows any cut while the object shows enough pixels).",
    )
    min_object_pixels: int = option(0, "Resample scenes where an object shows fewer pixels in some frame (0 = max(4, 0.25% of the frame)).")
    min_motion: float = option(
        1.0,
        "With a static camera, resample scenes in which no object moves more than this many "
        "pixels (a still clip; checked on the simulated poses before rendering).",
    )
    max_drift: float = option(
        0.05,
        "Resample scenes where more than this fraction of the pixels outside the changed region "
        "differ by more than 6 levels in the target render (render noise).",
    )
    layers: bool = option(
        False,
        "Also store each object's true omnimatte layer (RGBA: the object and its shadows and "
        "reflections, in object-id compositing order, recomposing the input; costs N-2 extra target "
        "passes for N objects) with the remove-all sample, for `eval --layers`.",
    )
    max_attempts: int = option(
        4,
        "Rendered attempts per scene before it is dropped (scenes rejected from their simulated "
        "poses render nothing and may be resampled 4x as often).",
    )
    asset_files: list[str] = field(default_factory=list)  # filled in from assets_dir, part of identity
    hdri_files: list[str] = field(default_factory=list)  # portable refs (bpy:NAME, hdri:REL), part of identity

    def __post_init__(self) -> None:
        """Reject impossible or conflicting settings with a one-line error."""
        require(
            [
                (self.num_scenes >= 1, f"--num-scenes must be >= 1, got {self.num_scenes}"),
                (
                    self.num_scenes <= MAX_SCENES,
                    f"--num-scenes must be at most {MAX_SCENES:,} per run (run more with another --seed), got {self.num_scenes:,}",
                ),
                (1 <= self.frames <= 10000, f"--frames must be in 1..10000, got {self.frames}"),
                (
                    16 <= self.height <= 4096 and 16 <= self.width <= 4096,
                    f"--resolution must be between 16 and 4096 pixels per side, got {self.width}x{self.height}",
                ),
                (1 <= self.samples <= 65536, f"--samples must be in 1..65536, got {self.samples}"),
                (0 < self.fps <= 240, f"--fps must be in (0, 240], got {self.fps}"),
                (
                    1 <= self.min_objects <= self.max_objects <= 20,
                    f"need 1 <= --min-objects <= --max-objects <= 20, got {self.min_objects}..{self.max_objects}",
                ),
                (len(self.object_sources) > 0, "--objects needs at least one source"),
                (len(self.motions) > 0, "--motions needs at least one motion"),
                (
                    0 < self.min_object_area <= self.max_object_area <= 0.5,
                    f"--object-area must be 0 < MIN <= MAX <= 0.5, got {self.min_object_area},{self.max_object_area}",
                ),
                (self.min_motion >= 0, "--min-motion must be >= 0"),
                (
                    set(self.motions) != {"static"} or self.camera_motion_prob > 0 or self.min_motion == 0,
                    "with --motions static and no camera motion nothing ever moves; add a motion, --camera-motion-prob, "
                    "or --min-motion 0 for still clips",
                ),
                (len(self.floors) > 0, "--floors needs at least one floor"),
                (0 <= self.max_drift <= 1, f"--max-drift must be a fraction in [0, 1], got {self.max_drift}"),
                (0 <= self.max_cut <= 1, f"--max-cut must be a fraction in [0, 1], got {self.max_cut}"),
                (self.max_attempts >= 1, "--max-attempts must be >= 1"),
                (self.max_bounces >= 0, "--max-bounces must be >= 0"),
            ]
        )
        require(
            [
                (
                    len(self.scenarios) == len(self.scenario_weights)
                    and len(self.scenarios) > 0
                    and all(w >= 0 for w in self.scenario_weights)
                    and sum(self.scenario_weights) > 0,
                    "--scenario needs at least one scenario with a positive weight and no negative weights",
                )
            ]
        )
        require(
            [("assets" not in self.object_sources or bool(self.assets_dir), "--objects includes 'assets' but no --assets-dir was given")]
        )
        for name, least in (
            ("push", max(MIN_INTERACTION_FRAMES, math.ceil(self.fps * MIN_PUSH_SECONDS))),
            ("deform", MIN_INTERACTION_FRAMES),
            ("stack", MIN_INTERACTION_FRAMES),
        ):
            used = any(n == name and w > 0 for n, w in zip(self.scenarios, self.scenario_weights))
            require(
                [
                    (
                        not used or self.frames >= least,
                        f"--scenario {name} needs --frames >= {least} at {self.fps:g} fps (the clip must show the "
                        f"contact and what it changed), got {self.frames}",
                    )
                ]
            )
        for p in (self.glossy_floor_prob, self.walls_prob, self.camera_motion_prob, self.hdri_prob):
            require([(0 <= p <= 1, f"probabilities must be in [0, 1], got {p}")])

    @property
    def object_pixel_floor(self) -> int:
        return self.min_object_pixels or max(4, int(0.0025 * self.height * self.width))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["object_sources"], d["motions"], d["floors"] = list(self.object_sources), list(self.motions), list(self.floors)
        d["scenarios"], d["scenario_weights"] = list(self.scenarios), list(self.scenario_weights)
        return d
