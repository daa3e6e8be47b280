"""Video frames for the model: screen share (mss), camera (OpenCV, optional) and frames from files, as JPEG.

Invariants:
- A frame is encoded to JPEG exactly once (``encode_jpeg``); those bytes are what is sent, what the thumbnail
  shows and what the recorder stores. The longest side is at most ``max_size`` px (1024 by default).
- A ``FrameSource`` does blocking capture and encoding in ``grab()``; ``stream_frames`` calls it on the source's
  own single worker thread (mss and OpenCV handles are bound to the thread that made them) and paces the result
  at no more than ``fps`` frames per second, never bursting to catch up.
- Optional dependencies (OpenCV) are imported lazily; a missing one is a ``UserError`` saying what to install.
"""

from __future__ import annotations

import asyncio
import io
import os
import time
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image, UnidentifiedImageError

from tui.errors import UserError

if TYPE_CHECKING:
    from tui.config import VideoSettings

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff"})
VIDEO_SUFFIXES = frozenset({".mp4", ".mkv", ".avi", ".mov", ".webm", ".m4v", ".mpg", ".mpeg"})
CAMERA_HINT = "pip install 'gemini-live-tui[camera]' (OpenCV)"


@dataclass(frozen=True, slots=True)
class Frame:
    """One encoded frame: the exact JPEG bytes sent."""

    jpeg: bytes
    width: int
    height: int
    source: str
    """``screen``, ``camera`` or ``file``."""


def encode_jpeg(image: Image.Image, *, source: str, max_size: int = 1024, quality: int = 70) -> Frame:
    """Downscale ``image`` so its longest side is ≤ ``max_size`` (aspect kept) and encode it once as JPEG."""
    if image.mode != "RGB":
        image = image.convert("RGB")
    if max(image.size) > max_size:
        scale = max_size / max(image.size)
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        # reducing_gap: a fast integer pre-shrink, then a proper filter; quality is indistinguishable at ≤1024 px.
        image = image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=quality, optimize=False)
    return Frame(buf.getvalue(), image.width, image.height, source)


class FrameSource:
    """Something that yields frames. ``grab()`` blocks; None means the source has ended."""

    source = "file"

    def __init__(self, *, max_size: int = 1024, quality: int = 70) -> None:
        self.max_size = max_size
        self.quality = quality

    def grab(self) -> Frame | None:  # pragma: no cover - interface
        raise NotImplementedError

    def close(self) -> None:
        """Release the device or file (called on the grabbing thread)."""

    def _encode(self, image: Image.Image) -> Frame:
        return encode_jpeg(image, source=self.source, max_size=self.max_size, quality=self.quality)


# ------------------------------------------------------------------------------------------------ screen


class ScreenSource(FrameSource):
    """A monitor (mss numbering: 1 = primary, 0 = all) or a region ``(left, top, width, height)``."""

    source = "screen"

    def __init__(
        self,
        *,
        monitor: int = 1,
        region: tuple[int, int, int, int] | None = None,
        max_size: int = 1024,
        quality: int = 70,
    ) -> None:
        super().__init__(max_size=max_size, quality=quality)
        self.monitor = monitor
        self.region = region
        self._sct: Any = None
        self._area: dict[str, int] | None = None

    def _open(self) -> None:
        import mss
        import mss.exception

        try:
            # mss 10.2 renamed the factory to MSS (mss.mss warns); keep working on 10.0/10.1 too.
            factory = getattr(mss, "MSS", None) or mss.mss
            self._sct = factory()
        except mss.exception.ScreenShotError as exc:
            raise UserError(f"screen share: no display to capture ({exc}); is DISPLAY set? Try --frames PATH") from None
        monitors = self._sct.monitors
        if self.region is not None:
            left, top, width, height = self.region
            if width <= 0 or height <= 0:
                raise UserError(f"--region {self.region}: width and height must be positive")
            self._area = {"left": left, "top": top, "width": width, "height": height}
        elif 0 <= self.monitor < len(monitors):
            self._area = dict(monitors[self.monitor])
        else:
            listed = ", ".join(f"{i}: {m['width']}x{m['height']}" for i, m in enumerate(monitors))
            raise UserError(f"--screen {self.monitor}: no such monitor; monitors: {listed}")

    def grab(self) -> Frame | None:
        import mss.exception

        if self._sct is None:
            self._open()
        try:
            shot = self._sct.grab(self._area)
        except mss.exception.ScreenShotError as exc:
            raise UserError(f"screen share: capture failed ({exc}); is the region on screen?") from None
        image = Image.frombytes("RGB", shot.size, shot.rgb)
        return self._encode(image)

    def close(self) -> None:
        if self._sct is not None:
            self._sct.close()
            self._sct = None


