import numpy as np
import pytest
import torch
from PIL import Image

from licodec.cli import main
from licodec.codecs import jpeg
from licodec.errors import InvalidImageError, LicodecError, UnknownModelError
from licodec.jpeg_tools.postfilter import (
    BLOCK,
    PostFilterBank,
    PostFilterConfig,
    decode_signal,
    encode_signal,
    jpeg_with_signal,
    load_bank,
    postfilter_decode,
    save_bank,
)
from tests.conftest import smooth_image

CONFIG = PostFilterConfig(filters=2, channels=4, layers=2)


def shifting_bank(shift: float) -> PostFilterBank:
    """Member 0 adds ``shift`` to every pixel, member 1 adds a large error."""
    bank = PostFilterBank(CONFIG)
    with torch.no_grad():
        for member, bias in zip(bank.members, (shift, 0.5)):
            member[-1].weight.zero_()
            member[-1].bias.fill_(bias)
    return bank.eval()


def test_a_new_bank_is_close_to_the_identity():
    torch.manual_seed(0)  # the hidden layers' default initialisation draws from the global generator
    image = Image.fromarray(smooth_image(40, 56))
    candidates = PostFilterBank(CONFIG).candidates(image, 0.5)
    assert candidates.shape == (3, 40, 56, 3)
    change = np.abs(candidates.astype(int) - np.asarray(image)[None])
    assert change.max() <= 3 and change.mean() < 0.5


def test_choices_pick_the_member_that_helps_and_leave_blocks_it_would_hurt():
    original = smooth_image(2 * BLOCK, BLOCK + 10)
    darker = np.clip(original.astype(int) - 10, 0, 255).astype(np.uint8)
    original = darker + 10  # exactly recoverable everywhere
    bank = shifting_bank(10 / 255)
    choices = bank.choose(Image.fromarray(original), Image.fromarray(darker), 0.5)
    assert choices.shape == (2, 2) and (choices == 0).all()
    restored = bank.apply(Image.fromarray(darker), 0.5, choices)
    assert np.array_equal(np.asarray(restored), original)
    # when no member helps, the block is left as decoded (index K)
    assert (bank.choose(Image.fromarray(darker), Image.fromarray(darker), 0.5) == 2).all()


def test_signal_round_trip_and_damage():
    choices = np.array([[0, 1, 2], [2, 1, 0]], dtype=np.uint8)
    name, decoded = decode_signal(encode_signal("bank", choices))
    assert name == "bank" and np.array_equal(decoded, choices)
    with pytest.raises(InvalidImageError, match="damaged"):
        decode_signal(encode_signal("bank", choices)[:-8])
    with pytest.raises(InvalidImageError, match="does not fit"):
        PostFilterBank(CONFIG).apply(Image.new("RGB", (BLOCK, BLOCK)), 0.5, choices)


def test_the_signal_rides_in_a_comment_without_changing_the_jpeg_pixels():
    image = Image.fromarray(smooth_image(70, 90))
    signalled = jpeg_with_signal(image, lambda im, comment: jpeg.encode(im, 40, comment), "bank", PostFilterBank(CONFIG))
    plain = jpeg.encode(image, 40)
    assert np.array_equal(np.asarray(jpeg.decode(signalled)), np.asarray(jpeg.decode(plain)))
    assert b"licodec-postfilter" in signalled
    with pytest.raises(LicodecError, match="--filters bank"):
        postfilter_decode(signalled, PostFilterBank(CONFIG), "another-bank")


def test_bad_inputs_are_user_errors(tmp_path, capsys):
    weights = tmp_path / "bank.safetensors"
    save_bank(PostFilterBank(CONFIG), weights, {})
    garbage = tmp_path / "g.jpg"
    garbage.write_bytes(b"not an image at all")
    assert main(["postfilter", str(garbage), "--filters", str(weights), "-o", str(tmp_path / "o.png")]) == 1
    assert not (tmp_path / "o.png").exists() and "error" in capsys.readouterr().err
    lossless = tmp_path / "l.png"
    Image.fromarray(smooth_image(16, 16)).save(lossless)
    assert main(["postfilter", str(lossless), "--filters", str(weights), "-o", str(tmp_path / "o.png")]) == 1
    assert "this is PNG" in capsys.readouterr().err and not (tmp_path / "o.png").exists()
    with pytest.raises(UnknownModelError, match="train postfilter"):
        load_bank("no-such-bank")


def test_blind_mode_uses_the_default_member_on_unsignalled_files():
    bank = shifting_bank(4 / 255)
    image = Image.fromarray(smooth_image(40, 40))
    data = jpeg.encode(image, 50)
    blind = postfilter_decode(data, bank, "bank")
    expected = np.clip(np.asarray(jpeg.decode(data)).astype(int) + 4, 0, 255)
    assert np.abs(np.asarray(blind).astype(int) - expected).max() <= 1


def test_eval_signals_choices_in_jpeg_comments_and_filters_other_codecs_blind():
    from licodec.eval.codecs import resolve

    image = Image.fromarray(smooth_image(70, 90))
    webp = resolve("webp+postfilter")
    assert "blind" in webp.description
    plain = webp.encode(image, 40)
    assert plain == resolve("webp").encode(image, 40) and webp.decode(plain).size == (90, 70)
    codec = resolve("jpeg+tables+postfilter")
    data = codec.encode(image, 40)
    assert b"licodec-postfilter" in data and codec.decode(data).size == (90, 70)
