"""Competitive training of the post-filter bank."""

from pathlib import Path

import numpy as np
import pytest
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
from licodec.machines.text_images import split_of
from licodec.train.postfilter import PostFilterTraining, bank_loss, codec_batch, train_postfilter
from tests.conftest import smooth_image

CONFIG = PostFilterConfig(filters=2, channels=4, layers=2)


def test_competitive_loss_rewards_the_best_member_and_counts_wins():
    x = torch.from_numpy(smooth_image(32, 32)).permute(2, 0, 1)[None].float().repeat(3, 1, 1, 1) / 255
    original, decoded, strength = codec_batch(x, "jpeg", [10, 50, 90])
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


class FavouringTaskLoss:
    """A stand-in machine whose loss is low only for the decode brightest on average."""

    def per_image(self, outputs: torch.Tensor) -> torch.Tensor:
        return -outputs.mean(dim=(1, 2, 3))


def test_a_task_loss_joins_each_members_cost_and_can_decide_the_winner():
    x = torch.from_numpy(smooth_image(32, 32)).permute(2, 0, 1)[None].float() / 255
    original, decoded, strength = codec_batch(x, "jpeg", [30])
    bank = PostFilterBank(CONFIG)
    with torch.no_grad():
        bank.members[1][-1].bias += 0.02  # member 1 brightens: worse MSE, better for the stand-in machine
    plain, plain_stats = bank_loss(bank, original, decoded, strength, 0.01)
    tasked, stats = bank_loss(bank, original, decoded, strength, 0.01, [FavouringTaskLoss()], task_weight=1e4)
    assert plain_stats["wins"] == [1, 0] and stats["wins"] == [0, 1]
    assert stats["task"] < 0 and float(tasked.detach()) < float(plain.detach())


@pytest.mark.skipif(not __import__("importlib").util.find_spec("rapidocr_onnxruntime"), reason="the machines extra is not installed")
@pytest.mark.skipif(not Image.registered_extensions().get(".avif"), reason="this Pillow cannot write AVIF")
def test_an_ocr_bank_for_avif_trains_on_text_images_and_filters_avif_blind(tmp_path):
    folder = tmp_path / "train"
    folder.mkdir()
    names = [n for n in (f"photo-{i}.png" for i in range(20)) if split_of(Path(n)) == "train"][:2]
    for seed, name in enumerate(names):
        Image.fromarray(smooth_image(200, 200, seed)).save(folder / name)
    weights = tmp_path / "postfilter-avif-ocr.safetensors"
    lines = []
    settings = PostFilterTraining(data=[str(folder)], output=str(weights), steps=1, batch_size=1, config=CONFIG, codec="avif", task="ocr")
    train_postfilter(settings, log=lines.append)
    assert "task" in lines[0]
    from licodec.eval.codecs import resolve

    codec = resolve(f"avif+postfilter:{weights}")
    assert "blind" in codec.description
    decoded = codec.decode(codec.encode(Image.fromarray(smooth_image(64, 64)), 50))
    assert decoded.size == (64, 64)


def test_postfilter_task_picks_the_bank_by_format_and_refuses_what_it_cannot_do(tmp_path, capsys):
    webp = tmp_path / "p.webp"
    Image.fromarray(smooth_image(64, 64)).save(webp, quality=30)
    assert main(["postfilter", str(webp), "--task", "ocr"]) == 1
    assert "exist for JPEG and AVIF files; this is WEBP" in capsys.readouterr().err
    assert main(["postfilter", str(webp), "--task", "ocr", "--filters", "postfilter-jpeg"]) == 1
    assert "not both" in capsys.readouterr().err
    assert not (tmp_path / "p.png").exists()


def test_postfilter_task_names_the_bank_it_needs_when_none_is_installed(tmp_path, capsys, monkeypatch):
    from licodec import storage

    monkeypatch.setattr(storage, "WEIGHTS_DIR", tmp_path)  # no shipped banks at all
    jpeg = tmp_path / "p.jpg"
    Image.fromarray(smooth_image(64, 64)).save(jpeg, quality=30)
    assert main(["postfilter", str(jpeg), "--task", "ocr", "-o", str(tmp_path / "out.png")]) == 1
    assert "no post-filter bank 'postfilter-jpeg-ocr' is installed; make one with 'licodec train postfilter'" in capsys.readouterr().err
    assert not (tmp_path / "out.png").exists()
