"""Kubric scene content: HDRI lighting with one sun, object sizes, textures, the similar-objects and push
scenarios, and pair noise against a many-sample reference (tiny real renders)."""

import math

import cv2
import numpy as np
import pytest

from genomni.effects import RIM_PX
from genomni.footage import dilate
from genomni.generators.captions import TemplateCaptioner
from genomni.generators.kubric.assets import resolve
from genomni.generators.kubric.blender import BlenderRenderer
from genomni.generators.kubric.config import KubricConfig
from genomni.generators.kubric.generate import generate_scene, resolve_files
from genomni.generators.kubric.hdri import hdri_stats, rotation_for, world_azimuth
from genomni.generators.kubric.passes import TargetPlan, render, render_full, render_targets
from genomni.generators.kubric.physics import simulate, start_penetration
from genomni.generators.kubric.sampling import sample_placed, sample_scene
from genomni.generators.kubric.views import visible_estimate

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _cfg(**kw) -> KubricConfig:
    cfg = KubricConfig(**{"frames": 3, "height": 48, "width": 48, "samples": 8, **kw})
    resolve_files(cfg)  # as run_kubric does: the bundled HDRIs
    return cfg


def test_bundled_hdris_light_every_default_scene_and_the_lamp_is_their_sun():
    cfg = _cfg()
    assert len(cfg.hdri_files) == 8 and all(h.startswith("bpy:") for h in cfg.hdri_files)
    lights = [sample_placed(cfg, k).light for k in range(24)]
    assert all(li.world == "hdri" and li.hdri_clamp > 0 for li in lights)
    assert len({li.hdri for li in lights}) >= 5  # the maps vary
    for li in lights:  # the map's light lies at the lamp's azimuth; the lamp is its sun, within the stated ranges
        stats = hdri_stats(str(resolve(li.hdri)))
        assert world_azimuth(stats.light_azimuth, li.hdri_rotation) == pytest.approx(li.sun_azimuth % 360, abs=1e-6)
        assert li.sun_from_hdri and li.sun_elevation == min(max(stats.sun_elevation, 12.0), 70.0)
        assert li.sun_color == stats.sun_color
        rise = math.sin(math.radians(li.sun_elevation))
        floor_ratio = li.sun_strength * rise / (li.world_strength * stats.sky_irradiance)  # lamp over sky, on the floor
        own = stats.sun_irradiance * rise / stats.sky_irradiance  # the map's own, at the lamp's elevation
        assert min(max(own * 2 / 3, 1.0), 10.0) - 1e-9 <= floor_ratio <= min(max(own * 4 / 3, 1.0), 10.0) + 1e-9


def _write_exr(path, rgb: np.ndarray) -> None:
    from genomni.generators.kubric.bpy_runtime import open_image_io

    oiio = open_image_io()
    out = oiio.ImageOutput.create(str(path))
    out.open(str(path), oiio.ImageSpec(rgb.shape[1], rgb.shape[0], 3, "float"))
    out.write_image(np.ascontiguousarray(rgb, np.float32))
    out.close()


