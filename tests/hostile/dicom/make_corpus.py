"""Build the hostile DICOM corpus (issue 8, items 4 and 8-10) into a folder, deterministically.

Nothing large is committed: every input is generated here, with fixed UIDs and pixel values, and
the two "large" files are sparse (a 1.5 GB file occupies a few kilobytes on disk).  The
expected outcome of each input is in ``expected.json`` beside this script::

    .venv/bin/python tests/hostile/dicom/make_corpus.py OUT_FOLDER

Each entry is a folder holding one case: a small CT series of three slices (32 x 32, 2 mm apart)
in which one slice, or every slice, carries the defect, or a single file.  A case is either
*refused* -- ``read_series`` raises and ``scan`` lists the series as not loadable (or the file as
skipped) with the located reason -- or *warned*: the volume loads and the warning names the
value and the file.
"""

from __future__ import annotations

import os
import struct
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import CTImageStorage, EnhancedCTImageStorage, ExplicitVRLittleEndian, generate_uid

ROWS = COLS = 32
GIB = 2**30


def uid(*parts: object) -> str:
    """A fixed UID for a name (deterministic: same corpus, same bytes, every run)."""
    return generate_uid(entropy_srcs=["mrecist-hostile-dicom", *map(str, parts)])


def _meta(sop_class: str, sop_uid: str) -> FileMetaDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return meta


def _common(ds: Dataset, case: str, description: str) -> None:
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.StudyDate = ds.SeriesDate = "20240102"
    ds.StudyTime = ds.SeriesTime = "101500"
    ds.Modality = "CT"
    ds.StudyDescription = "hostile corpus"
    ds.SeriesDescription = description
    ds.PatientName = "Hostile^Corpus"
    ds.PatientID = "HOSTILE-1"
    ds.PatientBirthDate = "19600101"
    ds.StudyInstanceUID = uid("study")
    ds.SeriesInstanceUID = uid(case, "series")
    ds.FrameOfReferenceUID = uid("frame of reference")
    ds.SeriesNumber = 1
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = ROWS, COLS
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
    ds.PixelRepresentation = 1


def ct_slice(case: str, k: int) -> FileDataset:
    """Slice ``k`` of a good axial CT series (z = 2k mm)."""
    sop_uid = uid(case, "slice", k)
    ds = FileDataset("", {}, file_meta=_meta(CTImageStorage, sop_uid), preamble=b"\0" * 128)
    _common(ds, case, f"hostile {case}")
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = sop_uid
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.InstanceNumber = k + 1
    ds.SliceThickness = "2"
    ds.ImagePositionPatient = [-12.0, -8.0, 2.0 * k]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.PixelSpacing = [0.75, 0.5]
    ds.WindowCenter, ds.WindowWidth = "40", "400"
    ds.RescaleIntercept, ds.RescaleSlope = "-1024", "1"
    rng = np.random.default_rng(k)
    ds.PixelData = rng.integers(0, 2000, size=(ROWS, COLS)).astype("<i2").tobytes()
    return ds


Mutation = Callable[[int, FileDataset], dict[str, str]]


def series(root: Path, case: str, mutate: Mutation | None = None, n: int = 3) -> Path:
    folder = root / case
    folder.mkdir(parents=True)
    for k in range(n):
        ds = ct_slice(case, k)
        raw = mutate(k, ds) if mutate is not None else {}
        path = folder / f"IM{k:04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        for keyword, text in raw.items():
            patch_text(path, keyword, text)
    return folder


def patch_text(path: Path, keyword: str, text: str) -> None:
    """Rewrite the value of a top-level text element (DS, IS, ...) byte for byte.

    pydicom (rightly) will not write ``inf`` as an Integer String; a hostile file holds it
    anyway.  The element was first written with a valid placeholder value.
    """
    from pydicom.datadict import dictionary_VR, tag_for_keyword

    tag = tag_for_keyword(keyword)
    assert tag is not None, keyword
    vr = dictionary_VR(tag).encode("ascii")
    head = struct.pack("<HH", tag >> 16, tag & 0xFFFF) + vr
    data = path.read_bytes()
    pos = data.find(head, 132)
    assert pos > 0, keyword
    (length,) = struct.unpack_from("<H", data, pos + 6)
    value = text.encode("ascii")
    if len(value) % 2:
        value += b" "
    path.write_bytes(data[:pos] + head + struct.pack("<H", len(value)) + value
                     + data[pos + 8 + length:])


