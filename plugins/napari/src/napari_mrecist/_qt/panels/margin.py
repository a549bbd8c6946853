"""Margin: the ablative margin of a treated lesion, from its painted masks (issue 10, item 6).

For the selected lesion, the tumour (``viable`` mask at a timepoint on or before its ablation)
and the ablation zone (``zone`` mask at a later timepoint) go to the core's
:func:`mrecist_tool.margin.margin_from_images` with registration ``"none"``: the masks are taken
to lie in the same patient space.  The tumour surface comes back as a mesh in the zone grid's
indices with the margin at each vertex; it is shown as a Surface layer (3D) and as its
intersection with each slice (2D), coloured red (< 0 mm), amber (0-5 mm) and green (>= 5 mm), with
a Points layer on the minimum (MAM).  "Go to minimum" moves the 2D view there.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from qtpy.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from mrecist_tool.errors import MrecistError

from ..._session import MASK_VIABLE, MASK_ZONE, MaskEntry, Session
from ..._studies import for_reader
from .. import access
from .base import Panel

if TYPE_CHECKING:
    from ..widget import AssessmentWidget

#: margin bands and their colours (RGBA): below 0 mm, 0 to 5 mm, 5 mm and more
RED = (0.9, 0.1, 0.1, 1.0)
AMBER = (1.0, 0.75, 0.0, 1.0)
GREEN = (0.1, 0.8, 0.2, 1.0)
BAND_MM = 5.0
MASK_LIVER = "liver"


class MarginUnavailable(MrecistError):
    """The margin of a lesion cannot be computed; the message says why, for the reader."""


@dataclass(frozen=True)
class MarginInputs:
    """The masks a lesion's margin is computed from.

    Attributes
    ----------
    lesion : str
        The treated lesion.
    tumour_tp : str
        The timepoint of the tumour mask (on or before the ablation).
    zone_tp : str
        The timepoint of the ablation-zone mask (after the tumour's).
    tumour : MaskEntry
        The tumour (viable) mask.
    zone : MaskEntry
        The ablation-zone mask.
    liver : MaskEntry or None
        A liver mask at the zone's timepoint, when one exists (subcapsular correction).
    """

    lesion: str
    tumour_tp: str
    zone_tp: str
    tumour: MaskEntry
    zone: MaskEntry
    liver: MaskEntry | None = None


def margin_colors(margin_mm: np.ndarray) -> np.ndarray:
    """RGBA colours of margins: red below 0 mm, amber from 0 to 5 mm, green from 5 mm.

    Parameters
    ----------
    margin_mm : numpy.ndarray
        Margins in millimetres, shape ``(n,)``.

    Returns
    -------
    numpy.ndarray
        Colours, shape ``(n, 4)``.
    """
    m = np.asarray(margin_mm, dtype=float)
    out = np.empty((m.shape[0], 4), dtype=float)
    out[:] = GREEN
    out[m < BAND_MM] = AMBER
    out[m < 0] = RED
    return out


def _filled(entry: MaskEntry | None) -> bool:
    return entry is not None and bool(np.asarray(entry.array).any())


def margin_inputs(session: Session, lesion: str | None, prefer_tp: str | None = None) -> MarginInputs:
    """The tumour and ablation-zone masks of a treated lesion.

    The tumour mask is the latest ``viable`` mask on or before an ablation of the lesion; the
    zone mask is the ``zone`` mask at ``prefer_tp`` when that timepoint qualifies, else the
    earliest one after the tumour's timepoint and on or after the ablation.  The latest ablation
    with both masks is used.

    Parameters
    ----------
    session : Session
        The open case.
    lesion : str or None
        The lesion (None: nothing selected).
    prefer_tp : str or None, optional
        The timepoint shown, preferred for the zone.

    Returns
    -------
    MarginInputs
        The masks and their timepoints.

    Raises
    ------
    MarginUnavailable
        When the lesion is not an ablated one or a mask is missing or empty.
    """
    if lesion is None or lesion not in session.lesions:
        raise MarginUnavailable("Select a treated lesion in the table to compute its margin.")
    dates = sorted((p.date for p in session.procedures.values() if p.type == "ablation" and lesion in p.lesions),
                   reverse=True)
    if not dates:
        raise MarginUnavailable(f"{lesion} has no ablation recorded: add the ablation under Procedures first.")
    tps = session.sorted_timepoints()
    order = {t.id: i for i, t in enumerate(tps)}
    why = ""
    for when in dates:
        day = when if isinstance(when, dt.date) else dt.date.fromisoformat(str(when))
        pre = [t for t in tps if t.date <= day and _filled(session.masks.get((lesion, t.id, MASK_VIABLE)))]
        if not pre:
            why = (f"No tumour mask of {lesion} before its ablation on {day}: paint the tumour (viable) "
                   "on a study before the ablation.")
            continue
        tumour_tp = pre[-1].id
        post = [t for t in tps if t.date >= day and order[t.id] > order[tumour_tp]
                and _filled(session.masks.get((lesion, t.id, MASK_ZONE)))]
        if not post:
            why = (f"No ablation-zone mask of {lesion} after its ablation on {day}: paint the ablation "
                   "zone on a study after the ablation.")
            continue
        ids = [t.id for t in post]
        zone_tp = prefer_tp if prefer_tp in ids else ids[0]
        liver = next((e for k, e in session.masks.items() if k[1] == zone_tp and k[2] == MASK_LIVER and _filled(e)),
                     None)
        return MarginInputs(lesion, tumour_tp, zone_tp, session.masks[(lesion, tumour_tp, MASK_VIABLE)],
                            session.masks[(lesion, zone_tp, MASK_ZONE)], liver)
    raise MarginUnavailable(why)


def mask_image(entry: MaskEntry) -> Any:
    """A SimpleITK image of a painted mask, in its patient (LPS) geometry.

    Parameters
    ----------
    entry : MaskEntry
        The mask (array ``(z, y, x)``, spacing ``(z, y, x)``, origin, direction).

    Returns
    -------
    SimpleITK.Image
        The mask as 0/1 voxels.
    """
    import SimpleITK as sitk

    img = sitk.GetImageFromArray(np.ascontiguousarray(np.asarray(entry.array, dtype=bool).astype(np.uint8)))
    sz, sy, sx = (float(v) for v in entry.spacing)
    img.SetSpacing((sx, sy, sz))
    img.SetOrigin(tuple(float(v) for v in entry.origin))
    img.SetDirection(tuple(float(v) for v in np.asarray(entry.direction, dtype=float).reshape(9)))
    return img


def slice_contours(vertices: np.ndarray, faces: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where a mesh crosses each whole-numbered slice ``z = k``, with values interpolated there.

    Parameters
    ----------
    vertices : numpy.ndarray
        Vertices ``(n, 3)`` as ``(z, y, x)`` indices.
    faces : numpy.ndarray
        Triangles ``(m, 3)`` as vertex indices.
    values : numpy.ndarray
        A value per vertex ``(n,)``.

    Returns
    -------
    points : numpy.ndarray
        The crossing points ``(p, 3)``, each with a whole-numbered ``z``.
    point_values : numpy.ndarray
        The value at each point ``(p,)``.
    """
    v = np.asarray(vertices, dtype=float)
    f = np.asarray(faces, dtype=np.intp)
    if v.size == 0 or f.size == 0:
        return np.zeros((0, 3)), np.zeros(0)
    edges = np.unique(np.sort(np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]]), axis=1), axis=0)
    a, b = v[edges[:, 0]], v[edges[:, 1]]
    va, vb = values[edges[:, 0]], values[edges[:, 1]]
    pts, vals = [], []
    for k in range(int(np.ceil(v[:, 0].min())), int(np.floor(v[:, 0].max())) + 1):
        cross = ((a[:, 0] <= k) & (b[:, 0] > k)) | ((b[:, 0] <= k) & (a[:, 0] > k))
        if not cross.any():
            continue
        t = (k - a[cross, 0]) / (b[cross, 0] - a[cross, 0])
        p = a[cross] + t[:, None] * (b[cross] - a[cross])
        p[:, 0] = k
        pts.append(p)
        vals.append(va[cross] + t * (vb[cross] - va[cross]))
    if not pts:
        return np.zeros((0, 3)), np.zeros(0)
    return np.concatenate(pts), np.concatenate(vals)


