"""Competitive training of the post-filter bank."""

import numpy as np
import torch
from PIL import Image

from licodec.cli import main
from licodec.jpeg_tools.postfilter import (
    SIDECAR_SUFFIX,
    PostFilterBank,
    PostFilterConfig,
    encode_signal,
    load_bank,
)
from licodec.train.postfilter import PostFilterTraining, bank_loss, jpeg_batch, train_postfilter
from tests.conftest import smooth_image

CONFIG = PostFilterConfig(filters=2, channels=4, layers=2)


def test_competitive_loss_rewards_the_best_member_and_counts_wins():
    x = torch.from_numpy(smooth_image(32, 32)).permute(2, 0, 1)[None].float().repeat(3, 1, 1, 1) / 255
    original, decoded, strength = jpeg_batch(x, [10, 50, 90])
    assert strength[0] > strength[1] > strength[2]
    bank = PostFilterBank(CONFIG)
    loss, stats = bank_loss(bank, original, decoded, strength, temperature=0.01)
    loss.backward()
    assert sum(stats["wins"]) == 3 and bank.members[0][0].weight.grad is not None


def test_training_then_cli_round_trip_with_comment_and_sidecar(tmp_path, capsys):
    folder = tmp_path / "train"
    folder.mkdir()
    Image.fromarray(smooth_image(120, 120)).save(folder / "a.png")
    weights = tmp_path / "bank.safetensors"
    settings = PostFilterTraining(data=[str(folder)], output=str(weights), steps=2, batch_size=2, config=CONFIG)
    train_postfilter(settings, log=lambda line: None)
    name, bank = load_bank(str(weights))
    assert name == "bank" and bank.config == CONFIG

    source = tmp_path / "p.png"
    Image.fromarray(smooth_image(80, 100, seed=3)).save(source)
    assert main(["jpeg", str(source), "-q", "30", "--postfilter", str(weights)]) == 0
    assert main(["postfilter", str(tmp_path / "p.jpg"), "--filters", str(weights)]) == 1  # p.png exists already
    assert "exists" in capsys.readouterr().err
    out = tmp_path / "f.png"
    assert main(["postfilter", str(tmp_path / "p.jpg"), "--filters", str(weights), "-o", str(out)]) == 0
    assert Image.open(out).size == (100, 80)

    webp = tmp_path / "p.webp"
    Image.open(source).save(webp, quality=20)
    choices = np.full((2, 2), 2, dtype=np.uint8)  # "leave every block as decoded"
    (tmp_path / ("p.webp" + SIDECAR_SUFFIX)).write_bytes(encode_signal("bank", choices))
    assert main(["postfilter", str(webp), "--filters", str(weights), "-o", str(tmp_path / "w.png")]) == 0
    assert np.array_equal(np.asarray(Image.open(tmp_path / "w.png")), np.asarray(Image.open(webp).convert("RGB")))
