"""Ground-truth omnimatte layers of a rendered scene (`generate kubric --layers`).

Layers are composited over the background in object-id order, and layer k is what adding object k does to the
scene that already holds objects 1..k-1: the render with the first k objects, S_k, is the composite so far with
the layer over it (`layers.truth_layer`). So the stack recomposes the input (S_N, the full render) exactly,
whatever the objects do to each other: object 2's shadow on object 1 is in layer 2, a part of object 2 hidden
behind object 1 is in no layer. S_1 is object 1's solo pass and S_N the full pass; the prefixes between
(k = 2..N-1) are extra target passes (`layer_plans`), rendered only where kept and removed objects' effect
boxes overlap.

The renders differ by path-tracing noise inside the changed regions, so each layer is kept to its object (with
its antialiased rim) and its coherent effect (`effects.effect_region`, grown 1 px for soft edges): its alpha is
the shadow or reflection, not noise. Inside its support a layer reproduces S_k from the stored (8-bit)
composite below it within rounding; outside every support the stack shows the background where the input has
render noise, which is what `meta.qc.layers_recomposition_psnr` measures.
"""

from __future__ import annotations

import numpy as np

from ...effects import layer_support
from ...layers import composite, from_rgba8, to_rgba8, truth_layer
from .pairs import clean_target
from .passes import Passes, TargetPlan
from .spec import SceneSpec


def _prefix_tag(k: int) -> str:
    """The tag of the target pass holding the first k objects."""
    return f"first{k}"


def layer_plans(spec: SceneSpec) -> list[TargetPlan]:
    """The extra target passes a scene's true layers need: the first k objects (id order), k = 2..N-1."""
    ids = spec.object_ids
    return [TargetPlan(_prefix_tag(k), tuple(ids[:k])) for k in range(2, len(ids))]


def layer_of(below: np.ndarray, above: np.ndarray, obj: np.ndarray) -> np.ndarray:
    """(T,H,W,4) uint8: the layer that turns `below` into `above` (uint8 videos), opaque on `obj`, kept to the
    object with its rim and its coherent effect (see the module docstring)."""
    support = layer_support(below, above, obj)
    alpha, rgb = truth_layer(above, below, obj)
    alpha[~support] = 0.0
    return to_rgba8(alpha, rgb)


def scene_layers(background: np.ndarray, passes: Passes, ids: list[int]) -> np.ndarray:
    """(N,T,H,W,4) uint8: the true layers of objects `ids` (in that order) over `background` (the cleaned remove-all
    target), from the full pass, the first object's solo pass and the `layer_plans` passes."""
    layers: list[np.ndarray] = []
    below = background
    for k, oid in enumerate(ids, 1):
        if k == len(ids):
            above, inst = passes.full, passes.instances
        else:
            raw, inst = passes.targets[f"obj{oid}" if k == 1 else _prefix_tag(k)]
            above = clean_target(passes.full, raw, np.isin(passes.instances, ids[k:]))[0]
        layers.append(layer_of(below, above, inst == oid))
        below = composite(background, [from_rgba8(x) for x in layers])  # as stored: later layers see the rounding
    return np.stack(layers)
