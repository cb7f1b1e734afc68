"""Event arrays and numpy readers for event-camera file formats.

Every reader returns a Tonic-compatible structured array with dtype :data:`EVENT_DTYPE`
(fields ``x``, ``y``, ``t``, ``p``; ``t`` in microseconds as int64; ``p`` True = ON).
Truncated or corrupt files raise :class:`~trainer.datasets.errors.CorruptFileError`
naming the file. Nothing here downloads anything.

Supported formats:

* N-MNIST ``.bin`` (also SLAYER's ``.bs2``): 40-bit big-endian events.
* AEDAT 2.0 (jAER, ``#!AER-DAT2.0``) with DVS128 addresses, as published for CIFAR10-DVS.
* AEDAT 3.1 (cAER/jAER, ``#!AER-DAT3.1``) polarity-event packets, as published for
  DVS128 Gesture.
* Prophesee DAT (``%`` header, CD events), e.g. N-CARS.
* AEDAT headers of any version (:func:`read_aedat_header`); AEDAT 4.0 and 1.0 event
  payloads are detected and reported as unsupported.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import CorruptFileError, DatasetError

#: Tonic's event dtype (``tonic.io.make_structured_array`` default for DVS data).
EVENT_DTYPE = np.dtype([("x", np.int16), ("y", np.int16), ("t", np.int64), ("p", bool)])


def make_events(x, y, t, p) -> np.ndarray:
    """Build a structured event array from four equally long sequences."""
    x = np.asarray(x)
    n = x.shape[0]
    ev = np.empty(n, dtype=EVENT_DTYPE)
    ev["x"] = x
    ev["y"] = y
    ev["t"] = t
    ev["p"] = np.asarray(p) != 0
    return ev


# --------------------------------------------------------------------------- N-MNIST

NMNIST_SENSOR = (34, 34)  # (H, W)


def read_nmnist_bin(path, sensor_hw: tuple[int, int] | None = NMNIST_SENSOR) -> np.ndarray:
    """Read an N-MNIST ``.bin`` / SLAYER ``.bs2`` file (5 bytes per event, big-endian).

    byte 0 = x, byte 1 = y, byte 2 bit 7 = polarity (1 = ON), remaining 23 bits = t (us).
    A file whose length is not a multiple of 5, an empty file or an address outside
    ``sensor_hw`` raises :class:`CorruptFileError`.
    """
    path = Path(path)
    try:
        raw = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise CorruptFileError(path, f"cannot read N-MNIST file ({exc})") from None
    if raw.size == 0:
        raise CorruptFileError(path, "empty N-MNIST file (0 bytes)")
    if raw.size % 5:
        raise CorruptFileError(
            path, f"truncated N-MNIST file: {raw.size} bytes is not a multiple of 5 "
                  "(40-bit events)")
    b = raw.reshape(-1, 5).astype(np.uint32)
    x, y, p = b[:, 0], b[:, 1], b[:, 2] >> 7
    t = ((b[:, 2] & 0x7F) << 16) | (b[:, 3] << 8) | b[:, 4]
    if sensor_hw is not None:
        h, w = sensor_hw
        if x.max() >= w or y.max() >= h:
            raise CorruptFileError(
                path, f"corrupt N-MNIST file: address (x={int(x.max())}, y={int(y.max())}) "
                      f"outside the {w}x{h} sensor")
    return make_events(x, y, t, p)


# --------------------------------------------------------------------------- AEDAT

@dataclass
class AedatHeader:
    """Text header of an AEDAT file."""

    version: str                     # "1.0" (no version line), "2.0", "3.1", "4.0", ...
    lines: list[str] = field(default_factory=list)   # header lines without line ends
    data_offset: int = 0             # byte offset of the first binary byte
    fields: dict[str, str] = field(default_factory=dict)  # "key: value" lines, parsed

    @property
    def start_time_ms(self) -> int | None:
        """jAER's ``Creation time: System.currentTimeMillis() <ms>`` if present."""
        v = self.fields.get("Creation time")
        if v:
            tok = v.split()[-1]
            if tok.isdigit():
                return int(tok)
        return None


