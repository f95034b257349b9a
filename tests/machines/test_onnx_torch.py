import numpy as np
import pytest
import torch

from tests.machines.conftest import needs_ocr

pytestmark = needs_ocr


@pytest.fixture(scope="module")
def networks():
    from licodec.machines.ocr_torch import ocr_networks

    return ocr_networks()


@pytest.mark.parametrize(("which", "shape"), [(0, (1, 3, 96, 128)), (1, (2, 3, 48, 96))])
def test_the_graph_in_torch_computes_what_onnxruntime_computes(networks, which, shape):
    import onnxruntime

    from licodec.machines.extra import package_folder

    name = ("ch_PP-OCRv4_det_infer.onnx", "ch_PP-OCRv4_rec_infer.onnx")[which]
    session = onnxruntime.InferenceSession(str(package_folder("rapidocr_onnxruntime", "OCR") / "models" / name))
    x = np.random.default_rng(0).uniform(-1, 1, shape).astype(np.float32)
    expected = session.run(None, {session.get_inputs()[0].name: x})[0]
    got = networks[which](torch.from_numpy(x)).numpy()
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() < 1e-4


def test_gradients_reach_the_input_and_the_weights_stay_frozen(networks):
    x = torch.rand(1, 3, 64, 64, requires_grad=True)
    networks[0](x).mean().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert not any(p.requires_grad for p in networks[0].buffers())


def test_an_operator_it_lacks_is_named(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    from licodec.machines.onnx_torch import OnnxModule

    graph = helper.make_graph(
        [helper.make_node("Erf", ["x"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    onnx.save(helper.make_model(graph), str(tmp_path / "erf.onnx"))
    with pytest.raises(NotImplementedError, match="Erf"):
        OnnxModule(tmp_path / "erf.onnx")