# ------------------------------------------------------------------------------------------------ camera


def _load_cv2() -> Any:
    # OpenCV logs warnings (e.g. a camera index that does not exist) straight to stderr, which would scribble over
    # the TUI; failures are reported through UserError instead.
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    try:
        import cv2
    except ImportError:
        raise UserError(f"the camera and video files need OpenCV: {CAMERA_HINT}") from None
    return cv2


class CameraSource(FrameSource):
    """Camera ``index`` through OpenCV."""

    source = "camera"

    def __init__(self, *, index: int = 0, max_size: int = 1024, quality: int = 70) -> None:
        super().__init__(max_size=max_size, quality=quality)
        self.index = index
        self._cap: Any = None

    def grab(self) -> Frame | None:
        cv2 = _load_cv2()
        if self._cap is None:
            self._cap = cv2.VideoCapture(self.index)
            if not self._cap.isOpened():
                self._cap.release()
                self._cap = None
                raise UserError(f"camera {self.index} would not open; try --camera N with another number")
        ok, bgr = self._cap.read()
        if not ok:
            raise UserError(f"camera {self.index} stopped giving frames")
        return self._encode(Image.fromarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)))

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


# ------------------------------------------------------------------------------------------------ files


def _open_image(path: Path) -> Image.Image:
    try:
        image = Image.open(path)
        image.load()
    except (UnidentifiedImageError, OSError) as exc:
        raise UserError(f"--frames: {path} is not a readable image ({exc.__class__.__name__})") from None
    return image


class ImageFilesSource(FrameSource):
    """One image, a folder of images (sorted by name) or an animated GIF/WebP, sampled on the media's timeline.

    A still image is one frame; an animation advances by its own frame durations at ``1 / fps`` per sent frame.
    With ``loop`` the sequence starts again at the end instead of ending.
    """

    def __init__(self, path: Path, *, fps: float = 1.0, loop: bool = False, max_size: int = 1024, quality: int = 70):
        super().__init__(max_size=max_size, quality=quality)
        self.path = path
        self.fps = fps
        self.loop = loop
        if path.is_dir():
            self.files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
            if not self.files:
                raise UserError(f"--frames: {path} has no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        elif path.is_file():
            self.files = [path]
        else:
            raise UserError(f"--frames: {path} does not exist")
        self._file_index = 0
        # The current file, open, with each frame's start time; frames are decoded one at a time as they are sent,
        # so a long animation costs one frame of memory, not all of them.
        self._image: Image.Image | None = None
        self._starts: list[float] = []
        self._end = 0.0
        self._t = 0.0

    def _load_current(self) -> None:
        if self._image is not None:
            self._image.close()
        image = _open_image(self.files[self._file_index])
        starts: list[float] = []
        t = 0.0
        n_frames = int(getattr(image, "n_frames", 1))
        if n_frames > 1:
            for index in range(n_frames):
                image.seek(index)
                starts.append(t)
                t += max(0.02, float(image.info.get("duration", 100)) / 1000.0)
            image.seek(0)
        else:
            starts.append(0.0)
            t = 1.0 / self.fps
        self._image, self._starts, self._end, self._t = image, starts, t, 0.0

    def grab(self) -> Frame | None:
        if self._image is None:
            self._load_current()
        if self._t >= self._end:
            self._file_index += 1
            if self._file_index >= len(self.files):
                if not self.loop:
                    return None
                self._file_index = 0
            self._load_current()
        image = self._image
        assert image is not None
        index = max(i for i, start in enumerate(self._starts) if start <= self._t)
        if index != image.tell():
            image.seek(index)
        self._t += 1.0 / self.fps
        return self._encode(image.convert("RGB"))

    def close(self) -> None:
        if self._image is not None:
            self._image.close()
            self._image = None


class VideoFileSource(FrameSource):
    """A video file through OpenCV, sampled at ``fps`` on the video's own timeline."""

    def __init__(self, path: Path, *, fps: float = 1.0, loop: bool = False, max_size: int = 1024, quality: int = 70):
        super().__init__(max_size=max_size, quality=quality)
        if not path.is_file():
            raise UserError(f"--frames: {path} does not exist")
        self.path = path
        self.fps = fps
        self.loop = loop
        self._cv2 = _load_cv2()
        self._cap: Any = None
        self._t_ms = 0.0

    def grab(self) -> Frame | None:
        cv2 = self._cv2
        if self._cap is None:
            self._cap = cv2.VideoCapture(str(self.path))
            if not self._cap.isOpened():
                raise UserError(f"--frames: OpenCV cannot read {self.path}")
        self._cap.set(cv2.CAP_PROP_POS_MSEC, self._t_ms)
        ok, bgr = self._cap.read()
        if not ok:
            if not self.loop or self._t_ms == 0.0:
                return None
            self._t_ms = 0.0
            return self.grab()
        self._t_ms += 1000.0 / self.fps
        return self._encode(Image.fromarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)))

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


