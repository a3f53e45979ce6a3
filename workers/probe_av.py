"""Describe a media file with PyAV, in ffprobe's JSON shape, for machines without an ffprobe binary.

`make run` needs no root step: where Debian's ffmpeg is not installed, transcoding uses the ffmpeg
binary of imageio-ffmpeg, which ships no ffprobe, and probing uses PyAV (its own FFmpeg libraries,
installed with faster-whisper). It runs as a child process, `python -m workers.probe_av DEMUXER PATH`,
so the caller's time limit can kill a read that hangs, exactly as with ffprobe; and it opens the file
with the same demuxer, protocol and codec whitelists.
"""

from __future__ import annotations

import json
import sys


def describe(path: str, demuxer: str, codecs: str | None) -> dict:
    import av
    from av.stream import Disposition

    options = {"protocol_whitelist": "file", "format_whitelist": demuxer}
    if codecs:
        options["codec_whitelist"] = codecs
    container = av.open(path, format=demuxer, container_options=options)
    with container:
        streams = []
        for s in container.streams:
            ctx = s.codec_context
            item = {"codec_type": s.type, "codec_name": ctx.name if ctx else None,
                    "disposition": {"attached_pic": int(bool(s.disposition & Disposition.attached_pic))}}
            if s.duration is not None and s.time_base is not None:
                item["duration"] = str(float(s.duration * s.time_base))
            if s.type == "video":
                item.update(width=ctx.width, height=ctx.height, pix_fmt=ctx.format.name if ctx.format else None)
                if s.average_rate:
                    item["avg_frame_rate"] = f"{s.average_rate.numerator}/{s.average_rate.denominator}"
                if s.base_rate:
                    item["r_frame_rate"] = f"{s.base_rate.numerator}/{s.base_rate.denominator}"
                item["side_data_list"] = [{"rotation": _rotation_of_first_frame(container, s)}]
            streams.append(item)
        fmt = {"format_name": container.format.name}
        if container.duration is not None:
            fmt["duration"] = str(container.duration / 1_000_000)
    return {"streams": streams, "format": fmt}


def _rotation_of_first_frame(container, stream) -> int:
    """PyAV reports the display matrix angle on decoded frames, in ffprobe's (counter-clockwise) sense."""
    if stream.disposition & 1024:  # attached picture: no rotation to speak of
        return 0
    try:
        for frame in container.decode(stream):
            return int(round(getattr(frame, "rotation", 0) or 0))
    except Exception:  # noqa: BLE001 - a frame that will not decode: the transcode step will say so
        return 0
    finally:
        container.seek(0)
    return 0


def main() -> int:
    demuxer, path = sys.argv[1], sys.argv[2]
    codecs = sys.argv[3] if len(sys.argv) > 3 else None
    try:
        print(json.dumps(describe(path, demuxer, codecs)))
    except Exception as exc:  # noqa: BLE001 - reported to the parent like ffprobe's stderr
        print(str(exc), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
