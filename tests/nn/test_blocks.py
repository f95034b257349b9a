import pytest
import torch

from licodec.nn.blocks import ConcatenatedResidualBlocks, ImportanceMap, MultiScaleResidualBlock, PostQuantisationFilter


@pytest.mark.parametrize("block", [ConcatenatedResidualBlocks(8), MultiScaleResidualBlock(8), ImportanceMap(8, 4), PostQuantisationFilter(8, 4)])
def test_every_block_starts_as_the_identity_and_learns_from_there(block):
    x = torch.randn(2, 8, 12, 10)
    assert torch.equal(block(x), x)
    block(x).square().sum().backward()
    last = [p for p in block.parameters() if p.grad is not None and p.grad.abs().sum() > 0]
    assert last, "no parameter receives a gradient"


def test_the_importance_map_gain_stays_between_0_and_2():
    block = ImportanceMap(4, 4)
    with torch.no_grad():
        block.logits[-1].bias.fill_(50.0)
    x = torch.randn(1, 4, 5, 5)
    assert torch.allclose(block(x), 2 * x)
