"""Write the format-2 files that ``tests/test_api.py`` decodes, so later code must still read them.

    .venv/bin/python -m tests.data.make_v2_files

Run once, at the commit the test's docstring names; re-running it at a later commit
would only test that commit against itself. Each file comes from a tiny seeded model
(``tests.conftest.loud_model``) and ``smooth_image``, so the test can write the same
image afresh and compare what the two files decode to; the file with decoder bias
updates also gets the PNG of its pixels, as its updates come from a float optimisation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import licodec
from licodec.entropy import latent_coding
from tests.conftest import forced_mode, loud_model, smooth_image

HERE = Path(__file__).resolve().parent
MODE_NAMES = {0: "plain", 1: "offsets", 2: "adaptive", 3: "offsets-adaptive"}


def v2_cases() -> dict[str, dict]:
    """File name -> how it is written: architecture, image, coding mode, and compress() options."""
    rgba = np.dstack([smooth_image(48, 40), smooth_image(48, 40, seed=1)[..., 0]])
    roi = np.zeros((48, 40), dtype=np.uint8)
    roi[8:40, 4:24] = 255
    cases = {
        f"v2-{architecture}-{MODE_NAMES[number]}.lic": dict(architecture=architecture, image=smooth_image(48, 40), mode=number)
        for architecture in ("he2021-checkerboard", "bmshj2018-hyperprior")
        for number in MODE_NAMES
    }
    cases["v2-he2021-checkerboard-rgba-roi.lic"] = dict(architecture="he2021-checkerboard", image=rgba, mode=3, roi=roi)
    cases["v2-he2021-checkerboard-tiles.lic"] = dict(architecture="he2021-checkerboard", image=smooth_image(24, 1100), mode=3)
    cases["v2-he2021-checkerboard-decoder-updates.lic"] = dict(
        architecture="he2021-checkerboard", image=smooth_image(48, 40), mode=3, adapt_decoder=30
    )
    return cases


def write(case: dict) -> bytes:
    """The file ``case`` describes, written by the code of this checkout."""
    original = latent_coding.choose_mode
    latent_coding.choose_mode = forced_mode(case["mode"])
    try:
        model = loud_model(case["architecture"])
        return licodec.compress(case["image"], quality=50, model=model, roi=case.get("roi"), adapt_decoder_steps=case.get("adapt_decoder", 0))
    finally:
        latent_coding.choose_mode = original


def main() -> None:
    for name, case in v2_cases().items():
        data = write(case)
        (HERE / name).write_bytes(data)
        print(f"{name}: {len(data)} bytes")
        if case.get("adapt_decoder"):  # its updates come from a float optimisation: the test compares with these pixels
            pixels = licodec.decompress(data, model=loud_model(case["architecture"]))
            pixels.save(HERE / name.replace(".lic", ".png"))


if __name__ == "__main__":
    main()
