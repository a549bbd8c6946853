"""The fast header walker agrees with pydicom, including sequences of undefined length."""

from __future__ import annotations

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import ImplicitVRLittleEndian

from mrecist_tool.dicom.header import read_header
from mrecist_tool.dicom.header_pydicom import read_with_pydicom
from mrecist_tool.dicom.testing import write_series


def _nested_sequence() -> Sequence:
    inner = Dataset()
    inner.CodeValue = "121311"
    inner.is_undefined_length_sequence_item = True
    item = Dataset()
    item.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    item.ReferencedSOPInstanceUID = "1.2.3.4"
    item.PurposeOfReferenceCodeSequence = Sequence([inner])
    item["PurposeOfReferenceCodeSequence"].is_undefined_length = True
    item.is_undefined_length_sequence_item = True
    return Sequence([item, item])


@pytest.mark.parametrize("implicit", [False, True])
def test_fast_walker_matches_pydicom_with_undefined_length_sequences(tmp_path, implicit):
    series = write_series(tmp_path, n_slices=1, extra={"ReferencedImageSequence":
                                                        _nested_sequence()})
    path = series.files[0]
    ds = pydicom.dcmread(path)
    ds["ReferencedImageSequence"].is_undefined_length = True
    if implicit:
        ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    ds.save_as(path, enforce_file_format=True)
    fast = read_header(path)
    slow = read_with_pydicom(path)
    assert fast.pixel_offset is not None  # the fast path was taken
    for field in ("series_uid", "study_uid", "position", "orientation", "pixel_spacing", "rows",
                  "columns", "slope", "intercept", "window", "series_description",
                  "bits_allocated", "pixel_representation", "sop_instance_uid", "image_type"):
        assert getattr(fast, field) == getattr(slow, field), field
    with open(path, "rb") as fh:
        fh.seek(fast.pixel_offset)
        assert fh.read(fast.pixel_length) == pydicom.dcmread(path).PixelData


def test_identity_fields_are_not_in_repr(tmp_path):
    series = write_series(tmp_path, n_slices=1, patient_name="Secret^Name", patient_id="ID-42")
    header = read_header(series.files[0])
    assert header.patient_name == "Secret^Name"
    assert "Secret" not in repr(header) and "ID-42" not in repr(header)


def test_latin1_and_utf8_descriptions(tmp_path):
    write_series(tmp_path / "a", n_slices=1, description="Portalvenös Phase")
    assert read_header(next((tmp_path / "a").glob("*.dcm"))).series_description == (
        "Portalvenös Phase")
    write_series(tmp_path / "b", n_slices=1, description="门静脉期",
                 extra={"SpecificCharacterSet": "ISO_IR 192"})
    assert read_header(next((tmp_path / "b").glob("*.dcm"))).series_description == "门静脉期"


def test_headers_larger_than_the_first_read_are_followed(tmp_path):
    series = write_series(tmp_path, n_slices=1)
    path = series.files[0]
    ds = pydicom.dcmread(path)
    block = ds.private_block(0x0011, "MRECIST TEST", create=True)
    block.add_new(0x10, "OB", bytes(100_000))  # before group 0020: UIDs and geometry follow
    ds.save_as(path, enforce_file_format=True)
    fast = read_header(path)
    assert fast.pixel_offset is not None and fast.pixel_offset > 100_000
    assert fast.position == read_with_pydicom(path).position
    assert fast.series_uid == series.series_uid
