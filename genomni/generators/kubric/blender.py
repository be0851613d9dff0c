"""Blender Cycles renderer: builds a SceneSpec in bpy and renders the full pass and the target passes.

Passes differ only in which objects are visible to rays (`visible_camera`, `visible_shadow`,
`visible_glossy`, ...), never by swapping materials, and all passes share one Cycles seed, so pixels
that no removed object influences come out bit-identical; only resimulated targets (push and deform
scenes) move things, to where a simulation without the removed objects puts them. With a static
camera the background is rendered once, and so is a target whose kept objects all rest.
"""

from __future__ import annotations

import importlib
import math
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...errors import GenomniError
from .assets import AssetError, resolve
from .config import KubricConfig
from .physics import Motion
from .scene import ObjectSpec, SceneSpec

# m: a 2 km floor would reach the horizon but makes renders irreproducible (over a scene that large the ray-tracing
# BVH differs between builds in the last bits of hit points, and pixels change by a level); `_horizon` hides its edge.
FLOOR_SIZE = 200.0
HORIZON_RADIUS = 99.0  # m: the ring that carries the floor on to the horizon (`_horizon`), just inside its edge
FLOOR_FADE = (25.0, 60.0)  # m: the floor's pattern fades to its mean colour between these distances
RAY_FLAGS = ("visible_camera", "visible_diffuse", "visible_glossy", "visible_transmission", "visible_volume_scatter", "visible_shadow")
PRIMITIVE_OPS = {
    "cube": ("primitive_cube_add", {"size": 1.0}),
    "uv_sphere": ("primitive_uv_sphere_add", {"segments": 32, "ring_count": 16}),
    "ico_sphere": ("primitive_ico_sphere_add", {"subdivisions": 2}),
    "cylinder": ("primitive_cylinder_add", {"vertices": 32}),
    "cone": ("primitive_cone_add", {"vertices": 32}),
    "torus": ("primitive_torus_add", {}),
    "monkey": ("primitive_monkey_add", {}),
}


def require_bpy():
    """Import Blender's `bpy`, or fail with one line naming what to install."""
    if "bpy" not in sys.modules:
        # A process spawned from one that imported bpy inherits its sys.path, whose bundled
        # scripts/modules/bpy package would shadow the real module: drop those entries first.
        sys.path[:] = [p for p in sys.path if not (f"{os.sep}bpy{os.sep}" in p and f"{os.sep}scripts" in p)]
    try:
        return importlib.import_module("bpy")
    except ImportError as exc:
        raise GenomniError(
            "the kubric generator renders with Blender: install it with pip install 'genomni[render]' (bpy 4.5 for Python 3.11)"
        ) from exc


def _oiio():
    """OpenImageIO as bundled inside bpy (reads the multi-layer EXR with the Object Index pass)."""
    bpy = require_bpy()
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    site = Path(bpy.utils.resource_path("LOCAL")) / "python" / "lib" / version / "site-packages"
    if str(site) not in sys.path:
        sys.path.append(str(site))
    return importlib.import_module("OpenImageIO")


def srgb_to_linear(c: float) -> float:
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def linear_to_srgb8(x: np.ndarray) -> np.ndarray:
    """Scene-linear float RGB -> 8-bit sRGB, as Blender's 'Standard' view transform without dithering."""
    x = np.clip(x, 0.0, 1.0)
    y = np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055)
    return np.round(y * 255.0).astype(np.uint8)


class quiet_stdout:
    """Silence Blender's per-frame prints (it writes to fd 1 from C), keeping our own output clean."""

    def __enter__(self):
        sys.stdout.flush()
        self._saved = os.dup(1)
        self._null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(self._null, 1)
        return self

    def __exit__(self, *exc):
        os.dup2(self._saved, 1)
        os.close(self._saved)
        os.close(self._null)
        return False


@dataclass(frozen=True)
class TargetPlan:
    """One target pass: the scene with only the `kept` objects (ids) visible, plus the scenery (objects that are
    part of the background: pushed things, a cushion); `resimulated` targets use poses simulated without the
    removed objects (their effect includes motion, so the kept things move differently)."""

    tag: str
    kept: tuple[int, ...] = ()
    resimulated: bool = False


@dataclass
class Passes:
    """Rendered passes of one scene, as 8-bit sRGB videos and instance-id maps."""

    full: np.ndarray  # (T,H,W,3)
    instances: np.ndarray  # (T,H,W) object id per pixel, 0 = none (scenery is 0 too)
    targets: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # tag -> (rgb, instance ids)
    rendered_frames: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def background(self) -> np.ndarray:
        return self.targets["all"][0]

    @property
    def background_instances(self) -> np.ndarray:
        return self.targets["all"][1]


