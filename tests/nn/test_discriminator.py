"""The patch discriminator and its GAN losses."""

import pytest
import torch

from licodec.nn.discriminator import PatchDiscriminator, discriminator_loss, generator_loss


def test_one_logit_per_8x8_cell_and_losses_that_pull_apart():
    torch.manual_seed(0)
    discriminator = PatchDiscriminator(channels=8)
    real = torch.rand(2, 3, 64, 96)
    assert discriminator(real).shape == (2, 1, 8, 12)
    confident = torch.full((2, 1, 8, 12), 5.0)
    assert float(discriminator_loss(confident, -confident)) < 0.02 < float(discriminator_loss(-confident, confident))
    assert generator_loss(confident).shape == (2,) and float(generator_loss(confident).max()) < 0.01


def test_a_few_steps_teach_it_to_tell_blurred_from_sharp():
    torch.manual_seed(0)
    discriminator = PatchDiscriminator(channels=8)
    optimizer = torch.optim.Adam(discriminator.parameters(), lr=2e-3, betas=(0.5, 0.999))
    sharp = torch.rand(4, 3, 32, 32)
    blurred = torch.nn.functional.avg_pool2d(sharp, 3, stride=1, padding=1)

    def loss() -> torch.Tensor:
        return discriminator_loss(discriminator(sharp), discriminator(blurred))

    with torch.no_grad():
        first = float(loss())
    for _ in range(30):
        optimizer.zero_grad()
        loss().backward()
        optimizer.step()
    with torch.no_grad():
        assert float(loss()) < first / 2


def test_a_conditional_discriminator_reads_the_latent():
    torch.manual_seed(0)
    discriminator = PatchDiscriminator(channels=8, latent_channels=5)
    image, latent = torch.rand(2, 3, 64, 96), torch.randn(2, 5, 4, 6)
    logits = discriminator(image, latent)
    assert logits.shape == (2, 1, 8, 12) and discriminator.conditional
    assert not torch.allclose(logits, discriminator(image, latent.flip(0)))  # another latent, another judgement
    with pytest.raises(ValueError, match="needs the latent"):
        discriminator(image)
