"""A perceptual difference hash (dHash): near-identical pictures get hashes a few bits apart."""

from __future__ import annotations

import io

from PIL import Image, UnidentifiedImageError


def dhash(data: bytes, size: int = 8) -> int | None:
    """The 64-bit dHash of an image, or None when the bytes are not a readable image."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            small = image.convert("L").resize((size + 1, size), Image.Resampling.LANCZOS)
            pixels = list(small.tobytes())
    except (UnidentifiedImageError, OSError, ValueError):
        return None
    bits = 0
    for row in range(size):
        for col in range(size):
            left = pixels[row * (size + 1) + col]
            right = pixels[row * (size + 1) + col + 1]
            bits = (bits << 1) | (1 if left > right else 0)
    return bits


def distance(a: int, b: int) -> int:
    return (a ^ b).bit_count()
