"""Measure the colour of Cycles' Nishita sun at every 2 degrees from 10 to 72 and print the table that
`genomni/generators/kubric/sky_sun.py` holds (run it again after a Blender upgrade and paste the output there).

    python benchmarks/nishita_sun.py
"""

from __future__ import annotations

from genomni.generators.kubric.sky_sun import ELEVATIONS, measure


def main() -> None:
    rows = measure([float(e) for e in ELEVATIONS])
    print("SUN_RGB: tuple[tuple[float, float, float], ...] = (")
    for elevation, rgb in zip(ELEVATIONS, rows):
        print(f"    ({rgb[0]:.4f}, {rgb[1]:.4f}, {rgb[2]:.4f}),  # {elevation} degrees")
    print(")")


if __name__ == "__main__":
    main()
