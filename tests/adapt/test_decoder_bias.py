import numpy as np
import pytest
import torch

import licodec
from licodec.adapt.decoder_bias import fit_bias_updates, to_updates
from licodec.coding.decoder_updates import decode_bias_updates, encode_bias_updates
from licodec.errors import CorruptBitstreamError
from tests.conftest import smooth_image
from tests.models.test_models import as_tensor


def coded_tile(model, image, position=1.0):
    x = as_tensor(image)
    streams = model.compress(x, position)
    return x, model.decode_symbols(streams, x.shape[-2], x.shape[-1]), position


def test_updates_lower_the_distortion_of_the_image_they_were_fitted_on(checkerboard_model):
    x, y_hat, position = coded_tile(checkerboard_model, smooth_image(64, 64))
    quantised = fit_bias_updates(checkerboard_model, [(x, y_hat, position)], steps=30)
    if quantised is None:  # they did not pay: then they must not have helped enough either
        pytest.skip("updates did not pay for themselves on this tiny model")
    with torch.no_grad():
        before = torch.mean((checkerboard_model.decode_latent(y_hat, position) - x) ** 2)
        after = torch.mean((checkerboard_model.decode_latent(y_hat, position, to_updates(checkerboard_model, quantised)) - x) ** 2)
    assert after < before


def test_update_stream_round_trips_and_is_checked(checkerboard_model):
    sizes = checkerboard_model.bias_sizes()
    quantised = np.arange(sum(sizes.values()), dtype=np.int8) - 5
    updates = decode_bias_updates(sizes, encode_bias_updates(quantised))
    assert {name: v.size for name, v in updates.items()} == sizes
    with pytest.raises(CorruptBitstreamError):
        decode_bias_updates(sizes, encode_bias_updates(quantised[:-1]))
    with pytest.raises(CorruptBitstreamError):
        decode_bias_updates(sizes, b"not zlib")


def test_files_with_decoder_updates_decode_to_what_the_encoder_fitted(monkeypatch, checkerboard_model):
    from licodec.adapt import decoder_bias

    forced = np.full(sum(checkerboard_model.bias_sizes().values()), 40, dtype=np.int8)
    monkeypatch.setattr(decoder_bias, "fit_bias_updates", lambda model, tiles, steps: forced)
    image = smooth_image(48, 48)
    data = licodec.compress(image, quality=60, model=checkerboard_model, adapt_decoder_steps=1)
    assert licodec.bitstream.read_header(data).has_decoder_updates
    plain = licodec.compress(image, quality=60, model=checkerboard_model)
    assert licodec.decompress(data, model=checkerboard_model).tobytes() != licodec.decompress(plain, model=checkerboard_model).tobytes()
