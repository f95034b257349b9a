import json
import subprocess
import sys

import pytest
import torch

from licodec.cli import main
from licodec.models import load_weights
from licodec.train.distortion import mean_squared_error, ms_ssim_loss
from licodec.train.loop import export_checkpoint
from tests.conftest import REPO
from tests.train.conftest import TINY_ARGS


def train(image_folder, run_dir, steps, *extra):
    assert main(["train", str(image_folder), "--run-dir", str(run_dir), "--steps", str(steps), *TINY_ARGS, *extra]) == 0
    return torch.load(run_dir / "checkpoint.pt", weights_only=False)


def test_resume_continues_exactly_as_an_uninterrupted_run(image_folder, tmp_path):
    straight = train(image_folder, tmp_path / "a", 4)
    train(image_folder, tmp_path / "b", 2)
    resumed = train(image_folder, tmp_path / "b", 4, "--resume")
    assert resumed["step"] == straight["step"] == 4
    for key, value in straight["model"].items():
        assert torch.equal(value, resumed["model"][key]), key


def test_log_has_progress_and_validation_lines(image_folder, tmp_path):
    train(image_folder, tmp_path, 4)
    rows = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert sum("bpp" in r for r in rows) == 4
    assert rows[0]["event"] == "start" and rows[-1]["event"] == "stop"


def test_validating_the_average_leaves_the_live_weights_in_place(image_folder, tmp_path):
    from licodec.models.config import TINY
    from licodec.train.data import load_images
    from licodec.train.loop import Trainer, TrainSettings

    trainer = Trainer(TrainSettings(data=[str(image_folder)], run_dir=str(tmp_path), config=TINY, crop=64, batch_size=2))
    trainer.ema = {k: v + 0.01 if v.dtype.is_floating_point else v for k, v in trainer.ema.items()}
    live = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    row = trainer.validation_row(load_images(sorted(image_folder.glob("*.png")), 64))
    assert len(row["validation"]) == len(row["validation_ema"]) == 2  # one per rung
    assert row["validation"] != row["validation_ema"]
    for key, value in trainer.model.state_dict().items():
        assert torch.equal(value, live[key]), key


def test_mixed_precision_warns_on_a_cpu_without_native_bfloat16(image_folder, tmp_path, monkeypatch, capsys):
    from licodec.train import loop

    monkeypatch.setattr(loop.platform, "machine", lambda: "x86_64")
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX2")
    assert not loop.bfloat16_is_fast()
    train(image_folder, tmp_path, 1, "--mixed-precision")
    assert "no native bfloat16" in capsys.readouterr().err
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX512")
    assert loop.bfloat16_is_fast()
    monkeypatch.setattr(loop.platform, "machine", lambda: "aarch64")
    assert loop.bfloat16_is_fast()


def test_export_writes_weights_that_code_and_can_seed_a_new_run(image_folder, tmp_path):
    train(image_folder, tmp_path / "run", 2)
    weights = tmp_path / "w.safetensors"
    export_checkpoint(tmp_path / "run" / "checkpoint.pt", weights, "tiny-test")
    model, metadata = load_weights(weights)
    assert json.loads(metadata["extra"])["steps"] == 2
    x = torch.rand(1, 3, 64, 64)
    assert model.decompress(model.compress(x, 0.5), 0.5, 64, 64).shape == x.shape
    train(image_folder, tmp_path / "again", 1, "--init-weights", str(weights))


def test_exported_weights_count_the_runs_they_grew_from(image_folder, tmp_path):
    train(image_folder, tmp_path / "first", 2)
    first = tmp_path / "first.safetensors"
    export_checkpoint(tmp_path / "first" / "checkpoint.pt", first, "tiny-test")
    train(image_folder, tmp_path / "second", 3, "--init-weights", str(first))
    second = tmp_path / "second.safetensors"
    export_checkpoint(tmp_path / "second" / "checkpoint.pt", second, "tiny-test")
    extra = json.loads(load_weights(second)[1]["extra"])
    assert (extra["steps"], extra["run_steps"]) == (5, 3)
    export = ["export", str(tmp_path / "second" / "checkpoint.pt"), str(second), "tiny-test", "--prior-steps", "100", "--prior-cpu-hours", "1.5"]
    assert main(export) == 1  # the existing file needs --force
    assert main([*export, "--force"]) == 0
    extra = json.loads(load_weights(second)[1]["extra"])
    assert extra["steps"] == 103 and extra["cpu_hours"] == pytest.approx(1.5 + extra["run_cpu_hours"], abs=0.01)