def _parse_aedat_header(raw: bytes, path) -> AedatHeader:
    pos = 0
    lines: list[str] = []
    version = None
    n = len(raw)
    while pos < n and raw[pos:pos + 1] == b"#":
        end = raw.find(b"\n", pos)
        if end < 0:
            raise CorruptFileError(path, "truncated AEDAT header (no line end)")
        line = raw[pos:end].rstrip(b"\r").decode("latin-1")
        pos = end + 1
        if not lines and line.startswith("#!AER-DAT"):
            version = line[len("#!AER-DAT"):].strip()
        lines.append(line)
        if version == "4.0":
            break  # AEDAT 4 has a single text line, then a binary IO header
        if line.startswith("#!END-HEADER"):
            break
    if version is None:
        if not lines:
            raise CorruptFileError(path, "not an AEDAT file: no '#' header line")
        version = "1.0"
    fields: dict[str, str] = {}
    for line in lines:
        body = line.lstrip("#!").strip()
        if ":" in body:
            k, v = body.split(":", 1)
            fields.setdefault(k.strip(), v.strip())
    return AedatHeader(version=version, lines=lines, data_offset=pos, fields=fields)


def read_aedat_header(path) -> AedatHeader:
    """Parse the text header of an AEDAT 1.0/2.0/3.1/4.0 file."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(1 << 20)
    except OSError as exc:
        raise CorruptFileError(path, f"cannot read file ({exc})") from None
    return _parse_aedat_header(raw, path)


def _read_file(path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise CorruptFileError(path, f"cannot read file ({exc})") from None


def read_aedat2_dvs128(path, *, orientation: str = "upright") -> np.ndarray:
    """Read an AEDAT 2.0 file recorded with a DVS128 (jAER), e.g. CIFAR10-DVS.

    Payload: big-endian (int32 address, int32 timestamp in us) pairs. DVS128 address:
    bit 0 = polarity bit (1 = OFF, as jAER), bits 1-7 = x, bits 8-14 = y, bit 15 = special
    (external/sync) event, dropped. ``orientation="upright"`` returns
    ``x = 127 - y_raw, y = 127 - x_raw`` (the image-upright mapping SpikingJelly and
    events-tfds use for CIFAR10-DVS); ``"raw"`` returns the raw address fields.
    ``p`` is True for ON events.
    """
    path = Path(path)
    raw = _read_file(path)
    hdr = _parse_aedat_header(raw, path)
    if hdr.version != "2.0":
        raise CorruptFileError(
            path, f"unsupported AEDAT version {hdr.version} (this reader expects AEDAT 2.0 "
                  "with DVS128 addresses)")
    data = raw[hdr.data_offset:]
    if len(data) % 8:
        raise CorruptFileError(
            path, f"truncated AEDAT 2.0 file: {len(data)} payload bytes is not a multiple "
                  "of 8 (int32 address + int32 timestamp)")
    w = np.frombuffer(data, dtype=">u4").reshape(-1, 2)
    addr, ts = w[:, 0], w[:, 1].astype(np.int64)
    keep = (addr & 0x8000) == 0
    addr, ts = addr[keep], ts[keep]
    xr = (addr >> 1) & 0x7F
    yr = (addr >> 8) & 0x7F
    p = 1 - (addr & 1)
    if orientation == "upright":
        x, y = 127 - yr, 127 - xr
    elif orientation == "raw":
        x, y = xr, yr
    else:
        raise ValueError("orientation must be 'upright' or 'raw'")
    return make_events(x, y, ts, p)


AEDAT31_PACKET_HEADER = struct.Struct("<hhiiiiii")  # 28 bytes
POLARITY_EVENT = 1


def read_aedat31_polarity(path, *, keep_invalid: bool = False) -> np.ndarray:
    """Read the polarity events of an AEDAT 3.1 file (e.g. IBM's DVS128 Gesture).

    After the ``#!END-HEADER`` line the file is a sequence of packets: a 28-byte
    little-endian header (int16 eventType, int16 eventSource, int32 eventSize,
    int32 eventTSOffset, int32 eventTSOverflow, int32 eventCapacity, int32 eventNumber,
    int32 eventValid) followed by ``eventCapacity * eventSize`` bytes. Polarity packets
    (type 1, 8-byte events): uint32 data (bit 0 valid, bit 1 polarity, bits 2-16 y,
    bits 17-31 x) and int32 timestamp; the full timestamp is
    ``eventTSOverflow << 31 | timestamp``. Other packet types are skipped; events whose
    valid bit is 0 are dropped unless ``keep_invalid``.
    """
    path = Path(path)
    raw = _read_file(path)
    hdr = _parse_aedat_header(raw, path)
    if hdr.version != "3.1":
        raise CorruptFileError(
            path, f"unsupported AEDAT version {hdr.version} (this reader expects AEDAT 3.1)")
    if not hdr.lines or not hdr.lines[-1].startswith("#!END-HEADER"):
        raise CorruptFileError(path, "truncated AEDAT 3.1 header (no #!END-HEADER line)")
    pos = hdr.data_offset
    n = len(raw)
    chunks: list[np.ndarray] = []
    overflows: list[np.ndarray] = []
    hsize = AEDAT31_PACKET_HEADER.size
    while pos < n:
        if n - pos < hsize:
            raise CorruptFileError(
                path, f"truncated AEDAT 3.1 file: partial packet header at byte {pos}")
        (etype, _src, esize, _tsoff, tsovf, ecap, enum, _valid) = \
            AEDAT31_PACKET_HEADER.unpack_from(raw, pos)
        pos += hsize
        if esize <= 0 or ecap < 0 or enum < 0 or enum > ecap:
            raise CorruptFileError(
                path, f"corrupt AEDAT 3.1 packet header at byte {pos - hsize} "
                      f"(eventSize={esize}, capacity={ecap}, number={enum})")
        length = ecap * esize
        if pos + length > n:
            raise CorruptFileError(
                path, f"truncated AEDAT 3.1 file: packet at byte {pos - hsize} needs "
                      f"{length} bytes, {n - pos} left")
        if etype == POLARITY_EVENT:
            if esize < 8:
                raise CorruptFileError(path, f"corrupt polarity packet: eventSize={esize}")
            body = np.frombuffer(raw, dtype=np.uint8, count=enum * esize, offset=pos)
            body = body.reshape(enum, esize)[:, :8].copy().view("<u4").reshape(enum, 2)
            chunks.append(body)
            overflows.append(np.full(enum, tsovf, np.int64))
        pos += length
    if not chunks:
        return np.empty(0, EVENT_DTYPE)
    w = np.concatenate(chunks)
    ovf = np.concatenate(overflows)
    data = w[:, 0]
    t = (ovf << 31) | w[:, 1].astype(np.int64)
    if not keep_invalid:
        ok = (data & 1) == 1
        data, t = data[ok], t[ok]
    x = (data >> 17) & 0x7FFF
    y = (data >> 2) & 0x7FFF
    p = (data >> 1) & 1
    return make_events(x, y, t, p)


# --------------------------------------------------------------------------- Prophesee

def read_prophesee_dat(path) -> np.ndarray:
    """Read a Prophesee DAT file (``%`` text header, 1 byte event type, 1 byte event
    size, then 8-byte CD events: uint32 t in us, uint32 ``x = w & 0x3FFF``,
    ``y = (w >> 14) & 0x3FFF``, ``p = (w >> 28) & 0xF``)."""
    path = Path(path)
    raw = _read_file(path)
    i = 0
    while raw[i:i + 1] == b"%":
        j = raw.find(b"\n", i)
        if j < 0:
            raise CorruptFileError(path, "truncated Prophesee DAT header")
        i = j + 1
    if len(raw) < i + 2:
        raise CorruptFileError(path, "truncated Prophesee DAT file: no event type/size bytes")
    ev_type, ev_size = raw[i], raw[i + 1]
    i += 2
    if ev_size != 8:
        raise CorruptFileError(path, f"unsupported Prophesee DAT event size {ev_size} "
                                     f"(type {ev_type}); expected 8-byte CD events")
    data = raw[i:]
    if len(data) % 8:
        raise CorruptFileError(path, f"truncated Prophesee DAT file: {len(data)} payload "
                                     "bytes is not a multiple of 8")
    w = np.frombuffer(data, dtype="<u4").reshape(-1, 2)
    t, a = w[:, 0].astype(np.int64), w[:, 1]
    return make_events(a & 0x3FFF, (a >> 14) & 0x3FFF, t, (a >> 28) & 0xF)


# --------------------------------------------------------------------------- dispatch

def read_event_file(path) -> np.ndarray:
    """Read any supported event file, choosing the reader from suffix and header."""
    path = Path(path)
    suf = path.suffix.lower()
    if suf in (".bin", ".bs2"):
        return read_nmnist_bin(path)
    if suf == ".dat":
        return read_prophesee_dat(path)
    if suf in (".aedat", ".aedat4"):
        hdr = read_aedat_header(path)
        if hdr.version == "2.0":
            return read_aedat2_dvs128(path)
        if hdr.version == "3.1":
            return read_aedat31_polarity(path)
        raise CorruptFileError(
            path, f"unsupported AEDAT version {hdr.version}: supported are AEDAT 2.0 (DVS128 "
                  "addresses) and AEDAT 3.1 (polarity packets)")
    raise DatasetError(f"{path}: unknown event file type {suf!r} "
                       "(supported: .bin, .bs2, .dat, .aedat)")
