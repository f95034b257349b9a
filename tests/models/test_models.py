import dataclasses
import math
import re

import numpy as np
import pytest
import torch

import licodec
from licodec.entropy import latent_coding
from licodec.errors import UnknownModelError
from licodec.models import ARCHITECTURES, SHIPPED, TINY, build_coding_tables, create_model, load_model, load_weights, save_weights
from licodec.models.catalog import retired_table, retired_weights, weights_status
from licodec.models.growth import grow_into, ladder_gains
from licodec.storage import load_arrays, weights_hash
from tests.conftest import forced_mode, loud_model, rate_ladder_model, smooth_image, tiny_model


def as_tensor(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(image).permute(2, 0, 1).unsqueeze(0).float() / 255


@pytest.mark.parametrize("rate_position", [0.0, 0.5, 1.0])
def test_decompress_reproduces_the_encoder_reconstruction(any_tiny_model, rate_position):
    model = any_tiny_model
    x = as_tensor(smooth_image(64, 128))
    streams = model.compress(x, rate_position)
    decoded = model.decompress(streams, rate_position, 64, 128)
    again = model.decompress(streams, rate_position, 64, 128)
    assert decoded.shape == x.shape
    assert torch.equal(decoded, again)


@pytest.mark.parametrize("number", [1, 2, 3])
@pytest.mark.parametrize("architecture", list(ARCHITECTURES))
def test_every_coding_mode_decodes_the_same_latent(architecture, number, monkeypatch):
    """Offsets (bit 0) and adaptive contexts (bit 1), forced on every latent that takes them, change only the bytes."""
    model = loud_model(architecture)
    x = as_tensor(smooth_image(64, 128))
    plain = model.compress(x, 0.5, local_models=False)
    monkeypatch.setattr(latent_coding, "choose_mode", forced_mode(number))
    coded = model.compress(x, 0.5)
    # Offsets apply only to y of the hyperprior models (mbt2018 codes y one symbol at a time, in no mode;
    # a mixture's y has no coding mode either).
    offsets_only_and_no_latent_takes_them = number == 1 and architecture in ("bmshj2018-factorized", "mbt2018", "fu2023-gllmm")
    assert (coded == plain) == offsets_only_and_no_latent_takes_them
    assert torch.equal(model.decode_symbols(coded, 64, 128), model.decode_symbols(plain, 64, 128))


def test_training_forward_returns_reconstruction_and_likelihoods(any_tiny_model):
    model = any_tiny_model
    model.train()
    out = model(as_tensor(smooth_image(64, 64)), torch.tensor([0.3]))
    model.eval()
    assert out["x_hat"].shape == (1, 3, 64, 64)
    for likelihoods in out["likelihoods"].values():
        assert torch.all(likelihoods > 0) and torch.all(likelihoods <= 1)


def test_mixed_precision_keeps_latent_and_output_in_float32_and_close(checkerboard_model):
    x = as_tensor(smooth_image(64, 64))
    with torch.no_grad():
        exact = checkerboard_model.encode_latent(x, 0.5)
        checkerboard_model.mixed_precision = True
        try:
            mixed = checkerboard_model.encode_latent(x, 0.5)
            image = checkerboard_model.decode_latent(mixed.round(), 0.5)
        finally:
            checkerboard_model.mixed_precision = False
    assert mixed.dtype == image.dtype == torch.float32
    assert torch.allclose(mixed, exact, atol=0.05 * float(exact.abs().max()))


def estimated_and_coded_bits(model, x, rate_position, local_models: bool = True):
    with torch.no_grad():
        out = model(x, rate_position)
    estimated = sum(float(-torch.log2(lik).sum()) for lik in out["likelihoods"].values())
    return estimated, 8 * sum(len(s) for s in model.compress(x, rate_position, local_models=local_models))


def test_coded_size_matches_the_rate_estimate_within_one_percent():
    """In the plain coding mode, a density without side information codes what its likelihoods say.

    (The adaptive mode would beat it by far: the tiny model is untrained.)
    """
    model = tiny_model("bmshj2018-factorized")
    estimated, coded = estimated_and_coded_bits(model, as_tensor(smooth_image(256, 256)), 1.0, local_models=False)
    assert coded == pytest.approx(estimated, rel=0.01)


def test_coded_size_tracks_the_rate_estimate_with_side_information(checkerboard_model):
    """In the plain coding mode, coding costs what the likelihoods say (tiny model: a few hundred bits, so the
    fixed costs count: 32-bit words, mode symbols, a channel mask of 1 + 8 bits); choosing the mode per tile never
    costs more."""
    x = as_tensor(smooth_image(256, 256))
    estimated, adapted = estimated_and_coded_bits(checkerboard_model, x, 1.0)
    _, plain = estimated_and_coded_bits(checkerboard_model, x, 1.0, local_models=False)
    assert plain == pytest.approx(estimated, rel=0.05, abs=48)
    assert adapted <= plain


def test_higher_rate_position_never_spends_fewer_bits_on_average():
    model = rate_ladder_model()
    x = as_tensor(smooth_image(128, 128))
    sizes = [sum(len(s) for s in model.compress(x, p)) for p in (0.0, 0.5, 1.0)]
    assert sizes == sorted(sizes)


def test_weights_file_round_trip_keeps_tables_and_decoding(tmp_path, checkerboard_model):
    path = tmp_path / "m.safetensors"
    save_weights(checkerboard_model, path, "test-model", half_precision=False)
    loaded, metadata = load_weights(path)
    assert metadata["architecture"] == "he2021-checkerboard"
    x = as_tensor(smooth_image(64, 64))
    streams = checkerboard_model.compress(x, 0.5)
    assert torch.equal(loaded.decompress(streams, 0.5, 64, 64), checkerboard_model.decompress(streams, 0.5, 64, 64))


def test_a_half_precision_file_stores_each_network_once_and_decodes_what_the_model_wrote(tmp_path, checkerboard_model):
    """The probability path is stored as integers only and the encoder's kernels in 12 bits: files written before
    saving decode to the same symbols (the pixels differ by g_s's float16 rounding only), and the rebuilt float
    layers are those the integers stand for."""
    path = tmp_path / "m.safetensors"
    save_weights(checkerboard_model, path, "test-model")
    arrays, _ = load_arrays(path, "weights")
    compiled = tuple(f"float.{name}." for name in checkerboard_model.tables.networks)
    assert not any(k.startswith(compiled) for k in arrays)
    assert {k for k in arrays if k.startswith("int12.")} == {
        f"int12.{k}" for k, v in checkerboard_model.state_dict().items() if k.startswith(("g_a.", "h_a.")) and v.dim() == 4
    }
    loaded, _ = load_weights(path)
    x = as_tensor(smooth_image(64, 64))
    streams = checkerboard_model.compress(x, 0.5)
    assert torch.allclose(loaded.decompress(streams, 0.5, 64, 64), checkerboard_model.decompress(streams, 0.5, 64, 64), atol=2e-3)
    for name in checkerboard_model.tables.networks:
        for ours, theirs in zip(loaded.build_tables().networks[name].layers, checkerboard_model.tables.networks[name].layers):
            np.testing.assert_array_equal(ours.weight, theirs.weight)
    original, again = checkerboard_model.state_dict()["g_a.0.weight"], loaded.state_dict()["g_a.0.weight"]
    assert torch.allclose(again, original, rtol=0, atol=float(original.abs().max()) / 2047)


def test_a_weights_file_loads_by_path_under_its_own_name_and_hash(tmp_path, checkerboard_model):
    path = tmp_path / "mine.safetensors"
    save_weights(checkerboard_model, path, "my-model")
    model = load_model(str(path))
    assert (model.name, model.weights_hash) == ("my-model", weights_hash(path))
    with pytest.raises(UnknownModelError, match="no such weights file"):
        load_model(str(tmp_path / "missing.safetensors"))


def version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def test_retired_weights_belong_to_shipped_models_and_none_is_installed():
    table = retired_table()
    installed = {load_model(name).weights_hash for name in SHIPPED}
    assert table and not installed & table.keys()
    for hash_hex, entry in table.items():
        assert re.fullmatch("[0-9a-f]{16}", hash_hex) and entry["model"] in SHIPPED
        assert re.fullmatch("[0-9a-f]{7,40}", entry["commit"]) and re.fullmatch(r"\d{4}-\d\d-\d\d", entry["date"])
        assert version_tuple(entry["version"]) < version_tuple(licodec.__version__)  # each weights release bumps the version
    assert retired_weights("0" * 16) is None
    assert weights_status("licodec-mse", "ec3f2f1aa0dadfd6").startswith("retired: shipped at commit 822b400 (licodec 0.1.0,")
    assert weights_status("licodec-mse", "0" * 16).startswith("not shipped")


def test_compress_without_tables_says_how_to_build_them():
    model = create_model("mbt2018-mean", TINY)
    with pytest.raises(RuntimeError, match="build_coding_tables"):
        model.compress(torch.zeros(1, 3, 64, 64), 0.0)


def test_unknown_and_untrained_models_raise_user_errors():
    with pytest.raises(UnknownModelError, match="unknown model"):
        load_model("no-such-model")
    with pytest.raises(UnknownModelError, match="no trained weights"):
        load_model("mbt2018-mean")
    with pytest.raises(UnknownModelError):
        create_model("nope", TINY)


def test_quality_maps_monotonically_onto_the_ladder(checkerboard_model):
    positions = [checkerboard_model.rate_position(q) for q in range(1, 101)]
    assert positions == sorted(positions)
    assert positions[0] == 0 and math.isclose(positions[-1], TINY.num_rates - 1)


def test_every_architecture_is_registered_under_a_kebab_case_name():
    for name in ARCHITECTURES:
        assert name == name.lower() and " " not in name


def test_a_grown_network_computes_what_the_trained_one_did():
    """Every block the asymmetric design adds starts as the identity: grown from a trained model, it is that model."""
    torch.manual_seed(0)
    plain, asymmetric = create_model("he2021-checkerboard", TINY), create_model("fu2023-asymmetric", TINY)
    new = grow_into(plain, asymmetric)
    assert new and all(".branch." in n or ".fuse." in n or ".logits." in n or ".net." in n or "_1." in n or "_2." in n for n in new)
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        plain_out, grown_out = plain.eval()(x, 0.5), asymmetric.eval()(x, 0.5)
    assert torch.allclose(grown_out["x_hat"], plain_out["x_hat"], atol=1e-6)
    for name, likelihood in plain_out["likelihoods"].items():
        assert torch.allclose(grown_out["likelihoods"][name], likelihood, atol=1e-6)
    with pytest.raises(ValueError, match="entropy models"):
        grow_into(plain, create_model("mbt2018-mean", TINY))


def test_a_longer_ladder_keeps_the_trained_rungs_and_extends_their_gains():
    """Growing onto a ladder with rungs added at both ends: the old rungs code as before, the new ones start on the trend."""
    torch.manual_seed(0)
    short = create_model("he2021-checkerboard", TINY)
    longer = create_model("he2021-checkerboard", dataclasses.replace(TINY, lambdas=(0.005, *TINY.lambdas, 0.25)))
    assert grow_into(short, longer) == []
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        for old, new in ((0.0, 1.0), (1.0, 2.0)):
            assert torch.equal(longer.eval()(x, new)["x_hat"], short.eval()(x, old)["x_hat"])
    rows = torch.tensor([[0.0, 1.0], [1.0, 3.0]])  # log gains at lambda 1 and e
    grown = ladder_gains(rows, (1.0, math.e), (math.exp(-1), math.exp(0.5), math.exp(2)))
    assert torch.allclose(grown, torch.tensor([[-1.0, -1.0], [0.5, 2.0], [2.0, 5.0]]))
    assert torch.allclose(ladder_gains(rows[:1], (1.0,), (math.e,), single_slope=-0.5), torch.tensor([[-0.5, 0.5]]))


def test_a_ladder_of_another_distortion_starts_rung_for_rung():
    """Multipliers of MSE and of a perceptual distortion are in different units: the rungs map by position,
    so a fine-tune starts at the trained model's rates, not where its gains would extrapolate to."""
    torch.manual_seed(0)
    mse = create_model("he2021-checkerboard", TINY)
    torch.nn.init.normal_(mse.gains.log_gain, std=0.3)
    perceptual = create_model("he2021-checkerboard", dataclasses.replace(TINY, lambdas=(1.0, 15.0), distortion="perceptual"))
    assert grow_into(mse, perceptual) == []
    assert torch.equal(perceptual.gains.log_gain, mse.gains.log_gain)
    longer = create_model("he2021-checkerboard", dataclasses.replace(TINY, lambdas=(1.0, 5.0, 15.0), distortion="perceptual"))
    with pytest.raises(ValueError, match="cannot start"):
        grow_into(mse, longer)


def test_a_gaussian_model_grows_into_a_mixture_that_codes_as_it_did():
    """Every mixture component starts as the Gaussian, the added ones at 0.25% weight: the same pixels, and the Gaussian
    keeps 99.5% of the weight, so no element costs more than -log2(0.995) bits more (the heavier tails may cost less)."""
    gaussian, mixture = loud_model("he2021-checkerboard"), create_model("fu2023-gllmm", TINY)  # y of many bits
    assert grow_into(gaussian, mixture) == []
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        before, after = gaussian.eval()(x, 0.5), mixture.eval()(x, 0.5)
    assert torch.equal(after["x_hat"], before["x_hat"])
    bits = [-torch.log2(out["likelihoods"]["y"]) for out in (before, after)]
    assert torch.all(bits[1] <= bits[0] - math.log2(1 - 2 * math.exp(-6)) + 1e-4)


@pytest.mark.parametrize("architecture", ["he2021-checkerboard", "fu2023-asymmetric"])
def test_a_wider_decoder_grows_from_a_trained_one_and_computes_what_it_did(architecture):
    """The added channels are read with zero weights and normalised by themselves: the same pixels, then gradients for all."""
    torch.manual_seed(0)
    narrow = create_model("he2021-checkerboard", TINY)
    wide = create_model(architecture, dataclasses.replace(TINY, decoder_widths=(12, 10, 16)))
    grow_into(narrow, wide)
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        before, after = narrow.eval()(x, 0.5), wide.eval()(x, 0.5)
    assert torch.allclose(after["x_hat"], before["x_hat"], atol=1e-6)
    wide.train()(x, 0.5)["x_hat"].square().mean().backward()
    second = next(m for m in wide.g_s if isinstance(m, torch.nn.ConvTranspose2d) and m.weight.shape[:2] == (12, 10))
    assert second.weight.grad[8:].abs().sum() > 0  # what reads the added channels learns first
    narrower = create_model("he2021-checkerboard", TINY)
    built = {k: v.clone() for k, v in narrower.state_dict().items()}
    with pytest.raises(ValueError):
        grow_into(wide, narrower)  # narrowing is refused, and leaves the target as built
    assert all(torch.equal(v, built[k]) for k, v in narrower.state_dict().items())


def test_a_larger_latent_grows_from_a_trained_one_and_its_added_channels_cost_nothing():
    """M 8 -> 12 (and a wider decoder): the same pixels, the added channels of y are 0, predicted as 0 at the smallest scale."""
    narrow = loud_model("he2021-checkerboard")
    wide = create_model("he2021-checkerboard", dataclasses.replace(TINY, latent_channels=12, decoder_widths=(12, 8, 8)))
    grow_into(narrow, wide)
    x = as_tensor(smooth_image(64, 64))
    with torch.no_grad():
        before, after = narrow.eval()(x, 0.5), wide.eval()(x, 0.5)
        y = wide.encode_latent(x, 0.5)
    assert torch.allclose(after["x_hat"], before["x_hat"], atol=1e-6)
    assert torch.equal(y[:, 8:], torch.zeros_like(y[:, 8:]))
    bits = [float(-torch.log2(out["likelihoods"]["y"]).sum()) for out in (before, after)]
    assert bits[0] <= bits[1] < bits[0] + 1e-3 * y[:, 8:].numel()
    build_coding_tables(wide)
    assert torch.allclose(wide.decompress(wide.compress(x, 0.5), 0.5, 64, 64), narrow.decompress(narrow.compress(x, 0.5), 0.5, 64, 64), atol=1e-6)
    with pytest.raises(ValueError, match="cannot grow its latent"):
        grow_into(narrow, create_model("fu2023-asymmetric", dataclasses.replace(TINY, latent_channels=12)))