def test_sigterm_saves_a_checkpoint(image_folder, tmp_path):
    import signal
    import time

    command = [sys.executable, "-m", "licodec", "train", "model", str(image_folder), "--run-dir", str(tmp_path), "--steps", "100000", *TINY_ARGS]
    process = subprocess.Popen(command, cwd=REPO, stderr=subprocess.PIPE)
    log = tmp_path / "log.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (log.exists() and '"step"' in log.read_text().split("\n", 1)[-1]):
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0
    assert torch.load(tmp_path / "checkpoint.pt", weights_only=False)["step"] > 0


def test_torchrun_keeps_two_replicas_identical(image_folder, tmp_path):
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29517",
        "-m", "licodec", "train", "model", str(image_folder), "--run-dir", str(tmp_path), "--steps", "3", *TINY_ARGS,
        "--threads", "1",
    ]  # fmt: skip
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=170)
    assert result.returncode == 0, result.stderr[-2000:]
    digests = [(tmp_path / f"replica-{rank}.sha256").read_text() for rank in (0, 1)]
    assert digests[0] == digests[1]
    assert torch.load(tmp_path / "checkpoint.pt", weights_only=False)["step"] == 3


def test_checkpoint_keeps_a_weight_average_that_export_ships(image_folder, tmp_path):
    state = train(image_folder, tmp_path, 3, "--ema-decay", "0.5")
    key = next(k for k, v in state["model"].items() if k.startswith("g_s.") and v.numel() > 1)  # stored in float16
    assert not torch.equal(state["ema"][key], state["model"][key])
    export_checkpoint(tmp_path / "checkpoint.pt", tmp_path / "w.safetensors", "tiny-test")
    model, _ = load_weights(tmp_path / "w.safetensors")
    assert torch.allclose(model.state_dict()[key], state["ema"][key].half().float())


def test_mixed_precision_trains_resumes_exactly_and_validates_in_float32(image_folder, tmp_path):
    straight = train(image_folder, tmp_path / "a", 3, "--mixed-precision")
    train(image_folder, tmp_path / "b", 2, "--mixed-precision")
    resumed = train(image_folder, tmp_path / "b", 3, "--mixed-precision", "--resume")
    for key, value in straight["model"].items():
        assert value.dtype != torch.bfloat16, key
        assert torch.equal(value, resumed["model"][key]), key
    assert straight["settings"]["mixed_precision"] is True


def test_ms_ssim_loss_weighs_one_minus_ms_ssim_by_lambda():
    from licodec.models import create_model
    from licodec.models.config import TINY
    from licodec.train.loop import rd_loss

    torch.manual_seed(0)
    model = create_model("he2021-checkerboard", TINY)
    x = torch.rand(2, 3, 192, 192)
    rungs = torch.tensor([0, 1])
    low = rd_loss(model, x, rungs, torch.tensor([1.0, 1.0]), ms_ssim_loss)
    high = rd_loss(model, x, rungs, torch.tensor([11.0, 11.0]), ms_ssim_loss)
    distortion = float(low["loss"].detach() - low["bpp"])  # mean (1 - MS-SSIM)
    assert 0 < distortion < 1
    assert float(high["loss"].detach() - high["bpp"]) == pytest.approx(11 * distortion, rel=1e-4)


def test_ms_ssim_training_refuses_crops_too_small_for_its_scales(image_folder, tmp_path):
    args = [a if a != "64" else "128" for a in TINY_ARGS]
    assert main(["train", str(image_folder), "--run-dir", str(tmp_path), "--steps", "1", "--distortion", "ms-ssim", *args]) == 1


def test_rungs_are_drawn_evenly_as_before_or_in_proportion_to_weights():
    import numpy as np

    from licodec.train.loop import draw_rungs

    even = draw_rungs(np.random.default_rng([7, 3, 1]), 6, 8, None)
    assert np.array_equal(even, np.random.default_rng([7, 3, 1]).integers(6, size=8))  # what older runs drew: they resume exactly
    weighted = draw_rungs(np.random.default_rng(0), 3, 30_000, (1.0, 0.0001, 2.0))
    shares = np.bincount(weighted, minlength=3) / weighted.size
    assert shares == pytest.approx([1 / 3, 0, 2 / 3], abs=0.01)


def test_weighted_rungs_train_and_resume_exactly(image_folder, tmp_path):
    straight = train(image_folder, tmp_path / "a", 3, "--rung-weights", "1,3")
    train(image_folder, tmp_path / "b", 2, "--rung-weights", "1,3")
    resumed = train(image_folder, tmp_path / "b", 3, "--rung-weights", "1,3", "--resume")
    assert tuple(straight["settings"]["rung_weights"]) == (1.0, 3.0)
    for key, value in straight["model"].items():
        assert torch.equal(value, resumed["model"][key]), key


