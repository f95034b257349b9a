"""The quantiser of each coded VP9 frame, read from its uncompressed header (VP9 bitstream specification, 6.2).

libvpx's own rate control does not say which ``q_index`` it gave each frame; its packets
do. A packet holds one frame or a superframe (hidden frames bundled with the next shown
one, listed by an index at its end); each frame's uncompressed header leads, bit by bit,
to ``base_q_idx``. This reads libvpx's decisions so a learned policy can start from them.
"""

from __future__ import annotations

from licodec.errors import LicodecError

SYNC_CODE = 0x498342
CS_RGB = 7


class _Bits:
    def __init__(self, data: bytes) -> None:
        self.data, self.position = data, 0

    def read(self, count: int) -> int:
        value = 0
        for _ in range(count):
            byte = self.position >> 3
            if byte >= len(self.data):
                raise LicodecError("a VP9 frame header ends early")
            value = (value << 1) | ((self.data[byte] >> (7 - (self.position & 7))) & 1)
            self.position += 1
        return value


def superframe(packet: bytes) -> list[bytes]:
    """The frames of a packet: those listed by a superframe index, or the packet itself."""
    if not packet:
        return []
    marker = packet[-1]
    if marker & 0xE0 == 0xC0:
        count, size_bytes = (marker & 7) + 1, ((marker >> 3) & 3) + 1
        index_size = 2 + size_bytes * count
        if len(packet) >= index_size and packet[-index_size] == marker:
            frames, offset = [], 0
            for i in range(count):
                start = len(packet) - index_size + 1 + i * size_bytes
                size = int.from_bytes(packet[start : start + size_bytes], "little")
                frames.append(packet[offset : offset + size])
                offset += size
            return frames
    return [packet]


def base_q_index(frame: bytes) -> int | None:
    """The frame's ``base_q_idx``, or None for a frame that only shows an earlier one."""
    bits = _Bits(frame)
    if bits.read(2) != 2:
        raise LicodecError("not a VP9 frame (frame marker)")
    profile = bits.read(1) | (bits.read(1) << 1)
    if profile == 3:
        bits.read(1)
    if bits.read(1):  # show_existing_frame
        return None
    key_frame = bits.read(1) == 0
    show_frame = bits.read(1)
    error_resilient = bits.read(1)
    if key_frame:
        _sync_code(bits)
        _color_config(bits, profile)
        _frame_and_render_size(bits)
    else:
        intra_only = bits.read(1) if not show_frame else 0
        if not error_resilient:
            bits.read(2)  # reset_frame_context
        if intra_only:
            _sync_code(bits)
            if profile > 0:
                _color_config(bits, profile)
            bits.read(8)  # refresh_frame_flags
            _frame_and_render_size(bits)
        else:
            bits.read(8 + 3 * 4)  # refresh_frame_flags; ref_frame_idx and sign bias of three references
            if not any(bits.read(1) for _ in range(3)):  # found_ref
                bits.read(32)
            _render_size(bits)
            bits.read(1)  # allow_high_precision_mv
            if not bits.read(1):  # is_filter_switchable
                bits.read(2)
    if not error_resilient:
        bits.read(2)  # refresh_frame_context, frame_parallel_decoding_mode
    bits.read(2)  # frame_context_idx
    _loop_filter_params(bits)
    return bits.read(8)


def _sync_code(bits: _Bits) -> None:
    if bits.read(24) != SYNC_CODE:
        raise LicodecError("not a VP9 frame (sync code)")


def _color_config(bits: _Bits, profile: int) -> None:
    if profile >= 2:
        bits.read(1)  # ten_or_twelve_bit
    color_space = bits.read(3)
    if color_space != CS_RGB:
        bits.read(1)  # color_range
        if profile in (1, 3):
            bits.read(3)  # subsampling_x, subsampling_y, reserved_zero
    elif profile in (1, 3):
        bits.read(1)


def _frame_and_render_size(bits: _Bits) -> None:
    bits.read(32)
    _render_size(bits)


def _render_size(bits: _Bits) -> None:
    if bits.read(1):
        bits.read(32)


def _loop_filter_params(bits: _Bits) -> None:
    bits.read(6 + 3)  # level, sharpness
    if bits.read(1) and bits.read(1):  # delta enabled, delta update
        for _ in range(4 + 2):  # reference deltas, mode deltas: each su(6) when updated
            if bits.read(1):
                bits.read(7)


def coded_frames(packets: list[bytes]) -> list[tuple[int, int]]:
    """``(base_q_idx, bits)`` of every coded frame of the packets, in coding order (frames that only show another are skipped)."""
    return [(q, 8 * len(frame)) for packet in packets for frame in superframe(packet) if (q := base_q_index(frame)) is not None]


def packet_q_indexes(packets: list[bytes]) -> list[int]:
    """``base_q_idx`` of every coded frame of the packets, in coding order."""
    return [q for q, _ in coded_frames(packets)]
