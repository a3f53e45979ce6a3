"""Who talks when in a lesson recording: speaker turns, the teacher's voice, rising intonation and overlaps.

Pure functions on a 16 kHz mono recording (the WAV the pipeline extracts); no Flask, database or Celery, and no
model download: voice activity comes from the Silero VAD ONNX model that faster-whisper ships inside its package
(`faster_whisper.vad.get_speech_timestamps`), everything else is signal processing and small statistical models
in numpy and scipy, fitted to the lesson itself.

How it works, and why (figures from tests/unit/test_speakers.py and bench/speakers.py on tests/lessongen.py's
scripted espeak-ng lessons):

1. Streaming front end. The recording is read in 60 s chunks: a 16 kHz 16-bit mono PCM WAV straight from the file
   with `wave` (the decoded audio is never held whole); any other file through `faster_whisper.decode_audio`, which
   does hold it (4 bytes a sample). Per chunk, Silero VAD gives the speech regions (60 ms padding, 300 ms of
   silence ends a region), run in two worker threads one and two chunks ahead while the main thread analyses the
   current chunk (ONNX Runtime and numpy's FFTs release the GIL, so on a two-core worker VAD and features overlap).
   Only frames inside speech (20 ms hop) are analysed: MFCC c1..c19 from 40 log-mel bands of a 32 ms window (c0,
   the level, is left out so a voice does not split by distance from the microphone), the level in dBFS, and F0 by
   YIN (60-500 Hz, 64 ms window, on a 4 kHz copy: pitch needs no more, and it is 4x cheaper than 16 kHz).
   Kept: per speech frame 19 MFCCs + log-F0 (float32) and its index; per frame of the recording F0 and level.
2. First segments and clusters. Each speech region is cut into ~2 s pieces; neighbouring pieces of one region are
   re-joined while one Gaussian explains them better (BIC), so monologues become long segments and a change of
   voice inside a region stays a cut. The segments (at most 500, evenly spread, so the O(n^2) table is bounded for
   any length) are clustered agglomeratively by delta-BIC with full-covariance Gaussians on the MFCCs plus a
   log-F0 Gaussian, stopping when no merge pays. On purpose this over-clusters a little (a teacher's creaky
   phrase ends become a cluster of their own) but keeps clusters pure: a single Gaussian per voice cannot stop at
   the right count, measured (teacher split in two in Hebrew at every BIC weight that kept students apart).
3. Voice models and the final count. A 16-component diagonal GMM is trained on the lesson's frames with every
   cluster weighted equally (the UBM), each cluster gets a MAP-adapted copy (means, relevance 16) and a log-F0
   Gaussian, and the pair with the highest cross-likelihood ratio (CLR: how much better each explains the other's
   frames than the UBM) is merged until no pair is above -1.5 or max_voices remains. The pitch part of the CLR
   only ever counts against merging (two children far above the lesson's mean pitch are not alike for that).
   A GMM covers a voice's several modes, which is what fixed the split teacher. The threshold sits mid-plateau:
   on six lessons, -1.0 to -2.0 give the same DER (0.021-0.089).
4. Re-segmentation. Every speech frame is scored against every voice (GMM + weighted log-F0), summed into 0.2 s
   blocks, and one Viterbi pass over all speech labels the blocks: changing voice costs 40 nats inside a region,
   up to 20 across a short pause and nothing across a pause of 1.5 s or more (so a 0.5 s "OK." follows its
   neighbours unless its own frames say otherwise). Runs under 0.6 s inside a region join their longer
   neighbour. Pieces of one voice with a pause under 0.5 s between them are one turn; other turn edges are the
   VAD's (VAD padding makes heard pauses ~0.1 s shorter than scripted ones).
5. Voices are numbered by speaking time (voice 0 talks most). The teacher is the voice with the most talk; voices
   within 10 % of the top talk time count as a tie, broken by level (the teacher is nearest the microphone).
6. `rising`: the last 0.5 s of voiced frames of a turn (within its last 1.5 s, pauses skipped), in semitones,
   fitted with a Theil-Sen line; rising when the line climbs 1.5 semitones or more; None with under 0.2 s voiced.
7. Overlaps: not measured directly. Pitch-based detection (cancelling the strongest period and looking for a
   second, de Cheveigne) and "far from every voice model" scores were tried and did not separate scripted
   overlaps from single voices (a student at -6 dB under the teacher leaves no residue above single-voice
   levels). What is reported is where one voice hands over to another with no pause of 0.3 s between them (a
   voice change inside a VAD region), +-0.5 s around the change: an interruption or overlapping talk is likely
   there. On the scripted lessons it finds every scripted overlap (6 of 6) with 2 false ones in 12 lessons.

Memory: a 4-hour lesson streamed from its WAV (measured on 4 h of generated lesson) peaks at 119 MB of arrays
above the loaded libraries (tracemalloc: frame features ~50 MB, their concatenation, BIC statistics of ~5000
pieces, voice-model scratch), and the process's resident size grows by ~265 MB (allocator arenas of the VAD
threads included); it takes 36 s on two cores (x400 realtime). `diarize_audio` and non-WAV files add the decoded
samples themselves (~920 MB for 4 hours of float32).
Music: Silero VAD does not take steady tones, chords or a harmonic "melody" with vibrato for speech (measured:
no speech found); quiet background music under a lesson (-25 dB) left DER at 0.048. Singing would be speech and
would be clustered like any voice; there is no music detector.
"""

from __future__ import annotations

import math
import wave
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16000
HOP = 320  # 20 ms feature frames
BLOCK_FRAMES = 10  # 0.2 s: the resolution of a voice change inside a speech region
CHUNK = 60 * SAMPLE_RATE  # streaming chunk (a multiple of HOP)
_CONTEXT = 512  # samples of context either side of a chunk for the analysis windows

