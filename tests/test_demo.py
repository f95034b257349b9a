import re

import numpy as np
from PIL import Image

import licodec
from licodec.demo import main


def test_demo_writes_a_file_that_decodes_to_the_image_it_writes_and_reports_its_rate(tmp_path, capsys):
    assert main(str(tmp_path)) == 0
    printed = capsys.readouterr().out
    data = (tmp_path / "astronaut.lic").read_bytes()
    decoded = np.asarray(Image.open(tmp_path / "astronaut.png"))
    np.testing.assert_array_equal(np.asarray(licodec.decompress(data)), decoded)
    bpp = float(re.search(r"(\d+\.\d+) bpp", printed).group(1))
    assert bpp == round(len(data) * 8 / decoded.shape[0] / decoded.shape[1], 4)
    assert re.search(r"decode\s+\d+ ms", printed)
