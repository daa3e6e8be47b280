"""``tui.media.bridge.MediaBridge`` as the UI's ``MediaPort``: levels for the meters, played ms, video toggles.

Event-loop only, like the bridge. Camera and screen toggles run a frame pump of their own next to the bridge's
(the bridge streams what the settings asked for at start); every frame goes through ``session.send_frame``, so
the preview and the recorder see exactly the bytes sent.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tui.app.ports import SessionPort, maybe_await
from tui.app.widgets.level_meter import MeterReading
from tui.live import events as ev

if TYPE_CHECKING:
    from tui.config import Settings
    from tui.media.bridge import ChannelLevels, MediaBridge

NoticeSink = Callable[[ev.Notice], None]

AUDIO_OFF_MESSAGE = "audio is off (--no-audio): text only"
"""Why there is no audio when the user asked for none: a choice, said plainly, not a warning."""
_AUDIO_OFF = MeterReading(level_db=None, available=False, off="--no-audio")


def _reading(ch: ChannelLevels, *, speaker: bool) -> MeterReading:
    return MeterReading(
        level_db=ch.level_dbfs if ch.available else None,
        peak_db=ch.peak_dbfs if ch.available else None,
        speaking=ch.speaking,
        muted=ch.muted,
        underruns=ch.underruns if speaker else None,
        available=ch.available,
    )


class BridgeMedia:
    """Adapts a ``MediaBridge`` to what the screen polls and the app toggles."""

    def __init__(self, bridge: MediaBridge, settings: Settings) -> None:
        self.bridge = bridge
        self.settings = settings
        self._generation = -1
        self._session: SessionPort | None = None
        self._video: dict[str, asyncio.Task[None]] = {}
        self._started = False

    @property
    def audio_problem(self) -> str | None:
        if not self._started:
            return None
        if not self.settings.audio.enabled:
            return AUDIO_OFF_MESSAGE
        if self.bridge.audio_available:
            return None
        for notice in reversed(self.bridge.notices):
            if notice.level in ("warning", "error"):
                return notice.message
        return "no audio device"

    @property
    def muted(self) -> bool:
        return bool(self.bridge.muted)

    def set_muted(self, muted: bool) -> None:
        self.bridge.set_muted(muted)

    def readings(self, now: float) -> tuple[MeterReading, MeterReading]:
        if not self.settings.audio.enabled:
            return _AUDIO_OFF, _AUDIO_OFF
        levels = self.bridge.levels()
        return _reading(levels.mic, speaker=False), _reading(levels.speaker, speaker=True)

    def played_ms(self, generation: int) -> float | None:
        playback = self.bridge.turn_playback(generation)
        return None if playback is None else playback.played_ms

    def handle_event(self, event: ev.SessionEvent) -> None:
        generation = getattr(event, "generation", None)
        if isinstance(generation, int):
            self._generation = max(self._generation, generation)
        self.bridge.handle(event)

    def interrupt(self) -> None:
        speaker = self.bridge.speaker
        if speaker is not None and self._generation >= 0:
            speaker.interrupt(self._generation)

    def toggle_video(self, source: str) -> bool | None:
        task = self._video.pop(source, None)
        if task is not None:
            task.cancel()
            return False
        if self._session is None:
            return None
        from tui.errors import UserError
        from tui.media.video import source_from_settings

        video = self.settings.video.model_copy(update={"source": source})
        try:
            frames = source_from_settings(video)
        except UserError as exc:
            self.bridge.notice("warning", str(exc))
            return None
        if frames is None:
            return None
        self._video[source] = asyncio.create_task(self._pump(source, frames, video.fps), name=f"ui-{source}-frames")
        return True

    async def _pump(self, name: str, frames: Any, fps: float) -> None:
        from tui.errors import UserError
        from tui.media.video import stream_frames

        session = self._session
        assert session is not None
        try:
            async for frame in stream_frames(frames, fps):
                await maybe_await(
                    session.send_frame(  # type: ignore[attr-defined]
                        frame.jpeg, width=frame.width, height=frame.height, source=frame.source
                    )
                )
        except UserError as exc:
            self.bridge.notice("warning", str(exc))
        finally:
            # Ended (no device, end of file, error): the next toggle starts it again rather than "stopping" it.
            if self._video.get(name) is asyncio.current_task():
                del self._video[name]

    async def set_devices(self, *, input_device: str | None, output_device: str | None) -> None:
        self.settings = self.settings.model_copy(
            update={
                "audio": self.settings.audio.model_copy(
                    update={"input_device": input_device, "output_device": output_device, "enabled": True}
                )
            }
        )
        await self.bridge.set_devices(input_device=input_device, output_device=output_device)

    async def start(self, session: SessionPort) -> None:
        self._session = session
        await self.bridge.start(session)  # type: ignore[arg-type]
        self._started = True

    async def stop(self) -> None:
        for task in self._video.values():
            task.cancel()
        for task in self._video.values():
            with contextlib.suppress(BaseException):
                await task
        self._video.clear()
        await self.bridge.stop()


def bridge_media(settings: Settings, on_notice: NoticeSink | None = None) -> BridgeMedia:
    """The real media for ``settings``: PortAudio mic and speaker (or text-only with a notice), frames."""
    from tui.media.bridge import MediaBridge

    bridge = MediaBridge(settings.audio, settings.video, on_notice=on_notice)
    return BridgeMedia(bridge, settings)