class BlenderRenderer:
    """Builds one scene at a time in a fresh Blender session and renders its passes with Cycles."""

    def __init__(self, cfg: KubricConfig, threads: int = 0):
        self.cfg = cfg
        self.threads = threads
        self.effect_crop = cfg.effect_crop
        self.bpy = require_bpy()
        self.oiio = _oiio()
        self.version = self.bpy.app.version_string

    # ---- scene building -------------------------------------------------------------------
    def build(self, spec: SceneSpec) -> list[np.ndarray]:
        """Create the scene in Blender; return each object's local mesh vertices for physics."""
        bpy = self.bpy
        with quiet_stdout():
            bpy.ops.wm.read_factory_settings(use_empty=True)
        scene = bpy.context.scene
        self._setup_render(scene, spec)
        self._floor(spec)
        for wall in spec.walls:
            self._wall(wall)
        self._lights(scene, spec)
        cam = bpy.data.objects.new("camera", bpy.data.cameras.new("camera"))
        cam.data.lens = spec.camera.focal_length
        cam.data.sensor_width = 36.0
        scene.collection.objects.link(cam)
        scene.camera = cam
        self.camera = cam
        self.objects, self.local_bounds = [], []
        vertices = []
        for obj_spec in spec.objects:
            obj, verts = self._object(obj_spec)
            self.objects.append(obj)
            self.local_bounds.append((verts.min(0), verts.max(0)))
            vertices.append(verts)
        self.local_vertices = vertices
        self.scenery = {i for i, o in enumerate(spec.objects) if o.role == "scenery"}
        self.removable = [i for i in range(len(spec.objects)) if i not in self.scenery]
        self.cloth = next((i for i, o in enumerate(spec.objects) if o.asset["kind"] == "cloth"), None)
        return vertices

    def _setup_render(self, scene, spec: SceneSpec) -> None:
        cfg = self.cfg
        scene.render.engine = "CYCLES"
        scene.cycles.device = "CPU"
        scene.cycles.samples = cfg.samples
        scene.cycles.use_adaptive_sampling = False
        scene.cycles.use_denoising = cfg.denoise
        if cfg.denoise:  # OpenImageDenoise, the same settings for every pass; FAST/BALANCED cost far less than the defaults
            scene.cycles.denoiser = "OPENIMAGEDENOISE"
            scene.cycles.denoising_prefilter = "FAST"
            scene.cycles.denoising_quality = "BALANCED"
        scene.cycles.seed = (spec.run_seed * 1000003 + spec.index * 7919 + spec.attempt) % (2**31 - 1)
        scene.cycles.use_animated_seed = False
        scene.cycles.max_bounces = cfg.max_bounces
        scene.cycles.caustics_reflective = False
        scene.cycles.caustics_refractive = False
        scene.render.resolution_x, scene.render.resolution_y = spec.width, spec.height
        scene.render.resolution_percentage = 100
        scene.render.dither_intensity = 0.0
        scene.render.use_persistent_data = True
        scene.render.film_transparent = False
        scene.view_settings.view_transform = "Standard"
        if self.threads:
            scene.render.threads_mode = "FIXED"
            scene.render.threads = self.threads
        scene.view_layers[0].use_pass_object_index = True
        scene.render.image_settings.file_format = "OPEN_EXR_MULTILAYER"
        scene.render.image_settings.color_depth = "32"
        scene.render.image_settings.exr_codec = "NONE"

    def _material(self, name: str, color, roughness: float, metallic: float):
        mat = self.bpy.data.materials.new(name)
        mat.use_nodes = True
        bsdf = mat.node_tree.nodes["Principled BSDF"]
        bsdf.inputs["Base Color"].default_value = (*[srgb_to_linear(c) for c in color], 1.0)
        bsdf.inputs["Roughness"].default_value = roughness
        bsdf.inputs["Metallic"].default_value = metallic
        return mat, bsdf

    def _floor(self, spec: SceneSpec) -> None:
        bpy = self.bpy
        f = spec.floor
        bpy.ops.mesh.primitive_plane_add(size=FLOOR_SIZE)
        floor = bpy.context.object
        floor.name = "floor"
        mat, bsdf = self._material("floor", f.colors[0], f.roughness, f.metallic)
        nodes, links = mat.node_tree.nodes, mat.node_tree.links
        if f.kind != "plain":
            coord = nodes.new("ShaderNodeTexCoord")
            lin = [(*[srgb_to_linear(c) for c in col], 1.0) for col in f.colors]
            if f.kind == "checker":
                tex = nodes.new("ShaderNodeTexChecker")
                tex.inputs["Color1"].default_value, tex.inputs["Color2"].default_value = lin[0], lin[1]
                tex.inputs["Scale"].default_value = 1.0 / f.texture_scale
                color_out = tex.outputs["Color"]
            elif f.kind == "tiles":
                tex = nodes.new("ShaderNodeTexBrick")
                tex.inputs["Color1"].default_value = tex.inputs["Color2"].default_value = lin[0]
                tex.inputs["Mortar"].default_value = lin[1]
                tex.inputs["Scale"].default_value = 1.0 / f.texture_scale
                tex.inputs["Mortar Size"].default_value = 0.03
                color_out = tex.outputs["Color"]
            else:
                if f.kind == "wood":
                    tex = nodes.new("ShaderNodeTexWave")
                    tex.inputs["Scale"].default_value = 2.0 / f.texture_scale
                    tex.inputs["Distortion"].default_value = 4.0
                    tex.inputs["Detail"].default_value = 3.0
                else:  # concrete-like noise
                    tex = nodes.new("ShaderNodeTexNoise")
                    tex.inputs["Scale"].default_value = 4.0 / f.texture_scale
                    tex.inputs["Detail"].default_value = 8.0
                ramp = nodes.new("ShaderNodeValToRGB")
                ramp.color_ramp.elements[0].color, ramp.color_ramp.elements[1].color = lin[1], lin[0]
                links.new(tex.outputs["Fac"], ramp.inputs["Fac"])
                color_out = ramp.outputs["Color"]
            links.new(coord.outputs["Object"], tex.inputs["Vector"])
            # Far away the pattern fades to its mean colour: there it is finer than a pixel anyway (moire and
            # render noise otherwise).
            distance = nodes.new("ShaderNodeVectorMath")
            distance.operation = "LENGTH"
            links.new(coord.outputs["Object"], distance.inputs[0])
            fade = nodes.new("ShaderNodeMapRange")
            fade.inputs["From Min"].default_value, fade.inputs["From Max"].default_value = FLOOR_FADE
            links.new(distance.outputs["Value"], fade.inputs["Value"])
            mix = nodes.new("ShaderNodeMix")
            mix.data_type = "RGBA"
            mean = np.mean(np.asarray(lin)[:, :3], axis=0)
            mix.inputs["B"].default_value = (*mean, 1.0)
            links.new(fade.outputs["Result"], mix.inputs["Factor"])
            links.new(color_out, mix.inputs["A"])
            links.new(mix.outputs["Result"], bsdf.inputs["Base Color"])
        floor.data.materials.append(mat)
        self._horizon(spec, mat)

    def _horizon(self, spec: SceneSpec, mat) -> None:
        """A ring at the floor's edge, from the floor up to the camera's height, so the floor seems to reach the
        horizon: its top is at eye level from anywhere on the camera's orbit, it is shaded with the floor's upward
        normal (it looks like the floor it continues) and it is seen only by camera and glossy rays (it lights and
        shadows nothing). A floor that really reached the horizon would make renders irreproducible (see FLOOR_SIZE)."""
        bpy = self.bpy
        height = spec.camera.position(0.0)[2]
        bpy.ops.mesh.primitive_cylinder_add(
            vertices=256, radius=HORIZON_RADIUS, depth=height, end_fill_type="NOTHING", location=(0.0, 0.0, height / 2)
        )
        ring = bpy.context.object
        ring.name = "horizon"
        ring_mat = mat.copy()  # the floor's material, shaded with the floor's normal
        nodes = ring_mat.node_tree.nodes
        up = nodes.new("ShaderNodeCombineXYZ")
        up.inputs["Z"].default_value = 1.0
        ring_mat.node_tree.links.new(up.outputs["Vector"], nodes["Principled BSDF"].inputs["Normal"])
        ring.data.materials.append(ring_mat)
        for flag in ("visible_diffuse", "visible_shadow", "visible_transmission", "visible_volume_scatter"):
            setattr(ring, flag, False)

    def _wall(self, wall: dict) -> None:
        bpy = self.bpy
        x, y, _ = wall["position"]
        bpy.ops.mesh.primitive_cube_add(size=1.0, location=(x, y, 4.0), rotation=(0, 0, math.radians(wall["yaw_deg"])))
        obj = bpy.context.object
        obj.scale = (0.1, 16.0, 8.0)
        obj.data.materials.append(self._material("wall", wall["color"], 0.8, 0.0)[0])

    def _lights(self, scene, spec: SceneSpec) -> None:
        bpy = self.bpy
        from mathutils import Vector

        li = spec.light
        el, az = math.radians(li.sun_elevation), math.radians(li.sun_azimuth)
        to_sun = Vector((math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)))
        sun = bpy.data.lights.new("sun", "SUN")
        sun.energy = li.sun_strength
        sun.angle = math.radians(li.sun_angle)
        sun_obj = bpy.data.objects.new("sun", sun)
        sun_obj.rotation_mode = "QUATERNION"
        sun_obj.rotation_quaternion = to_sun.to_track_quat("Z", "Y")
        scene.collection.objects.link(sun_obj)
        for k, extra in enumerate(li.extra_lights):
            light = bpy.data.lights.new(f"light{k}", "POINT")
            light.energy = extra["power"]
            light.shadow_soft_size = extra["radius"]
            obj = bpy.data.objects.new(f"light{k}", light)
            obj.location = extra["position"]
            scene.collection.objects.link(obj)
        world = bpy.data.worlds.new("world")
        scene.world = world
        world.use_nodes = True
        nodes, links = world.node_tree.nodes, world.node_tree.links
        background = nodes["Background"]
        background.inputs["Strength"].default_value = li.world_strength
        if li.world == "hdri":  # camera rays see the map as it is (the backdrop), lighting rays see it clamped
            env = nodes.new("ShaderNodeTexEnvironment")
            path = str(resolve(li.hdri, self.cfg.assets_dir, self.cfg.hdri_dir))
            try:
                env.image = bpy.data.images.load(path, check_existing=True)
            except RuntimeError as exc:
                raise GenomniError(f"HDRI file {path} could not be read by Blender") from exc
            mapping = nodes.new("ShaderNodeMapping")
            mapping.inputs["Rotation"].default_value = (0.0, 0.0, math.radians(li.hdri_rotation))
            coord = nodes.new("ShaderNodeTexCoord")
            links.new(coord.outputs["Generated"], mapping.inputs["Vector"])
            links.new(mapping.outputs["Vector"], env.inputs["Vector"])
            lighting = env.outputs["Color"]
            if li.hdri_clamp > 0:
                clamp = nodes.new("ShaderNodeVectorMath")
                clamp.operation = "MINIMUM"
                clamp.inputs[1].default_value = (li.hdri_clamp,) * 3
                links.new(env.outputs["Color"], clamp.inputs[0])
                lighting = clamp.outputs["Vector"]
            links.new(lighting, background.inputs["Color"])
            backdrop = nodes.new("ShaderNodeBackground")
            backdrop.inputs["Strength"].default_value = li.world_strength
            links.new(env.outputs["Color"], backdrop.inputs["Color"])
            path_kind = nodes.new("ShaderNodeLightPath")
            mix = nodes.new("ShaderNodeMixShader")
            links.new(path_kind.outputs["Is Camera Ray"], mix.inputs["Fac"])
            links.new(background.outputs["Background"], mix.inputs[1])
            links.new(backdrop.outputs["Background"], mix.inputs[2])
            links.new(mix.outputs["Shader"], nodes["World Output"].inputs["Surface"])
        else:
            sky = nodes.new("ShaderNodeTexSky")
            sky.sky_type = "NISHITA"
            sky.sun_disc = False
            sky.sun_elevation = el
            sky.sun_rotation = az
            links.new(sky.outputs["Color"], background.inputs["Color"])
        # Neither the sky (no sun disc: the lamp is the sun) nor a clamped map (at most 4x its mean) has a small
        # bright spot, so the world is lit by BSDF sampling alone: no per-frame importance map (0.45 -> 0.29
        # s/frame for the sky), and none built by threads whose sums depend on their count, so renders are
        # byte-identical whatever --workers.
        world.cycles.sampling_method = "NONE"

    def _import_mesh(self, spec: ObjectSpec):
        bpy = self.bpy
        asset = spec.asset
        before = set(bpy.data.objects)
        if asset["kind"] == "primitive":
            op, kwargs = PRIMITIVE_OPS[asset["name"]]
            getattr(bpy.ops.mesh, op)(**kwargs)
        else:
            path = str(resolve(asset["ref"], self.cfg.assets_dir, self.cfg.hdri_dir))
            if not os.path.isfile(path):
                raise GenomniError(f"asset file {path} does not exist")
            suffix = Path(path).suffix.lower()
            try:
                with quiet_stdout():
                    if suffix == ".obj":
                        bpy.ops.wm.obj_import(filepath=path)
                    else:
                        bpy.ops.import_scene.gltf(filepath=path)
            except RuntimeError as exc:
                raise AssetError(f"asset file {path} could not be imported: {str(exc).strip().splitlines()[-1]}") from exc
        new = [o for o in bpy.data.objects if o not in before]
        meshes = [o for o in new if o.type == "MESH" and len(o.data.vertices)]
        for o in new:
            if o not in meshes:
                bpy.data.objects.remove(o, do_unlink=True)
        if not meshes:
            raise AssetError(f"asset {asset['ref'] or asset['name']} contains no mesh")
        for o in meshes:  # bake world transforms (glTF hierarchies) into the vertices
            o.data = o.data.copy() if o.data.users > 1 else o.data
            o.data.transform(o.matrix_world)
            o.parent = None
            o.matrix_world.identity()
        if len(meshes) > 1:
            with bpy.context.temp_override(active_object=meshes[0], selected_editable_objects=meshes):
                bpy.ops.object.join()
        return meshes[0]

    def _pattern(self, mat, bsdf, spec: ObjectSpec) -> None:
        """Two-colour procedural texture in the object's own coordinates (it moves with the object):
        checker, stripes (wave bands), spots (Voronoi cells) or mottled (noise); `pattern_scale` repeats per size."""
        nodes, links = mat.node_tree.nodes, mat.node_tree.links
        coord = nodes.new("ShaderNodeTexCoord")
        lin = [(*[srgb_to_linear(c) for c in col], 1.0) for col in (spec.color, spec.color2)]
        scale = spec.pattern_scale / spec.size
        if spec.pattern == "checker":
            tex = nodes.new("ShaderNodeTexChecker")
            tex.inputs["Color1"].default_value, tex.inputs["Color2"].default_value = lin
            tex.inputs["Scale"].default_value = scale
            links.new(coord.outputs["Object"], tex.inputs["Vector"])
            links.new(tex.outputs["Color"], bsdf.inputs["Base Color"])
            return
        kind, cut = {
            "stripes": ("ShaderNodeTexWave", 0.5),
            "spots": ("ShaderNodeTexVoronoi", 0.35),
            "mottled": ("ShaderNodeTexNoise", None),
        }[spec.pattern]
        tex = nodes.new(kind)
        tex.inputs["Scale"].default_value = scale
        links.new(coord.outputs["Object"], tex.inputs["Vector"])
        ramp = nodes.new("ShaderNodeValToRGB")
        elements = ramp.color_ramp.elements
        if cut is not None:  # hard-edged bands or spots
            ramp.color_ramp.interpolation = "CONSTANT"
            elements[1].position = cut
        first, second = (lin[1], lin[0]) if spec.pattern == "spots" else (lin[0], lin[1])
        elements[0].color, elements[1].color = first, second
        links.new(tex.outputs["Distance" if spec.pattern == "spots" else "Fac"], ramp.inputs["Fac"])
        links.new(ramp.outputs["Color"], bsdf.inputs["Base Color"])

    def _cloth(self, spec: ObjectSpec):
        """The deformation scenario's sheet: `physics.cloth_grid` at its place (vertices in world coordinates, moved
        frame by frame to the simulated ones), with its pattern; background in the instance map."""
        from .physics import cloth_grid

        verts, faces = cloth_grid(spec.size)
        verts = verts + np.asarray(spec.position)
        mesh = self.bpy.data.meshes.new(f"cloth{spec.id}")
        mesh.from_pydata(verts.tolist(), [], faces.tolist())
        mesh.polygons.foreach_set("use_smooth", [True] * len(mesh.polygons))
        obj = self.bpy.data.objects.new(f"object{spec.id}", mesh)
        self.bpy.context.scene.collection.objects.link(obj)
        mat, bsdf = self._material(f"mat{spec.id}", spec.color, spec.roughness, 0.0)
        if spec.pattern not in ("plain", "image"):
            self._pattern(mat, bsdf, spec)
        mesh.materials.append(mat)
        obj.pass_index = 0
        obj.rotation_mode = "QUATERNION"
        return obj, verts

    def _deform(self, cloth: np.ndarray | None, t: int) -> None:
        """Move the cloth's vertices to frame t of its simulated track."""
        if cloth is None:
            return
        obj = self.objects[self.cloth]
        obj.data.vertices.foreach_set("co", cloth[t].astype(np.float32).ravel())
        obj.data.update()

    def _object(self, spec: ObjectSpec):
        from mathutils import Matrix, Vector

        if spec.asset["kind"] == "cloth":
            return self._cloth(spec)
        obj = self._import_mesh(spec)
        obj.name = f"object{spec.id}"
        mesh = obj.data
        n = len(mesh.vertices)
        co = np.empty(n * 3, dtype=np.float32)
        mesh.vertices.foreach_get("co", co)
        co = co.reshape(n, 3).astype(np.float64)
        lo, hi = co.min(0), co.max(0)
        extent = float((hi - lo).max())
        if not np.isfinite(extent) or extent <= 0:
            raise AssetError(f"asset {spec.asset['ref'] or spec.asset['name']} has a degenerate mesh")
        scale = spec.size / extent
        centre = (lo + hi) / 2
        mesh.transform(Matrix.Scale(scale, 4) @ Matrix.Translation(-Vector(centre)))
        smooth = spec.asset["name"] != "cube"
        mesh.polygons.foreach_set("use_smooth", [smooth] * len(mesh.polygons))
        metallic = 1.0 if spec.finish == "metallic" else 0.0
        own = [m for m in mesh.materials if m is not None and m.use_nodes] if spec.pattern == "image" else []
        if own:  # the file's own textured materials, with the sampled finish
            for mat in own:
                for node in mat.node_tree.nodes:
                    if node.type == "BSDF_PRINCIPLED":
                        node.inputs["Roughness"].default_value = spec.roughness
                        node.inputs["Metallic"].default_value = metallic
        else:
            mesh.materials.clear()
            mat, bsdf = self._material(f"mat{spec.id}", spec.color, spec.roughness, metallic)
            if spec.pattern not in ("plain", "image"):
                self._pattern(mat, bsdf, spec)
            mesh.materials.append(mat)
        obj.pass_index = spec.id if spec.role == "object" else 0  # scenery is background in the instance map
        obj.rotation_mode = "QUATERNION"
        return obj, (co - centre) * scale

    # ---- rendering ------------------------------------------------------------------------
    def _place(self, spec: SceneSpec, poses: np.ndarray, t: int) -> None:
        """Objects at their poses and the camera where it is at frame t."""
        for obj, pose in zip(self.objects, poses[t]):
            obj.location = pose[:3]
            x, y, z, w = pose[3:]
            obj.rotation_quaternion = (w, x, y, z)
        self._aim_camera(spec, t)

    def _aim_camera(self, spec: SceneSpec, t: int) -> None:
        from mathutils import Vector

        frac = t / max(1, spec.frames - 1)
        pos = Vector(spec.camera.position(frac))
        self.camera.location = pos
        self.camera.rotation_mode = "QUATERNION"
        self.camera.rotation_quaternion = (Vector(spec.camera.target) - pos).to_track_quat("-Z", "Y")

    def _show(self, visible: set[int]) -> None:
        """Make the objects at these indices (and all scenery) visible to every ray type, the others to none."""
        for i, obj in enumerate(self.objects):
            for flag in RAY_FLAGS:
                setattr(obj, flag, i in visible or i in self.scenery)

    def _render(self, path: str) -> tuple[np.ndarray, np.ndarray]:
        bpy = self.bpy
        with quiet_stdout():
            bpy.ops.render.render(write_still=False)
            bpy.data.images["Render Result"].save_render(path)
        inp = self.oiio.ImageInput.open(path)
        if inp is None:
            raise GenomniError(f"Blender wrote no readable render to {path}")
        names = list(inp.spec().channelnames)
        pixels = np.asarray(inp.read_image("float"))
        inp.close()
        rgb = pixels[..., [names.index(f"ViewLayer.Combined.{c}") for c in "RGB"]]
        index = pixels[..., names.index("ViewLayer.IndexOB.X")]
        return linear_to_srgb8(rgb), np.rint(index).astype(np.uint8)

    def in_view(self, spec: SceneSpec, poses: np.ndarray, margin: float = 0.02) -> bool:
        """Whether every object's centre (scenery need not stay) projects inside the frame in every frame (checked
        before rendering)."""
        for t in range(spec.frames):
            self._place(spec, poses, t)
            self.bpy.context.view_layer.update()
            px = self._project(spec, poses[t, self.removable, :3])
            inside = (
                (px[:, 0] > margin * spec.width)
                & (px[:, 0] < (1 - margin) * spec.width)
                & (px[:, 1] > margin * spec.height)
                & (px[:, 1] < (1 - margin) * spec.height)
                & (px[:, 2] > 0)
            )
            if not inside.all():
                return False
        return True

    def _project(self, spec: SceneSpec, points: np.ndarray) -> np.ndarray:
        """(N, 3) world points -> (N, 3) pixel column, pixel row (from the top) and depth in front of the camera, for
        the camera as `_place` left it (Blender's own projection matrix, so sensor fit and aspect match the render)."""
        depsgraph = self.bpy.context.evaluated_depsgraph_get()
        proj = np.array(self.camera.calc_matrix_camera(depsgraph, x=spec.width, y=spec.height))
        view = np.array(self.camera.matrix_world.inverted())
        cam = np.c_[points, np.ones(len(points))] @ view.T
        clip = cam @ proj.T
        w = np.where(np.abs(clip[:, 3]) < 1e-9, 1e-9, clip[:, 3])
        col = (clip[:, 0] / w + 1) / 2 * spec.width
        row = (1 - clip[:, 1] / w) / 2 * spec.height
        return np.c_[col, row, -cam[:, 2]]

    def visible_estimate(self, spec: SceneSpec, poses: np.ndarray) -> list[int]:
        """Each object's fewest visible pixels over the clip, estimated from the poses before anything is rendered:
        the convex hull of its projected mesh, minus the hulls of objects nearer the camera (painter's order).

        Hulls cover holes and concavities, so an object seen through another's hole counts as hidden and a mug counts
        its opening; scenes this estimate rejects are not rendered, the rendered count still decides the rest."""
        import cv2

        fewest = [spec.height * spec.width] * len(self.objects)
        for t in range(spec.frames):
            self._place(spec, poses, t)
            self.bpy.context.view_layer.update()
            hulls = []
            for i, verts in enumerate(self.local_vertices):
                if i == self.cloth:  # a sheet under the objects: not an occluder here
                    hulls.append((float("inf"), None))
                    continue
                px = self._project(spec, self._posed(poses, i, t, verts))
                if (px[:, 2] <= 0).any():
                    hulls.append((float("inf"), None))
                    continue
                hull = cv2.convexHull(np.round(px[:, :2] * 4).astype(np.int32))  # 2 bits of sub-pixel precision
                hulls.append((float(np.linalg.norm(np.asarray(self.camera.location) - poses[t, i, :3])), hull))
            covered = np.zeros((spec.height, spec.width), bool)
            for i in sorted(range(len(hulls)), key=lambda k: hulls[k][0]):
                mask = np.zeros((spec.height, spec.width), np.uint8)
                if hulls[i][1] is not None:
                    cv2.fillConvexPoly(mask, hulls[i][1], 1, lineType=cv2.LINE_8, shift=2)
                own = mask.astype(bool)
                fewest[i] = min(fewest[i], int((own & ~covered).sum()))
                covered |= own
        return fewest

    @staticmethod
    def _posed(poses: np.ndarray, i: int, t: int, local: np.ndarray) -> np.ndarray:
        """(N, 3) points in object i's own frame placed where its pose at frame t puts them."""
        from mathutils import Quaternion

        x, y, z, w = poses[t, i, 3:]
        return local @ np.array(Quaternion((w, x, y, z)).to_matrix()).T + poses[t, i, :3]

    def _corners(self, poses: np.ndarray, i: int, t: int) -> np.ndarray:
        """(8, 3) world positions of object i's bounding-box corners at frame t."""
        lo, hi = self.local_bounds[i]
        local = np.array([[a, b, c] for a in (lo[0], hi[0]) for b in (lo[1], hi[1]) for c in (lo[2], hi[2])])
        return self._posed(poses, i, t, local)

    def _corners_px(self, spec: SceneSpec, poses: np.ndarray, i: int, t: int) -> np.ndarray:
        """(8, 2) pixel positions of object i's bounding-box corners at frame t (after `_place(spec, poses, t)`)."""
        return self._project(spec, self._corners(poses, i, t))[:, :2]

    def motion_px(self, spec: SceneSpec, poses: np.ndarray, against: np.ndarray | None = None) -> float:
        """The farthest any object's bounding-box corner moves in the image from the first frame, in pixels (an
        object turning in place moves its corners too); with `against` (poses simulated without the removed
        objects), the farthest a scenery object's corner lies from where it is in `against` at the same frame.
        Checked on the simulated poses, before rendering."""
        worst = 0.0
        first: dict[int, np.ndarray] = {}
        others = sorted(self.scenery) if against is not None else range(len(spec.objects))
        for t in range(spec.frames):
            self._place(spec, poses, t)
            self.bpy.context.view_layer.update()
            for i in others:
                px = self._corners_px(spec, poses, i, t)
                ref = self._corners_px(spec, against, i, t) if against is not None else first.setdefault(i, px)
                worst = max(worst, float(np.hypot(*(px - ref).T).max()))
        return worst

    def cloth_px(self, spec: SceneSpec, cloth: np.ndarray, against: np.ndarray) -> float:
        """The farthest a cloth vertex lies in the image from where it is in `against` (the cloth simulated without
        the removed objects) at the same frame, in pixels."""
        worst = 0.0
        for t in range(spec.frames):
            self._aim_camera(spec, t)
            self.bpy.context.view_layer.update()
            a, b = self._project(spec, cloth[t])[:, :2], self._project(spec, against[t])[:, :2]
            worst = max(worst, float(np.hypot(*(a - b).T).max()))
        return worst

    def effect_box(self, spec: SceneSpec, poses: np.ndarray, i: int, t: int) -> tuple[int, int, int, int] | None:
        """Pixel box (row0, row1, col0, col1) that holds object i and every effect it can have at frame t.

        The box covers the projections of the object's bounding box, its shadow on the floor along
        the sun and each point light (shadows on walls lie between the two), and its mirror image in
        the floor, plus a margin for contact shadows and bounce light. None means "the whole frame".
        Called after `_place(spec, poses, t)`.
        """
        from bpy_extras.object_utils import world_to_camera_view
        from mathutils import Vector

        world = self._corners(poses, i, t)
        pts = [world, world * np.array([1.0, 1.0, -1.0])]
        li = spec.light
        el, az = math.radians(li.sun_elevation), math.radians(li.sun_azimuth)
        to_sun = np.array([math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)])
        pts.append(world - to_sun[None] * (np.maximum(world[:, 2], 0.0) / to_sun[2])[:, None])
        for extra in li.extra_lights:
            lp = np.asarray(extra["position"], dtype=float)
            if lp[2] <= world[:, 2].max() + 0.05:
                return None  # a light below the object's top throws shadows to the horizon
            pts.append(lp + (world - lp) * (lp[2] / (lp[2] - world[:, 2]))[:, None])
        scene = self.bpy.context.scene
        proj = np.array([tuple(world_to_camera_view(scene, self.camera, Vector(p))) for p in np.concatenate(pts)])
        if (proj[:, 2] <= 0).any():
            return None
        x0, x1 = proj[:, 0].min(), proj[:, 0].max()
        y0, y1 = proj[:, 1].min(), proj[:, 1].max()
        margin_x = 0.25 * (x1 - x0) + 6.0 / spec.width
        margin_y = 0.25 * (y1 - y0) + 6.0 / spec.height
        c0 = max(0, math.floor((x0 - margin_x) * spec.width))
        c1 = min(spec.width, math.ceil((x1 + margin_x) * spec.width))
        r0 = max(0, math.floor((1.0 - y1 - margin_y) * spec.height))
        r1 = min(spec.height, math.ceil((1.0 - y0 + margin_y) * spec.height))
        if c1 <= c0 or r1 <= r0:
            return (0, 0, 0, 0)  # entirely out of view: nothing to render
        if (c1 - c0) * (r1 - r0) > 0.7 * spec.width * spec.height:
            return None
        return (r0, r1, c0, c1)

    def _render_box(self, spec: SceneSpec, box: tuple[int, int, int, int], path: str) -> tuple[np.ndarray, np.ndarray]:
        """Render only the pixel box (rows r0:r1, cols c0:c1); Cycles' per-pixel seeding makes those
        pixels identical to a full-frame render."""
        render = self.bpy.context.scene.render
        r0, r1, c0, c1 = box
        render.use_border, render.use_crop_to_border = True, False
        render.border_min_x, render.border_max_x = c0 / spec.width, c1 / spec.width
        render.border_min_y, render.border_max_y = 1.0 - r1 / spec.height, 1.0 - r0 / spec.height
        try:
            return self._render(path)
        finally:
            render.use_border = False

    def _render_pass(
        self,
        spec: SceneSpec,
        poses: np.ndarray,
        tmp: str,
        tag: str,
        once: bool = False,
        base: np.ndarray | None = None,
        box_of=None,
        base_idx: np.ndarray | None = None,
        cloth: np.ndarray | None = None,
    ):
        """Render a pass frame by frame (one frame if `once`); where `box_of(t)` gives a box, render
        only the box and take `base` (and `base_idx`, else no object) outside it. Returns rgb, instance ids,
        frames, pixels rendered."""
        frames = 1 if once else spec.frames
        shape = (frames, spec.height, spec.width)
        rgb = np.zeros((*shape, 3), np.uint8) if base is None else base[:frames].copy()
        idx = np.zeros(shape, np.uint8) if base_idx is None else base_idx[:frames].copy()
        pixels = 0
        for t in range(frames):
            self._place(spec, poses, t)
            self._deform(cloth, t)
            path = os.path.join(tmp, f"{tag}_{t:05d}.exr")
            box = box_of(t) if box_of is not None else None
            if box is None:
                rgb[t], idx[t] = self._render(path)
                pixels += spec.height * spec.width
                continue
            r0, r1, c0, c1 = box
            if r1 > r0 and c1 > c0:
                a, b = self._render_box(spec, box, path)
                rgb[t, r0:r1, c0:c1], idx[t, r0:r1, c0:c1] = a[r0:r1, c0:c1], b[r0:r1, c0:c1]
                pixels += (r1 - r0) * (c1 - c0)
        if once:
            rgb, idx = np.repeat(rgb, spec.frames, axis=0), np.repeat(idx, spec.frames, axis=0)
        return rgb, idx, frames, pixels

    def _kept_base(self, spec: SceneSpec, poses: np.ndarray, passes: Passes, kept: set[int]):
        """(rgb, ids, box_of) for the target keeping the objects at indices `kept`, from passes already rendered.

        Each object changes pixels only inside its effect box, so the target is the full pass outside the removed
        objects' boxes, the background outside the kept objects' boxes, and needs rendering only where boxes of
        both overlap: `box_of(t)` is the box around those overlaps."""
        rgb, idx = passes.background.copy(), np.zeros_like(passes.instances)
        kept_ids = [spec.objects[i].id for i in kept]
        boxes_at: list[tuple[int, int, int, int] | None] = []
        for t in range(spec.frames):
            self._place(spec, poses, t)
            boxes = {i: self.effect_box(spec, poses, i, t) for i in self.removable}
            if any(b is None for b in boxes.values()):
                boxes_at.append(None)  # a box as big as the frame: render all of it
                continue
            keep_area, drop_area = (np.zeros((spec.height, spec.width), bool) for _ in range(2))
            for i, (r0, r1, c0, c1) in boxes.items():
                (keep_area if i in kept else drop_area)[r0:r1, c0:c1] = True
            only_kept = keep_area & ~drop_area
            rgb[t][only_kept] = passes.full[t][only_kept]
            idx[t][only_kept] = np.where(np.isin(passes.instances[t], kept_ids), passes.instances[t], 0)[only_kept]
            rows, cols = np.nonzero(keep_area & drop_area)
            boxes_at.append((int(rows.min()), int(rows.max()) + 1, int(cols.min()), int(cols.max()) + 1) if len(rows) else (0, 0, 0, 0))
        return rgb, idx, boxes_at.__getitem__

    def _union_box(self, spec: SceneSpec, poses: np.ndarray, indices: set[int], t: int):
        """The box around the effect boxes of the objects at `indices` at frame t (None = whole frame)."""
        boxes = [self.effect_box(spec, poses, i, t) for i in sorted(indices)]
        if any(b is None for b in boxes):
            return None
        boxes = [b for b in boxes if b[1] > b[0] and b[3] > b[2]]
        if not boxes:
            return (0, 0, 0, 0)
        r0, r1 = min(b[0] for b in boxes), max(b[1] for b in boxes)
        c0, c1 = min(b[2] for b in boxes), max(b[3] for b in boxes)
        return None if (r1 - r0) * (c1 - c0) > 0.7 * spec.width * spec.height else (r0, r1, c0, c1)

    def render_full(self, spec: SceneSpec, poses: np.ndarray, cloth: np.ndarray | None = None) -> Passes:
        """Render the full pass (all objects; a cloth as simulated) and its instance ids; targets come from
        `render_targets`."""
        t0 = time.perf_counter()
        tmp = tempfile.mkdtemp(prefix="genomni-render-")
        try:
            self._show(set(range(len(self.objects))))
            full, inst, frames, _ = self._render_pass(spec, poses, tmp, "full", cloth=cloth)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return Passes(full, inst, rendered_frames={"full": frames}, seconds={"full": time.perf_counter() - t0})

    def render_targets(
        self, spec: SceneSpec, poses: np.ndarray, passes: Passes, plans: list[TargetPlan], resimulated: Motion | None = None
    ) -> Passes:
        """Add a target pass per plan to a full pass (the plan tagged "all", keeping no object, first).

        With a static camera the background is one frame, and so is a target whose kept objects all rest.
        With `effect_crop`, a moving camera's background is rendered only inside the union of the objects'
        effect boxes (the full pass elsewhere), and a target keeping some objects only where kept and removed
        objects' boxes overlap (`_kept_base`). Outside the boxes only bounce-light noise differs
        (`benchmarks/generate_kubric.py` measures it against uncropped renders). A resimulated plan is rendered
        whole with the `resimulated` poses."""
        crop = self.effect_crop
        static_cam = not spec.camera.moving
        index_of = {o.id: i for i, o in enumerate(spec.objects)}
        counts, seconds = passes.rendered_frames, passes.seconds
        tmp = tempfile.mkdtemp(prefix="genomni-render-")
        try:
            for plan in plans:
                t0 = time.perf_counter()
                kept = {index_of[k] for k in plan.kept}
                self._show(kept)
                if plan.resimulated:
                    out = self._render_pass(spec, resimulated.poses, tmp, plan.tag, cloth=resimulated.cloth)
                elif len(kept) == len(self.removable):
                    out = passes.full.copy(), passes.instances.copy(), 0, 0  # same visibility, same seed: the full pass
                elif not kept:
                    union = (lambda t: self._union_box(spec, poses, set(self.removable), t)) if crop and not static_cam else None
                    out = self._render_pass(spec, poses, tmp, plan.tag, once=static_cam, base=passes.full, box_of=union)
                else:
                    once = static_cam and all(np.abs(poses[:, i] - poses[0, i]).max() < 1e-6 for i in kept)
                    base, base_idx, box = passes.background, None, None
                    if crop and once:  # one frame: render the kept objects' whole boxes
                        box = lambda t, kept=kept: self._union_box(spec, poses, kept, t)  # noqa: E731
                    elif crop:
                        base, base_idx, box = self._kept_base(spec, poses, passes, kept)
                    out = self._render_pass(spec, poses, tmp, plan.tag, once=once, base=base, box_of=box, base_idx=base_idx)
                passes.targets[plan.tag] = out[0], out[1]
                kind = "background" if not plan.kept else "kept"
                counts[kind] = counts.get(kind, 0) + out[2]
                counts[f"{kind}_pixels"] = counts.get(f"{kind}_pixels", 0) + out[3]
                seconds[kind] = seconds.get(kind, 0.0) + time.perf_counter() - t0
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return passes

    def render(
        self,
        spec: SceneSpec,
        poses: np.ndarray,
        plans: list[TargetPlan] | None = None,
        resimulated: Motion | None = None,
        cloth: np.ndarray | None = None,
    ) -> Passes:
        """Render the full pass and the target passes (default: the background and one per object keeping only it)."""
        plans = plans or standard_plans(spec)
        return self.render_targets(spec, poses, self.render_full(spec, poses, cloth), plans, resimulated)


def standard_plans(spec: SceneSpec) -> list[TargetPlan]:
    """Remove all objects, and for each object keep only it."""
    return [TargetPlan("all")] + [TargetPlan(f"obj{i}", (i,)) for i in spec.object_ids]
