"""The colour of the sun of Cycles' Nishita sky at a given elevation: the lamp under the sky takes it, so the light
matches the sky it stands under (a white lamp under a sky whose own sun is orange at 12 degrees contradicted it).

The table is Blender's own answer, measured by `measure` (a camera with a 0.3-degree field of view looking at the
sky's sun disc, Blender's default atmosphere: air, dust and ozone density 1, altitude 0) and written by
`benchmarks/nishita_sun.py`; `tests/test_sky_sun.py` measures elevations between its rows again and compares."""

from __future__ import annotations

import math
import tempfile
from typing import Any

import numpy as np

# Linear Rec.709 RGB of the Nishita sun disc, brightest channel 1, every 2 degrees of elevation from 10 to 72
# (Blender 4.5; benchmarks/nishita_sun.py)
ELEVATIONS = tuple(range(10, 74, 2))
SUN_RGB: tuple[tuple[float, float, float], ...] = (
    (1.0000, 0.6691, 0.2962),  # 10 degrees
    (1.0000, 0.6985, 0.3482),  # 12 degrees
    (1.0000, 0.7209, 0.3916),  # 14 degrees
    (1.0000, 0.7385, 0.4280),  # 16 degrees
    (1.0000, 0.7526, 0.4586),  # 18 degrees
    (1.0000, 0.7641, 0.4848),  # 20 degrees
    (1.0000, 0.7736, 0.5073),  # 22 degrees
    (1.0000, 0.7816, 0.5267),  # 24 degrees
    (1.0000, 0.7885, 0.5437),  # 26 degrees
    (1.0000, 0.7943, 0.5586),  # 28 degrees
    (1.0000, 0.7994, 0.5719),  # 30 degrees
    (1.0000, 0.8039, 0.5836),  # 32 degrees
    (1.0000, 0.8078, 0.5941),  # 34 degrees
    (1.0000, 0.8113, 0.6035),  # 36 degrees
    (1.0000, 0.8144, 0.6119),  # 38 degrees
    (1.0000, 0.8171, 0.6195),  # 40 degrees
    (1.0000, 0.8196, 0.6264),  # 42 degrees
    (1.0000, 0.8218, 0.6326),  # 44 degrees
    (1.0000, 0.8237, 0.6383),  # 46 degrees
    (1.0000, 0.8255, 0.6434),  # 48 degrees
    (1.0000, 0.8272, 0.6481),  # 50 degrees
    (1.0000, 0.8286, 0.6524),  # 52 degrees
    (1.0000, 0.8300, 0.6562),  # 54 degrees
    (1.0000, 0.8312, 0.6598),  # 56 degrees
    (1.0000, 0.8323, 0.6630),  # 58 degrees
    (1.0000, 0.8333, 0.6659),  # 60 degrees
    (1.0000, 0.8341, 0.6686),  # 62 degrees
    (1.0000, 0.8350, 0.6710),  # 64 degrees
    (1.0000, 0.8357, 0.6732),  # 66 degrees
    (1.0000, 0.8363, 0.6751),  # 68 degrees
    (1.0000, 0.8369, 0.6769),  # 70 degrees
    (1.0000, 0.8374, 0.6784),  # 72 degrees
)


def sky_sun_color(elevation: float) -> tuple[float, float, float]:
    """The Nishita sun's colour at `elevation` degrees (interpolated linearly between the measured rows)."""
    table = np.array(SUN_RGB)
    return tuple(float(np.interp(elevation, ELEVATIONS, table[:, c])) for c in range(3))  # type: ignore[return-value]


def measure(elevations: list[float]) -> list[tuple[float, float, float]]:
    """Render the Nishita sky's sun disc at each elevation with bpy (in this process: call it in a fresh one) and
    return its mean colour over an 8 x 8 view filled by the disc, brightest channel 1."""
    import bpy

    for obj in list(bpy.data.objects):  # the startup file's cube would hide the sky from a camera at the origin
        bpy.data.objects.remove(obj)
    scene: Any = bpy.context.scene
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = 1
    scene.render.resolution_x = scene.render.resolution_y = 8
    scene.render.image_settings.file_format = "OPEN_EXR"
    scene.view_settings.view_transform = "Standard"
    world = bpy.data.worlds.new("sky")
    scene.world = world
    world.use_nodes = True
    sky = world.node_tree.nodes.new("ShaderNodeTexSky")
    sky.sky_type = "NISHITA"
    sky.sun_disc, sky.sun_size, sky.sun_rotation = True, math.radians(2.0), 0.0  # rotation 0: the sun lies along +Y
    world.node_tree.links.new(sky.outputs["Color"], world.node_tree.nodes["Background"].inputs["Color"])
    camera = bpy.data.objects.new("sun_camera", bpy.data.cameras.new("sun_camera"))
    camera.data.angle = math.radians(0.3)
    scene.collection.objects.link(camera)
    scene.camera = camera
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for k, elevation in enumerate(elevations):
            sky.sun_elevation = math.radians(elevation)
            camera.rotation_euler = (math.radians(90.0 + elevation), 0.0, 0.0)  # looking along (0, cos e, sin e)
            scene.render.filepath = f"{tmp}/sun{k}.exr"
            bpy.ops.render.render(write_still=True)
            image = bpy.data.images.load(scene.render.filepath)
            rgb = np.array(image.pixels[:], dtype=np.float64).reshape(8, 8, 4)[..., :3].mean((0, 1))
            bpy.data.images.remove(image)
            out.append(tuple(float(v) for v in rgb / rgb.max()))
    return out  # type: ignore[return-value]
