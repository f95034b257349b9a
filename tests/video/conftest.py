import shutil
import subprocess
from pathlib import Path

import pytest

HAVE_FFMPEG = shutil.which("ffmpeg") is not None and shutil.which("ffprobe") is not None
HAVE_LIBVPX = Path("/usr/include/vpx/vpx_ext_ratectrl.h").exists() and shutil.which("cc") is not None
needs_ffmpeg = pytest.mark.skipif(not HAVE_FFMPEG, reason="Debian's ffmpeg is not installed ('make system')")
needs_libvpx = pytest.mark.skipif(not (HAVE_LIBVPX and HAVE_FFMPEG), reason="Debian's libvpx-dev, ffmpeg and a C compiler ('make system')")


@pytest.fixture(scope="session")
def clip(tmp_path_factory) -> Path:
    """24 frames of ffmpeg's moving test pattern, 96x64 at 12 fps, stored losslessly."""
    if not HAVE_FFMPEG:
        pytest.skip("Debian's ffmpeg is not installed ('make system')")
    path = tmp_path_factory.mktemp("video") / "clip.mkv"
    command = ["ffmpeg", "-v", "error", "-nostdin", "-f", "lavfi", "-i", "testsrc2=size=96x64:rate=12", "-frames:v", "24", "-c:v", "ffv1", str(path)]
    subprocess.run(command, check=True)
    return path