def open_frames_path(
    path: Path, *, fps: float = 1.0, loop: bool = False, max_size: int = 1024, quality: int = 70
) -> FrameSource:
    """The right source for ``--frames PATH``: images, a folder, an animated GIF, or a video (needs OpenCV)."""
    if path.is_file() and path.suffix.lower() in VIDEO_SUFFIXES:
        try:
            return VideoFileSource(path, fps=fps, loop=loop, max_size=max_size, quality=quality)
        except UserError:
            if not path.exists():
                raise
            raise UserError(
                f"--frames {path}: reading video files needs OpenCV ({CAMERA_HINT}); "
                "an animated GIF or a folder of images works without it"
            ) from None
    return ImageFilesSource(path, fps=fps, loop=loop, max_size=max_size, quality=quality)


def source_from_settings(video: VideoSettings) -> FrameSource | None:
    """The source ``VideoSettings`` ask for, or None for ``source = "none"``."""
    common = {"max_size": video.max_size, "quality": video.jpeg_quality}
    if video.source == "screen":
        return ScreenSource(monitor=video.monitor, region=video.region, **common)
    if video.source == "camera":
        _load_cv2()  # fail at start, not at the first frame
        return CameraSource(index=video.camera_index, **common)
    if video.source == "file":
        if video.frames_path is None:
            raise UserError("--frames needs a path")
        return open_frames_path(video.frames_path, fps=video.fps, loop=video.frames_loop, **common)
    return None


# ------------------------------------------------------------------------------------------------ pacing


async def stream_frames(
    source: FrameSource,
    fps: float,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Any] = asyncio.sleep,
) -> AsyncIterator[Frame]:
    """Frames from ``source`` at no more than ``fps``, grabbed on one dedicated thread; ends when the source does."""
    period = 1.0 / fps
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"frames-{source.source}")
    loop = asyncio.get_running_loop()
    try:
        next_at = clock()
        while True:
            frame = await loop.run_in_executor(executor, source.grab)
            if frame is None:
                return
            yield frame
            next_at += period
            now = clock()
            if next_at < now:  # capture was slower than the period: start afresh rather than burst to catch up
                next_at = now
            await sleep(next_at - now)
    finally:
        await loop.run_in_executor(executor, source.close)
        executor.shutdown(wait=False)


def describe_frames(frames: Sequence[Frame]) -> str:
    """``N frames, WxH, B bytes avg`` (for logs and the headless summary)."""
    if not frames:
        return "no frames"
    avg = sum(len(f.jpeg) for f in frames) // len(frames)
    return f"{len(frames)} frames, {frames[-1].width}x{frames[-1].height}, {avg} bytes avg"
