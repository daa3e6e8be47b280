"""Widget-level behaviour: token estimates, thumbnails, the protocol summary, meters and bounded panes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from textual.app import App, ComposeResult

from tests.ui.fakes import frame_event, jpeg
from tui.app.thumbnail import half_block_cells, tokens_per_frame
from tui.app.widgets.frame_preview import FramePreview
from tui.app.widgets.level_meter import LevelMeter, MeterReading
from tui.app.widgets.protocol_log import ProtocolLog, ProtocolTap, summarise
from tui.app.widgets.transcript import Transcript
from tui.live import events as ev


@pytest.mark.parametrize(
    ("size", "tokens"),
    [
        ((384, 384), 258),
        ((320, 240), 258),
        ((385, 200), 258),
        ((640, 480), 258),
        ((1024, 768), 516),
        ((1600, 900), 6 * 258),
    ],
)
def test_tokens_per_frame(size: tuple[int, int], tokens: int) -> None:
    assert tokens_per_frame(*size) == tokens


def test_half_block_cells_keep_colours_and_letterbox() -> None:
    cells = half_block_cells(jpeg(200, 100, (250, 0, 0)), 10, 5)
    assert len(cells) == 5 and all(len(row) == 10 for row in cells)
    top, bottom = cells[2][5]
    assert top[0] > 200 and top[1] < 30 and bottom[0] > 200  # red in the middle
    assert cells[0][5][0] == (2, 2, 2)  # black letterbox above a 2:1 picture in a 1:1 box
    with pytest.raises(ValueError, match="not an image"):
        half_block_cells(b"not a jpeg", 4, 2)


def test_summarise_names_frames_and_sizes_payloads() -> None:
    audio = {"realtime_input": {"audio": {"data": "A" * 1000, "mime_type": "audio/pcm;rate=16000"}}}
    assert summarise(audio) == ("media", "realtimeInput audio 750 B")
    call = {"toolCall": {"functionCalls": [{"id": "1", "name": "get_weather", "args": {"city": "Paris"}}]}}
    assert summarise(call) == ("tools", 'toolCall get_weather({"city": "Paris"})')
    content = {"serverContent": {"interrupted": True}}
    assert summarise(content) == ("conversation", "serverContent interrupted")


class _Harness(App[None]):
    def __init__(self, widget: Any) -> None:
        super().__init__()
        self.widget = widget

    def compose(self) -> ComposeResult:
        yield self.widget


async def test_protocol_log_collapses_repeats_and_stays_bounded() -> None:
    log = ProtocolLog(clock=lambda: 0.0, max_entries=50)
    async with _Harness(log).run_test(size=(60, 20)):
        tap = ProtocolTap(log.add)
        chunk = json.dumps({"realtime_input": {"audio": {"data": "A" * 2000, "mime_type": "audio/pcm"}}})
        model = json.dumps({"serverContent": {"modelTurn": {"parts": [{"inlineData": {"data": "B" * 4000}}]}}})
        for _ in range(30):  # mic out and model in interleave, as in a live call
            tap.on_send(0, chunk)
            tap.on_recv(0, model.encode())
        lines = log.plain_lines()
        assert lines == ["00:00 → realtimeInput audio 1500 B ×30", "00:00 ← serverContent audio 3000 B ×30"]
        for i in range(200):
            tap.on_recv(0, json.dumps({"serverContent": {"outputTranscription": {"text": f"w{i}"}}}).encode())
        assert len(log.entries) == 50 and log.block_count <= 50
        assert log.plain_lines()[-1].endswith("output 'w199'")


async def test_transcript_is_bounded_however_long_the_session() -> None:
    transcript = Transcript(clock=lambda: 0.0, max_turns=20)
    async with _Harness(transcript).run_test(size=(60, 20)):
        for g in range(100):
            transcript.apply(ev.UserText(f"question {g}"))
            transcript.apply(ev.ModelText(f"answer {g}", generation=g))
            transcript.apply(ev.TurnComplete(generation=g))
        assert len(transcript.state.turns) == 20
        assert transcript.block_count <= 40
        text = "\n".join(transcript.plain_lines())
        assert "answer 99" in text and "question 0" not in text


async def test_level_meter_shows_a_level_a_peak_and_muted_state() -> None:
    meter = LevelMeter("mic")
    async with _Harness(meter).run_test(size=(30, 4)):
        meter.show(MeterReading(level_db=-30.0, peak_db=-6.0, speaking=True), now=0.0)
        text = meter.render_text()
        assert "● speaking" in text and "-30dB" in text
        bar = text.splitlines()[1]
        assert bar.count("█") == round(0.5 * (len(bar) - 7)), "half the bar at -30 dBFS on a -60..0 scale"
        assert "│" in bar, "the held peak is marked"
        meter.show(MeterReading(level_db=-90.0, peak_db=-90.0), now=0.5)
        assert meter.held_peak_db == -6.0, "the peak holds for a second"
        meter.show(MeterReading(level_db=-90.0, peak_db=-90.0), now=2.0)
        assert meter.held_peak_db == pytest.approx(-26.0), "then falls at 20 dB/s"
        meter.show(MeterReading(level_db=-40.0, muted=True), now=2.1)
        assert "✕ MUTED" in meter.render_text()


async def test_frame_preview_reports_size_rate_and_tokens() -> None:
    clock = [0.0]
    preview = FramePreview(clock=lambda: clock[0])
    async with _Harness(preview).run_test(size=(30, 14)):
        for i in range(3):
            clock[0] = float(i)
            preview.add_frame(frame_event(1024, 768))
        first, second = preview.info_lines()
        assert first.startswith("1024×768") and "~516 tok/frame" in first
        assert second == "file 1.0 fps · ~516 tok/s"
        assert preview.frames_shown == 3


async def test_transcript_renders_code_results_search_and_usage_readably() -> None:
    transcript = Transcript(clock=lambda: 65.0, max_turns=20)
    async with _Harness(transcript).run_test(size=(70, 30)):
        transcript.apply(ev.UserText("compute 2**10 and search the news"))
        transcript.apply(ev.ExecutableCode("PYTHON", "print(2**10)", generation=0))
        transcript.apply(ev.CodeExecutionResult("OUTCOME_OK", "1024\n", generation=0))
        transcript.apply(ev.Grounding(("gemini news",), (("Example", "https://example.com/a"),), generation=0))
        transcript.apply(ev.ModelText("It is 1024.", generation=0))
        transcript.apply(ev.TurnComplete(generation=0))
        transcript.apply(ev.Usage(prompt_tokens=10, response_tokens=5, total_tokens=15))
        text = "\n".join(transcript.plain_lines())
        assert "01:05 you (typed)" in text
        assert "▸ code (python)" in text and "print(2**10)" in text
        assert "▸ result ✓" in text and "1024" in text
        assert "▸ searched: gemini news" in text and "[1] Example https://example.com/a" in text
        assert "Σ tokens in 10 · out 5 · total 15" in text


async def test_transcript_says_a_reply_lost_with_its_connection_was_cut_not_interrupted() -> None:
    transcript = Transcript(clock=lambda: 65.0, max_turns=20)
    async with _Harness(transcript).run_test(size=(70, 30)):
        transcript.apply(ev.UserText("tell me a story"))
        transcript.apply(ev.ModelText("Once upon", generation=0))
        transcript.apply(ev.Interrupted(generation=0, cause="drop"))
        transcript.apply(ev.ModelText("Hi", generation=1))
        transcript.apply(ev.Interrupted(generation=1, cause="go_away"))
        transcript.apply(ev.ModelText("Well", generation=2))
        transcript.apply(ev.Interrupted(generation=2))
        text = "\n".join(transcript.plain_lines())
        assert "■ cut: connection lost" in text and "■ cut: server going away" in text
        assert text.count("■ interrupted") == 1  # only the barge-in
        assert "…" not in text  # none of them is shown as still streaming


async def test_transcript_puts_a_tool_call_where_it_happened_in_the_reply() -> None:
    transcript = Transcript(clock=lambda: 65.0, max_turns=20)
    call = ev.FunctionCall("c1", "get_weather", {"city": "Paris"})
    async with _Harness(transcript).run_test(size=(70, 30)):
        transcript.apply(ev.UserText("weather in Paris?"))
        transcript.apply(ev.ModelText("Let me check.", generation=0))
        transcript.apply(ev.ToolCall((call,), generation=0))
        transcript.apply(ev.ToolStatusChanged("c1", "get_weather", "ok", {"city": "Paris"}, {"temp_c": 18}, 3.0))
        transcript.apply(ev.ModelText(" It is 18 °C in Paris.", generation=0))
        transcript.apply(ev.TurnComplete(generation=0))
        lines = [line.strip() for line in transcript.plain_lines()]
        before = lines.index("Let me check.")
        tool = next(i for i, line in enumerate(lines) if line.startswith("⚙ ✓ get_weather(city='Paris')"))
        after = lines.index("It is 18 °C in Paris.")
        assert before < tool < after, lines


async def test_transcript_puts_a_tool_call_inside_a_spoken_reply_too() -> None:
    transcript = Transcript(clock=lambda: 65.0, max_turns=20)
    call = ev.FunctionCall("c1", "get_time", {})
    async with _Harness(transcript).run_test(size=(70, 30)):
        transcript.apply(ev.UserText("what time is it?"))
        transcript.apply(ev.OutputTranscript("One moment.", generation=0))
        transcript.apply(ev.ToolCall((call,), generation=0))
        transcript.apply(ev.ToolStatusChanged("c1", "get_time", "ok", {}, {"time": "12:00"}, 1.0))
        transcript.apply(ev.OutputTranscript(" It is noon.", generation=0))
        transcript.apply(ev.ToolCall((ev.FunctionCall("c2", "get_date", {}),), generation=0))
        transcript.apply(ev.TurnComplete(generation=0))
        lines = [line.strip() for line in transcript.plain_lines()]
        first = next(i for i, line in enumerate(lines) if "get_time" in line)
        second = next(i for i, line in enumerate(lines) if "get_date" in line)
        assert lines.index("One moment.") < first < lines.index("It is noon.") < second, lines