@pytest.mark.parametrize("architecture", ["fu2023-asymmetric", "fu2023-gllmm"])
def test_the_new_architectures_train_export_and_code(image_folder, tmp_path, architecture):
    train(image_folder, tmp_path / "run", 2, "--architecture", architecture)
    weights = tmp_path / "new.safetensors"
    assert main(["export", str(tmp_path / "run" / "checkpoint.pt"), str(weights), "tiny-new"]) == 0
    model, metadata = load_weights(weights)
    assert metadata["architecture"] == architecture
    x = torch.rand(1, 3, 64, 64)
    assert model.decompress(model.compress(x, 0.5), 0.5, 64, 64).shape == x.shape


def test_a_larger_architecture_grows_from_trained_weights(image_folder, tmp_path):
    train(image_folder, tmp_path / "plain", 1)
    weights = tmp_path / "plain.safetensors"
    export_checkpoint(tmp_path / "plain" / "checkpoint.pt", weights, "tiny-test")
    state = train(image_folder, tmp_path / "grown", 1, "--architecture", "fu2023-asymmetric", "--init-weights", str(weights))
    assert state["settings"]["architecture"] == "fu2023-asymmetric"
    assert (
        main(
            [
                "train",
                str(image_folder),
                "--run-dir",
                str(tmp_path / "bad"),
                "--steps",
                "1",
                *TINY_ARGS,
                "--architecture",
                "mbt2018-mean",
                "--init-weights",
                str(weights),
            ]
        )
        == 1
    )


def test_a_longer_rate_ladder_grows_from_trained_weights(image_folder, tmp_path):
    """--init-weights onto a ladder with a rung added at each end: the trained rungs keep their gains."""
    train(image_folder, tmp_path / "short", 1, "--device", "cpu")
    weights = tmp_path / "short.safetensors"
    export_checkpoint(tmp_path / "short" / "checkpoint.pt", weights, "tiny-test")
    state = train(image_folder, tmp_path / "long", 1, "--init-weights", str(weights), "--lambdas", "0.005,0.01,0.05,0.1")
    model, _ = load_weights(weights)
    assert state["settings"]["config"]["lambdas"] == [0.005, 0.01, 0.05, 0.1]
    assert state["model"]["gains.log_gain"].shape[0] == 4
    x = torch.rand(1, 3, 64, 64)
    assert model.decompress(model.compress(x, 0.5), 0.5, 64, 64).shape == x.shape


def test_distillation_trains_the_decoder_first_then_everything_and_resumes_exactly(image_folder, tmp_path):
    teacher = tmp_path / "teacher"
    train(image_folder, teacher, 2, "--export", str(tmp_path / "teacher.safetensors"))
    student_args = ["--decoder-widths", "4,4,8", "--distill-from", str(tmp_path / "teacher.safetensors"), "--distill-stages", "2,4"]
    straight = train(image_folder, tmp_path / "a", 6, *student_args)
    teacher_state = load_weights(tmp_path / "teacher.safetensors")[0].state_dict()
    after_decoder_stages = train(image_folder, tmp_path / "b", 4, *student_args)["model"]
    decoder = ("g_s.", "gains.log_inverse_gain")  # what the features and images stages train
    for name, value in after_decoder_stages.items():
        started = teacher_state[name][tuple(slice(0, n) for n in value.shape)]
        assert torch.equal(value, started) != name.startswith(decoder) or value.numel() == 0, name
    assert not all(torch.equal(straight["model"][k], teacher_state[k]) for k in straight["model"] if k.startswith("g_a."))  # then everything
    resumed = train(image_folder, tmp_path / "b", 6, *student_args, "--resume")
    for key, value in straight["model"].items():
        assert torch.equal(value, resumed["model"][key]), key
    rows = [json.loads(line) for line in (tmp_path / "a" / "log.jsonl").read_text().splitlines() if '"loss"' in line]
    assert len(rows) == 6 and all(r["bpp"] > 0 for r in rows)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--latent-channels", "6"], "--latent-channels must be 8"),
        (["--decoder-widths", "16,8,8"], "at most the teacher's"),
        (["--architecture", "mbt2018-mean"], "he2021-checkerboard"),
    ],
)
def test_a_student_that_cannot_decode_the_teachers_latent_is_refused(image_folder, tmp_path, capsys, extra, message):
    train(image_folder, tmp_path / "teacher", 1, "--export", str(tmp_path / "teacher.safetensors"))
    args = [
        "train",
        str(image_folder),
        "--run-dir",
        str(tmp_path / "s"),
        "--steps",
        "2",
        *TINY_ARGS,
        "--distill-from",
        str(tmp_path / "teacher.safetensors"),
        *extra,
    ]
    assert main(args) == 1
    assert message in capsys.readouterr().err