def test_a_constructed_map_gives_the_lamp_its_suns_direction_colour_and_power(tmp_path):
    """A map built here: sky 0.5 above the horizon, ground 0.2 below, and an orange sun (1, 0.5, 0.25) of luminance
    400 filling a block of pixels around 30 degrees up at azimuth 90. The lamp's elevation, colour and power ratio
    are computed here from the map's definition (exact pixel solid angles), not by the code under test."""
    h, w = 90, 180
    rgb = np.zeros((h, w, 3), np.float32)
    rgb[: h // 2] = 0.5
    rgb[h // 2 :] = 0.2
    sun = np.array([1.0, 0.5, 0.25], np.float32)
    sun_lum = 400.0
    sun *= sun_lum / float(sun @ np.array([0.2126, 0.7152, 0.0722], np.float32))
    rows, cols = slice(29, 31), slice(44, 46)  # rows 29-30: 30 degrees up (edges 32-28); cols 44-45: azimuth 90
    rgb[rows, cols] = sun
    _write_exr(tmp_path / "sun.exr", rgb)
    stats = hdri_stats(str(tmp_path / "sun.exr"))

    def pixel_solid_angle(row: int) -> float:
        top, bottom = math.radians(90 - 180 * row / h), math.radians(90 - 180 * (row + 1) / h)
        return (2 * math.pi / w) * (math.sin(top) - math.sin(bottom))

    sphere = sum(pixel_solid_angle(r) for r in range(h)) * w
    sky_mean = (0.5 * sphere / 2 + 0.2 * sphere / 2) / sphere  # the disc adds clamp x 4 pixels' share: below
    clamp = 4 * sky_mean
    for _ in range(50):  # the clamp's own definition: 4 times the mean of the map clamped at it
        disc = sum(pixel_solid_angle(r) for r in (29, 30)) * 2
        mean = ((0.5 * (sphere / 2 - disc)) + 0.2 * sphere / 2 + min(sun_lum, clamp) * disc) / sphere
        clamp = 4 * mean
    excess = (sun_lum - clamp) * disc

    def row_on_floor(row: int) -> float:  # a pixel's solid angle times the sine of its elevation, integrated
        top, bottom = math.radians(90 - 180 * row / h), math.radians(90 - 180 * (row + 1) / h)
        return (2 * math.pi / w) * (math.sin(top) ** 2 - math.sin(bottom) ** 2) / 2

    sky = 0.5 * math.pi - (0.5 - clamp) * sum(row_on_floor(r) for r in (29, 30)) * 2  # the clamped sky on the floor
    assert stats.sun_elevation == pytest.approx(30.0, abs=1.0) and stats.sun_azimuth == pytest.approx(90.0, abs=2.0)
    assert stats.clamp == pytest.approx(clamp, rel=0.01)
    assert stats.sun_color == pytest.approx((1.0, 0.5, 0.25), abs=1e-3)
    assert stats.sun_irradiance == pytest.approx(excess, rel=0.01)
    assert stats.sky_irradiance == pytest.approx(sky, rel=0.01)
    cfg = _cfg(hdri_dir=str(tmp_path), bundled_hdris=False, hdri_prob=1.0)
    assert cfg.hdri_files == ["hdri:sun.exr"]
    light = sample_placed(cfg, 0).light
    assert light.sun_elevation == stats.sun_elevation and light.sun_color == stats.sun_color


def test_captions_under_the_bundled_maps_say_what_the_lamp_does():
    """The setting and the light in a caption come from the same values: no 'at sunrise, in bright overhead
    sunlight', no sunlight at night, indoors or in a studio; sunrise and sunset are low light."""
    cfg = _cfg()
    captioner = TemplateCaptioner()
    seen = set()
    for k in range(48):
        spec = sample_placed(cfg, k)
        text = captioner.caption(np.zeros((1, 8, 8, 3), np.uint8), {"scene": spec.to_dict(), "kept_ids": spec.object_ids})
        stem = spec.light.hdri.rpartition(":")[2].removesuffix(".exr")
        seen.add(stem)
        if stem in ("sunrise", "sunset"):
            assert "low sunlight" in text, text
        if stem in ("night", "studio", "interior"):
            assert "sunlight" not in text, text
    assert seen >= {"sunrise", "sunset", "night", "studio"}


def test_the_lamp_direction_looks_at_the_maps_sun_in_the_render(tmp_path):
    """A camera turned toward the direction the lamp takes from a map (city: sun 48 degrees up), with the map turned
    by 77 degrees, sees the map's brightest spot in the middle of the frame."""
    cfg = _cfg(samples=4)
    renderer = BlenderRenderer(cfg)
    spec = sample_placed(cfg, 0)
    spec.objects, spec.walls = spec.objects[:1], []
    spec.light.world, spec.light.hdri, spec.light.hdri_rotation = "hdri", "bpy:city.exr", 77.0
    stats = hdri_stats(str(resolve("bpy:city.exr")))
    spec.light.hdri_clamp, spec.light.world_strength, spec.light.sun_strength = stats.clamp, 0.2 / stats.clamp, 0.0
    poses = simulate(spec, renderer.build(spec))
    renderer.place(spec, poses, 0)
    from mathutils import Vector  # importable once bpy is

    el, az = math.radians(stats.sun_elevation), math.radians(world_azimuth(stats.sun_azimuth, 77.0))
    cam = renderer.camera
    cam.location = (0.0, 0.0, 50.0)  # above the floor, looking up at the sky
    cam.rotation_quaternion = Vector((math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el))).to_track_quat("-Z", "Y")
    rgb, _ = renderer.render_frame(str(tmp_path / "frame.exr"))
    lum = rgb.astype(float).mean(-1)
    rows, cols = np.nonzero(lum >= lum.max() - 1)
    assert abs(rows.mean() - 24) < 4 and abs(cols.mean() - 24) < 4


def test_a_clamped_map_throws_no_second_sun_shadow():
    """The city map (its sun 48 degrees up, 31% of its power), turned 90 degrees away from the lamp, throws a
    shadow of its own unclamped (lamp off); clamped and turned as the generator turns it (its light at the lamp's
    azimuth), the soft shadow the map alone still throws (its sky's light) falls the way the lamp's does."""
    cfg = _cfg(samples=16, frames=1)
    renderer = BlenderRenderer(cfg)
    spec = sample_placed(cfg, 1)
    spec.objects, spec.walls = spec.objects[:1], []
    obj = spec.objects[0]
    obj.motion, obj.position, obj.size = "static", (0.0, 0.0, 0.5), 2.0
    obj.asset = {"kind": "primitive", "name": "cube", "ref": "", "source": "primitives"}
    obj.pattern, obj.orientation = "plain", (0.0, 0.0, 0.0, 1.0)
    obj.linear_velocity = obj.angular_velocity = (0.0, 0.0, 0.0)
    spec.floor.kind, spec.floor.glossy, spec.floor.metallic, spec.floor.roughness = "plain", False, 0.0, 0.8
    stats = hdri_stats(str(resolve("bpy:city.exr")))
    li = spec.light
    li.world, li.hdri, li.sun_azimuth, li.sun_elevation = "hdri", "bpy:city.exr", 135.0, stats.sun_elevation
    # the camera at 315 degrees sees the lamp's shadow (light from 135) in front of the object and the turned
    # map's (light from 225) beside it
    spec.camera.azimuth_sweep, spec.camera.elevation, spec.camera.distance, spec.camera.azimuth = 0.0, 55.0, 6.0, 315.0

    def far_shadow(clamp: float, rotation: float, lamp: float, map_strength: float) -> np.ndarray:
        """Pixels more than 6 px from the object darkened by more than 10 levels."""
        li.hdri_clamp, li.hdri_rotation, li.sun_strength, li.world_strength = clamp, rotation, lamp, map_strength
        poses = simulate(spec, renderer.build(spec))
        full = render_full(renderer, spec, poses)
        bg = render_targets(renderer, spec, poses, full, [TargetPlan("all")])
        darker = cv2.GaussianBlur((bg.background[0].astype(np.float32) - full.full[0]).mean(-1), (0, 0), 1.0)
        near = cv2.dilate((full.instances[0] > 0).astype(np.uint8), np.ones((13, 13), np.uint8)) > 0
        return (darker > 10) & ~near

    strength = 0.2 / stats.mean
    lamp_shadow = far_shadow(stats.clamp, 0.0, 3.0, 0.0)  # the lamp alone
    centre = np.argwhere(render_full(renderer, spec, simulate(spec, renderer.build(spec))).instances[0] > 0).mean(0)
    unclamped = far_shadow(0.0, rotation_for(stats, 225.0), 0.0, strength)  # map alone, its light 90 degrees off
    clamped = far_shadow(stats.clamp, rotation_for(stats, 135.0), 0.0, strength)  # map alone, as generated

    def bearing(mask: np.ndarray) -> float:  # image direction of a shadow from the object, in degrees
        rows, cols = np.nonzero(mask)
        return math.degrees(math.atan2(rows.mean() - centre[0], cols.mean() - centre[1]))

    def apart(a: float, b: float) -> float:
        return abs((a - b + 180) % 360 - 180)

    assert lamp_shadow.sum() > 60 and unclamped.sum() > 60
    assert apart(bearing(unclamped), bearing(lamp_shadow)) > 45  # unclamped and turned away: a second shadow
    assert not clamped.any() or apart(bearing(clamped), bearing(lamp_shadow)) < 20  # as generated: the lamp's way


def test_object_sizes_follow_the_documented_area_range():
    cfg = _cfg(min_objects=1, max_objects=1, motions=("static",), camera_motion_prob=0.0, min_motion=0)
    areas = np.array([sample_placed(cfg, k).objects[0].area for k in range(300)])
    assert areas.min() >= 0.01 and areas.max() <= 0.15
    assert abs(np.log(np.median(areas)) - np.log(math.sqrt(0.01 * 0.15))) < 0.25  # log-uniform: median at the geometric mean
    renderer = BlenderRenderer(cfg)
    ratios = []
    for k in range(12):  # the projected convex hull of each mesh against the area its size was chosen for
        spec = sample_placed(cfg, k)
        poses = simulate(spec, renderer.build(spec))
        ratios.append(visible_estimate(renderer, spec, poses)[0] / (spec.objects[0].area * 48 * 48))
    assert 0.5 < float(np.median(ratios)) < 2.0


def test_similar_objects_scene_removes_some_copies_and_keeps_the_rest_unchanged():
    cfg = _cfg(scenarios=("similar",), scenario_weights=(1.0,))
    result = generate_scene(cfg, 0, BlenderRenderer(cfg), TemplateCaptioner())
    assert result.samples, result.dropped
    by_tag = {s.key.rsplit("-", 1)[1]: s for s in result.samples}
    assert sorted(by_tag) == ["all", "one", "some"]
    objects = by_tag["all"].meta["scene"]["objects"]
    assert 5 <= len(objects) <= 12 and len({(o["asset"]["ref"], o["asset"]["name"], o["color_name"], o["pattern"]) for o in objects}) == 1
    inst = by_tag["all"].extras["instances"]
    for tag in ("one", "some"):
        s = by_tag[tag]
        removed, kept = s.meta["removed_ids"], s.meta["kept_ids"]
        assert len(removed) == 1 if tag == "one" else 2 <= len(removed) <= len(objects) // 2
        assert (s.trimask[np.isin(inst, removed)] == 0).all() and (s.trimask[np.isin(inst, kept)] == 255).all()
        # kept copies stay: the input's own pixels, or changed a little where a removed neighbour shadowed or was
        # reflected in them; a copy that vanished would change by far more than 40 levels. Pixels on a removed
        # copy's antialiased rim (RIM_PX) show some of it in the input and may change by more
        diff = np.abs(s.target.astype(int) - s.input.astype(int)).max(-1)
        off_rims = ~dilate(np.isin(inst, removed), RIM_PX)
        assert all((diff[(inst == k) & off_rims] > 40).mean() < 0.05 for k in kept if ((inst == k) & off_rims).any())
        assert (diff[np.isin(inst, kept)] == 0).mean() > 0.6
        assert s.meta["qc"]["residual_object_pixels"] == 0 and s.meta["scenario"] == "similar"


def test_push_scene_target_is_the_scene_simulated_without_the_pusher():
    cfg = _cfg(scenarios=("push",), scenario_weights=(1.0,), frames=12, height=64, width=64)
    result = generate_scene(cfg, 0, BlenderRenderer(cfg), TemplateCaptioner())
    assert len(result.samples) == 1, result.dropped
    s = result.samples[0]
    scene = s.meta["scene"]
    pusher = [o for o in scene["objects"] if o["role"] == "object"]
    scenery = [o for o in scene["objects"] if o["role"] == "scenery"]
    assert len(pusher) == 1 and 3 <= len(scenery) <= 8 and s.meta["removed_ids"] == [pusher[0]["id"]]
    inst = s.extras["instances"]
    assert set(np.unique(inst)) <= {0, pusher[0]["id"]}  # scenery is background: 128 in the trimask
    assert set(np.unique(s.trimask)) <= {0, 128}
    # the knocked-over things stand elsewhere in the target: a changed area away from the pusher and its rim
    grown = np.stack([cv2.dilate(m.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0 for m in inst > 0])
    moved = (np.abs(s.target.astype(int) - s.input.astype(int)).max(-1) > 40) & ~grown
    assert moved[-1].sum() >= 10
    assert s.caption.split(" on ")[0] and "shadow" not in s.caption.split(" in ")[0]


@pytest.mark.parametrize("scenario", ["standard", "similar", "push", "deform"])
def test_no_scene_starts_with_objects_inside_each_other(scenario):
    """The audit found 26 of 36 push pairs starting inside each other (they burst apart, in the target too): every
    sampled start is checked here by pybullet's own collision query, and a spot that cannot be found resamples the
    attempt instead of keeping an overlapping one."""
    from genomni.generators.kubric.sampling import PlacementError

    cfg = _cfg(scenarios=(scenario,), scenario_weights=(1.0,), frames=9, height=64, width=64)
    renderer = BlenderRenderer(cfg)
    checked = 0
    for k in range(16):
        try:
            spec = sample_scene(cfg, k)
        except PlacementError:
            continue
        assert start_penetration(spec, renderer.build(spec)) < 0.01, (scenario, k)
        checked += 1
    assert checked >= 8


def test_a_target_not_at_rest_is_refused_before_rendering():
    """Two resting things started inside each other, with nothing else acting on them, burst apart: the scene
    simulated without the removed object is not at rest, and the pose check says so (a push would 'change
    something' only through that burst)."""
    from genomni.generators.kubric.generate import _precheck
    from genomni.generators.kubric.physics import simulate_motion

    cfg = _cfg(scenarios=("push",), scenario_weights=(1.0,), frames=9, height=64, width=64)
    renderer = BlenderRenderer(cfg)
    spec = sample_placed(cfg, 0)
    scenery = [o for o in spec.objects if o.role == "scenery"]
    scenery[1].position = (scenery[0].position[0] + 0.1 * scenery[0].size, scenery[0].position[1], scenery[0].position[2])
    vertices = renderer.build(spec)
    without = simulate_motion(spec, vertices, without=frozenset(spec.object_ids))
    why = _precheck(cfg, spec, renderer, simulate_motion(spec, vertices), without)
    assert why is not None and "not at rest" in why


def test_push_and_deform_refuse_clips_too_short_to_show_the_contact():
    from genomni.errors import GenomniError

    with pytest.raises(GenomniError, match="--scenario deform needs --frames >= 4 at 24 fps"):
        KubricConfig(frames=3, scenarios=("standard", "deform"), scenario_weights=(1.0, 1.0))
    with pytest.raises(GenomniError, match="--scenario push needs --frames >= 8 at 24 fps"):
        KubricConfig(frames=7, scenarios=("push",), scenario_weights=(1.0,))
    KubricConfig(frames=4, fps=12.0, scenarios=("push",), scenario_weights=(1.0,))  # a third of a second
    KubricConfig(frames=3)  # standard scenes need no contact


def test_pairs_are_noise_free_against_a_many_sample_reference():
    """The issue's noise figure on a default scene: pixels farther than 4 px from the true objects-plus-effect
    region (from a 128-spp render pair) where the 16-spp sample's target differs from its input."""
    from genomni.effects import effect_region
    from genomni.footage import dilate

    cfg = _cfg(samples=16, frames=3, height=64, width=64)
    renderer = BlenderRenderer(cfg)
    result = generate_scene(cfg, 2, renderer, TemplateCaptioner())
    assert result.samples, result.dropped
    spec = sample_scene(cfg, 2, result.attempts - 1)
    ref_cfg = _cfg(samples=128, frames=3, height=64, width=64)
    ref_renderer = BlenderRenderer(ref_cfg)
    poses = simulate(spec, ref_renderer.build(spec))
    ref = render(ref_renderer, spec, poses)
    far_diffs = []
    for s in result.samples:
        tag = s.key.rsplit("-", 1)[1]
        removed = np.isin(ref.instances, s.meta["removed_ids"])
        rim = dilate(removed, 2)
        true_change = (np.abs(ref.targets[tag][0].astype(int) - ref.full.astype(int)).max(-1) > 6) | rim
        true_change |= effect_region(ref.full, ref.targets[tag][0], rim)
        near = dilate(true_change, 4)
        far_diffs.append(np.abs(s.target.astype(int) - s.input.astype(int)).max(-1)[~near])
    far = np.concatenate(far_diffs)
    assert (far > 6).mean() < 0.0005 and far.max() <= 16


def test_deform_scene_dents_the_sheet_and_its_target_is_the_sheet_left_alone():
    from genomni.generators.kubric.physics import simulate_motion

    cfg = _cfg(scenarios=("deform",), scenario_weights=(1.0,), frames=16, height=64, width=64)
    renderer = BlenderRenderer(cfg)
    spec = sample_placed(cfg, 0)
    sheet = [o for o in spec.objects if o.role == "scenery"]
    assert len(sheet) == 1 and sheet[0].asset["kind"] == "cloth"
    vertices = renderer.build(spec)
    dropped = simulate_motion(spec, vertices)
    alone = simulate_motion(spec, vertices, without=frozenset(o.id for o in spec.objects if o.role == "object"))
    assert np.abs(alone.cloth - alone.cloth[0]).max() < 0.01  # settled: the sheet alone stays within 1 cm
    assert (alone.cloth[0][:, 2] < sheet[0].position[2]).any()  # it sags under its own weight
    assert (dropped.cloth[:, :, 2] - alone.cloth[:, :, 2]).min() < -0.05  # the objects dent it by more than 5 cm
    result = generate_scene(cfg, 0, renderer, TemplateCaptioner())
    assert len(result.samples) == 1, result.dropped
    s = result.samples[0]
    assert s.meta["scenario"] == "deform" and set(np.unique(s.trimask)) <= {0, 128}
    assert s.meta["qc"]["effect_pixels"] > 0  # the dent and shadows change the sheet outside the objects


@pytest.mark.parametrize("hdri", ["bpy:night.exr", "bpy:interior.exr", "bpy:forest.exr", "hdri:mine.exr", ""])
def test_captions_state_no_shadow_without_objects_and_no_sun_where_there_is_none(hdri):
    captioner = TemplateCaptioner()
    for elevation in (15.0, 40.0, 65.0):
        light = {"sun_elevation": elevation, "world": "hdri" if hdri else "sky", "hdri": hdri}
        scene = {
            "objects": [
                {"id": 1, "finish": "glossy", "asset": {"name": "jenga"}, "color_name": "red", "color2_name": "white", "pattern": "stripes"}
            ],
            "floor": {"glossy": False, "kind": "tiles"},
            "walls": [],
            "light": light,
            "camera": {"azimuth_sweep": 0},
        }
        empty = captioner.caption(None, {"kept_ids": [], "scene": scene})
        kept = captioner.caption(None, {"kept_ids": [1], "scene": scene})
        assert "shadow" not in empty and empty.startswith("An empty scene of a tiled floor")
        assert kept.startswith("A shiny red and white striped wooden block on a tiled floor")
        if hdri in ("bpy:night.exr", "bpy:interior.exr"):
            assert "sunlight" not in empty + kept and ("at night" in kept or "indoors" in kept)


def test_floor_points_project_back_to_their_image_points():
    """The placement's camera model: the point under image point (u, v) at height z projects back to (u, v), and a
    point placed that way lands where Blender's own projection puts it (1 px at 48 px)."""
    from genomni.generators.kubric.spec import camera_uv, floor_point

    cfg = _cfg(frames=1)
    spec = sample_placed(cfg, 0)
    for u, v, z in [(0.3, 0.4, 0.0), (0.7, 0.8, 1.5), (0.5, 0.5, 0.3)]:
        point = floor_point(spec.camera, u, v, 1.0, z)
        assert point[2] == pytest.approx(z) and camera_uv(spec.camera, point) == pytest.approx((u, v), abs=1e-9)
    renderer = BlenderRenderer(cfg)
    poses = simulate(spec, renderer.build(spec))
    renderer.place(spec, poses, 0)
    renderer.bpy.context.view_layer.update()
    point = floor_point(spec.camera, 0.3, 0.7, 1.0, 0.0)
    col, row, _ = renderer.project(spec, point[None])[0]
    assert abs(col - 0.3 * 48) < 1 and abs(row - 0.7 * 48) < 1


def test_the_lamp_never_stands_behind_a_wall():
    """A low sun behind a wall lays the wall's shadow over the whole scene (a push clip rendered all in shade): with
    walls the lamp comes from the side no wall faces, and the map turns with it."""
    cfg = _cfg(walls_prob=1.0)
    for k in range(24):
        spec = sample_placed(cfg, k)
        li = spec.light
        assert spec.walls
        for wall in spec.walls:
            assert math.cos(math.radians(li.sun_azimuth - wall["yaw_deg"])) <= 1e-9
        stats = hdri_stats(str(resolve(li.hdri)))
        assert world_azimuth(stats.light_azimuth, li.hdri_rotation) == pytest.approx(li.sun_azimuth % 360, abs=1e-6)


def test_the_deform_sheet_stands_on_a_frame_that_reaches_the_floor():
    """The sheet floated with nothing holding it: four legs from the floor to its corners and a bar under each
    edge, just below the anchored rim, rendered and collided alike."""
    from genomni.generators.kubric.physics import frame_parts

    cfg = _cfg(scenarios=("deform",), scenario_weights=(1.0,), frames=9)
    sheet = next(o for o in sample_placed(cfg, 0).objects if o.asset["kind"] == "cloth")
    parts = frame_parts(sheet)
    legs, bars = parts[:4], parts[4:]
    x, y, z = sheet.position
    for (cx, cy, cz), (hx, hy, hz) in legs:
        assert cz - hz == pytest.approx(0.0) and abs(abs(cx - x) - sheet.size / 2) < 1e-9 and abs(abs(cy - y) - sheet.size / 2) < 1e-9
    for (cx, cy, cz), (hx, hy, hz) in bars:
        assert z - 0.02 < cz + hz < z  # the bar's top just under the rim
        assert max(hx, hy) >= sheet.size / 2  # it spans its edge
    tops = {round(c[2] + e[2], 9) for c, e in legs}
    assert len(tops) == 1 and tops.pop() == pytest.approx(bars[0][0][2])  # legs end at the bars' centre line