def _apply(ds: FileDataset, values: dict[str, Any]) -> dict[str, str]:
    """Set ``values``; text values are written raw after saving (see :func:`patch_text`)."""
    raw: dict[str, str] = {}
    for key, value in values.items():
        if isinstance(value, str):
            setattr(ds, key, "1")  # a valid placeholder, patched once the file is written
            raw[key] = value
        else:
            setattr(ds, key, value)
    return raw


def on_slice(index: int, **values: Any) -> Mutation:
    """Set element values on one slice of the series (text is written as given, raw)."""

    def mutate(k: int, ds: FileDataset) -> dict[str, str]:
        return _apply(ds, values) if k == index else {}

    return mutate


def on_all(**values: Any) -> Mutation:
    def mutate(_k: int, ds: FileDataset) -> dict[str, str]:
        return _apply(ds, values)

    return mutate


def enhanced_ct(root: Path, case: str, declared_frames: int, items: int = 2) -> Path:
    """An Enhanced CT object of ``items`` real frames that declares ``declared_frames``."""
    folder = root / case
    folder.mkdir(parents=True)
    sop_uid = uid(case, "enhanced")
    ds = FileDataset("", {}, file_meta=_meta(EnhancedCTImageStorage, sop_uid),
                     preamble=b"\0" * 128)
    _common(ds, case, f"hostile {case}")
    ds.SOPClassUID = EnhancedCTImageStorage
    ds.SOPInstanceUID = sop_uid
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL", "NONE"]
    ds.InstanceNumber = 1
    ds.NumberOfFrames = str(declared_frames)
    shared = Dataset()
    orientation = Dataset()
    orientation.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    shared.PlaneOrientationSequence = Sequence([orientation])
    measures = Dataset()
    measures.PixelSpacing = [0.75, 0.5]
    measures.SliceThickness = "2"
    shared.PixelMeasuresSequence = Sequence([measures])
    transform = Dataset()
    transform.RescaleIntercept, transform.RescaleSlope, transform.RescaleType = "-1024", "1", "HU"
    shared.PixelValueTransformationSequence = Sequence([transform])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    per_frame = []
    for k in range(items):
        item = Dataset()
        position = Dataset()
        position.ImagePositionPatient = [-12.0, -8.0, 2.0 * k]
        item.PlanePositionSequence = Sequence([position])
        per_frame.append(item)
    ds.PerFrameFunctionalGroupsSequence = Sequence(per_frame)
    rng = np.random.default_rng(7)
    ds.PixelData = rng.integers(0, 2000, size=(items, ROWS, COLS)).astype("<i2").tobytes()
    ds.save_as(folder / "ENHANCED.dcm", enforce_file_format=True)
    return folder


def _pixel_data_offset(data: bytes) -> int:
    """Byte offset of the (7FE0,0010) element header in an explicit-VR little-endian file."""
    marker = struct.pack("<HH", 0x7FE0, 0x0010) + b"OW"
    pos = data.rfind(marker)
    assert pos > 0
    return pos


def sparse_pixel_data(root: Path, case: str, size: int) -> Path:
    """A good one-slice header whose Pixel Data element claims ``size`` bytes, in a sparse file
    of that size: the header says 32 x 32 pixels, the element holds far more."""
    folder = root / case
    folder.mkdir(parents=True)
    path = folder / "IM0000.dcm"
    ct_slice(case, 0).save_as(path, enforce_file_format=True)
    data = path.read_bytes()
    pos = _pixel_data_offset(data)
    with open(path, "r+b") as fh:
        fh.seek(pos + 8)
        fh.write(struct.pack("<I", size))
        fh.truncate(pos + 12 + size)
    return folder


