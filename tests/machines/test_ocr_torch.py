import pytest
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFont

from licodec.machines.text_images import font_folder
from tests.machines.conftest import needs_ocr

pytestmark = needs_ocr


def text_tensor() -> torch.Tensor:
    image = Image.new("RGB", (256, 64), (240, 235, 225))
    ImageDraw.Draw(image).text((8, 14), "Room 42, level 3", font=ImageFont.truetype(str(font_folder() / "DejaVuSerif.ttf"), 26), fill=(20, 20, 40))
    return torch.from_numpy(__import__("numpy").array(image)).permute(2, 0, 1).unsqueeze(0).float() / 255


def test_the_task_loss_is_zero_on_the_original_and_grows_as_the_text_blurs():
    from licodec.machines.ocr_torch import ocr_task_loss

    x = text_tensor()
    loss = ocr_task_loss(x)
    assert loss.boxes  # rapidocr found the line
    assert abs(float(loss(x))) < 1e-5
    blurred = [F.avg_pool2d(x, k, stride=1, padding=k // 2)[..., : x.shape[-2], : x.shape[-1]] for k in (3, 5)]
    values = [float(loss(b)) for b in blurred]
    assert 0 < values[0] < values[1]


def test_the_task_loss_has_gradients_towards_the_original():
    from licodec.machines.ocr_torch import ocr_task_loss

    x = text_tensor()
    loss = ocr_task_loss(x)
    noisy = (x + 0.1 * torch.randn_like(x)).clamp(0, 1).requires_grad_(True)
    before = loss(noisy)
    before.backward()
    with torch.no_grad():
        stepped = noisy - 1e-3 * noisy.grad.sign()
    assert float(loss(stepped)) < float(before.detach())


def test_per_image_losses_of_a_batch_match_one_image_at_a_time():
    from licodec.machines.ocr_torch import ocr_task_loss

    x = text_tensor()
    loss = ocr_task_loss(x)
    decodes = torch.cat([x, F.avg_pool2d(x, 3, stride=1, padding=1), (x + 0.05 * torch.randn_like(x)).clamp(0, 1)])
    batched = loss.per_image(decodes)
    assert batched.shape == (3,)
    for decode, value in zip(decodes, batched):
        assert float(loss(decode[None])) == pytest.approx(float(value), rel=1e-4, abs=1e-6)
