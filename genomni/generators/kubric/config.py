"""The kubric generator's configuration: one dataclass, validated with one-line errors."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ...options import check_choice, option, require, resolution_fields

MOTIONS = ("drop", "throw", "static")
OBJECT_SOURCES = ("primitives", "pybullet", "assets")
FLOORS = ("plain", "wood", "tiles", "concrete", "checker")


@dataclass
class KubricConfig:
    """Everything that determines the content of a kubric run (sample k = f(seed, k, config))."""

    num_scenes: int = option(8, "Scenes to make (each gives 1 + objects samples).")
    seed: int = option(0, "Run seed: scene k is a pure function of (seed, k, config).")
    frames: int = option(24, "Frames per clip.")
    height: int = option(128, "N (square) or WIDTHxHEIGHT.", flag="resolution", parse=resolution_fields)
    width: int = 128
    samples: int = option(16, "Cycles samples per pixel.")
    fps: float = option(24.0, "Frames per second (physics sampling and video rate).")
    min_objects: int = option(1, "Fewest objects per scene.")
    max_objects: int = option(3, "Most objects per scene.")
    object_sources: tuple[str, ...] = option(("primitives", "pybullet"), "Object sources, comma-separated: "
                                             + ",".join(OBJECT_SOURCES) + ".", flag="objects")
    motions: tuple[str, ...] = option(MOTIONS, "Object motions, comma-separated: " + ",".join(MOTIONS) + ".")
    floors: tuple[str, ...] = option(FLOORS, "Floor materials, comma-separated: " + ",".join(FLOORS) + ".")
    assets_dir: str | None = option(None, "Folder of your own OBJ/GLB meshes (adds source 'assets').")
    hdri_dir: str | None = option(None, "Folder of .hdr/.exr environment maps (used for half the scenes).")
    glossy_floor_prob: float = option(0.3, "Chance of a glossy or mirror-like floor.")
    walls_prob: float = option(0.3, "Chance of walls behind the objects.")
    camera_motion_prob: float = option(0.3, "Chance of a slowly orbiting camera.")
    max_extra_lights: int = option(0, "Point lights besides the sun (each adds ~0.1-0.5 s per frame on CPU).")
    max_bounces: int = option(4, "Cycles light bounces.")
    denoise: bool = option(False, "OpenImageDenoise (fast prefilter, balanced quality) on every pass: clean, realistic "
                                  "frames for ~1.2x the render time; output then depends on the thread count (not "
                                  "byte-identical across --workers).")
    effect_crop: bool = option(True, "Render target passes only inside the objects' effect boxes (see README).")
    min_object_pixels: int = option(0, "Resample scenes where an object shows fewer pixels in some frame "
                                    "(0 = max(4, 0.1% of the frame)).")
    min_motion: float = option(1.0, "With a static camera, resample scenes in which no object moves more than this many "
                                    "pixels (a still clip; checked on the simulated poses before rendering).")
    max_drift: float = option(0.05, "Resample scenes where more than this fraction of the pixels outside the changed region "
                              "differ by more than 6 levels in the target render (render noise).")
    layers: bool = option(False, "Also store each object's true omnimatte layer (RGBA: the object and its shadows and "
                          "reflections; genomni.layers.truth_layer) with the remove-all sample, for `eval --layers`.")
    max_attempts: int = option(4, "Resampling attempts per scene before it is dropped.")
    asset_files: list[str] = field(default_factory=list)  # filled in from assets_dir, part of identity
    hdri_files: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        """Reject impossible or conflicting settings with a one-line error."""
        require([
            (self.num_scenes >= 1, f"--num-scenes must be >= 1, got {self.num_scenes}"),
            (1 <= self.frames <= 10000, f"--frames must be in 1..10000, got {self.frames}"),
            (16 <= self.height <= 4096 and 16 <= self.width <= 4096,
             f"--resolution must be between 16 and 4096 pixels per side, got {self.width}x{self.height}"),
            (1 <= self.samples <= 65536, f"--samples must be in 1..65536, got {self.samples}"),
            (0 < self.fps <= 240, f"--fps must be in (0, 240], got {self.fps}"),
            (1 <= self.min_objects <= self.max_objects <= 20,
             f"need 1 <= --min-objects <= --max-objects <= 20, got {self.min_objects}..{self.max_objects}"),
            (len(self.object_sources) > 0, "--objects needs at least one source"),
            (len(self.motions) > 0, "--motions needs at least one motion"),
            (self.min_motion >= 0, "--min-motion must be >= 0"),
            (set(self.motions) != {"static"} or self.camera_motion_prob > 0 or self.min_motion == 0,
             "with --motions static and no camera motion nothing ever moves; add a motion, --camera-motion-prob, "
             "or --min-motion 0 for still clips"),
            (len(self.floors) > 0, "--floors needs at least one floor"),
            (0 <= self.max_drift <= 1, f"--max-drift must be a fraction in [0, 1], got {self.max_drift}"),
            (self.max_attempts >= 1, "--max-attempts must be >= 1"),
            (self.max_bounces >= 0, "--max-bounces must be >= 0"),
        ])
        check_choice("--objects", self.object_sources, OBJECT_SOURCES)
        check_choice("--motions", self.motions, MOTIONS)
        check_choice("--floors", self.floors, FLOORS)
        require([("assets" not in self.object_sources or bool(self.assets_dir),
                  "--objects includes 'assets' but no --assets-dir was given")])
        for p in (self.glossy_floor_prob, self.walls_prob, self.camera_motion_prob):
            require([(0 <= p <= 1, f"probabilities must be in [0, 1], got {p}")])

    @property
    def object_pixel_floor(self) -> int:
        return self.min_object_pixels or max(4, int(0.001 * self.height * self.width))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["object_sources"], d["motions"], d["floors"] = list(self.object_sources), list(self.motions), list(self.floors)
        return d