# VAD (faster_whisper.vad.VadOptions)
_VAD_THRESHOLD = 0.5
_VAD_MIN_SPEECH_MS = 120
_VAD_MIN_SILENCE_MS = 300
_VAD_PAD_MS = 60
_VAD_THREADS = 2

# Spectral features
_MEL_FFT = 512
_MEL_BANDS = 40
_MFCC = 19  # c1..c19 (c0, the level, is left out so distance from the microphone does not split a voice)

# Pitch
_F0_MIN, _F0_MAX = 60.0, 500.0
_PITCH_RATE = 4000  # YIN runs on a decimated copy: F0 needs no more than 2 kHz of harmonics, and it is 4x cheaper
_PITCH_STEP = SAMPLE_RATE // _PITCH_RATE
_YIN_FRAME = 256  # 64 ms
_YIN_TAU_MAX = int(_PITCH_RATE / _F0_MIN)
_YIN_TAU_MIN = int(_PITCH_RATE / _F0_MAX)
_YIN_W = _YIN_FRAME - _YIN_TAU_MAX - 2
_YIN_THRESHOLD = 0.2
_VOICED_MAX_APERIODICITY = 0.3

_LOUD_DB = -55.0  # frames quieter than this are not voiced, whatever their periodicity

# Clustering (tuned on tests/lessongen.py lessons; the plateau is wide: see the module docstring)
_PIECE_FRAMES = 100  # 2 s pieces of a speech region are the first segments
_COV_FLOOR = 0.01  # added to covariance diagonals (the MFCCs are standardised first)
_F0_VAR_FLOOR = (1.0 / 12 * math.log(2)) ** 2  # one semitone, squared, in log-F0
_F0_WEIGHT = 3.0  # weight of the log-F0 term in the BIC and in re-segmentation
_BIC_LAMBDA = 1.0  # BIC penalty weight: 1.0 over-clusters a little, on purpose (pure clusters, merged later)
_MAX_SEGMENTS = 500  # segments clustered by BIC at most (evenly spread); bounds the O(n^2) table
_TRAIN_PER_GROUP = 8000  # frames per cluster used to adapt and compare voice models
_UBM_PER_GROUP = 3000  # frames per cluster in the lesson's UBM, so every voice weighs the same in it
_UBM_COMPONENTS = 16
_UBM_ITERATIONS = 8
_MAP_RELEVANCE = 16.0
_CLR_F0_WEIGHT = 1.5
_CLR_THRESHOLD = -1.5  # voices whose cross-likelihood ratio is above this are one voice
_SCORE_BATCH = 50000  # frames scored at a time in re-segmentation (bounded memory)
_SWITCH_COST = 40.0  # Viterbi cost of a voice change inside a speech region, nats
_MIN_RUN_FRAMES = 30  # a voice's run inside a region shorter than 0.6 s joins its neighbour
_FREE_GAP = 1.5  # seconds of pause after which changing voice costs nothing
_PAUSE_SWITCH_COST = 20.0  # cost of changing voice across a very short pause; falls to 0 at _FREE_GAP

# Turns
_JOIN_GAP = 0.5  # one voice's speech with a pause shorter than this is one turn
_HANDOVER = 0.5  # an overlap stretch reaches this far either side of a voice change without a pause
_TIE_SHARE = 0.10
_RISE_SPAN = 0.5
_RISE_LOOKBACK = 1.5
_RISE_MIN_VOICED = 10  # frames (0.2 s)
_RISE_SEMITONES = 1.5


# --------------------------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class VoiceTurn:
    start: float
    end: float
    voice: int
    rising: bool | None  # the pitch rises over the turn's last ~0.5 s of voicing; None: too little voicing


@dataclass(frozen=True)
class VoiceStats:
    seconds: float  # speaking time (sum of the voice's turns)
    level_db: float  # RMS level of its speech frames, dBFS
    mean_f0: float | None  # geometric mean F0 of its voiced frames, Hz; None if none was voiced


@dataclass(frozen=True)
class Diarization:
    duration: float
    speech: tuple[tuple[float, float], ...]  # VAD speech regions
    turns: tuple[VoiceTurn, ...]  # ordered, non-overlapping; voice 0 talks most
    overlaps: tuple[tuple[float, float], ...]  # stretches where two voices seemed to sound at once
    voices: tuple[VoiceStats, ...]
    teacher: int | None  # None when nobody spoke

    def as_dict(self) -> dict:
        return {
            "duration": self.duration,
            "speech": [[a, b] for a, b in self.speech],
            "turns": [{"start": t.start, "end": t.end, "voice": t.voice, "rising": t.rising} for t in self.turns],
            "overlaps": [[a, b] for a, b in self.overlaps],
            "voices": [{"seconds": v.seconds, "level_db": v.level_db, "mean_f0": v.mean_f0} for v in self.voices],
            "teacher": self.teacher,
        }

    @classmethod
    def from_dict(cls, d: dict) -> Diarization:
        def rising(value):
            return None if value is None else bool(value)

        teacher = d.get("teacher")
        return cls(
            duration=float(d.get("duration") or 0.0),
            speech=tuple((float(a), float(b)) for a, b in d.get("speech") or ()),
            turns=tuple(
                VoiceTurn(float(t["start"]), float(t["end"]), int(t["voice"]), rising(t.get("rising")))
                for t in d.get("turns") or ()
            ),
            overlaps=tuple((float(a), float(b)) for a, b in d.get("overlaps") or ()),
            voices=tuple(
                VoiceStats(float(v.get("seconds") or 0.0), float(v.get("level_db") or 0.0),
                           None if v.get("mean_f0") is None else float(v["mean_f0"]))
                for v in d.get("voices") or ()
            ),
            teacher=None if teacher is None else int(teacher),
        )


