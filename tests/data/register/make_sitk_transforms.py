"""Writes the SimpleITK transform files tests/register.rs reads back.

Run: /work/venv-peers/bin/python tests/data/register/make_sitk_transforms.py
Prints each file's mapping of one LPS point (SimpleITK's own TransformPoint),
which the test's hand-computed values must match.
"""
import math
import os

import SimpleITK as sitk

here = os.path.dirname(os.path.abspath(__file__))

euler = sitk.Euler3DTransform()
euler.SetCenter((10.0, 20.0, 30.0))
euler.SetRotation(0.0, 0.0, math.pi / 2)
euler.SetTranslation((1.0, 2.0, 3.0))
sitk.WriteTransform(euler, os.path.join(here, "sitk_euler.tfm"))
print("euler", euler.TransformPoint((11.0, 20.0, 30.0)))

affine = sitk.AffineTransform(3)
affine.SetMatrix((2.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0))
affine.SetTranslation((5.0, 0.0, 0.0))
sitk.WriteTransform(affine, os.path.join(here, "sitk_affine.tfm"))
print("affine", affine.TransformPoint((1.0, 1.0, 1.0)))

versor = sitk.VersorRigid3DTransform()
versor.SetRotation((0.0, 0.0, 1.0), math.pi / 2)
sitk.WriteTransform(versor, os.path.join(here, "sitk_versor.tfm"))
print("versor", versor.TransformPoint((1.0, 0.0, 0.0)))

# A composite applies its last transform first: Euler, then +10 along x.
shift = sitk.TranslationTransform(3, (10.0, 0.0, 0.0))
composite = sitk.CompositeTransform([shift, euler])
sitk.WriteTransform(composite, os.path.join(here, "sitk_composite.tfm"))
print("composite", composite.TransformPoint((11.0, 20.0, 30.0)))
