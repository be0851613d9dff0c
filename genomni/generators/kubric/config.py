"""The kubric generator's configuration: one dataclass, validated with one-line errors."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ...errors import GenomniError

MOTIONS = ("drop", "throw", "static")
OBJECT_SOURCES = ("primitives", "pybullet", "assets")
FLOORS = ("plain", "wood", "tiles", "concrete", "checker")


@dataclass
class KubricConfig:
    """Everything that determines the content of a kubric run (sample k = f(seed, k, config))."""

    num_scenes: int = 8
    seed: int = 0
    frames: int = 24
    height: int = 128
    width: int = 128
    samples: int = 16  # Cycles samples per pixel
    fps: float = 24.0
    min_objects: int = 1
    max_objects: int = 3
    object_sources: tuple[str, ...] = ("primitives", "pybullet")
    motions: tuple[str, ...] = MOTIONS
    floors: tuple[str, ...] = FLOORS
    assets_dir: str | None = None
    hdri_dir: str | None = None
    glossy_floor_prob: float = 0.3
    walls_prob: float = 0.3
    camera_motion_prob: float = 0.3
    max_extra_lights: int = 0  # point lights beyond the sun; each adds ~0.1-0.5 s per frame on CPU
    max_bounces: int = 4
    denoise: bool = False
    effect_crop: bool = True  # render target passes only inside the objects' effect boxes
    min_object_pixels: int = 0  # 0 = automatic: max(4, 0.1% of the frame)
    max_drift: float = 0.05  # max fraction of far-from-object pixels that may differ by > 2 levels
    max_attempts: int = 4
    effect_threshold: int = 6  # uint8 levels: a change larger than this outside objects is an effect
    asset_files: list[str] = field(default_factory=list)  # filled in from assets_dir, part of identity
    hdri_files: list[str] = field(default_factory=list)

    def validate(self) -> "KubricConfig":
        """Reject impossible or conflicting settings with a one-line error."""
        checks = [
            (self.num_scenes >= 1, f"--num-scenes must be >= 1, got {self.num_scenes}"),
            (1 <= self.frames <= 10000, f"--frames must be in 1..10000, got {self.frames}"),
            (16 <= self.height <= 4096 and 16 <= self.width <= 4096,
             f"--resolution must be between 16 and 4096 pixels per side, got {self.width}x{self.height}"),
            (1 <= self.samples <= 65536, f"--samples must be in 1..65536, got {self.samples}"),
            (0 < self.fps <= 240, f"--fps must be in (0, 240], got {self.fps}"),
            (1 <= self.min_objects <= self.max_objects <= 20,
             f"need 1 <= --min-objects <= --max-objects <= 20, got {self.min_objects}..{self.max_objects}"),
            (self.max_objects < 255, "at most 254 objects"),
            (len(self.object_sources) > 0, "--objects needs at least one source"),
            (len(self.motions) > 0, "--motions needs at least one motion"),
            (len(self.floors) > 0, "--floors needs at least one floor"),
            (0 <= self.max_drift <= 1, f"--max-drift must be a fraction in [0, 1], got {self.max_drift}"),
            (self.max_attempts >= 1, "--max-attempts must be >= 1"),
            (self.max_bounces >= 0, "--max-bounces must be >= 0"),
        ]
        for ok, msg in checks:
            if not ok:
                raise GenomniError(msg)
        for name, values, allowed in (
            ("--objects", self.object_sources, OBJECT_SOURCES),
            ("--motions", self.motions, MOTIONS),
            ("--floors", self.floors, FLOORS),
        ):
            unknown = [v for v in values if v not in allowed]
            if unknown:
                raise GenomniError(f"{name}: unknown value(s) {', '.join(unknown)}; choose from {', '.join(allowed)}")
        if "assets" in self.object_sources and not self.assets_dir:
            raise GenomniError("--objects includes 'assets' but no --assets-dir was given")
        for p in (self.glossy_floor_prob, self.walls_prob, self.camera_motion_prob):
            if not 0 <= p <= 1:
                raise GenomniError(f"probabilities must be in [0, 1], got {p}")
        return self

    @property
    def object_pixel_floor(self) -> int:
        return self.min_object_pixels or max(4, int(0.001 * self.height * self.width))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["object_sources"], d["motions"], d["floors"] = list(self.object_sources), list(self.motions), list(self.floors)
        return d