def _margin_report(tumour: Any, zone: Any, liver: Any) -> Any:
    """The margin report of two mask images (run in a worker thread: no Qt here)."""
    from mrecist_tool.margin import margin_from_images

    return margin_from_images(tumour, zone, liver_post=liver, method="none")


class MarginPanel(Panel):
    """The margin of the selected treated lesion: compute, show, go to the minimum."""

    heading = "Ablative margin"

    def __init__(self, owner: AssessmentWidget):
        super().__init__(owner)
        lay = QVBoxLayout(self)
        row = QHBoxLayout()
        self.compute_btn = QPushButton("Margin")
        self.compute_btn.setToolTip("Compute the ablative margin of the selected treated lesion from its tumour "
                                    "mask (before the ablation) and its ablation-zone mask (after)")
        self.compute_btn.clicked.connect(self.slot(self.compute))
        self.goto_btn = QPushButton("Go to minimum")
        self.goto_btn.setToolTip("Show the slice of the minimal margin, centred on it")
        self.goto_btn.clicked.connect(self.slot(self.go_to_minimum))
        self.goto_btn.setEnabled(False)
        row.addWidget(self.compute_btn)
        row.addWidget(self.goto_btn)
        lay.addLayout(row)
        self.label = QLabel("Select a treated lesion, then press Margin.")
        self.label.setWordWrap(True)
        lay.addWidget(self.label)
        self.result: Any = None
        self.inputs: MarginInputs | None = None
        self.worker: Any = None  # the margin being computed
        self._pending: tuple[Session, MarginInputs] | None = None  # of the case and masks it started from
        self.layers: dict[str, Any] = {}

    def needs_case(self) -> list[QWidget]:
        return [self.compute_btn]

    # -- hooks -----------------------------------------------------------------------------------
    def on_case(self) -> None:
        self._clear()
        self.label.setText("Select a treated lesion, then press Margin.")

    def on_timepoint(self) -> None:
        tp = self.owner.current_tp
        for layer in self.layers.values():
            layer.visible = self.inputs is not None and tp == self.inputs.zone_tp

    # -- the margin ------------------------------------------------------------------------------
    def _say(self, text: str, warn: bool = False) -> None:
        self.label.setText(text)
        if warn:
            from napari.utils.notifications import show_warning

            show_warning(text)

    def _clear(self) -> None:
        viewer = self.owner.viewer
        for layer in self.layers.values():
            if layer in viewer.layers:
                viewer.layers.remove(layer)
        self.layers = {}
        self.result, self.inputs = None, None
        self.goto_btn.setEnabled(False)

    @property
    def busy(self) -> bool:
        """Whether a margin is being computed."""
        return self.worker is not None

    def compute(self) -> Any:
        """Start computing the selected lesion's margin; a reason is shown when it cannot be.

        The computation (surfaces, distances: seconds on a fine grid) runs in a worker thread,
        so the viewer stays usable; the result is shown when it arrives (``result``), unless
        the case or the lesion's masks changed meanwhile -- then the reader is asked to press
        Margin again rather than shown a margin of masks that are no longer there.

        Returns
        -------
        napari worker or None
            The running worker, or None when the margin cannot be computed (the reason is on
            screen) or one is already being computed.
        """
        from napari.qt.threading import create_worker

        s = self.owner.session
        if s is None:
            self._say("Open a case first.", warn=True)
            return None
        if self.busy:
            return None
        self._clear()
        try:
            inputs = margin_inputs(s, self.owner.selected_lesion(), self.owner.current_tp)
        except MarginUnavailable as exc:
            self._say(str(exc), warn=True)
            return None
        try:
            images = (mask_image(inputs.tumour), mask_image(inputs.zone),
                      mask_image(inputs.liver) if inputs.liver is not None else None)
        except Exception as exc:  # a reason on screen, never a traceback (issue 10)
            self._say(f"The margin of {inputs.lesion} could not be computed: {for_reader(str(exc))}", warn=True)
            return None
        worker = create_worker(_margin_report, *images, _ignore_errors=True)
        # Bound methods, not lambdas: Qt drops them if the panel is gone when the worker ends.
        worker.returned.connect(self._returned)
        worker.errored.connect(self._errored)
        worker.finished.connect(self._finished)
        self.worker, self._pending = worker, (s, inputs)
        self.compute_btn.setEnabled(False)
        self._say(f"Computing the margin of {inputs.lesion}…")
        worker.start()
        return worker

    def _finished(self) -> None:
        self.worker, self._pending = None, None
        self.compute_btn.setEnabled(self.owner.session is not None)

    def _errored(self, exc: Exception) -> None:
        if self._pending is not None:
            self._say(f"The margin of {self._pending[1].lesion} could not be computed: {for_reader(str(exc))}",
                      warn=True)

    def _returned(self, report: Any) -> None:
        """Show a margin computed in the worker (in the UI thread)."""
        if self._pending is None:
            return
        session, inputs = self._pending
        s = self.owner.session
        if s is not session:
            return  # another case was opened meanwhile: this margin is not of it
        if (s.masks.get((inputs.lesion, inputs.tumour_tp, MASK_VIABLE)) is not inputs.tumour
                or s.masks.get((inputs.lesion, inputs.zone_tp, MASK_ZONE)) is not inputs.zone):
            self._say(f"The masks of {inputs.lesion} changed while its margin was computed: press Margin again.",
                      warn=True)
            return
        m = report.margin
        if len(m.surface_vertices) == 0:
            self._say(f"The margin of {inputs.lesion} could not be computed: no tumour surface.", warn=True)
            return
        self.result, self.inputs = m, inputs
        self._show_layers(inputs, m)
        if self.owner.current_tp != inputs.zone_tp:
            self.owner.show_timepoint(inputs.zone_tp)
        self.on_timepoint()
        self.goto_btn.setEnabled(True)
        corrected = ("not corrected (no liver mask)" if m.mam_corrected_mm is None
                     else f"{m.mam_corrected_mm:.1f} mm")
        lines = [f"{inputs.lesion}: tumour {inputs.tumour_tp} → zone {inputs.zone_tp} (no registration)",
                 f"MAM {m.mam_mm:.1f} mm (± {m.tolerance_mm:.1f} mm); corrected MAM: {corrected}",
                 f"coverage {100 * m.coverage:.0f} %; surface ≥ 5 mm {100 * m.fraction_ge_5mm:.0f} %"]
        if report.flags:
            lines.append("check: " + "; ".join(report.flags))
        self._say("\n".join(lines))

    def _placement(self, inputs: MarginInputs) -> dict[str, Any]:
        """scale/translate of the zone's timepoint: the layers sit where its image sits."""
        vol = self.owner.volume_for(inputs.zone_tp)
        if vol is not None:
            nap = vol.to_napari()
            return {"scale": nap["scale"], "translate": nap["translate"]}
        d = np.asarray(inputs.zone.direction, dtype=float).reshape(3, 3)
        axes = np.stack([d[:, 2], d[:, 1], d[:, 0]], axis=1)
        return {"scale": tuple(float(v) for v in inputs.zone.spacing),
                "translate": tuple(float(v) for v in axes.T @ np.asarray(inputs.zone.origin, dtype=float))}

    def _show_layers(self, inputs: MarginInputs, m: Any) -> None:
        viewer = self.owner.viewer
        place = self._placement(inputs)
        verts = np.asarray(m.surface_vertices, dtype=float)
        faces = np.asarray(m.surface_faces, dtype=np.intp)
        margin = np.asarray(m.surface_margin, dtype=float)
        meta = {"mrecist_margin": {"lesion": inputs.lesion, "timepoint": inputs.zone_tp, "margin_mm": margin,
                                   "mam_mm": m.mam_mm}}
        surface = viewer.add_surface((verts, faces), vertex_colors=margin_colors(margin),
                                     name=f"margin {inputs.lesion}", shading="smooth", metadata=meta, **place)
        pts, vals = slice_contours(verts, faces, margin)
        contour = viewer.add_points(pts, name=f"margin {inputs.lesion} (slice)", size=1.0, border_width=0,
                                    face_color=margin_colors(vals), metadata={"mrecist_margin": {"margin_mm": vals}},
                                    **place)
        minimum = viewer.add_points(np.asarray([m.min_index], dtype=float), name=f"margin {inputs.lesion} minimum",
                                    symbol="cross", size=4.0, face_color="magenta", border_color="white",
                                    **place)
        for layer in (surface, contour, minimum):
            layer.editable = False
        self.layers = {"surface": surface, "contour": contour, "minimum": minimum}
        active = self.owner.current_layers()
        if active is not None:
            viewer.layers.selection.active = active.lines

    def go_to_minimum(self) -> None:
        """Show the slice of the minimal margin, centred on it (the zone's timepoint)."""
        if self.result is None or self.inputs is None:
            self._say("Compute the margin first.", warn=True)
            return
        if self.owner.current_tp != self.inputs.zone_tp:
            self.owner.show_timepoint(self.inputs.zone_tp)
        idx = np.asarray(self.result.min_index, dtype=float)
        layer = self.layers["minimum"]
        world = np.asarray(layer.data_to_world(idx), dtype=float)
        viewer = self.owner.viewer
        z = round(float(idx[0]))
        nz = int(self.inputs.zone.array.shape[0])
        viewer.dims.set_current_step(0, max(0, min(nz - 1, z)))
        cam = access.camera(viewer)
        c = list(cam.center)
        c[-2:] = [float(world[-2]), float(world[-1])]
        cam.center = tuple(c)
