"""The lamp under Cycles' Nishita sky takes that sky's sun colour: the table in `sky_sun` against Blender measuring
its own sun at elevations between the table's rows (the reference: Blender's Nishita model, not genomni)."""

import json
import subprocess
import sys

import numpy as np

from genomni.generators.kubric.config import KubricConfig
from genomni.generators.kubric.sky_sun import sky_sun_color
from genomni.generators.kubric.surroundings import sample_light


def test_the_table_matches_blenders_own_sun_between_its_rows():
    code = "import json; from genomni.generators.kubric.sky_sun import measure; print(json.dumps(measure([13.0, 31.0, 57.0])))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    measured = json.loads(out.strip().splitlines()[-1])
    for elevation, rgb in zip((13.0, 31.0, 57.0), measured):
        assert np.allclose(sky_sun_color(elevation), rgb, atol=0.006), (elevation, rgb)


def test_a_sky_scenes_lamp_is_its_suns_colour_warmer_when_low():
    cfg = KubricConfig(frames=3, height=64, width=64, hdri_prob=0.0)
    lights = [sample_light(cfg, np.random.default_rng(seed)) for seed in range(12)]
    assert all(li.world == "sky" and li.sun_color == sky_sun_color(li.sun_elevation) for li in lights)
    low, high = sky_sun_color(12.0), sky_sun_color(70.0)
    assert low[0] == high[0] == 1.0 and low[2] < 0.4 < 0.6 < high[2] and low[1] < high[1]
