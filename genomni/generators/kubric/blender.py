"""Blender Cycles renderer: builds a SceneSpec in bpy (scenery from `bpy_scenery`, objects here), poses it frame
by frame, sets which objects rays see, and renders one frame (or a pixel box of it) to 8-bit sRGB and instance ids.
Which passes a scene needs and how they combine is `passes`; what the camera sees before rendering is `views`.

Passes differ only in which objects are visible to rays (`visible_camera`, `visible_shadow`, `visible_glossy`,
...), never by swapping materials, and all passes share one Cycles seed, so pixels that no removed object
influences come out bit-identical.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ...errors import GenomniError
from . import bpy_scenery
from .assets import AssetError, find_texture, resolve
from .bpy_runtime import held_interrupt, linear_to_srgb8, open_image_io, quiet_stdout, require_bpy, srgb_to_linear, use_gpu
from .config import KubricConfig
from .spec import ObjectSpec, SceneSpec

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


def canonical_face_order(mesh) -> None:
    """Sort a mesh's faces by their vertex indices. Blender's uv-sphere operator lists the same faces in a different
    order on each call, and smooth normals summed in another order differ in their last bits, which a render shows
    (in floats always; in 8 bits now and then; after denoising, which spreads a pixel's change over its neighbours,
    more often): renders of one scene description must be byte-identical (the data contract)."""
    import bmesh

    bm = bmesh.new()
    bm.from_mesh(mesh)
    bm.verts.index_update()
    bm.faces.index_update()
    corners = [tuple(v.index for v in f.verts) for f in bm.faces]
    rank = {k: r for r, k in enumerate(sorted(range(len(corners)), key=corners.__getitem__))}
    bm.faces.sort(key=lambda f: rank[f.index])  # bmesh sorts by a number: each face's rank in that order
    bm.to_mesh(mesh)
    bm.free()


class BlenderRenderer:
    """Builds one scene at a time in a fresh Blender session and renders its passes with Cycles."""

    def __init__(self, cfg: KubricConfig, threads: int = 0):
        self.cfg = cfg
        self.threads = threads
        self.effect_crop = cfg.effect_crop
        self.bpy = require_bpy()
        self.oiio = open_image_io()
        self.version = self.bpy.app.version_string
        self.device = use_gpu(self.bpy) if cfg.render_device == "gpu" else "CPU"

    # ---- scene building -------------------------------------------------------------------
    def build(self, spec: SceneSpec) -> list[np.ndarray]:
        """Create the scene in Blender; return each object's local mesh vertices for physics. Blender's operators
        written in Python turn a Ctrl-C into their own error, so it is held until the scene is built."""
        with held_interrupt():
            return self._build(spec)

    def _build(self, spec: SceneSpec) -> list[np.ndarray]:
        bpy = self.bpy
        with quiet_stdout():
            bpy.ops.wm.read_factory_settings(use_empty=True)
        scene = bpy.context.scene
        self._setup_render(scene, spec)
        bpy_scenery.floor(self.bpy, spec)
        for wall in spec.walls:
            bpy_scenery.wall(self.bpy, wall)
        bpy_scenery.lights(self.bpy, self.cfg, scene, spec)
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
        if cfg.render_device == "gpu":
            use_gpu(self.bpy)
            scene.cycles.device = "GPU"
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
        if asset["kind"] != "primitive" and Path(path).suffix.lower() == ".obj":
            self._relink_textures(meshes, Path(path))
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
        canonical_face_order(meshes[0].data)
        return meshes[0]

    def _relink_textures(self, meshes: list, obj: Path) -> None:
        """Image textures the OBJ importer could not find where the .mtl says, found where their layout keeps them
        (Google Scanned Objects: ../materials/textures/)."""
        for mesh in meshes:
            for mat in mesh.data.materials:
                for node in mat.node_tree.nodes if mat is not None and mat.node_tree else []:
                    image = getattr(node, "image", None)
                    if node.type != "TEX_IMAGE" or image is None or image.has_data or Path(image.filepath).is_file():
                        continue
                    found = find_texture(obj, Path(image.filepath).name)
                    if found is not None:
                        node.image = self.bpy.data.images.load(str(found), check_existing=True)

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
        from .physics import cloth_grid, frame_parts

        verts, faces = cloth_grid(spec.size)
        verts = verts + np.asarray(spec.position)
        mesh = self.bpy.data.meshes.new(f"cloth{spec.id}")
        mesh.from_pydata(verts.tolist(), [], faces.tolist())
        mesh.polygons.foreach_set("use_smooth", [True] * len(mesh.polygons))
        obj = self.bpy.data.objects.new(f"object{spec.id}", mesh)
        self.bpy.context.scene.collection.objects.link(obj)
        mat, bsdf = bpy_scenery.material(self.bpy, f"mat{spec.id}", spec.color, spec.roughness, 0.0)
        if spec.pattern not in ("plain", "image"):
            self._pattern(mat, bsdf, spec)
        mesh.materials.append(mat)
        obj.pass_index = 0
        obj.rotation_mode = "QUATERNION"
        bpy_scenery.sheet_frame(self.bpy, frame_parts(spec))
        return obj, verts

    def deform(self, cloth: np.ndarray | None, t: int) -> None:
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
            mat, bsdf = bpy_scenery.material(self.bpy, f"mat{spec.id}", spec.color, spec.roughness, metallic)
            if spec.pattern not in ("plain", "image"):
                self._pattern(mat, bsdf, spec)
            mesh.materials.append(mat)
        obj.pass_index = spec.id if spec.role == "object" else 0  # scenery is background in the instance map
        obj.rotation_mode = "QUATERNION"
        return obj, (co - centre) * scale

    # ---- rendering ------------------------------------------------------------------------
    def place(self, spec: SceneSpec, poses: np.ndarray, t: int) -> None:
        """Objects at their poses and the camera where it is at frame t."""
        for obj, pose in zip(self.objects, poses[t]):
            obj.location = pose[:3]
            x, y, z, w = pose[3:]
            obj.rotation_quaternion = (w, x, y, z)
        self.aim_camera(spec, t)

    def aim_camera(self, spec: SceneSpec, t: int) -> None:
        from mathutils import Vector

        frac = t / max(1, spec.frames - 1)
        pos = Vector(spec.camera.position(frac))
        self.camera.location = pos
        self.camera.rotation_mode = "QUATERNION"
        self.camera.rotation_quaternion = (Vector(spec.camera.target) - pos).to_track_quat("-Z", "Y")

    def show(self, visible: set[int]) -> None:
        """Make the objects at these indices (and all scenery) visible to every ray type, the others to none."""
        for i, obj in enumerate(self.objects):
            for flag in RAY_FLAGS:
                setattr(obj, flag, i in visible or i in self.scenery)

    def render_frame(self, path: str) -> tuple[np.ndarray, np.ndarray]:
        bpy = self.bpy
        with quiet_stdout(), held_interrupt():
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

    def project(self, spec: SceneSpec, points: np.ndarray) -> np.ndarray:
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

    def render_box(self, spec: SceneSpec, box: tuple[int, int, int, int], path: str) -> tuple[np.ndarray, np.ndarray]:
        """Render only the pixel box (rows r0:r1, cols c0:c1); Cycles' per-pixel seeding makes those
        pixels identical to a full-frame render."""
        render = self.bpy.context.scene.render
        r0, r1, c0, c1 = box
        render.use_border, render.use_crop_to_border = True, False
        render.border_min_x, render.border_max_x = c0 / spec.width, c1 / spec.width
        render.border_min_y, render.border_max_y = 1.0 - r1 / spec.height, 1.0 - r0 / spec.height
        try:
            return self.render_frame(path)
        finally:
            render.use_border = False
