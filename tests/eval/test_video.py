"""``licodec eval --video``: rate controls of VP9 on a folder of clips."""

import json

from licodec.cli import main
from licodec.eval.video import TARGET_BPP, evaluate_video, summary, targets_for
from licodec.video.io import probe
from tests.conftest import needs_libvpx

pytestmark = needs_libvpx


def test_every_clip_at_every_target_by_every_rate_control_cached_and_summarised(clip, tmp_path):
    out = tmp_path / "out"
    rows = evaluate_video([clip], out, ["libvpx", "tpl"], frames=12, speed=5)
    assert len(rows) == 2 * len(TARGET_BPP)
    assert sorted({r.target_kbps for r in rows}) == targets_for(probe(clip))
    for row in rows:
        assert row.frames == 12 and len(row.frame_psnr) == 12 and 15 < row.psnr < 60 and 0 < row.ssim_y <= 1
    by_target = sorted((r for r in rows if r.rate_control == "tpl"), key=lambda r: r.target_kbps)
    assert by_target[0].psnr < by_target[-1].psnr and by_target[0].kbps < by_target[-1].kbps
    again = evaluate_video([clip], out, ["libvpx", "tpl"], frames=12, speed=5, on_row=lambda row: None)
    assert [r.kbps for r in again] == [r.kbps for r in rows]  # from the cache
    assert len((out / "cache.jsonl").read_text().splitlines()) == len(rows)
    table = summary(rows)
    assert "| clip.mkv |" in table and "tpl BD-rate" in table and "within +5% of target" in table


def test_the_command_skips_unreadable_clips_with_a_warning_and_writes_its_tables(clip, tmp_path, capsys):
    folder = tmp_path / "clips"
    folder.mkdir()
    (folder / "a.mkv").write_bytes(clip.read_bytes())
    (folder / "broken.mp4").write_bytes(b"\x00" * 100)
    (folder / "notes.md").write_text("not a clip")
    out = tmp_path / "out"
    assert main(["eval", str(folder), "--video", "--frames", "6", "--speed", "5", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "skipping broken.mp4" in captured.err and "| a.mkv |" in captured.out
    assert len(json.loads((out / "video.json").read_text())) == 3 * len(TARGET_BPP)  # libvpx, tpl, learned
    assert main(["eval", str(folder), "--video", "--rate-controls", "magic", "--out", str(out)]) == 1
    assert "unknown magic" in capsys.readouterr().err