class SpeakersError(Exception):
    """The recording cannot be listened to; `reason` is a sentence fit for a log line or the lesson's page."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


# --------------------------------------------------------------------------------------------------------------
# Reading audio in chunks


class _ArraySource:
    def __init__(self, audio: np.ndarray):
        self.audio, self.pos = audio, 0
        self.total: int | None = len(audio)

    def read(self, n: int) -> np.ndarray:
        out = self.audio[self.pos: self.pos + n]
        self.pos += len(out)
        return np.asarray(out, dtype=np.float32)

    def close(self) -> None:
        pass


class _WavSource:
    """A 16 kHz 16-bit mono PCM WAV read block by block (the pipeline's format): constant memory."""

    def __init__(self, reader: wave.Wave_read, size_hint: int):
        self.reader = reader
        # A WAV streamed without a final header says it holds 2**31 frames; trust the file size then.
        self.total: int | None = min(reader.getnframes(), max(0, size_hint // 2))

    def read(self, n: int) -> np.ndarray:
        raw = self.reader.readframes(n)
        return np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0

    def close(self) -> None:
        self.reader.close()


def _open(path: Path):
    if not path.is_file():
        raise SpeakersError(f"The recording {path.name!r} does not exist.")
    try:
        reader = wave.open(str(path), "rb")
    except (wave.Error, EOFError, OSError):
        reader = None
    if reader is not None:
        if (reader.getnchannels(), reader.getsampwidth(), reader.getframerate(), reader.getcomptype()) == (
            1, 2, SAMPLE_RATE, "NONE"
        ):
            return _WavSource(reader, path.stat().st_size)
        reader.close()
    try:
        from faster_whisper import decode_audio

        audio = decode_audio(str(path), sampling_rate=SAMPLE_RATE)
    except Exception as exc:  # noqa: BLE001 - PyAV raises many types; all mean "cannot decode"
        raise SpeakersError(f"The recording could not be decoded ({type(exc).__name__}: {exc}).") from None
    return _ArraySource(audio)


def _chunks(source) -> Iterator[tuple[int, int, np.ndarray]]:
    """(start, end, samples[start - _CONTEXT: end + _CONTEXT]) with zeros beyond the recording's ends."""
    buf = np.zeros(_CONTEXT, dtype=np.float32)  # buf[0] is sample `start - _CONTEXT`
    start, done = 0, False
    while True:
        need = CHUNK + 2 * _CONTEXT
        while len(buf) < need and not done:
            got = source.read(need - len(buf))
            if len(got) == 0:
                done = True
            else:
                buf = np.concatenate([buf, got])
        available = len(buf) - _CONTEXT  # real samples from `start` on
        if available <= 0:
            return
        length = min(CHUNK, available) if done else CHUNK
        piece = buf[: length + 2 * _CONTEXT]
        if len(piece) < length + 2 * _CONTEXT:
            piece = np.concatenate([piece, np.zeros(length + 2 * _CONTEXT - len(piece), dtype=np.float32)])
        yield start, start + length, piece
        if done and length == available:
            return
        buf = buf[length:]
        start += length


# --------------------------------------------------------------------------------------------------------------
# Per-chunk analysis


def _mel_filters() -> np.ndarray:
    def mel(f):
        return 2595.0 * np.log10(1.0 + f / 700.0)

    def hz(m):
        return 700.0 * (10 ** (m / 2595.0) - 1.0)

    edges = hz(np.linspace(mel(60.0), mel(7600.0), _MEL_BANDS + 2))
    freqs = np.fft.rfftfreq(_MEL_FFT, 1.0 / SAMPLE_RATE)
    fb = np.zeros((_MEL_BANDS, len(freqs)), dtype=np.float32)
    for i in range(_MEL_BANDS):
        lo, mid, hi = edges[i], edges[i + 1], edges[i + 2]
        fb[i] = np.clip(np.minimum((freqs - lo) / (mid - lo), (hi - freqs) / (hi - mid)), 0.0, None)
    return fb


_FILTERS = _mel_filters()
_HANN = np.hanning(_MEL_FFT).astype(np.float32)


def _dct_matrix() -> np.ndarray:
    n = np.arange(_MEL_BANDS)
    k = np.arange(1, _MFCC + 1)[:, None]
    return (np.sqrt(2.0 / _MEL_BANDS) * np.cos(np.pi * k * (2 * n + 1) / (2 * _MEL_BANDS))).astype(np.float32)


_DCT = _dct_matrix()


def _frames(x: np.ndarray, centres: np.ndarray, length: int) -> np.ndarray:
    idx = centres[:, None] - length // 2 + np.arange(length)[None, :]
    return x[idx]


def _yin(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Period (in samples at _PITCH_RATE, fractional) and aperiodicity of each frame of _YIN_FRAME samples: the
    first dip of YIN's cumulative-mean-normalised difference below _YIN_THRESHOLD (else its minimum), refined by a
    parabola."""
    from scipy import fft as sfft

    n = 2 * _YIN_FRAME
    a = sfft.rfft(frames[:, :_YIN_W], n, axis=1)
    b = sfft.rfft(frames, n, axis=1)
    r = sfft.irfft(np.conj(a) * b, n, axis=1)[:, : _YIN_TAU_MAX + 2]
    sq = np.concatenate([np.zeros((len(frames), 1), np.float32), np.cumsum(frames * frames, 1)], 1)
    taus = np.arange(_YIN_TAU_MAX + 2)
    e_tau = sq[:, taus + _YIN_W] - sq[:, taus]
    d = np.maximum(e_tau[:, :1] + e_tau - 2.0 * r, 0.0)
    cum = np.cumsum(d[:, 1:], axis=1)
    dn = np.ones_like(d)
    dn[:, 1:] = d[:, 1:] * taus[1:] / np.maximum(cum, 1e-12)
    band = dn[:, _YIN_TAU_MIN: _YIN_TAU_MAX + 1]
    below = band < _YIN_THRESHOLD
    first = np.where(below.any(axis=1), below.argmax(axis=1), band.argmin(axis=1))
    rows = np.arange(len(band))
    for _ in range(12):  # walk down to the local minimum after the first dip
        nxt = np.minimum(first + 1, band.shape[1] - 1)
        better = band[rows, nxt] < band[rows, first]
        if not better.any():
            break
        first = np.where(better, nxt, first)
    tau = first + _YIN_TAU_MIN
    lo, mid, hi = dn[rows, tau - 1], dn[rows, tau], dn[rows, np.minimum(tau + 1, dn.shape[1] - 1)]
    denom = lo - 2 * mid + hi
    shift = np.where(np.abs(denom) > 1e-9, 0.5 * (lo - hi) / np.where(np.abs(denom) > 1e-9, denom, 1.0), 0.0)
    return tau + np.clip(shift, -0.5, 0.5), mid


@dataclass
class _Chunk:
    """What one chunk leaves behind: speech regions, per-frame tracks, and the speech frames' features."""

    regions: list[tuple[int, int]]  # samples
    f0: np.ndarray  # per frame, Hz, NaN when unvoiced or not speech
    level: np.ndarray  # per frame, dBFS, NaN when not speech
    frames: np.ndarray  # int64 indices (whole recording) of the analysed speech frames
    mfcc: np.ndarray  # float32 (len(frames), _MFCC)
    logf0: np.ndarray  # float32 (len(frames),), NaN when unvoiced


def _vad(chunk: tuple[int, int, np.ndarray]) -> list[tuple[int, int]]:
    """Silero speech regions of one chunk, in samples of the whole recording."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    start, end, piece = chunk
    body = piece[_CONTEXT: _CONTEXT + end - start]
    if len(body) < 512:
        return []
    options = VadOptions(threshold=_VAD_THRESHOLD, min_speech_duration_ms=_VAD_MIN_SPEECH_MS,
                         min_silence_duration_ms=_VAD_MIN_SILENCE_MS, speech_pad_ms=_VAD_PAD_MS)
    return [(start + int(s["start"]), start + int(s["end"]))
            for s in get_speech_timestamps(body, options, sampling_rate=SAMPLE_RATE)]


def _analyse_chunk(start: int, end: int, piece: np.ndarray, regions: list[tuple[int, int]]) -> _Chunk:
    """Features of the speech frames of one chunk (`regions` from _vad)."""
    from scipy.signal import resample_poly

    n_frames = math.ceil((end - start) / HOP)
    speech = np.zeros(n_frames, dtype=bool)
    for a, b in regions:
        speech[(a - start) // HOP: math.ceil((b - start) / HOP)] = True
    f0 = np.full(n_frames, np.nan, dtype=np.float32)
    level = np.full(n_frames, np.nan, dtype=np.float32)
    idx = np.flatnonzero(speech)
    if len(idx) == 0:
        return _Chunk(regions, f0, level, idx, np.zeros((0, _MFCC), np.float32), np.zeros(0, np.float32))

    centres = _CONTEXT + idx * HOP + HOP // 2  # in `piece`
    raw = _frames(piece, centres, _MEL_FFT)
    power = np.abs(np.fft.rfft(raw * _HANN, axis=1)) ** 2
    mfcc = (np.log(power @ _FILTERS.T + 1e-10) @ _DCT.T).astype(np.float32)
    level[idx] = 10 * np.log10(np.mean(raw.astype(np.float64) ** 2, axis=1) + 1e-12)
    del raw, power

    low = resample_poly(piece, 1, _PITCH_STEP).astype(np.float32)
    pitch_frames = _frames(np.pad(low, (_YIN_FRAME, _YIN_FRAME)), centres // _PITCH_STEP + _YIN_FRAME, _YIN_FRAME)
    period, aper = _yin(pitch_frames)
    loud = level[idx] > _LOUD_DB
    voiced = (aper < _VOICED_MAX_APERIODICITY) & loud
    hz = _PITCH_RATE / period
    f0[idx[voiced]] = hz[voiced]
    logf0 = np.where(voiced, np.log(hz), np.nan).astype(np.float32)
    return _Chunk(regions, f0, level, idx + start // HOP, mfcc, logf0)


# --------------------------------------------------------------------------------------------------------------
# Whole-lesson steps: segments, clustering, re-segmentation


def _merge_regions(regions: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    gap = _VAD_MIN_SILENCE_MS * SAMPLE_RATE // 1000
    for a, b in sorted(regions):
        if out and a - out[-1][1] < gap:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


class _Stats:
    """Sufficient statistics of frame sets for full-covariance Gaussians on the MFCCs and a 1-D Gaussian on
    log-F0; rows are segments (or clusters), so merging two is adding two rows."""

    def __init__(self, x: np.ndarray, lf: np.ndarray, ranges: list[tuple[int, int]]):
        d = x.shape[1]
        k = len(ranges)
        self.n = np.zeros(k)
        self.s1 = np.zeros((k, d))
        self.s2 = np.zeros((k, d, d))
        self.f = np.zeros((k, 3))  # voiced count, sum, sum of squares of log-F0
        for i, (a, b) in enumerate(ranges):
            seg = x[a:b].astype(np.float64)
            self.n[i] = b - a
            self.s1[i] = seg.sum(axis=0)
            self.s2[i] = seg.T @ seg
            v = lf[a:b]
            v = v[~np.isnan(v)].astype(np.float64)
            self.f[i] = (len(v), v.sum(), (v * v).sum())

    def cost(self, n, s1, s2, f) -> np.ndarray:
        """Negative maximum log-likelihood (up to constants) of each row's frames under its own Gaussians."""
        d = s1.shape[-1]
        mu = s1 / n[:, None]
        cov = s2 / n[:, None, None] - mu[:, :, None] * mu[:, None, :] + _COV_FLOOR * np.eye(d)
        c = 0.5 * n * np.linalg.slogdet(cov)[1]
        nv = f[:, 0]
        m = f[:, 1] / np.maximum(nv, 1)
        var = np.maximum(f[:, 2] / np.maximum(nv, 1) - m * m, _F0_VAR_FLOOR)
        return c + _F0_WEIGHT * 0.5 * np.where(nv >= 2, nv * np.log(var), 0.0)

    def delta_bic(self, i: int | np.ndarray, j: np.ndarray, own: np.ndarray) -> np.ndarray:
        """Delta-BIC of merging row i with each row of j (negative: one voice explains both better)."""
        n = self.n[i] + self.n[j]
        merged = self.cost(n, self.s1[i] + self.s1[j], self.s2[i] + self.s2[j], self.f[i] + self.f[j])
        d = self.s1.shape[1]
        params = d + d * (d + 1) / 2 + 2
        return merged - own[i] - own[j] - _BIC_LAMBDA * 0.5 * params * np.log(n)

    def own(self) -> np.ndarray:
        return self.cost(self.n, self.s1, self.s2, self.f)

    def own_row(self, i: int) -> float:
        return float(self.cost(self.n[i:i + 1], self.s1[i:i + 1], self.s2[i:i + 1], self.f[i:i + 1])[0])

    def merge(self, i: int, j: int) -> None:
        self.n[i] += self.n[j]
        self.s1[i] += self.s1[j]
        self.s2[i] += self.s2[j]
        self.f[i] += self.f[j]


def _segments(regions: list[tuple[int, int]], frames: np.ndarray) -> tuple[list[tuple[int, int]], list[int]]:
    """Each region's analysed frames (index ranges into `frames`) cut into pieces of at most _PIECE_FRAMES."""
    out, region_ids = [], []
    for r, (a, b) in enumerate(regions):
        i0 = int(np.searchsorted(frames, a // HOP))
        i1 = int(np.searchsorted(frames, math.ceil(b / HOP)))
        if i1 <= i0:
            continue
        k = max(1, round((i1 - i0) / _PIECE_FRAMES))
        edges = np.linspace(i0, i1, k + 1).round().astype(int)
        for p in range(k):
            out.append((int(edges[p]), int(edges[p + 1])))
            region_ids.append(r)
    return out, region_ids


def _linear_merge(x, lf, pieces, region_ids) -> list[tuple[int, int]]:
    """Join neighbouring pieces of one region while one Gaussian explains them better (BIC): a long monologue
    becomes one segment, a change of voice inside a region stays a cut."""
    stats = _Stats(x, lf, pieces)
    own = stats.own()
    out: list[tuple[int, int]] = []
    cur = 0
    for p in range(1, len(pieces) + 1):
        if p < len(pieces) and region_ids[p] == region_ids[cur]:
            if stats.delta_bic(cur, np.array([p]), own)[0] < 0:
                stats.merge(cur, p)
                own[cur] = stats.own_row(cur)
                continue
        out.append((pieces[cur][0], pieces[p - 1][1]))
        cur = p
    return out


def _bic_clusters(x, lf, segs: list[tuple[int, int]]) -> list[list[int]]:
    """Agglomerative clustering of segments by delta-BIC (full covariance), stopped when no merge pays."""
    stats = _Stats(x, lf, segs)
    own = stats.own()
    n = len(segs)
    members = [[i] for i in range(n)]
    alive = np.ones(n, dtype=bool)
    table = np.full((n, n), np.inf)
    for i in range(n - 1):
        j = np.arange(i + 1, n)
        table[i, j] = stats.delta_bic(i, j, own)
    table = np.minimum(table, table.T)
    while alive.sum() > 1:
        flat = int(np.argmin(table))
        i, j = divmod(flat, n)
        if not np.isfinite(table[i, j]) or table[i, j] > 0:
            break
        stats.merge(i, j)
        members[i] += members[j]
        alive[j] = False
        table[j, :] = np.inf
        table[:, j] = np.inf
        own[i] = stats.own_row(i)
        others = np.flatnonzero(alive)
        others = others[others != i]
        if len(others):
            row = stats.delta_bic(i, others, own)
            table[i, others] = row
            table[others, i] = row
    return [members[i] for i in np.flatnonzero(alive)]


def _gmm_loglik(x: np.ndarray, w: np.ndarray, mu: np.ndarray, var: np.ndarray, *, posteriors: bool = False):
    """Per-frame log-likelihood under a diagonal GMM (and the component posteriors if asked)."""
    prec = 1.0 / var
    comp = -0.5 * ((x * x) @ prec.T - 2.0 * x @ (mu * prec).T + np.sum(mu * mu * prec, axis=1))
    comp += np.log(w) - 0.5 * np.sum(np.log(2 * np.pi * var), axis=1)
    top = comp.max(axis=1, keepdims=True)
    ex = np.exp(comp - top)
    total = ex.sum(axis=1, keepdims=True)
    ll = (top + np.log(total))[:, 0]
    if posteriors:
        return ll, ex / total
    return ll


def _train_ubm(x: np.ndarray, components: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A diagonal GMM of frames (EM from seeds spread over the sorted first dimension; deterministic)."""
    n = len(x)
    c = min(components, max(1, n // 20))
    mu = x[np.argsort(x[:, 0], kind="stable")[np.linspace(0, n - 1, c).round().astype(int)]].astype(np.float64)
    floor = 0.01 * x.var(axis=0) + 1e-6
    var = np.tile(x.var(axis=0) + 1e-6, (c, 1))
    w = np.full(c, 1.0 / c)
    for _ in range(_UBM_ITERATIONS):
        _ll, post = _gmm_loglik(x, w, mu, var, posteriors=True)
        nk = post.sum(axis=0) + 1e-9
        mu = (post.T @ x) / nk[:, None]
        var = np.maximum((post.T @ (x * x)) / nk[:, None] - mu * mu, floor)
        w = nk / nk.sum()
    return w, mu, var


def _gauss_ll(x: np.ndarray, mean: float, var: float) -> np.ndarray:
    return -0.5 * (x - mean) ** 2 / var - 0.5 * np.log(2 * np.pi * var)


class _Voices:
    """Voice models for cross-likelihood comparison and re-segmentation: a diagonal GMM over the MFCCs, MAP-adapted
    (means) from this lesson's UBM, and a Gaussian over log-F0 (voiced frames), MAP-adapted from the lesson's."""

    def __init__(self, x: np.ndarray, lf: np.ndarray, groups: list[np.ndarray]):
        train = np.concatenate(groups)
        self.x = x[train].astype(np.float64)
        self.lf = lf[train].astype(np.float64)
        self.voiced = ~np.isnan(self.lf)
        self.owner = np.concatenate([np.full(len(g), i) for i, g in enumerate(groups)])
        # The UBM sees every group equally (capped), so the teacher's hours do not make the "average voice".
        balanced = np.concatenate([np.flatnonzero(self.owner == i)[
            np.linspace(0, len(g) - 1, min(len(g), _UBM_PER_GROUP)).round().astype(int)]
            for i, g in enumerate(groups)])
        self.ubm = _train_ubm(self.x[balanced], _UBM_COMPONENTS)
        self.ubm_ll, self.post = _gmm_loglik(self.x, *self.ubm, posteriors=True)
        vb = self.lf[balanced][self.voiced[balanced]]
        self.f0_ubm = (float(vb.mean()), float(max(vb.var(), _F0_VAR_FLOOR))) if len(vb) > 1 else (4.6, 1.0)
        self.f0_ubm_ll = np.where(self.voiced, _gauss_ll(self.lf, *self.f0_ubm), 0.0)
        self.alive = list(range(len(groups)))
        self.models = {i: self._adapt(self.owner == i) for i in self.alive}
        self.ll = {i: self._score(i) for i in self.alive}

    def _adapt(self, mask: np.ndarray):
        w, mu, var = self.ubm
        post = self.post[mask]
        nk = post.sum(axis=0)
        ex = (post.T @ self.x[mask]) / np.maximum(nk, 1e-9)[:, None]
        alpha = (nk / (nk + _MAP_RELEVANCE))[:, None]
        f = self.lf[mask & self.voiced]
        m0, v0 = self.f0_ubm
        a = len(f) / (len(f) + _MAP_RELEVANCE)
        fm = a * (f.mean() if len(f) else m0) + (1 - a) * m0
        fv = max(a * (f.var() if len(f) > 1 else v0) + (1 - a) * v0, _F0_VAR_FLOOR)
        return (w, alpha * ex + (1 - alpha) * mu, var), (fm, fv)

    @staticmethod
    def parts(model, x: np.ndarray, lf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-frame log-likelihoods under a voice: MFCC GMM, and log-F0 Gaussian (0 where unvoiced)."""
        gmm, (fm, fv) = model
        voiced = ~np.isnan(lf)
        return _gmm_loglik(x, *gmm), np.where(voiced, _gauss_ll(lf, fm, fv), 0.0)

    def frame_scores(self, model, x: np.ndarray, lf: np.ndarray) -> np.ndarray:
        spectral, pitch = self.parts(model, x, lf)
        return spectral + _F0_WEIGHT * pitch

    def _score(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        return self.parts(self.models[i], self.x, self.lf)

    def similarity(self) -> np.ndarray:
        """Cross-likelihood ratio between the voices: mean over A's frames of log p(x|B) - log p(x|UBM), plus the
        same the other way; near or above zero, each voice explains the other's frames as well as the lesson's
        average voice does. The spectral and pitch parts are added with the pitch part weighted."""
        k = len(self.alive)
        sim = np.full((k, k), -np.inf)
        for a, i in enumerate(self.alive):
            mine = self.owner == i
            for b, j in enumerate(self.alive):
                if a != b:
                    spectral, pitch = self.ll[j]
                    # Pitch may only argue against one voice: two children both far above the lesson's average
                    # pitch are not alike for that, but a voice whose pitch the other never reaches is another.
                    f0_ratio = np.minimum(pitch[mine] - self.f0_ubm_ll[mine], 0.0)
                    sim[a, b] = float(np.mean(spectral[mine] - self.ubm_ll[mine])) + _CLR_F0_WEIGHT * float(
                        np.mean(f0_ratio))
        return sim + sim.T

    def merge_until(self, threshold: float, max_voices: int) -> None:
        while len(self.alive) > 1:
            sim = self.similarity()
            a, b = divmod(int(np.argmax(sim)), len(self.alive))
            if sim[a, b] < threshold and len(self.alive) <= max_voices:
                break
            i, j = self.alive[a], self.alive[b]
            self.owner[self.owner == j] = i
            self.alive.remove(j)
            del self.models[j], self.ll[j]
            self.models[i] = self._adapt(self.owner == i)
            self.ll[i] = self._score(i)


def _viterbi(loglik: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Best label path through per-step log-likelihoods when changing label before step t costs cost[t]."""
    n, k = loglik.shape
    score = loglik[0].copy()
    back = np.zeros((n, k), dtype=np.int32)
    labels = np.arange(k)
    for t in range(1, n):
        best = int(np.argmax(score))
        switch = score[best] - cost[t]
        back[t] = np.where(score >= switch, labels, best)
        score = np.maximum(score, switch) + loglik[t]
    path = np.zeros(n, dtype=np.int32)
    path[-1] = int(np.argmax(score))
    for t in range(n - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


def _absorb_islands(path: np.ndarray, sizes: np.ndarray, min_run: int) -> np.ndarray:
    """Runs of blocks holding fewer than `min_run` frames (`sizes`: frames per block) take the label of their
    longer neighbour, shortest run first."""
    path = path.copy()
    cum = np.concatenate([[0], np.cumsum(sizes)])
    while True:
        edges = np.flatnonzero(np.diff(path)) + 1
        starts = np.concatenate([[0], edges])
        ends = np.concatenate([edges, [len(path)]])
        if len(starts) < 2:
            return path
        lengths = cum[ends] - cum[starts]
        r = int(np.argmin(lengths))
        if lengths[r] >= min_run:
            return path
        left = lengths[r - 1] if r > 0 else -1
        right = lengths[r + 1] if r + 1 < len(starts) else -1
        path[starts[r]: ends[r]] = path[starts[r - 1]] if left >= right else path[starts[r + 1]]


def _rising(f0: np.ndarray, first: int, last: int) -> bool | None:
    """Whether the pitch rises over the last _RISE_SPAN s of voicing (the last voiced frames, pauses skipped) in
    frames [first, last): a Theil-Sen line through the semitones climbs at least _RISE_SEMITONES. None when fewer
    than _RISE_MIN_VOICED voiced frames are found in the turn's last _RISE_LOOKBACK s."""
    from scipy.stats import theilslopes

    first = max(first, last - int(_RISE_LOOKBACK * SAMPLE_RATE / HOP))
    seg = f0[first:last]
    voiced = np.flatnonzero(~np.isnan(seg))[-int(_RISE_SPAN * SAMPLE_RATE / HOP):]
    if len(voiced) < _RISE_MIN_VOICED:
        return None
    st = 12.0 * np.log2(seg[voiced] / np.median(seg[voiced]))
    keep = np.abs(st) < 7.0  # octave jumps of the tracker are not intonation
    if keep.sum() < _RISE_MIN_VOICED:
        return None
    t = voiced[keep] * HOP / SAMPLE_RATE
    slope = theilslopes(st[keep], t)[0]
    return bool(slope * (t[-1] - t[0]) >= _RISE_SEMITONES)


# --------------------------------------------------------------------------------------------------------------
# Entry points


def diarize(wav: Path | str, *, max_voices: int = 8,
            progress: Callable[[float], None] | None = None) -> Diarization:
    """Speaker turns of the recording at `wav` (a 16 kHz mono WAV is streamed; other formats are decoded whole).

    Raises SpeakersError when the file is missing or cannot be decoded."""
    source = _open(Path(wav))
    try:
        return _diarize(source, max_voices=max_voices, progress=progress)
    finally:
        source.close()


def diarize_audio(audio: np.ndarray, *, max_voices: int = 8,
                  progress: Callable[[float], None] | None = None) -> Diarization:
    """Speaker turns of 16 kHz mono float samples (read chunk by chunk, never copied whole)."""
    audio = np.asarray(audio)
    if audio.ndim != 1:
        raise SpeakersError("The sound must be one channel (a 1-D array of 16 kHz samples).")
    return _diarize(_ArraySource(audio), max_voices=max_voices, progress=progress)


def _label_frames(x, lf, frames, regions, max_voices) -> np.ndarray:
    """A voice number for every analysed speech frame."""
    pieces, region_ids = _segments(regions, frames)
    segs = _linear_merge(x, lf, pieces, region_ids)
    if len(segs) > _MAX_SEGMENTS:  # bounded cost: cluster an even spread of segments, score all frames later
        segs = [segs[i] for i in np.linspace(0, len(segs) - 1, _MAX_SEGMENTS).round().astype(int)]
    groups = [np.concatenate([np.arange(*segs[s]) for s in members]) for members in _bic_clusters(x, lf, segs)]
    capped = [g[np.linspace(0, len(g) - 1, min(len(g), _TRAIN_PER_GROUP)).round().astype(int)] for g in groups]
    voices = _Voices(x, lf, capped)
    voices.merge_until(_CLR_THRESHOLD, max_voices)
    models = [voices.models[i] for i in voices.alive]
    # Re-segmentation: every frame scored against every voice, summed into 0.2 s blocks, Viterbi per region.
    scores = np.zeros((len(x), len(models)))
    for start in range(0, len(x), _SCORE_BATCH):
        xb = x[start: start + _SCORE_BATCH].astype(np.float64)
        lb = lf[start: start + _SCORE_BATCH].astype(np.float64)
        for k, model in enumerate(models):
            scores[start: start + len(xb), k] = voices.frame_scores(model, xb, lb)
    labels = np.zeros(len(x), dtype=np.int64)
    if len(models) == 1:
        return labels
    # One Viterbi pass over all speech blocks: changing voice costs _SWITCH_COST inside a region, less across a
    # pause and nothing across a pause of _FREE_GAP or more, so a short region ("OK.") follows its neighbours
    # unless its own frames clearly say otherwise.
    block_of = frames // BLOCK_FRAMES
    sums, sizes, costs, spans = [], [], [], []
    previous_end = None
    for a, b in regions:
        i0 = int(np.searchsorted(frames, a // HOP))
        i1 = int(np.searchsorted(frames, math.ceil(b / HOP)))
        if i1 <= i0:
            continue
        _blocks, first = np.unique(block_of[i0:i1], return_index=True)
        sums.append(np.add.reduceat(scores[i0:i1], first, axis=0))
        sizes.append(np.diff(np.append(first, i1 - i0)))
        step = np.full(len(first), _SWITCH_COST)
        gap = math.inf if previous_end is None else (a - previous_end) / SAMPLE_RATE
        step[0] = _PAUSE_SWITCH_COST * max(0.0, 1.0 - gap / _FREE_GAP)
        costs.append(step)
        spans.append((i0, i1, len(first)))
        previous_end = b
    path = _viterbi(np.concatenate(sums), np.concatenate(costs))
    at = 0
    for (i0, i1, n), size in zip(spans, sizes, strict=True):
        labels[i0:i1] = np.repeat(_absorb_islands(path[at: at + n], size, _MIN_RUN_FRAMES), size)
        at += n
    return labels


def _diarize(source, *, max_voices: int, progress: Callable[[float], None] | None) -> Diarization:
    max_voices = max(1, min(8, int(max_voices)))
    regions: list[tuple[int, int]] = []
    f0s, levels, frame_parts, mfccs, logf0s = [], [], [], [], []
    total = 0
    # The VAD of the next chunks runs in worker threads while this chunk's features are computed (ONNX Runtime and
    # numpy's FFTs release the GIL), so on a two-core worker the costs overlap instead of adding up.
    from faster_whisper.vad import get_vad_model

    get_vad_model()  # load the ONNX model once here, not twice in racing threads (its cache has no lock)
    with ThreadPoolExecutor(max_workers=_VAD_THREADS, thread_name_prefix="speakers-vad") as pool:
        chunks = _chunks(source)
        queue: list[tuple[tuple[int, int, np.ndarray], Future]] = []
        while True:
            while len(queue) < _VAD_THREADS:
                nxt = next(chunks, None)
                if nxt is None:
                    break
                queue.append((nxt, pool.submit(_vad, nxt)))
            if not queue:
                break
            (start, end, piece), pending = queue.pop(0)
            part = _analyse_chunk(start, end, piece, pending.result())
            regions += part.regions
            f0s.append(part.f0)
            levels.append(part.level)
            frame_parts.append(part.frames)
            mfccs.append(part.mfcc)
            logf0s.append(part.logf0)
            total = end
            if progress is not None and source.total:
                progress(min(0.9, 0.9 * end / source.total))
    duration = total / SAMPLE_RATE
    regions = _merge_regions(regions)
    frames = np.concatenate(frame_parts) if frame_parts else np.zeros(0, dtype=np.int64)
    speech = tuple((round(a / SAMPLE_RATE, 3), round(b / SAMPLE_RATE, 3)) for a, b in regions)
    if not regions or len(frames) == 0:
        if progress is not None:
            progress(1.0)
        return Diarization(duration, speech, (), (), (), None)

    f0 = np.concatenate(f0s)
    level = np.concatenate(levels)
    x = np.concatenate(mfccs)
    lf = np.concatenate(logf0s)
    del f0s, levels, frame_parts, mfccs, logf0s
    x -= x.mean(axis=0)
    x /= x.std(axis=0) + 1e-6

    labels = _label_frames(x, lf, frames, regions, max_voices)

    # Pieces: runs of one label inside a region (in samples; frames not analysed follow their neighbours), then
    # turns: one voice with gaps under _JOIN_GAP.
    pieces: list[list[int]] = []
    handovers: list[tuple[int, int]] = []  # voice changes inside a region: no pause between the two voices
    for a, b in regions:
        i0 = int(np.searchsorted(frames, a // HOP))
        i1 = int(np.searchsorted(frames, math.ceil(b / HOP)))
        if i1 <= i0:
            near = min(max(i0 - 1, 0), len(labels) - 1)
            pieces.append([a, b, int(labels[near])])
            continue
        run = labels[i0:i1]
        change = np.flatnonzero(np.diff(run)) + 1
        cuts = [a] + [int(frames[i0 + c]) * HOP for c in change] + [b]
        for c, v in enumerate([int(run[0])] + [int(run[c]) for c in change]):
            if cuts[c + 1] > cuts[c]:
                pieces.append([cuts[c], cuts[c + 1], v])
        reach = int(_HANDOVER * SAMPLE_RATE)
        handovers += [(max(a, cut - reach), min(b, cut + reach)) for cut in cuts[1:-1]]
    join = int(_JOIN_GAP * SAMPLE_RATE)
    merged: list[list[int]] = []
    for p in pieces:
        if merged and merged[-1][2] == p[2] and p[0] - merged[-1][1] < join:
            merged[-1][1] = p[1]
        else:
            merged.append(p)

    # Number voices by talk time.
    k = max(p[2] for p in merged) + 1
    seconds = np.zeros(k)
    for a, b, v in merged:
        seconds[v] += (b - a) / SAMPLE_RATE
    order = np.argsort(-seconds, kind="stable")
    rename = {int(old): new for new, old in enumerate(order) if seconds[old] > 0}
    n_voices = len(rename)

    frame_voice = np.full(len(f0), -1, dtype=np.int64)
    for a, b, v in merged:
        frame_voice[a // HOP: math.ceil(b / HOP)] = rename[v]
    voices = []
    for v in range(n_voices):
        mine = frame_voice == v
        lv = level[mine]
        lv = lv[~np.isnan(lv)]
        power = float(np.mean(10 ** (lv.astype(np.float64) / 10))) if len(lv) else 0.0
        fv = f0[mine]
        fv = fv[~np.isnan(fv)]
        voices.append(VoiceStats(
            seconds=round(float(seconds[order[v]]), 3),
            level_db=round(10 * math.log10(power), 2) if power > 0 else -120.0,
            mean_f0=round(float(np.exp(np.mean(np.log(fv.astype(np.float64))))), 1) if len(fv) else None,
        ))
    top = voices[0].seconds
    tied = [v for v in range(n_voices) if voices[v].seconds >= (1 - _TIE_SHARE) * top]
    teacher = max(tied, key=lambda v: voices[v].level_db)

    turns = tuple(
        VoiceTurn(round(a / SAMPLE_RATE, 3), round(b / SAMPLE_RATE, 3), rename[v],
                  _rising(f0, a // HOP, math.ceil(b / HOP)))
        for a, b, v in merged
    )
    overlaps = tuple((round(a / SAMPLE_RATE, 3), round(b / SAMPLE_RATE, 3)) for a, b in handovers)
    if progress is not None:
        progress(1.0)
    return Diarization(duration, speech, turns, overlaps, tuple(voices), teacher)
