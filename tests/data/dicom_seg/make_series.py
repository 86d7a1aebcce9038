#!/usr/bin/env python3
"""Write the tiny oblique CT series `ct_oblique/` the DICOM SEG tests use.

5 slices of 16 columns x 12 rows, pixel spacing 0.8 mm (between rows) x
0.7 mm (between columns), 2.5 mm between slices, SliceThickness 2.0, the
slice plane rotated 20 degrees about the patient's left-right axis then 10
about the vertical, so no axis is a patient axis. Files are named in the
reverse of their position order (instance numbers too), so readers must sort
by ImagePositionPatient. UIDs are fixed (2.25 + a hash of a name), so the
files are byte-for-byte reproducible. The patient and study attributes are
made up and exist to test that they are copied or de-identified.

Usage: /work/venv-peers/bin/python make_series.py   (needs pydicom >= 3, numpy)
"""
import hashlib
import os

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "ct_oblique")
COLS, ROWS, SLICES = 16, 12, 5
PIXEL_SPACING = [0.8, 0.7]  # [between rows, between columns]
STEP = 2.5


def uid(name):
    return "2.25." + str(int.from_bytes(hashlib.sha256(name.encode()).digest()[:16], "big") >> 2)


def rotation():
    a, b = np.radians(20.0), np.radians(10.0)
    rx = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    rz = np.array([[np.cos(b), -np.sin(b), 0], [np.sin(b), np.cos(b), 0], [0, 0, 1]])
    return rz @ rx


def main():
    os.makedirs(OUT, exist_ok=True)
    r = rotation()
    row, col = r[:, 0], r[:, 1]
    normal = np.cross(row, col)
    origin = np.array([-12.5, 30.25, -40.0])
    for k in range(SLICES):
        ds = Dataset()
        ds.SpecificCharacterSet = "ISO_IR 100"
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
        ds.SOPInstanceUID = uid(f"rayseg test instance {k}")
        ds.StudyDate, ds.StudyTime = "20240315", "101500"
        ds.SeriesDate, ds.SeriesTime = "20240315", "102000"
        ds.AccessionNumber = "ACC-20240315-7"
        ds.Modality = "CT"
        ds.Manufacturer = "make_series.py"
        ds.InstitutionName = "Test Hospital"
        ds.ReferringPhysicianName = "Referrer^Rita"
        ds.StudyDescription = "CT test study"
        ds.SeriesDescription = "oblique test series"
        ds.PatientName = "Testperson^Jörg"
        ds.PatientID = "RAYSEG-TEST-001"
        ds.PatientBirthDate = "19630704"
        ds.PatientSex = "M"
        ds.PatientAge = "060Y"
        ds.SliceThickness = "2.0"
        ds.KVP = "120"
        ds.AcquisitionNumber = "1"
        ds.PatientPosition = "HFS"
        ds.Laterality = ""
        ds.StudyInstanceUID = uid("rayseg test study")
        ds.SeriesInstanceUID = uid("rayseg test series")
        ds.StudyID = "4711"
        ds.SeriesNumber = "3"
        ds.InstanceNumber = str(SLICES - k)
        position = origin + normal * STEP * k
        ds.ImagePositionPatient = [f"{x:.6f}" for x in position]
        ds.ImageOrientationPatient = [f"{x:.8f}" for x in list(row) + list(col)]
        ds.FrameOfReferenceUID = uid("rayseg test frame of reference")
        ds.PositionReferenceIndicator = ""
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows, ds.Columns = ROWS, COLS
        ds.PixelSpacing = [str(x) for x in PIXEL_SPACING]
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
        ds.PixelRepresentation = 1
        ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = "-1024", "1", "HU"
        j, i = np.mgrid[0:ROWS, 0:COLS]
        ds.PixelData = (1000 + 10 * i + 100 * j + 1000 * k).astype("<i2").tobytes()
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = ds.SOPClassUID
        meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        meta.ImplementationClassUID = uid("rayseg test implementation")
        ds.file_meta = meta
        ds.save_as(os.path.join(OUT, f"slice_{SLICES - k}.dcm"), enforce_file_format=True)
    print(f"wrote {SLICES} files to {OUT}")


if __name__ == "__main__":
    main()
