"""Frames from files: encoding once, downscaling, folders, animated GIFs, pacing, clear errors."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tui.errors import UserError
from tui.media.video import (
    ImageFilesSource,
    encode_jpeg,
    open_frames_path,
    source_from_settings,
    stream_frames,
)


def decode(jpeg: bytes) -> Image.Image:
    return Image.open(io.BytesIO(jpeg)).convert("RGB")


def test_encode_downscales_longest_side_and_keeps_colour() -> None:
    frame = encode_jpeg(Image.new("RGB", (3000, 1500), (200, 30, 40)), source="file", max_size=1024, quality=80)
    assert (frame.width, frame.height) == (1024, 512)
    img = decode(frame.jpeg)
    assert img.size == (1024, 512)
    r, g, b = img.getpixel((512, 256))  # type: ignore[misc]
    assert abs(r - 200) < 6 and abs(g - 30) < 6 and abs(b - 40) < 6
    small = encode_jpeg(Image.new("L", (64, 48), 128), source="file")
    assert (small.width, small.height) == (64, 48)  # never upscaled


def test_folder_is_sent_in_name_order_then_ends(tmp_path: Path) -> None:
    colours = {"b.png": (0, 255, 0), "a.jpg": (255, 0, 0), "c.bmp": (0, 0, 255)}
    for name, colour in colours.items():
        Image.new("RGB", (32, 32), colour).save(tmp_path / name)
    (tmp_path / "notes.txt").write_text("not an image")
    src = ImageFilesSource(tmp_path, fps=1.0)
    frames = [src.grab() for _ in range(4)]
    assert frames[3] is None
    dominant = [max(range(3), key=lambda i: decode(f.jpeg).getpixel((16, 16))[i]) for f in frames[:3]]  # type: ignore[index, union-attr]
    assert dominant == [0, 1, 2]  # a.jpg red, b.png green, c.bmp blue


def test_animated_gif_is_sampled_on_its_own_timeline(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (16, 16), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=500, loop=0)
    src = open_frames_path(path, fps=2.0)  # 0.5 s per sent frame = one GIF frame each
    got = [src.grab() for _ in range(4)]
    assert got[3] is None
    dominant = [max(range(3), key=lambda i: decode(f.jpeg).getpixel((8, 8))[i]) for f in got[:3]]  # type: ignore[index, union-attr]
    assert dominant == [0, 1, 2]
    looping = open_frames_path(path, fps=1.0, loop=True)  # 1 s per frame: every other GIF frame, forever
    assert all(looping.grab() is not None for _ in range(6))


def test_bad_paths_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="does not exist"):
        open_frames_path(tmp_path / "missing.png")
    with pytest.raises(UserError, match="has no images"):
        open_frames_path(tmp_path)
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(UserError, match="not a readable image"):
        open_frames_path(bad).grab()


def test_video_file_without_opencv_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "cv2", None)
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"\x00" * 64)
    with pytest.raises(UserError, match=r"needs OpenCV.*\[camera\].*animated GIF"):
        open_frames_path(video)

    class Camera:
        source = "camera"
        camera_index = 0
        max_size = 1024
        jpeg_quality = 70

    with pytest.raises(UserError, match=r"camera and video files need OpenCV"):
        source_from_settings(Camera())


async def test_stream_frames_paces_at_fps_without_bursting(tmp_path: Path) -> None:
    for i in range(5):
        Image.new("RGB", (8, 8), (i * 40, 0, 0)).save(tmp_path / f"{i}.png")
    now = [0.0]
    sleeps: list[float] = []

    async def fake_sleep(s: float) -> None:
        sleeps.append(round(s, 6))
        now[0] += s

    out = [f async for f in stream_frames(ImageFilesSource(tmp_path), 2.0, clock=lambda: now[0], sleep=fake_sleep)]
    assert len(out) == 5
    assert sleeps == [0.5] * 5


def _cv2() -> Any:
    return pytest.importorskip("cv2", reason="OpenCV is not installed (pip install -e '.[dev]' or '.[camera]')")


def test_video_file_is_sampled_at_fps_through_opencv(tmp_path: Path) -> None:
    cv2 = _cv2()
    import numpy as np

    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (320, 240))
    for i in range(30):  # 3 s at 10 fps: one second each of red, green, blue (OpenCV is BGR)
        img = np.zeros((240, 320, 3), np.uint8)
        img[:] = ((0, 0, 255), (0, 255, 0), (255, 0, 0))[i // 10]
        writer.write(img)
    writer.release()
    src = open_frames_path(path, fps=1.0)
    frames = []
    while (f := src.grab()) is not None:
        frames.append(f)
    src.close()
    assert [(f.width, f.height, f.source) for f in frames] == [(320, 240, "file")] * 3
    dominant = [max(range(3), key=lambda i: decode(f.jpeg).getpixel((5, 5))[i]) for f in frames]  # type: ignore[index]
    assert dominant == [0, 1, 2]


def test_camera_that_does_not_exist_is_a_user_error() -> None:
    _cv2()
    from tui.media.video import CameraSource

    src = CameraSource(index=57)
    with pytest.raises(UserError, match="camera 57 would not open; try --camera N"):
        src.grab()
    src.close()
