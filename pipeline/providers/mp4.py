"""Still pictures into an MP4 that plays inline everywhere, within a size limit.

H.264 in yuv420p (what every browser, Slack and Discord decode), the moov atom before the media
(`+faststart`: playback starts before the whole file has arrived), a keyframe at each still.
PyAV's wheel ships FFmpeg with libx264, so nothing needs installing on the machine.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import av
from PIL import Image

# (x264 constant-rate factor, most bits a second): the first that fits the limit is kept. A
# still costs little after its keyframe, so the cap mostly bounds those keyframes.
QUALITIES = ((24, 2_000_000), (32, 600_000), (40, 150_000))


class TooLarge(Exception):  # noqa: N818 - a result, said as one
    def __init__(self, size: int) -> None:
        super().__init__(f"{size} bytes")
        self.size = size


class EncodeFailed(Exception):  # noqa: N818
    pass


def encode_stills(
    stills: list[Image.Image], fps: int, frames_per_still: int, max_bytes: int
) -> bytes:
    """Each still shown for `frames_per_still` frames at `fps`; re-encoded at a lower bitrate
    until it fits `max_bytes`, else `TooLarge` with the smallest size reached."""
    smallest = 0
    for crf, max_rate in QUALITIES:
        data = _encode(stills, fps, frames_per_still, crf, max_rate)
        if len(data) <= max_bytes:
            return data
        smallest = len(data)
    raise TooLarge(smallest)


def _encode(
    stills: list[Image.Image], fps: int, frames_per_still: int, crf: int, max_rate: int
) -> bytes:
    width, height = stills[0].size
    options = {
        "preset": "superfast",
        "crf": str(crf),
        "maxrate": str(max_rate),
        "bufsize": str(max_rate * 2),
        "g": str(frames_per_still),
        # No lookahead and no B-frames: a repeated still gains nothing from them, and they are
        # most of the encoding time.
        "x264-params": "rc-lookahead=0:bframes=0:scenecut=0",
    }
    # faststart moves the moov atom by rewriting the file, so it is written to a real file.
    with tempfile.TemporaryDirectory(prefix="draftroom-clip-") as workdir:
        target = Path(workdir) / "clip.mp4"
        try:
            with av.open(str(target), "w", format="mp4", options={"movflags": "+faststart"}) as out:
                stream = out.add_stream("libx264", rate=fps, options=options)
                stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
                index = 0
                for still in stills:
                    # Converted once per still; each frame of it is the same picture, a new time.
                    rgb = av.VideoFrame.from_image(still)  # type: ignore[no-untyped-call]
                    frame = rgb.reformat(format="yuv420p")
                    for _ in range(frames_per_still):
                        frame.pts = index
                        index += 1
                        out.mux(stream.encode(frame))
                out.mux(stream.encode(None))
        except av.FFmpegError as exc:
            raise EncodeFailed(str(exc)) from exc
        return target.read_bytes()
