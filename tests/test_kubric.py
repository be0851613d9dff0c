"""The kubric generator end to end, with real pybullet physics and real Blender Cycles renders (tiny)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import TINY, run_cli

from genomni import trimask as tm
from genomni.errors import GenomniError
from genomni.footage import dilate
from genomni.generators.kubric.blender import BlenderRenderer
from genomni.generators.kubric.config import KubricConfig
from genomni.generators.kubric.passes import render, render_full, union_box
from genomni.generators.kubric.physics import simulate
from genomni.generators.kubric.spec import CameraSpec, FloorSpec, LightSpec, ObjectSpec, SceneSpec
from genomni.generators.kubric.views import effect_box, motion_px
from genomni.shards import iter_samples, load_hf, read_card, read_manifest


def _tree(d: Path) -> dict[str, bytes]:
    """Shards and manifest (the card also holds the command line and timings, which differ)."""
    return {p.name: p.read_bytes() for p in sorted(d.iterdir()) if p.is_file() and p.name != "dataset.json"}


def _cube(i: int, x: float, y: float) -> ObjectSpec:
    return ObjectSpec(
        id=i,
        asset={"kind": "primitive", "name": "cube", "ref": "", "source": "primitives"},
        size=1.0,
        color_name="red",
        color=(0.8, 0.1, 0.1),
        finish="matte",
        roughness=0.7,
        motion="static",
        position=(x, y, 0.5),
        orientation=(0.0, 0.0, 0.0, 1.0),
        linear_velocity=(0.0, 0.0, 0.0),
        angular_velocity=(0.0, 0.0, 0.0),
        friction=0.5,
        restitution=0.1,
    )


def _controlled_scene(frames: int = 3) -> SceneSpec:
    """Two resting cubes on a plain floor, sun from the +x side at 30 degrees, static camera."""
    return SceneSpec(
        run_seed=0,
        index=0,
        attempt=0,
        frames=frames,
        fps=24.0,
        height=64,
        width=64,
        objects=[_cube(1, -1.2, 0.0), _cube(2, 1.2, 0.0)],
        floor=FloorSpec(kind="plain", colors=[(0.7, 0.7, 0.7)], texture_scale=1.0, roughness=0.8, metallic=0.0, glossy=False),
        walls=[],
        light=LightSpec(sun_elevation=30.0, sun_azimuth=0.0, sun_angle=1.0, sun_strength=3.0, world="sky", world_strength=0.2),
        camera=CameraSpec(distance=7.0, elevation=35.0, azimuth=-90.0, azimuth_sweep=0.0, focal_length=35.0, target=(0.0, 0.0, 0.3)),
    )


@pytest.fixture(scope="module")
def controlled():
    cfg = KubricConfig(frames=3, height=64, width=64, samples=8)
    renderer = BlenderRenderer(cfg)
    spec = _controlled_scene()
    poses = simulate(spec, renderer.build(spec))
    return spec, poses, render(renderer, spec, poses), renderer


def test_passes_remove_objects_and_their_shadows(controlled):
    spec, poses, p, _ = controlled
    assert p.full.shape == (3, 64, 64, 3) and p.instances.shape == (3, 64, 64)
    assert set(np.unique(p.instances)) == {0, 1, 2}
    assert not p.background_instances.any()  # no object pixel survives in the background
    assert set(np.unique(p.targets["obj1"][1])) == {0, 1} and set(np.unique(p.targets["obj2"][1])) == {0, 2}
    assert p.rendered_frames["background"] == 1 and p.rendered_frames["kept"] == 2  # static: one frame each
    for k, oid in enumerate((1, 2)):
        solo, bg = p.targets[f"obj{oid}"][0].astype(int), p.background.astype(int)
        outside = p.instances != oid
        darker = (bg - solo).mean(-1)  # the object's shadow darkens the floor in its solo pass
        shadow = (darker > 20) & outside
        assert shadow.sum() >= 10, f"object {oid} casts no visible shadow"
        assert darker[shadow].mean() > 30 and (solo[shadow].sum(-1) < bg[shadow].sum(-1)).all()
        # the shadow falls away from the sun (sun at +x): mostly on the object's image-left side
        cols = np.nonzero(shadow[0])[1]
        obj_cols = np.nonzero(p.instances[0] == oid)[1]
        assert cols.mean() < obj_cols.mean()
    # the pair as a sample holds it: the input's own pixels wherever the objects change nothing coherently, and
    # where they do (shadows, and the sky light the cubes took from a wide patch of floor) no isolated speckle
    from test_pairs import _isolated

    from genomni.generators.kubric.pairs import clean_target

    clean, region = clean_target(p.full, p.background, p.instances > 0)
    off = p.instances == 0
    assert np.array_equal(clean[~region], p.full[~region]) and region[p.instances > 0].all() and region[off].mean() < 0.8
    assert _isolated(p.full, clean)[off].mean() < 0.001


def test_effect_box_covers_object_and_shadow(controlled):
    spec, poses, p, renderer = controlled
    renderer.place(spec, poses, 0)
    for i in range(2):
        r0, r1, c0, c1 = effect_box(renderer, spec, poses, i, 0)
        changed = np.abs(p.targets[f"obj{i + 1}"][0][0].astype(int) - p.background[0].astype(int)).max(-1) > 6
        rows, cols = np.nonzero(changed)
        assert rows.min() >= r0 and rows.max() < r1 and cols.min() >= c0 and cols.max() < c1


def test_one_object_scenes_give_no_identity_sample_unless_asked():
    """Keeping a lone object alone is its input: that pair (17% of the demo's samples before) teaches "change
    nothing", so it is made only with --keep-identity-samples, and then it is exactly the input."""
    from genomni.generators.captions import TemplateCaptioner
    from genomni.generators.kubric.generate import build_samples, scene_plans

    spec = _controlled_scene()
    spec.objects = spec.objects[:1]
    assert [p.tag for p in scene_plans(spec)] == ["all"]
    assert [p.tag for p in scene_plans(_controlled_scene())] == ["all", "obj1", "obj2"]
    plans = scene_plans(spec, keep_identity=True)
    assert [p.tag for p in plans] == ["all", "obj1"]
    cfg = KubricConfig(frames=3, height=64, width=64, samples=8, keep_identity_samples=True)
    renderer = BlenderRenderer(cfg)
    poses = simulate(spec, renderer.build(spec))
    samples = build_samples(cfg, spec, render(renderer, spec, poses, plans), plans, renderer.version, TemplateCaptioner())
    assert np.array_equal(samples[1].target, samples[1].input) and samples[1].meta["sample_kind"] == "solo"
    assert not np.array_equal(samples[0].target, samples[0].input)


def test_dataset_samples_follow_the_contract(kubric_dir):
    records = read_manifest(kubric_dir)
    samples = list(iter_samples(kubric_dir))
    assert [s.key for s in samples] == [r["key"] for r in records]
    card = read_card(kubric_dir)
    assert card["samples"] == len(samples) and card["per_source"] == {"kubric": len(samples)} and card["complete"]
    assert card["command"].startswith("genomni generate kubric")
    by_scene: dict[int, list] = {}
    for s in samples:
        by_scene.setdefault(s.meta["scene_index"], []).append(s)
    assert sorted(by_scene) == [0, 1, 2]
    for scene, group in by_scene.items():
        ids = group[0].meta["object_ids"]
        assert len(group) == (1 + len(ids) if len(ids) > 1 else 1)  # a lone object's solo pair would be the input
        inst = group[0].extras["instances"]
        assert inst.shape == (5, 48, 48) and set(np.unique(inst)) <= {0, *ids}
        for s in group:
            assert s.input.shape == (5, 48, 48, 3) and s.target.shape == s.input.shape
            assert set(np.unique(s.trimask)) <= {0, 128, 255}
            assert np.array_equal(s.input, group[0].input)  # input is always the full render
            assert s.meta["qc"]["residual_object_pixels"] == 0 and s.meta["render_device"] == "CPU"
            assert not np.array_equal(s.target, s.input)  # every pair teaches a change
            removed, kept = s.meta["removed_ids"], s.meta["kept_ids"]
            assert sorted(removed + kept) == sorted(ids)
            # each object's pixels and its 1-px antialiased rim (removed objects' rims first)
            assert np.array_equal(s.trimask, tm.with_rims(tm.from_instances(inst, remove=removed, keep=kept)))
            assert (s.trimask[np.isin(inst, removed)] == 0).all() and (s.trimask[np.isin(inst, kept)] == 255).all()
            removed_rim = dilate(np.isin(inst, removed), 1) & (inst == 0)
            assert (s.trimask[removed_rim] == 0).all()
            assert s.caption.endswith(".") and "floor" in s.caption
        remove_all = [s for s in group if s.meta["sample_kind"] == "all"]
        assert len(remove_all) == 1 and remove_all[0].caption.startswith("An empty scene")
        assert not (remove_all[0].trimask == 255).any()


def test_hf_datasets_reads_the_generated_shards(kubric_dir):
    ds = load_hf(kubric_dir)
    records = read_manifest(kubric_dir)
    assert len(ds) == len(records)
    assert ds[0]["__key__"] == records[0]["key"]
    assert ds[0]["meta.json"]["scene_index"] == 0


def test_same_command_gives_identical_shards_with_any_worker_count(kubric_dir, tmp_path):
    out = tmp_path / "again"
    assert run_cli(["generate", "kubric", "--out", str(out), "--num-scenes", "3", "--workers", "2", *TINY]) == 0
    assert _tree(out) == _tree(kubric_dir)


def _wait_for_group_gone(pgid: int, seconds: float = 10.0) -> None:
    """Until no process of the group is left (SIGKILL is delivered at once, the exit of each member is not)."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


def test_killed_run_resumes_to_the_same_result(kubric_dir, tmp_path):
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "genomni.cli", "generate", "kubric", "--out", str(out), "--num-scenes", "3", *TINY]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    scenes = out / ".genomni" / "scenes"
    deadline = time.time() + 120
    while time.time() < deadline and not (scenes.exists() and list(scenes.glob("*.json"))):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    _wait_for_group_gone(proc.pid)  # every process of the run dead, so none holds the output's lock any more
    assert not (out / "dataset.json").exists()  # it really was cut off mid-run
    assert run_cli(["generate", "kubric", "--out", str(out), "--num-scenes", "3", *TINY]) == 0
    assert _tree(out) == _tree(kubric_dir)


def test_user_meshes_from_assets_dir(tmp_path):
    assets = tmp_path / "meshes"
    assets.mkdir()
    (assets / "tetra.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nf 1 3 2\nf 1 2 4\nf 1 4 3\nf 2 3 4\n")
    out = tmp_path / "ds"
    args = [
        "generate",
        "kubric",
        "--out",
        str(out),
        "--num-scenes",
        "1",
        "--objects",
        "assets",
        "--assets-dir",
        str(assets),
        "--min-objects",
        "1",
        *TINY,
    ]
    assert run_cli(args) == 0
    meta = next(iter_samples(out)).meta
    assert {o["asset"]["ref"] for o in meta["scene"]["objects"]} == {"assets:tetra.obj"}


def test_a_mesh_that_cannot_make_an_object_resamples_the_scene_not_the_run(tmp_path):
    """pybullet_data ships random_urdfs/168 with every vertex NaN: an attempt that draws such a mesh is resampled
    and its reason recorded; before, the whole run stopped at the first scene that drew it."""
    assets = tmp_path / "meshes"
    assets.mkdir()
    (assets / "tetra.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nf 1 3 2\nf 1 2 4\nf 1 4 3\nf 2 3 4\n")
    (assets / "nan.obj").write_text("v nan nan nan\nv nan nan nan\nv nan nan nan\nf 1 2 3\n")
    out = tmp_path / "ds"
    assert (
        run_cli(["generate", "kubric", "--out", str(out), "--num-scenes", "3", "--objects", "assets", "--assets-dir", str(assets), *TINY])
        == 0
    )
    refs = {o["asset"]["ref"] for s in iter_samples(out) for o in s.meta["scene"]["objects"]}
    assert refs == {"assets:tetra.obj"}
    scenes = [sc for f in (out / ".genomni" / "shards").glob("*.json") for sc in json.loads(f.read_text())["scenes"]]
    reasons = [r for sc in scenes for r in sc["stats"].get("qc_failures", [])]
    assert any("assets:nan.obj has a degenerate mesh" in r for r in reasons)
    assert len({s.key.split("-")[1] for s in iter_samples(out)}) == 3  # every scene made it


@pytest.mark.parametrize(
    "args, message",
    [
        (["--resolution", "8"], "--resolution must be between 16 and 4096"),
        (["--resolution", "abc"], "--resolution must be N or WIDTHxHEIGHT"),
        (["--frames", "0"], "--frames must be in 1..10000"),
        (["--min-objects", "3", "--max-objects", "2"], "--min-objects <= --max-objects"),
        (["--floors", "lava"], "--floors: unknown value(s) lava"),
        (["--objects", "assets"], "no --assets-dir"),
        (["--assets-dir", "/nonexistent/meshes"], "folder /nonexistent/meshes does not exist"),
        (["--workers", "0"], "--workers must be >= 1"),
        (["--video-codec", "h264", "--resolution", "33"], "h264 needs even width and height"),
        (["--no-such-flag"], "No such option"),
    ],
)
def test_bad_options_fail_in_one_line(tmp_path, capsys, args, message):
    code = run_cli(
        [
            "generate",
            "kubric",
            "--out",
            str(tmp_path / "o"),
            "--num-scenes",
            "1",
            "--frames",
            "2",
            "--resolution",
            "32",
            "--samples",
            "1",
            "--no-progress",
            *args,
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code != 0
    assert err.startswith("error: ") and message in err and "\n" not in err


def test_unreadable_asset_and_changed_config_leave_output_untouched(kubric_dir, tmp_path, capsys):
    before = _tree(kubric_dir)
    assert run_cli(["generate", "kubric", "--out", str(kubric_dir), "--num-scenes", "3", *TINY[:-1], "--frames", "6"]) == 1
    assert "different configuration (config.frames: 5 != 6)" in capsys.readouterr().err
    assert _tree(kubric_dir) == before
    assets = tmp_path / "meshes"
    assets.mkdir()
    (assets / "empty.obj").write_text("")
    assert run_cli(["generate", "kubric", "--out", str(tmp_path / "o"), "--assets-dir", str(assets), *TINY]) == 1
    assert f"--assets-dir file {assets / 'empty.obj'} is empty" in capsys.readouterr().err


def test_missing_blender_is_one_clear_error(monkeypatch):
    import importlib

    from genomni.generators.kubric import bpy_runtime

    real = importlib.import_module

    def fake(name, *a, **k):
        if name == "bpy":
            raise ImportError("No module named 'bpy'")
        return real(name, *a, **k)

    monkeypatch.setattr(bpy_runtime.importlib, "import_module", fake)
    with pytest.raises(GenomniError, match=r"pip install 'genomni\[render\]'"):
        bpy_runtime.require_bpy()


def test_orbiting_camera_background_has_no_objects_and_matches_full_far_away():
    # undenoised: a denoised box is rendered 16 px larger (passes.DENOISE_MARGIN_PX), which at 64 px is the frame
    cfg = KubricConfig(frames=4, height=64, width=64, samples=8, denoise=False)
    renderer = BlenderRenderer(cfg)
    spec = _controlled_scene(frames=4)
    spec.camera.azimuth_sweep = 12.0
    poses = simulate(spec, renderer.build(spec))
    p = render(renderer, spec, poses)
    assert p.rendered_frames["background"] == 4 and p.rendered_frames["background_pixels"] < 4 * 64 * 64
    assert not p.background_instances.any()
    for t in range(4):
        renderer.place(spec, poses, t)
        r0, r1, c0, c1 = union_box(renderer, spec, poses, {0, 1}, t)
        assert (p.instances[t] > 0).sum() == (p.instances[t, r0:r1, c0:c1] > 0).sum()
        outside = np.ones((64, 64), bool)
        outside[r0:r1, c0:c1] = False
        assert np.array_equal(p.background[t][outside], p.full[t][outside])
    assert not np.array_equal(p.background[0], p.background[3])  # the camera really moved


def test_hdri_world_lights_the_scene(tmp_path):
    import cv2

    hdri_dir = tmp_path / "hdri"
    hdri_dir.mkdir()
    sky = np.zeros((16, 32, 3), np.float32)
    sky[:8] = (0.2, 1.0, 4.0)  # an orange upper hemisphere, in OpenCV's BGR order
    cv2.imwrite(str(hdri_dir / "orange.hdr"), sky)
    cfg = KubricConfig(frames=1, height=48, width=48, samples=4, hdri_dir=str(hdri_dir))
    renderer = BlenderRenderer(cfg)
    spec = _controlled_scene(frames=1)
    spec.height = spec.width = 48
    plain = render_full(renderer, spec, simulate(spec, renderer.build(spec))).full
    spec.light.world, spec.light.hdri = "hdri", "hdri:orange.hdr"
    lit = render_full(renderer, spec, simulate(spec, renderer.build(spec))).full
    r, b = lit[..., 0].astype(int), lit[..., 2].astype(int)
    assert (r - b).mean() > (plain[..., 0].astype(int) - plain[..., 2].astype(int)).mean() + 10  # it turned orange


def test_still_clips_are_found_from_the_poses_before_rendering(controlled):
    """Two resting cubes and a static camera: nothing moves (0 px), so the scene would be a still and is resampled;
    the same scene with one cube sliding 1 m moves it by many pixels. A run that can only make stills is refused."""
    import dataclasses

    spec, _, _, renderer = controlled
    poses = simulate(spec, renderer.build(spec))  # other tests in this process may have built other scenes since
    assert motion_px(renderer, spec, poses) < 0.05
    slid = poses.copy()
    slid[-1, 0, 0] += 1.0
    assert motion_px(renderer, spec, slid) > 5
    with pytest.raises(GenomniError, match="nothing ever moves"):
        KubricConfig(motions=("static",), camera_motion_prob=0.0)
    assert dataclasses.replace(KubricConfig(), motions=("static",), camera_motion_prob=0.0, min_motion=0).min_motion == 0


def test_render_device_gpu_names_the_gpus_or_is_one_line_before_any_work(tmp_path, capsys):
    """Cycles' own device list decides: on a machine without a GPU (CI) `--render-device gpu` is one line and
    nothing is written; with one, the devices are enabled and named."""
    import bpy

    from genomni.generators.kubric.bpy_runtime import use_gpu

    prefs = bpy.context.preferences.addons["cycles"].preferences
    found = []
    for kind in ("OPTIX", "CUDA", "HIP", "ONEAPI"):
        try:
            prefs.compute_device_type = kind
        except TypeError:
            continue
        prefs.refresh_devices()
        found += [d.name for d in prefs.devices if d.type == kind]
    if found:
        assert any(name in use_gpu(bpy) for name in found)
        return
    out = tmp_path / "o"
    assert run_cli(["generate", "kubric", "--out", str(out), "--num-scenes", "1", "--frames", "2", "--render-device", "gpu"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Cycles finds no GPU on this machine" in err and not out.exists()


def test_a_preset_sets_the_reference_works_settings_and_options_override_them(tmp_path):
    """`--preset void` stands for VOID's kubric_variable_objects.py defaults (384 px, 60 frames at 12 fps, 32 spp,
    kubric's denoising); options given with it win."""
    from genomni.shards import read_card

    out = tmp_path / "v"
    args = ["generate", "kubric", "--out", str(out), "--preset", "void", "--num-scenes", "1", "--resolution", "32", "--frames", "3"]
    assert run_cli([*args, "--samples", "2", "--no-progress"]) == 0
    cfg = read_card(out)["config"]
    assert (cfg["preset"], cfg["fps"], cfg["denoise"]) == ("void", 12.0, True)  # from the preset
    assert (cfg["height"], cfg["width"], cfg["frames"], cfg["samples"]) == (32, 32, 3, 2)  # given


CUBE_OBJ = """mtllib model.mtl
v -0.05 -0.05 0
v 0.05 -0.05 0
v 0.05 0.05 0
v -0.05 0.05 0
v -0.05 -0.05 0.1
v 0.05 -0.05 0.1
v 0.05 0.05 0.1
v -0.05 0.05 0.1
vt 0 0
vt 1 0
vt 1 1
vt 0 1
usemtl material_0
f 1/1 2/2 3/3 4/4
f 5/1 8/4 7/3 6/2
f 1/1 5/2 6/3 2/4
f 2/1 6/2 7/3 3/4
f 3/1 7/2 8/3 4/4
f 4/1 8/2 5/3 1/4
"""


def _gso_object(root, name: str, rgb: tuple[int, int, int]) -> None:
    """A miniature Google Scanned Objects folder as distributed: meshes/model.obj whose model.mtl names texture.png,
    which lives in materials/textures/ (not beside the mesh), plus metadata.pbtxt."""
    from PIL import Image

    (root / name / "meshes").mkdir(parents=True)
    (root / name / "materials" / "textures").mkdir(parents=True)
    (root / name / "meshes" / "model.obj").write_text(CUBE_OBJ)
    (root / name / "meshes" / "model.mtl").write_text("newmtl material_0\nKd 1 1 1\nmap_Kd texture.png\n")
    Image.new("RGB", (8, 8), rgb).save(root / name / "materials" / "textures" / "texture.png")
    (root / name / "metadata.pbtxt").write_text(f'name: "{name}"\n')


def test_google_scanned_objects_folders_render_with_their_own_texture(tmp_path):
    """GSO folders as distributed: each object is named by its folder and wears the texture from
    materials/textures/ (the colour of the image, whatever the random object colour)."""
    from genomni.generators.kubric.assets import catalog, user_meshes

    gso = tmp_path / "gso"
    _gso_object(gso, "Red_Box", (220, 20, 20))
    files = user_meshes(str(gso))
    assert files == ["Red_Box/meshes/model.obj"]
    (ref,) = catalog(("assets",), files, str(gso))["assets"]
    assert (ref.name, ref.textured) == ("Red Box", True)
    out = tmp_path / "ds"
    args = ["generate", "kubric", "--out", str(out), "--num-scenes", "3", "--objects", "assets", "--assets-dir", str(gso)]
    assert run_cli([*args, "--max-objects", "1", "--hdri-prob", "0", *TINY]) == 0
    textured = 0
    for s in iter_samples(out):
        if s.meta["kept_ids"] or s.meta["scene"]["objects"][0]["pattern"] != "image":
            continue
        pixels = s.input[s.extras["instances"] > 0].astype(float)
        r, g, b = pixels.mean(0)
        assert r > 2 * g and r > 2 * b, (r, g, b)  # the texture's red, not an untextured grey or a random colour
        textured += 1
    assert textured >= 1


def test_kubric_asset_manifests_name_their_render_meshes_and_leave_collision_meshes_out(tmp_path):
    """A Kubric asset manifest (kubric's GSO.json shape: assets.<id>.kwargs.render_filename with {object_id},
    metadata.category) names the objects; the collision meshes beside them are not objects."""
    from genomni.generators.kubric.assets import catalog, user_meshes

    root = tmp_path / "kub"
    for asset_id in ("toy_cube", "mug_01"):
        (root / asset_id).mkdir(parents=True)
        (root / asset_id / "visual_geometry.obj").write_text(CUBE_OBJ.replace("mtllib model.mtl\n", ""))
        (root / asset_id / "collision_geometry.obj").write_text(CUBE_OBJ.replace("mtllib model.mtl\n", ""))
    manifest = {
        "assets": {
            "toy_cube": {
                "asset_type": "FileBasedObject",
                "kwargs": {"render_filename": "{object_id}/visual_geometry.obj"},
                "metadata": {"category": "toy_block"},
            },
            "mug_01": {"asset_type": "FileBasedObject", "kwargs": {"render_filename": "{object_id}/visual_geometry.obj"}, "metadata": {}},
            "missing": {"kwargs": {"render_filename": "{object_id}/visual_geometry.obj"}},
        }
    }
    (root / "GSO.json").write_text(json.dumps(manifest))
    files = user_meshes(str(root))
    assert files == ["mug_01/visual_geometry.obj", "toy_cube/visual_geometry.obj"]
    names = [r.name for r in catalog(("assets",), files, str(root))["assets"]]
    assert names == ["mug 01", "toy block"]


def test_ctrl_c_in_blender_is_held_until_the_call_returns_then_stops_the_run(tmp_path, capsys, monkeypatch):
    """Blender's Python-written operators turn a KeyboardInterrupt into their own RuntimeError (and Cycles' render
    code swallows it): measured here on Blender's own torus operator. Inside `held_interrupt` the operator
    completes and the interrupt is raised after it; the CLI then says to run again and exits 130 (typer turns
    Ctrl-C into Exit(130), which alone would be silent)."""
    import os
    import signal

    import bpy

    from genomni.generators.kubric import generate as kubric_generate
    from genomni.generators.kubric.bpy_runtime import held_interrupt

    class Interrupted(bpy.types.Operator):
        """A Python-written operator that gets a Ctrl-C while it runs, then adds a torus as Blender's does."""

        bl_idname = "mesh.genomni_interrupted_torus"
        bl_label = "interrupted torus"

        def execute(self, context):
            os.kill(os.getpid(), signal.SIGINT)
            return bpy.ops.mesh.primitive_torus_add()

    bpy.utils.register_class(Interrupted)
    try:
        bpy.ops.wm.read_factory_settings(use_empty=True)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        with pytest.raises(RuntimeError, match="KeyboardInterrupt"):  # Blender's own handling: the interrupt is lost
            bpy.ops.mesh.genomni_interrupted_torus()
        with pytest.raises(KeyboardInterrupt):
            with held_interrupt():
                bpy.ops.mesh.genomni_interrupted_torus()
        assert len([o for o in bpy.data.objects if o.type == "MESH"]) == 1  # the held call completed
    finally:
        bpy.utils.unregister_class(Interrupted)

    def stop(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(kubric_generate, "generate_scene", stop)
    assert run_cli(["generate", "kubric", "--out", str(tmp_path / "o"), "--num-scenes", "2", *TINY]) == 130
    assert capsys.readouterr().err.strip().endswith("error: interrupted; run the same command again to resume")