def test_the_weight_average_starts_afresh_with_each_distillation_stage(image_folder, tmp_path):
    """The first stages' weights are far from the last's: an average spanning stages would ship neither."""
    train(image_folder, tmp_path / "teacher", 1, "--export", str(tmp_path / "teacher.safetensors"))
    student = ["--decoder-widths", "4,4,8", "--distill-from", str(tmp_path / "teacher.safetensors"), "--distill-stages", "1,2"]
    at_stage = train(image_folder, tmp_path / "a", 2, *student)  # the "joint" stage begins with the third step
    after = train(image_folder, tmp_path / "b", 3, *student)
    for key, live in at_stage["model"].items():
        if live.dtype.is_floating_point:
            expected = live.clone().mul_(0.999).add_(after["model"][key], alpha=1 - 0.999)
            assert torch.equal(after["ema"][key], expected), key


def test_l1_training_masks_channels_logs_how_many_are_active_and_exports_a_masking_model(image_folder, tmp_path):
    state = train(image_folder, tmp_path, 2, "--l1-weights", "0.5,2", "--export", str(tmp_path / "sparse.safetensors"))
    assert state["settings"]["config"]["channel_mask"] is True and tuple(state["settings"]["l1_weights"]) == (0.5, 2.0)
    rows = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert all(0 <= r["active"] <= 1 for r in rows if "loss" in r)
    assert all("active" in rung for r in rows if "validation" in r for rung in r["validation"])
    model = load_weights(tmp_path / "sparse.safetensors")[0]
    assert model.config.channel_mask and model.coding().masks_channels


def test_the_l1_penalty_adds_its_weight_times_the_latents_magnitude_per_pixel():
    from licodec.models import create_model
    from licodec.models.config import TINY
    from licodec.train.loop import rd_loss

    torch.manual_seed(0)
    model = create_model("he2021-checkerboard", TINY).eval().double()  # eval: rounding, so both passes see the same latent
    x, rungs, lambdas = torch.rand(2, 3, 64, 64, dtype=torch.float64), torch.tensor([0, 1]), torch.tensor(TINY.lambdas, dtype=torch.float64)
    with torch.no_grad():
        plain = rd_loss(model, x, rungs, lambdas, mean_squared_error)["loss"]
        penalised = rd_loss(model, x, rungs, lambdas, mean_squared_error, torch.tensor([0.5, 2.0], dtype=torch.float64))["loss"]
        y = model(x, rungs.float())["y"]
    expected = ((torch.tensor([0.5, 2.0], dtype=torch.float64) * y.abs().sum(dim=(1, 2, 3))) / (64 * 64)).mean()
    torch.testing.assert_close(penalised - plain, expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--l1-weights", "1,1,1"], "gives 3 weights for a ladder of 2 rungs"),
        (["--l1-weights", "1", "--architecture", "mbt2018"], "codes every channel"),
    ],
)
def test_l1_settings_a_model_cannot_use_are_refused(image_folder, tmp_path, capsys, extra, message):
    assert main(["train", str(image_folder), "--run-dir", str(tmp_path), "--steps", "1", *TINY_ARGS, *extra]) == 1
    assert message in capsys.readouterr().err


def test_a_task_loss_adds_lambda_times_its_weight_per_sample():
    from licodec.models import create_model
    from licodec.models.config import TINY
    from licodec.train.loop import rd_loss

    torch.manual_seed(0)
    model = create_model("he2021-checkerboard", TINY).eval().double()
    x, rungs, lambdas = torch.rand(2, 3, 64, 64, dtype=torch.float64), torch.tensor([0, 1]), torch.tensor(TINY.lambdas, dtype=torch.float64)
    constant = [lambda x_hat: torch.tensor(0.25, dtype=torch.float64), lambda x_hat: torch.tensor(1.0, dtype=torch.float64)]
    with torch.no_grad():
        plain = rd_loss(model, x, rungs, lambdas, mean_squared_error)
        with_task = rd_loss(model, x, rungs, lambdas, mean_squared_error, task_losses=constant, task_weight=10.0)
    expected = (lambdas * 10.0 * torch.tensor([0.25, 1.0], dtype=torch.float64)).mean()
    torch.testing.assert_close(with_task["loss"] - plain["loss"], expected)
    assert float(with_task["task"]) == pytest.approx(0.625)


