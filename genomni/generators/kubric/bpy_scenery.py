"""The scenery of a Kubric scene built in bpy: materials, the floor (textured, fading to its mean colour and
carried on to the horizon by a ring), walls, and the lights (the sun matched to the sky map, plus extra lamps)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...errors import GenomniError
from .assets import resolve
from .bpy_runtime import srgb_to_linear
from .config import KubricConfig
from .spec import SceneSpec

# m: a 2 km floor would reach the horizon but makes renders irreproducible (over a scene that large the ray-tracing
# BVH differs between builds in the last bits of hit points, and pixels change by a level); `_horizon` hides its edge.
FLOOR_SIZE = 200.0


HORIZON_RADIUS = 99.0  # m: the ring that carries the floor on to the horizon (`_horizon`), just inside its edge


FLOOR_FADE = (25.0, 60.0)  # m: the floor's pattern fades to its mean colour between these distances


def material(bpy: Any, name: str, color, roughness: float, metallic: float):
    mat = bpy.data.materials.new(name)
    mat.use_nodes = True
    bsdf = mat.node_tree.nodes["Principled BSDF"]
    bsdf.inputs["Base Color"].default_value = (*[srgb_to_linear(c) for c in color], 1.0)
    bsdf.inputs["Roughness"].default_value = roughness
    bsdf.inputs["Metallic"].default_value = metallic
    return mat, bsdf


def floor(bpy: Any, spec: SceneSpec) -> None:
    f = spec.floor
    bpy.ops.mesh.primitive_plane_add(size=FLOOR_SIZE)
    floor = bpy.context.object
    floor.name = "floor"
    mat, bsdf = material(bpy, "floor", f.colors[0], f.roughness, f.metallic)
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
    horizon(bpy, spec, mat)


def horizon(bpy: Any, spec: SceneSpec, mat) -> None:
    """A ring at the floor's edge, from the floor up to the camera's height, so the floor seems to reach the
    horizon: its top is at eye level from anywhere on the camera's orbit, it is shaded with the floor's upward
    normal (it looks like the floor it continues) and it is seen only by camera and glossy rays (it lights and
    shadows nothing). A floor that really reached the horizon would make renders irreproducible (see FLOOR_SIZE)."""
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


def wall(bpy: Any, wall: dict) -> None:
    x, y, _ = wall["position"]
    bpy.ops.mesh.primitive_cube_add(size=1.0, location=(x, y, 4.0), rotation=(0, 0, math.radians(wall["yaw_deg"])))
    obj = bpy.context.object
    obj.scale = (0.1, 16.0, 8.0)
    obj.data.materials.append(material(bpy, "wall", wall["color"], 0.8, 0.0)[0])


def lights(bpy: Any, cfg: KubricConfig, scene, spec: SceneSpec) -> None:
    from mathutils import Vector

    li = spec.light
    el, az = math.radians(li.sun_elevation), math.radians(li.sun_azimuth)
    to_sun = Vector((math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)))
    sun = bpy.data.lights.new("sun", "SUN")
    sun.energy = li.sun_strength
    sun.color = tuple(li.sun_color)
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
        path = str(resolve(li.hdri, cfg.assets_dir, cfg.hdri_dir))
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
    # bright spot, so the world is lit by BSDF sampling alone: no per-frame importance map to build (its cost:
    # benchmarks/generate_kubric.py), and none built by threads whose sums depend on their count, so renders are
    # byte-identical whatever --workers.
    world.cycles.sampling_method = "NONE"


def sheet_frame(bpy: Any, parts: list[tuple[tuple[float, float, float], tuple[float, float, float]]]) -> None:
    """The deform sheet's legs and bars (`physics.frame_parts`): dark brushed metal, scenery (background in the
    instance map) in every pass."""
    mat = material(bpy, "sheet_frame", (0.12, 0.12, 0.13), 0.35, 0.8)[0]
    for k, (centre, extents) in enumerate(parts):
        bpy.ops.mesh.primitive_cube_add(size=2.0, location=centre)
        obj = bpy.context.object
        obj.name = f"sheet_frame{k}"
        obj.scale = extents
        obj.data.materials.append(mat)
