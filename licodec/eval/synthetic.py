"""Low-complexity test images drawn with Pillow: what photo-trained models code worst.

Slides, screenshots, charts and gradients are flat, sharp-edged and repetitive,
unlike the photos the models learn from, so they are where image-dependent
entropy models (:mod:`licodec.entropy.latent_coding`) have the most to gain.
They are drawn, not downloaded, so every machine measures the same pixels.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw


def low_complexity_images() -> dict[str, Image.Image]:
    """Four 768 x 512 RGB images (Kodak's size) by name. Text uses Pillow's default font, so it can differ between Pillow builds."""
    images = {}
    slide = Image.new("RGB", (768, 512), "white")
    draw = ImageDraw.Draw(slide)
    draw.rectangle((0, 0, 768, 80), fill=(30, 60, 140))
    for i in range(12):
        draw.text((40, 110 + 32 * i), f"Line {i}: learned image compression on a plain CPU", fill=(20, 20, 20))
    draw.ellipse((520, 200, 720, 400), fill=(240, 160, 30))
    images["slide"] = slide
    screen = Image.new("RGB", (768, 512), (236, 236, 236))
    draw = ImageDraw.Draw(screen)
    for col in range(3):
        for row in range(4):
            x, y = 20 + 250 * col, 20 + 120 * row
            draw.rectangle((x, y, x + 230, y + 100), fill="white", outline=(180, 180, 180))
            draw.text((x + 10, y + 10), f"Item {row * 3 + col}", fill=(0, 0, 0))
            draw.rectangle((x + 10, y + 60, x + 110, y + 85), fill=(0, 120, 215))
    images["screenshot"] = screen
    chart = Image.new("RGB", (768, 512), "white")
    draw = ImageDraw.Draw(chart)
    for i, h in enumerate([120, 300, 220, 410, 180, 350]):
        draw.rectangle((60 + i * 110, 480 - h, 140 + i * 110, 480), fill=(50 + 30 * i, 100, 200 - 25 * i))
    draw.line((40, 480, 740, 480), fill="black", width=3)
    images["bar-chart"] = chart
    yy, xx = np.mgrid[0:512, 0:768]
    images["gradient"] = Image.fromarray(np.stack([xx / 3, yy / 2, (xx + yy) / 5], -1).clip(0, 255).astype(np.uint8))
    return images
