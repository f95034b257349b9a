import subprocess
import sys

import pytest
import torch

from licodec.cli import main
from tests.conftest import REPO
from tests.train.conftest import TINY_ARGS


def run_train(capsys, *args) -> tuple[int, str]:
    """Exit status and the last stderr line of ``licodec train``; argparse's refusals count as status 2."""
    try:
        status = main(["train", *args, *TINY_ARGS])
    except SystemExit as exc:
        status = exc.code
    lines = capsys.readouterr().err.strip().splitlines()
    return status, lines[-1] if lines else ""


@pytest.mark.parametrize(
    "option, message",
    [
        (["--crop", "96"], "multiple of 64"),
        (["--lambdas", "0.05,0.01"], "increasing"),
        (["--lambdas", "0.05"], "at least two"),
        (["--batch-size", "0"], "batch-size"),
        (["--ema-decay", "1"], "decay"),
        (["--decoder-widths", "8,x,8"], "decoder-widths"),
        (["--rung-weights", "1,0"], "rung-weights"),
    ],
)
def test_bad_settings_are_refused_before_any_work(image_folder, tmp_path, capsys, option, message):
    status, error = run_train(capsys, str(image_folder), "--run-dir", str(tmp_path / "run"), "--steps", "1", *option)
    assert status == 2 and message in error
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("device, message", [("tpu", "takes cpu or cuda"), ("cuda:x", "takes cpu or cuda"), ("cuda", "sees no CUDA GPU")])
def test_a_device_this_machine_lacks_is_one_line(image_folder, tmp_path, capsys, device, message):
    if device == "cuda" and torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    status, error = run_train(capsys, str(image_folder), "--run-dir", str(tmp_path / "run"), "--steps", "1", "--device", device)
    assert status == 1 and message in error and error.count("\n") == 0
    assert not (tmp_path / "run").exists()


def test_a_missing_data_folder_is_one_line(tmp_path, capsys):
    assert run_train(capsys, str(tmp_path / "absent"), "--run-dir", str(tmp_path / "run"), "--steps", "1") == (
        1, f"licodec: error: {tmp_path / 'absent'}: no such folder",
    )  # fmt: skip


def test_an_existing_checkpoint_needs_resume_or_force(image_folder, tmp_path, capsys):
    run_dir = str(tmp_path / "run")
    assert run_train(capsys, str(image_folder), "--run-dir", run_dir, "--resume", "--steps", "1")[1].endswith("does not exist")
    assert run_train(capsys, str(image_folder), "--run-dir", run_dir, "--steps", "1")[0] == 0
    checkpoint = (tmp_path / "run" / "checkpoint.pt").read_bytes()
    status, error = run_train(capsys, str(image_folder), "--run-dir", run_dir, "--steps", "2")
    assert status == 1 and "--resume" in error and "--force" in error
    assert (tmp_path / "run" / "checkpoint.pt").read_bytes() == checkpoint
    assert run_train(capsys, str(image_folder), "--run-dir", run_dir, "--steps", "2", "--resume", "--force")[1].endswith("contradict each other")
    assert run_train(capsys, str(image_folder), "--run-dir", run_dir, "--steps", "2", "--force")[0] == 0


def test_a_run_dir_that_is_a_file_is_refused(image_folder, tmp_path, capsys):
    (tmp_path / "run").write_text("mine")
    assert run_train(capsys, str(image_folder), "--run-dir", str(tmp_path / "run"), "--steps", "1") == (
        1, f"licodec: error: {tmp_path / 'run'} is a file, not a run folder",
    )  # fmt: skip
    status, error = run_train(capsys, str(image_folder), "--run-dir", str(tmp_path / "run" / "sub"), "--steps", "1")
    assert status == 1 and error.startswith(f"licodec: error: cannot create the run folder {tmp_path / 'run' / 'sub'}")


def test_an_existing_export_file_needs_force(image_folder, tmp_path, capsys):
    (tmp_path / "w.safetensors").write_bytes(b"mine")
    status, error = run_train(
        capsys, str(image_folder), "--run-dir", str(tmp_path / "run"), "--steps", "1", "--export", str(tmp_path / "w.safetensors")
    )
    assert status == 1 and "--force" in error
    assert (tmp_path / "w.safetensors").read_bytes() == b"mine" and not (tmp_path / "run").exists()


def test_init_weights_that_do_not_fit_the_network_are_one_line(image_folder, tmp_path, capsys):
    weights = tmp_path / "w.safetensors"
    assert run_train(capsys, str(image_folder), "--run-dir", str(tmp_path / "a"), "--steps", "1", "--export", str(weights))[0] == 0
    args = [a if a != "8,8,8" else "4,8,8" for a in TINY_ARGS]  # a narrower decoder: wider ones grow
    status = main(["train", str(image_folder), "--run-dir", str(tmp_path / "b"), "--steps", "1", "--init-weights", str(weights), *args])
    assert status == 1 and "does not fit this run" in capsys.readouterr().err
    (tmp_path / "junk.safetensors").write_bytes(b"junk")
    status, error = run_train(
        capsys, str(image_folder), "--run-dir", str(tmp_path / "c"), "--steps", "1", "--init-weights", str(tmp_path / "junk.safetensors")
    )
    assert status == 1 and "not a licodec weights file" in error


def test_python_m_licodec_train_reports_errors_in_one_line(tmp_path):
    command = [sys.executable, "-m", "licodec", "train", "model", str(tmp_path / "absent"), "--run-dir", str(tmp_path / "run")]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and result.stderr.strip() == f"licodec: error: {tmp_path / 'absent'}: no such folder"


def test_rung_weights_must_name_every_rung(image_folder, tmp_path, capsys):
    status, error = run_train(capsys, str(image_folder), "--run-dir", str(tmp_path / "run"), "--steps", "1", "--rung-weights", "1,2,3")
    assert (status, error) == (1, "licodec: error: --rung-weights gives 3 weights for a ladder of 2 rungs")
    assert not (tmp_path / "run").exists()
