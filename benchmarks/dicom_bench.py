"""Benchmark: ``mrecist_tool.dicom.read_series`` against SimpleITK and raw file reading.

Builds a 512×512×300 int16 CT series (one file per slice, explicit VR little endian, rescale
intercept -1024, shuffled file names so order must come from the headers), then times each
method in its own fresh subprocess -- one load per process, so the child's peak RSS
(``resource.getrusage``) minus its RSS just before the load is that method's extra memory.
Each method runs ``--repeats`` times, interleaved, with a warm page cache; medians are printed
with the two target ratios:

* time(read_series) / time(SimpleITK ImageSeriesReader with discovery)  -- target ≤ 0.5
* extra peak memory of read_series / volume size                        -- target ≤ 1.3

Run: ``.venv/bin/python benchmarks/dicom_bench.py [--repeats 5] [--workdir DIR] [--slices 300]
[--bits-stored 12]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROWS = COLS = 512

CHILD = r"""
import json, os, resource, sys, time
method, folder = sys.argv[1], sys.argv[2]
page = os.sysconf("SC_PAGE_SIZE")
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * page
if method == "read_series":
    from mrecist_tool.dicom import read_series
    import numpy
elif method == "scan":
    from mrecist_tool.dicom import scan
elif method == "sitk":
    import SimpleITK as sitk
before = rss()
usage0 = resource.getrusage(resource.RUSAGE_SELF)
t0 = time.perf_counter()
if method == "read_series":
    vol = read_series(folder)
    shape, checksum = vol.array.shape, int(vol.array[150].astype("int64").sum())
elif method == "scan":
    result = scan(folder)
    shape, checksum = None, result.series[0].n_slices
elif method == "sitk":
    reader = sitk.ImageSeriesReader()
    uid = reader.GetGDCMSeriesIDs(folder)[0]
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(folder, uid))
    image = reader.Execute()
    shape = image.GetSize()[::-1]
    checksum = None
elif method == "raw":
    total = 0
    for entry in os.scandir(folder):
        with open(entry.path, "rb") as fh:
            total += len(fh.read())
    shape, checksum = None, total
elapsed = time.perf_counter() - t0
usage1 = resource.getrusage(resource.RUSAGE_SELF)
cpu = (usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime)
peak = usage1.ru_maxrss * 1024
print(json.dumps({"seconds": elapsed, "cpu": cpu, "extra_peak": peak - before, "shape": shape,
                  "checksum": checksum}))
