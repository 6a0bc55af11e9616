"""The arrays of an ``.npz`` held in memory whose sha256 was already checked, without a second pass over them.

``np.load`` on the bytes reads each member through :mod:`zipfile`: a CRC-32 pass and a copy per member (on a
65 MB paper-scale snapshot about 0.1 s, as much as hashing it). Once the file's sha256 matches the manifest the
CRC adds nothing, so a member stored uncompressed (``np.savez``, :func:`write_aligned_npz`) is returned as a read-only
``np.frombuffer`` view of the verified bytes at the member's offset; compressed members, and ``.npy`` format
versions other than 1.0/2.0, go through ``NpzFile`` as before. Layouts follow the ZIP application note (local
file header: 30 bytes, then name and extra field, APPNOTE 4.3.7) and NEP 1 (the ``.npy`` format).

A zip member starts wherever the previous one ended, so in an ``np.savez`` file the view is often not aligned for
its dtype; numpy's BLAS paths (``@``, matmul) then fall back to a loop. Such a member is copied once into aligned
memory: on the paper-scale factor (12560 x 1280 float64, at an address 1 mod 8) ``M @ y`` took 0.059 s unaligned and
0.013 s aligned, and a Woodbury solve reusing the Gram 0.29-0.37 s inside replay against 0.055 s (MEASURED here, one
thread). Traces written by :func:`write_aligned_npz` need no copy: each member's data start at a multiple of 64
bytes in the file (a padding block in the local header's extra field, as Android's ``zipalign`` pads; the ``.npy``
header is itself a multiple of 64 bytes, NEP 1), which a ``bytes`` buffer (16-byte aligned) keeps aligned.
"""

from __future__ import annotations

import io
import math
import struct
import zipfile
from typing import Any

import numpy as np

_LOCAL_HEADER = b"PK\x03\x04"
_LOCAL_HEADER_LEN = 30       # APPNOTE 4.3.7: fixed part of the local file header
_NPY_HEADER_MAX = 1 << 16    # numpy's own default max_header_size is 10000
_ZIP64_EXTRA_LEN = 20        # the zip64 block zipfile adds to a local header written with force_zip64 (APPNOTE 4.5.3)
_PAD_ID = 0xD935             # extra-field id of zipalign's padding block
ALIGN = 64                   # member data start at a multiple of this many bytes (numpy's own ARRAY_ALIGN)


def write_aligned_npz(f: Any, arrays: dict[str, np.ndarray]) -> None:
    """``np.savez(f, **arrays)``'s layout (one stored ``<key>.npy`` member per array; ``np.load`` reads it as any
    npz) with each member's array data at a multiple of :data:`ALIGN` bytes from the start of ``f`` (a seekable
    file opened for writing at offset 0). No pickles are written."""
    with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        for key, arr in arrays.items():
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            start = zf.fp.tell() + _LOCAL_HEADER_LEN + len(info.filename.encode()) + _ZIP64_EXTRA_LEN + 4
            pad = -start % ALIGN
            info.extra = struct.pack("<HH", _PAD_ID, pad) + bytes(pad)
            with zf.open(info, "w", force_zip64=True) as fid:
                np.lib.format.write_array(fid, np.asanyarray(arr), allow_pickle=False)


class VerifiedNpz:
    """``NpzFile``-like view (``files``, ``zip``, ``[key]``, context manager) of verified ``.npz`` bytes."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._npz = np.load(io.BytesIO(data), allow_pickle=False)
        self.zip = self._npz.zip
        self.files = self._npz.files

    def __enter__(self) -> VerifiedNpz:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self._npz.close()

    def __getitem__(self, key: str) -> np.ndarray:
        info = self.zip.getinfo(f"{key}.npy") if key in self.files else None
        view = None if info is None else self._stored_view(info)
        return self._npz[key] if view is None else view

    def _stored_view(self, info: zipfile.ZipInfo) -> np.ndarray | None:
        """The member as a read-only array over the bytes, or None where NpzFile must read it."""
        if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1:  # compressed or encrypted
            return None
        off, data = info.header_offset, self._data
        if data[off:off + 4] != _LOCAL_HEADER:
            raise zipfile.BadZipFile(f"member {info.filename!r}: no local file header at offset {off}")
        name_len, extra_len = struct.unpack_from("<HH", data, off + 26)
        start = off + _LOCAL_HEADER_LEN + name_len + extra_len
        member = memoryview(data)[start:start + info.file_size]
        if len(member) != info.file_size:
            raise zipfile.BadZipFile(f"member {info.filename!r} is truncated")
        head = io.BytesIO(member[:_NPY_HEADER_MAX])
        version = np.lib.format.read_magic(head)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(head, max_header_size=_NPY_HEADER_MAX)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(head, max_header_size=_NPY_HEADER_MAX)
        else:
            return None
        if dtype.hasobject:
            raise ValueError(f"member {info.filename!r} holds Python objects (not allowed: no pickle)")
        count = math.prod(shape)
        if head.tell() + count * dtype.itemsize != len(member):
            raise ValueError(f"member {info.filename!r}: {len(member)} bytes, its header says {shape} {dtype}")
        arr = np.frombuffer(member, dtype=dtype, count=count, offset=head.tell())
        if not arr.flags.aligned:  # the zip puts a member at any offset; see the module docstring
            arr = arr.copy()
            arr.flags.writeable = False
        return arr.reshape(shape[::-1]).T if fortran else arr.reshape(shape)