@pytest.mark.skipif(not __import__("importlib").util.find_spec("rapidocr_onnxruntime"), reason="the machines extra is not installed")
def test_ocr_training_draws_text_images_logs_the_task_loss_and_resumes_exactly(image_folder, tmp_path):
    straight = train(image_folder, tmp_path / "a", 2, "--task", "ocr", "--task-weight", "50")
    train(image_folder, tmp_path / "b", 1, "--task", "ocr", "--task-weight", "50")
    resumed = train(image_folder, tmp_path / "b", 2, "--task", "ocr", "--task-weight", "50", "--resume")
    assert straight["settings"]["task"] == "ocr" and straight["settings"]["task_weight"] == 50.0
    rows = [json.loads(line) for line in (tmp_path / "a" / "log.jsonl").read_text().splitlines()]
    assert all(r["task"] >= 0 for r in rows if "loss" in r)
    for key, value in straight["model"].items():
        assert torch.equal(value, resumed["model"][key]), key


@pytest.mark.parametrize("conditional", [(), ("--conditional",)], ids=["plain", "conditional"])
def test_adversarial_fine_tuning_changes_the_decoder_alone_and_resumes_exactly(image_folder, tmp_path, conditional):
    train(image_folder, tmp_path / "base", 1)
    weights = tmp_path / "base.safetensors"
    export_checkpoint(tmp_path / "base" / "checkpoint.pt", weights, "tiny-test")
    start = load_weights(weights)[0].state_dict()
    adversarial = ("--init-weights", str(weights), "--adversarial", "0.5", "--discriminator-lr", "3e-4", *conditional)
    straight = train(image_folder, tmp_path / "a", 2, *adversarial)
    assert straight["discriminator_optimizer"]["param_groups"][0]["lr"] == 3e-4
    train(image_folder, tmp_path / "b", 1, *adversarial)
    resumed = train(image_folder, tmp_path / "b", 2, *adversarial, "--resume")
    changed = {key for key, value in straight["model"].items() if not torch.equal(value, start[key])}
    assert changed and all(key.startswith("g_s.") for key in changed)
    for part in ("model", "discriminator"):
        for key, value in straight[part].items():
            assert torch.equal(value, resumed[part][key]), (part, key)
    assert any(key.startswith("condition.") for key in straight["discriminator"]) == bool(conditional)
    rows = [json.loads(line) for line in (tmp_path / "a" / "log.jsonl").read_text().splitlines()]
    assert all(r["adversarial"] > 0 and r["discriminator"] > 0 for r in rows if "loss" in r)


def test_adversarial_runs_refuse_to_resume_a_plain_checkpoint(image_folder, tmp_path, capsys):
    train(image_folder, tmp_path, 1)
    assert main(["train", "model", str(image_folder), "--run-dir", str(tmp_path), "--steps", "2", *TINY_ARGS, "--adversarial", "1", "--resume"]) == 1
    assert "was trained without --adversarial" in capsys.readouterr().err


def test_conditional_needs_adversarial_and_resumes_only_its_own_kind(image_folder, tmp_path, capsys):
    assert main(["train", "model", str(image_folder), "--run-dir", str(tmp_path / "a"), "--steps", "1", *TINY_ARGS, "--conditional"]) == 1
    assert "give both" in capsys.readouterr().err
    train(image_folder, tmp_path / "b", 1, "--adversarial", "1")
    resumed = ["train", "model", str(image_folder), "--run-dir", str(tmp_path / "b"), "--steps", "2", *TINY_ARGS]
    assert main([*resumed, "--adversarial", "1", "--conditional", "--resume"]) == 1
    assert "different discriminator than a conditional one" in capsys.readouterr().err


def test_decoder_only_fine_tuning_keeps_the_encoder_and_entropy_model(image_folder, tmp_path):
    train(image_folder, tmp_path / "base", 1)
    weights = tmp_path / "base.safetensors"
    export_checkpoint(tmp_path / "base" / "checkpoint.pt", weights, "tiny-test")
    start = load_weights(weights)[0].state_dict()
    tuned = train(image_folder, tmp_path / "a", 2, "--init-weights", str(weights), "--decoder-only")
    changed = {key for key, value in tuned["model"].items() if not torch.equal(value, start[key])}
    assert changed and all(key.startswith("g_s.") for key in changed)
    assert "discriminator" not in tuned and tuned["settings"]["decoder_only"] is True