def sparse_private_element(root: Path, case: str, size: int) -> Path:
    """A good slice with a private OB element of ``size`` bytes (sparse) before Pixel Data: a
    header-only read must skip it, not read it."""
    folder = root / case
    folder.mkdir(parents=True)
    path = folder / "IM0000.dcm"
    ds = ct_slice(case, 0)
    ds.save_as(path, enforce_file_format=True)
    data = path.read_bytes()
    pos = _pixel_data_offset(data)
    head, pixels = data[:pos], data[pos:]
    creator = struct.pack("<HH", 0x0009, 0x0010) + b"LO" + struct.pack("<H", 8) + b"HOSTILE "
    private = struct.pack("<HH", 0x0009, 0x1000) + b"OB\0\0" + struct.pack("<I", size)
    with open(path, "wb") as fh:
        fh.write(head + creator + private)
        fh.seek(size, os.SEEK_CUR)  # a hole: no disk space, no bytes written
        fh.write(pixels)
    return folder


def fifo_in_series(root: Path, case: str) -> Path:
    """A good series and a named pipe among its files (where ``mkfifo`` exists)."""
    folder = series(root, case)
    if hasattr(os, "mkfifo"):
        os.mkfifo(folder / "IM0003.dcm")
    return folder


def build(root: Path) -> dict[str, Path]:
    """Write every case under ``root``; returns case name -> its folder."""
    root.mkdir(parents=True, exist_ok=True)
    cases: dict[str, Path] = {}

    def add(name: str, maker: Callable[..., Path], *args: Any) -> None:
        cases[name] = maker(root, name, *args)

    add("good", series)
    # -- item 8: declared sizes ------------------------------------------------------------------
    add("enhanced_100000000_frames", enhanced_ct, 100_000_000)
    add("enhanced_frames_beyond_items", enhanced_ct, 50)
    add("rows_columns_65535", series, on_all(Rows=65535, Columns=65535))
    add("pixel_data_1_5_gib_sparse", sparse_pixel_data, 3 * GIB // 2)
    add("private_element_1_5_gib_sparse", sparse_private_element, 3 * GIB // 2)
    add("number_of_frames_inf", series, on_slice(1, NumberOfFrames="inf"))
    add("multiframe_100000000_frames_no_groups", series, on_all(NumberOfFrames="100000000"), 1)
    add("fifo_in_series", fifo_in_series)
    # -- item 9: values that are not numbers -----------------------------------------------------
    add("orientation_nan", series, on_slice(1, ImageOrientationPatient="NaN\\0\\0\\0\\1\\0"))
    add("orientation_infinity", series,
        on_slice(2, ImageOrientationPatient="1\\0\\0\\0\\Infinity\\0"))
    add("position_nan", series, on_slice(0, ImagePositionPatient="-12\\nan\\0"))
    add("rescale_intercept_1e12", series, on_all(RescaleIntercept="1e12"))
    add("rescale_slope_nan", series, on_slice(1, RescaleSlope="NaN"))
    add("rescale_slope_zero", series, on_all(RescaleSlope="0"))
    add("instance_number_inf", series, on_slice(1, InstanceNumber="inf"))
    add("acquisition_number_1e400", series, on_slice(2, AcquisitionNumber="1e400"))
    # -- item 10: values that are numbers but wrong ----------------------------------------------
    add("pixel_spacing_negative", series, on_all(PixelSpacing="-0.75\\-0.5"))
    add("pixel_spacing_zero", series, on_slice(1, PixelSpacing="0\\0.5"))
    add("pixel_spacing_infinite", series, on_all(PixelSpacing="inf\\0.5"))
    add("slice_thickness_negative", series, on_all(SliceThickness="-2"))
    add("bits_allocated_8_over_16_bit_data", series, on_all(BitsAllocated=8, BitsStored=8, HighBit=7))
    add("bits_stored_above_allocated", series, on_all(BitsStored=20, HighBit=19))
    add("window_width_nan", series, on_all(WindowWidth="NaN"))
    return cases


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "hostile_dicom")
    for name, folder in build(out).items():
        print(f"{name}: {folder}")
