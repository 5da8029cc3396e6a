"""A generated image target that needs no download: textured shapes ("shapes").

Eight classes = 4 shapes (disk, square, triangle, ring) x 2 textures (stripes, dots), drawn at
random position, scale, rotation, colour and background noise. 80 train and 40 test images per
class, 64x64 RGB, fixed seeds (train 0, test 1), so the set is the same on every machine.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from modelrank.data.target import LazyImages

SHAPES = ("disk", "square", "triangle", "ring")
TEXTURES = ("stripes", "dots")
CLASS_NAMES = [f"{s}-{t}" for s in SHAPES for t in TEXTURES]
SIZE = 64
PER_CLASS = {"train": 80, "test": 40}


def _mask(shape: str, rng: np.random.Generator) -> np.ndarray:
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)
    cx, cy = rng.uniform(0.35, 0.65, 2) * SIZE
    r = rng.uniform(0.18, 0.3) * SIZE
    ang = rng.uniform(0, np.pi)
    x, y = xx - cx, yy - cy
    xr, yr = x * np.cos(ang) + y * np.sin(ang), -x * np.sin(ang) + y * np.cos(ang)
    if shape == "disk":
        return x**2 + y**2 <= r**2
    if shape == "ring":
        d = np.sqrt(x**2 + y**2)
        return (d <= r) & (d >= 0.55 * r)
    if shape == "square":
        return (np.abs(xr) <= 0.8 * r) & (np.abs(yr) <= 0.8 * r)
    # triangle: intersection of three half-planes
    m = np.ones_like(x, bool)
    for k in range(3):
        a = ang + k * 2 * np.pi / 3
        m &= (x * np.cos(a) + y * np.sin(a)) <= 0.5 * r
    return m


def _texture(kind: str, rng: np.random.Generator) -> np.ndarray:
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)
    period = rng.uniform(4, 8)
    if kind == "stripes":
        a = rng.uniform(0, np.pi)
        return 0.5 + 0.5 * np.sign(np.sin(2 * np.pi * (xx * np.cos(a) + yy * np.sin(a)) / period))
    phase = rng.uniform(0, period, 2)
    d = ((xx + phase[0]) % period - period / 2) ** 2 + ((yy + phase[1]) % period - period / 2) ** 2
    return (d <= (period / 3.2) ** 2).astype(np.float64)


def make_image(label: int, rng: np.random.Generator) -> Image.Image:
    """One 64x64 RGB image of class ``label`` (index into CLASS_NAMES)."""
    shape, tex = SHAPES[label // len(TEXTURES)], TEXTURES[label % len(TEXTURES)]
    bg = rng.uniform(0.2, 0.8, 3)[None, None, :] + rng.normal(0, 0.08, (SIZE, SIZE, 3))
    fg = rng.uniform(0, 1, 3)
    fg2 = 1.0 - fg
    t = _texture(tex, rng)[..., None]
    pattern = t * fg + (1 - t) * fg2
    m = _mask(shape, rng)[..., None]
    img = np.where(m, pattern, bg)
    return Image.fromarray((np.clip(img, 0, 1) * 255).astype(np.uint8), mode="RGB")


def shapes_split(split: str):
    """(images, labels, class names) of the train or test split; images generated on access."""
    n = PER_CLASS[split]
    labels = np.repeat(np.arange(len(CLASS_NAMES)), n)
    base = {"train": 0, "test": 1}[split]

    def load(i: int) -> Image.Image:
        return make_image(int(labels[i]), np.random.default_rng([base, i]))

    return LazyImages(labels.shape[0], load), labels, list(CLASS_NAMES)