"""


def build_series(folder: Path, n_slices: int, bits_stored: int = 16) -> None:
    """Write the synthetic CT series (skipped when a complete one is already there)."""
    import numpy as np
    import pydicom
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    marker = folder / ".complete"
    if marker.exists() and marker.read_text() == f"{n_slices} {bits_stored}":
        return
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.dcm"):
        old.unlink()
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:ROWS, :COLS]
    body = ((yy - 256) ** 2 / 200**2 + (xx - 256) ** 2 / 230**2) < 1
    study, series, frame = generate_uid(), generate_uid(), generate_uid()
    names = rng.permutation(n_slices)
    for k in range(n_slices):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = FileDataset(str(folder / f"{names[k]:05d}.dcm"), {}, file_meta=meta,
                         preamble=b"\0" * 128)
        ds.SpecificCharacterSet = "ISO_IR 100"
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.SOPClassUID = CTImageStorage
        ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
        ds.StudyDate = ds.SeriesDate = ds.ContentDate = "20240102"
        ds.StudyTime, ds.SeriesTime, ds.AcquisitionTime = "101500", "101610", "101610"
        ds.Modality = "CT"
        ds.Manufacturer = "mrecist-bench"
        ds.StudyDescription = "CT abdomen"
        ds.SeriesDescription = "Abdomen PV 1.0"
        ds.PatientName = "Bench^Patient"
        ds.PatientID = "BENCH-1"
        ds.PatientBirthDate = "19600101"
        ds.PatientSex = "O"
        ds.ContrastBolusAgent = "Iomeron 350"
        ds.ContrastBolusStartTime = "101500"
        ds.SliceThickness = "1.0"
        ds.KVP = "120"
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
        ds.FrameOfReferenceUID = frame
        ds.SeriesNumber, ds.InstanceNumber, ds.AcquisitionNumber = 3, k + 1, 1
        ds.ImagePositionPatient = [-250.0, -250.0, -150.0 + k * 1.0]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows, ds.Columns = ROWS, COLS
        ds.PixelSpacing = [0.78125, 0.78125]
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, bits_stored, bits_stored - 1
        ds.PixelRepresentation = 1
        ds.WindowCenter, ds.WindowWidth = "40", "400"
        ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = "-1024", "1", "HU"
        img = np.where(body, 1064, 24).astype(np.int16)
        img += rng.integers(-20, 20, size=(ROWS, COLS), dtype=np.int16)
        ds.PixelData = img.tobytes()
        ds.save_as(folder / f"{names[k]:05d}.dcm", enforce_file_format=True)
    del pydicom
    marker.write_text(f"{n_slices} {bits_stored}")


def run_child(method: str, folder: Path) -> dict:
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[1] / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", CHILD, method, str(folder)], env=env,
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{method} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path,
                        default=Path(tempfile.gettempdir()) / "mrecist-dicom-bench")
    parser.add_argument("--slices", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--bits-stored", type=int, default=16, choices=(12, 16),
                        help="12 exercises the masking of unused high bits")
    args = parser.parse_args(argv)
    folder = args.workdir / f"ct_{ROWS}x{COLS}x{args.slices}_{args.bits_stored}bit"
    t0 = time.perf_counter()
    build_series(folder, args.slices, args.bits_stored)
    print(f"series: {folder} ({args.slices} files, built/checked in "
          f"{time.perf_counter() - t0:.1f} s); cores: {os.cpu_count()}")
    volume_bytes = ROWS * COLS * args.slices * 2
    run_child("raw", folder)  # warm the page cache
    methods = ("raw", "sitk", "read_series", "scan")
    results: dict[str, list[dict]] = {m: [] for m in methods}
    for _ in range(args.repeats):
        for m in methods:
            results[m].append(run_child(m, folder))
    med = {m: statistics.median(r["seconds"] for r in results[m]) for m in methods}
    mem = {m: statistics.median(r["extra_peak"] for r in results[m]) for m in methods}
    cpu = {m: statistics.median(r["cpu"] for r in results[m]) for m in methods}
    print(f"{'method':<40} {'median s':>9} {'min s':>7} {'CPU s':>7} {'extra peak MB':>14}")
    labels = {"raw": "raw bytes (open+read every file)",
              "sitk": "SimpleITK ImageSeriesReader + discovery",
              "read_series": "mrecist_tool.dicom.read_series(folder)",
              "scan": "mrecist_tool.dicom.scan(folder) (headers)"}
    for m in methods:
        print(f"{labels[m]:<40} {med[m]:>9.3f} {min(r['seconds'] for r in results[m]):>7.3f} "
              f"{cpu[m]:>7.3f} {mem[m] / 1e6:>14.1f}")
    time_ratio = med["read_series"] / med["sitk"]
    mem_ratio = mem["read_series"] / volume_bytes
    print(f"volume size: {volume_bytes / 1e6:.1f} MB (int16)")
    print(f"time ratio read_series / SimpleITK = {time_ratio:.2f} (target <= 0.50) "
          f"{'OK' if time_ratio <= 0.5 else 'MISSED'}")
    fastest = {m: min(r["seconds"] for r in results[m]) for m in methods}
    print(f"(other views: ratio of fastest runs {fastest['read_series'] / fastest['sitk']:.2f}, "
          f"ratio of CPU time {cpu['read_series'] / cpu['sitk']:.2f}; medians are noisy on a "
          f"busy machine, load average now {os.getloadavg()[0]:.1f})")
    print(f"peak memory / volume size = {mem_ratio:.2f} (target <= 1.30) "
          f"{'OK' if mem_ratio <= 1.3 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
