"""How far a camera moves over a clip, measured on its background: the static-camera check of `generate tripod`
and of `masks --method motion` (footage whose camera moves cannot give a clean plate or a background model).
numpy and OpenCV only."""

from __future__ import annotations

import cv2
import numpy as np

MOTION_SIDE = 256  # px: frames are measured at most this large (ECC cost grows with pixels; sub-pixel accuracy stays)
EXCLUDE_FRAC = 0.05  # the objects' masks grow by this share of the frame's long side before measuring (their shadows)
FLAT_GRADIENT = 0.75  # levels/px: a background flatter than this on average shows no camera motion (tracking gives noise)


def _frame_motion(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> np.ndarray | None:
    """2x3 similarity warp taking frame `a`'s background to frame `b`'s: corners tracked by pyramidal Lucas-Kanade
    and fitted with RANSAC (a moving shadow or reflection is an outlier, not the camera); ECC on the masked
    background where too few corners are found (flat scenes). None when neither converges."""
    a8, b8 = a.astype(np.uint8), b.astype(np.uint8)
    points = cv2.goodFeaturesToTrack(a8, 400, 0.01, 4, mask=mask)
    if points is not None and len(points) >= 12:
        moved, ok, _ = cv2.calcOpticalFlowPyrLK(a8, b8, points, points.copy(), winSize=(15, 15))  # no initial-flow flag: an output only
        ok = ok.ravel() == 1
        if ok.sum() >= 12:
            warp, inliers = cv2.estimateAffinePartial2D(points[ok], moved[ok], method=cv2.RANSAC, ransacReprojThreshold=0.5)
            if warp is not None and inliers is not None and inliers.sum() >= 8:
                return warp.astype(np.float64)
    warp = np.eye(2, 3, dtype=np.float32)
    try:
        _, warp = cv2.findTransformECC(
            a, b, warp, cv2.MOTION_EUCLIDEAN, (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 100, 1e-5), mask, 5
        )
    except cv2.error:
        return None
    return warp.astype(np.float64)


def _direct_motion(first: np.ndarray, frame: np.ndarray, mask: np.ndarray, guess: np.ndarray) -> np.ndarray | None:
    """2x3 similarity warp from the first frame straight to `frame`: the first frame's background corners tracked
    into it from where `guess` (the chained estimate) puts them, fitted with RANSAC; None when too few agree."""
    points = cv2.goodFeaturesToTrack(first.astype(np.uint8), 400, 0.01, 4, mask=mask)
    if points is None or len(points) < 12:
        return None
    predicted = cv2.transform(points, guess).astype(np.float32)
    moved, ok, _ = cv2.calcOpticalFlowPyrLK(
        first.astype(np.uint8), frame.astype(np.uint8), points, predicted, winSize=(15, 15), flags=cv2.OPTFLOW_USE_INITIAL_FLOW
    )
    ok = ok.ravel() == 1
    if ok.sum() < 12:
        return None
    warp, inliers = cv2.estimateAffinePartial2D(points[ok], moved[ok], method=cv2.RANSAC, ransacReprojThreshold=1.0)
    if warp is None or inliers is None or inliers.sum() < max(8, 0.3 * ok.sum()):
        return None
    return warp.astype(np.float64)


def camera_path(video: np.ndarray, holes: np.ndarray | None = None) -> list[np.ndarray] | None:
    """The background's motion from the first frame to each frame, as 3x3 similarity matrices in full-size pixel
    coordinates (frame 0 -> frame k), or None where it cannot be estimated (too little background, no fit).

    Motion between consecutive frames is estimated on the background only (`_frame_motion`: tracked corners
    and a RANSAC similarity fit, ECC for flat scenes): the object masks (`holes`), grown by EXCLUDE_FRAC of
    the frame so their shadows near them are out too, are left out (not filled with a constant, which pinned
    the earlier phase-correlation estimate near zero). The frame-to-frame warps are chained, so a slow pan adds
    up; each frame is then measured straight against the first from there (`_direct_motion`), so the chain's
    errors do not add up: a fixed camera with jitter reads its jitter, not a drift. Frames are measured at most
    MOTION_SIDE px large. A background without texture (mean gradient under
    FLAT_GRADIENT levels per pixel) shows no camera motion: None.
    """
    t, h, w = video.shape[:3]
    scale = min(1.0, MOTION_SIDE / max(h, w))
    size = (max(8, round(w * scale)), max(8, round(h * scale)))
    gray = [cv2.resize(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), size, interpolation=cv2.INTER_AREA).astype(np.float32) for f in video]
    mean, spread = float(gray[0].mean()), float(gray[0].std()) + 1e-6
    # each frame's brightness and contrast matched to the first: flicker breaks the trackers' brightness constancy
    gray = [np.clip((g - g.mean()) * (spread / (g.std() + 1e-6)) + mean, 0, 255) for g in gray]
    grow = max(1, round(EXCLUDE_FRAC * max(size)))
    if holes is not None:
        small = np.stack([cv2.resize(m.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) for m in holes]) > 0
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
        excluded = np.stack([cv2.dilate(m.astype(np.uint8), kernel) > 0 for m in small])
    else:
        excluded = np.zeros((t, size[1], size[0]), bool)
    to_small = np.diag([scale, scale, 1.0])
    total, path = np.eye(3), [np.eye(3)]
    for k in range(1, t):
        mask = (~(excluded[k - 1] | excluded[k])).astype(np.uint8)
        if mask.sum() < 0.1 * mask.size:
            return None  # too little background to see the camera
        gx = cv2.Sobel(gray[k - 1], cv2.CV_32F, 1, 0, ksize=3) / 8
        gy = cv2.Sobel(gray[k - 1], cv2.CV_32F, 0, 1, ksize=3) / 8
        if float(np.hypot(gx, gy)[mask > 0].mean()) < FLAT_GRADIENT:
            return None  # a flat background: corners and ECC would lock onto noise
        warp = _frame_motion(gray[k - 1], gray[k], mask)
        if warp is None:
            return None
        total = np.vstack([warp, [0, 0, 1]]) @ total
        direct = _direct_motion(gray[0], gray[k], (~(excluded[0] | excluded[k])).astype(np.uint8), total[:2])
        if direct is not None:
            total = np.vstack([direct, [0, 0, 1]])
        path.append(np.linalg.inv(to_small) @ total @ to_small)
    return path


def path_shift(path: list[np.ndarray] | None, height: int, width: int) -> float:
    """The largest displacement (px) of a frame corner along a camera path; infinity for an unknown path."""
    if path is None:
        return float("inf")
    corners = np.array([[0, 0, 1], [width - 1, 0, 1], [0, height - 1, 1], [width - 1, height - 1, 1]], np.float64).T
    return max(float(np.hypot(*((m @ corners)[:2] - corners[:2])).max()) for m in path)


def camera_shift(video: np.ndarray, holes: np.ndarray | None = None) -> float:
    """How far the camera moves over the clip, in pixels: the largest displacement of a frame corner under the
    accumulated background motion from the first frame (`camera_path`); infinity when it cannot be measured."""
    return path_shift(camera_path(video, holes), *video.shape[1:3])
