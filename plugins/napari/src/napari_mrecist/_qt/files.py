"""The life of a reading: who reads, opening (case file, DICOM folder, worklist), finding the
images, saving, autosaving, and never leaving unsaved work without asking.

* The reader is the person at the keyboard: asked once, remembered (:mod:`.._config`), stamped
  on every observation -- never the reader a prepared case names.
* A reading begun from DICOM gets a stable subject id and autosave name (salted hashes of the
  patient and the studies), so it is restored after a crash.
* Before another case opens or napari closes, pending strokes are taken in and the autosave is
  written; with unsaved changes the reader chooses save, discard or cancel.
"""

from __future__ import annotations

import contextlib
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from napari.utils.notifications import show_error, show_info, show_warning

from mrecist_tool.errors import MrecistError

from .. import _config, _images, _io, _worklist
from .._session import Session, default_reader_id, now_iso
from .._studies import StudySet, for_reader
from . import dialogs

if TYPE_CHECKING:
    from .widget import AssessmentWidget

# The autosave follows the last edit by 1.5 s, and never comes later than 2 s after the first
# edit it has not saved: a reader who keeps editing (brush strokes under 1.5 s apart) restarted
# the delay on every stroke and was never autosaved.  A crash loses at most 2 s of work.
AUTOSAVE_DELAY_MS = 1500
AUTOSAVE_MAX_WAIT_MS = 2000


def _instant(text: str | None) -> datetime:
    """An ISO 8601 instant for comparing (the oldest possible when missing or unreadable)."""
    try:
        value = datetime.fromisoformat(text) if text else None
    except ValueError:
        value = None
    if value is None:
        return datetime.min.replace(tzinfo=UTC)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class Files:
    """Opening, saving and the worklist of one :class:`~.widget.AssessmentWidget`."""

    def __init__(self, owner: AssessmentWidget):
        self.owner = owner
        self.reader: str | None = None
        self.saved_revision = 0
        self.autosaved_revision = -1
        self.worklist: _worklist.Worklist | None = None
        self.worklist_index: int | None = None
        self.autosave_timer = owner.timer(AUTOSAVE_DELAY_MS, self.autosave_now)
        self._unsaved_since = 0.0  # monotonic time of the first edit not autosaved (while the timer runs)
        self._autosaved_masks = _io.AutosaveMasks()
        self._position_kept: tuple[str, str, str | None] | None = None

    def installed(self, session: Session) -> None:
        """``session`` became the open reading.  Every reading autosaves: one built by a script
        (neither a case file nor a DICOM folder behind it) gets a scratch file as a reading
        begun from DICOM does, keyed on its subject and studies, until it is saved."""
        self.saved_revision = self.autosaved_revision = session.revision
        if session.path is None and session.scratch_path is None:
            studies = (tp.study_uid or f"timepoint {tp.id}" for tp in session.timepoints.values())
            session.scratch_path = _io.scratch_path(_config.reading_key(session.subject.id, studies))

    # -- the reader ------------------------------------------------------------------------------
    @property
    def reader_id(self) -> str:
        return self.reader or _config.remembered_reader() or default_reader_id()

    def ensure_reader(self) -> str:
        """The reader id, asking for it the first time."""
        if self.reader:
            return self.reader
        remembered = _config.remembered_reader()
        if remembered:
            self.reader = remembered
            return remembered
        answer = dialogs.ask_reader(self.owner)
        if answer:
            self.set_reader(answer)
            return answer
        show_warning(f"No reader id given: observations are stamped '{self.reader_id}' "
                     "until you set one (Change reader…)")
        return self.reader_id

    def set_reader(self, reader: str) -> None:
        reader = reader.strip()
        if not reader:
            return
        self.reader = reader
        with contextlib.suppress(MrecistError, OSError):
            _config.remember_reader(reader)
        if self.owner.session is not None:
            self.owner.session.set_reader(reader)
        self.owner.subject_panel.refresh()
        self.owner.worklist_panel.refresh_list()

    def change_reader(self) -> None:
        answer = dialogs.ask_reader(self.owner, self.reader_id)
        if answer:
            self.set_reader(answer)

    # -- opening ---------------------------------------------------------------------------------
    def open_dialog(self) -> None:
        path = dialogs.choose_case_file(self.owner)
        if not path:
            path = dialogs.choose_folder(self.owner, "…or a subject's DICOM folder")
        if path:
            self.open_path(path)

    def open_path(self, path: str | Path) -> bool:
        p = Path(path)
        if p.is_file() and p.suffix.lower() == ".json":
            return self.open_case(p)
        return self.open_dicom(p)

    def open_case(self, path: str | Path, use_autosave: bool = True, show: bool = True,
                  reading_path: Path | None = None) -> bool:
        path = Path(path)
        if not self.confirm_leave("opening another case"):
            return False
        reader = self.ensure_reader()
        try:
            session, notes, source = _io.open_session(path, reader=reader, use_autosave=use_autosave)
        except (MrecistError, OSError, ValueError) as exc:
            show_error(f"Cannot open {path.name}: {for_reader(str(exc))}")
            return False
        lookup = _images.locate(session, source, _config.installation_salt())
        wanted_studies, wanted_series = _images.case_uids(session)
        if lookup.studies is not None:
            session.images_root = lookup.studies.root
        elif wanted_studies or wanted_series or lookup.recorded:
            notes.append(lookup.message(path.name))
        if reading_path is not None:
            session.path = reading_path
        self.owner.install(session, lookup.studies, show=show)
        for n in map(for_reader, notes):
            show_warning(n) if ("not" in n or "could" in n) else show_info(n)
        return True

    def open_dicom(self, folder: str | Path, reading_path: Path | None = None) -> bool:
        folder = Path(folder)
        if not self.confirm_leave("opening another subject"):
            return False
        reader = self.ensure_reader()
        try:
            studies = StudySet.open(folder, salt=_config.installation_salt())
            tps = studies.timepoints()
        except (MrecistError, OSError, ValueError) as exc:
            show_error(f"Cannot open {folder}: {for_reader(str(exc))}")
            return False
        subject = studies.patients[0]
        key = _config.reading_key(subject, (t.study_uid or "" for t in tps))
        working = reading_path if reading_path is not None else _io.scratch_path(key)
        notes: list[str] = []
        try:
            if _io.newer_autosave(working) is not None or working.exists():
                session, opened, _ = _io.open_session(working, reader=reader)
                notes = [f"restored the unsaved reading of {session.subject.id} from its autosave"
                         if "autosave" in n else n for n in opened]
            else:
                session = Session.new(subject, tps, reader=reader)
        except (MrecistError, OSError, ValueError) as exc:
            show_error(f"The autosave of this subject could not be read ({for_reader(str(exc))}); starting afresh")
            session = Session.new(subject, tps, reader=reader)
        if reading_path is None:
            session.path, session.scratch_path = None, working
        else:
            session.path = reading_path
        session.images_root = folder
        self.owner.install(session, studies)
        for n in notes:
            show_info(n)
        for problem in studies.problems():  # nothing is dropped silently
            show_warning(problem)
        for w in studies.warnings():
            show_warning(for_reader(w))
        return True

    def relink_images(self, folder: str | Path | None = None) -> bool:
        """Point the case to the folder holding its studies (asked when not given)."""
        o = self.owner
        s = o.session
        if s is None:
            return False
        if folder is None:
            start = str(s.path.parent) if s.path else ""
            chosen = dialogs.choose_folder(o, "Folder holding this case's DICOM studies", start)
            if not chosen:
                return False
            folder = chosen
        try:
            studies = _images.relink(s, Path(folder), _config.installation_salt())
        except (MrecistError, OSError, ValueError) as exc:
            show_error(for_reader(str(exc)))
            return False
        s.images_root = studies.root
        self.saved_revision = -1  # the case changed: its images moved (recorded on save)
        self.schedule_autosave()
        o.use_studies(studies)
        show_info(f"images found in {studies.root}; recorded in the case on the next save")
        return True

    # -- saving ----------------------------------------------------------------------------------
    @property
    def has_unsaved_changes(self) -> bool:
        s = self.owner.session
        return s is not None and (bool(self.owner.editing.pending_masks) or s.revision != self.saved_revision)

    def _mark_position(self, status: str | None = None) -> None:
        o = self.owner
        s = o.session
        if s is None:
            return
        current = s.extra.get(_worklist.READING_KEY)
        old = current.get("status") if isinstance(current, dict) else None
        _worklist.reading_mark(s.extra, self.reader_id, status or old or _worklist.IN_PROGRESS,
                               o.current_tp, o.selected_lesion())
        self.keep_position()

    # -- where the reader is ---------------------------------------------------------------------
    def keep_position(self) -> None:
        """Remember the timepoint and lesion shown, in the user config (not the case file: moving
        around is no edit).  Called on every autosave, save and leave (next / previous, another
        case, closing napari), and written only when the position changed: no write per step."""
        o = self.owner
        s = o.session
        if s is None or o.current_tp is None:
            return
        try:
            reading = _io.working_path(s)
        except ValueError:
            return
        position = (str(reading), o.current_tp, o.selected_lesion())
        if position == self._position_kept:
            return
        try:
            _config.remember_position(reading, position[1], position[2], now_iso())
        except (MrecistError, OSError) as exc:
            show_warning(f"Where you are in this reading was not remembered: {exc}")
            return
        self._position_kept = position

    def resume_position(self, session: Session) -> tuple[str | None, str | None]:
        """Where to reopen ``session``: the position kept on this machine, unless the case file
        was saved later (elsewhere) with another one."""
        tp, lesion = _worklist.reading_position(session.extra)
        try:
            kept_tp, kept_lesion, kept_at = _config.remembered_position(_io.working_path(session))
        except ValueError:
            return tp, lesion
        if kept_tp is None:
            return tp, lesion
        saved = session.extra.get(_worklist.READING_KEY)
        saved_at = saved.get("updated") if isinstance(saved, dict) else None
        if isinstance(saved_at, str) and _instant(saved_at) > _instant(kept_at):
            return tp, lesion
        return kept_tp, kept_lesion

    def save(self, path: str | Path | None = None) -> bool:
        o = self.owner
        s = o.session
        if s is None:
            return False
        o.editing.sync_masks_now()
        target = Path(path) if path else s.path
        if target is None:
            return self.save_to_chosen_file()
        # The autosave first holds what is being saved: the case file is written after its masks,
        # so a crash in between reopens this reading from the autosave (newer than the case).
        self.autosave_now()
        self._mark_position()
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            warnings = _io.save_session(s, target)
        except (MrecistError, OSError, ValueError) as exc:
            show_error(f"Not saved: {for_reader(str(exc))}")
            return False
        self.autosave_timer.stop()
        self.saved_revision = self.autosaved_revision = s.revision
        for w in warnings:
            show_warning(w)
        show_info(f"Saved {target.name}")
        o.subject_panel.refresh()
        if self.worklist is not None:
            self.worklist.refresh()
            o.worklist_panel.refresh_list()
        return True

    def save_to_chosen_file(self) -> bool:
        s = self.owner.session
        if s is None:
            return False
        # Beside the images by default; the case records where they are, so anywhere works.
        folder = s.path.parent if s.path else (s.images_root.parent if s.images_root else Path.cwd())
        chosen = dialogs.choose_save_path(self.owner, str(folder / f"{s.subject.id}.json"))
        return self.save(chosen) if chosen else False

    def schedule_autosave(self) -> None:
        """Autosave ``AUTOSAVE_DELAY_MS`` after this edit, or sooner so that no edit waits more
        than ``AUTOSAVE_MAX_WAIT_MS``."""
        now = time.monotonic()
        if not self.autosave_timer.isActive():  # the first edit since the last autosave or save
            self._unsaved_since = now
        left_ms = AUTOSAVE_MAX_WAIT_MS - (now - self._unsaved_since) * 1000
        self.autosave_timer.start(int(max(0, min(AUTOSAVE_DELAY_MS, left_ms))))

    def autosave_now(self) -> Path | None:
        o = self.owner
        self.autosave_timer.stop()
        o.editing.sync_masks_now()
        s = o.session
        self.keep_position()
        if s is None or s.revision == self.autosaved_revision:
            return None
        self._mark_position()
        try:
            side = _io.write_autosave(s, self._autosaved_masks)
        except (MrecistError, OSError, ValueError) as exc:
            show_warning(f"Autosave failed: {for_reader(str(exc))}")
            return None
        self.autosaved_revision = s.revision
        return side

    def confirm_leave(self, what: str) -> bool:
        """Flush pending work to the autosave; with unsaved changes, ask to save, discard or
        cancel.  True when it is fine to go on."""
        o = self.owner
        s = o.session
        if s is None:
            return True
        o.editing.sync_masks_now()
        self.autosave_now()
        if not self.has_unsaved_changes or not o.ask_unsaved:
            return True
        answer = dialogs.ask_unsaved(o, what)
        if answer == dialogs.SAVE:
            return self.save()
        if answer == dialogs.DISCARD:
            with contextlib.suppress(ValueError):
                _io.remove_autosave(_io.autosave_path(_io.working_path(s)))
            self.saved_revision = s.revision
            return True
        return False

    # -- worklist --------------------------------------------------------------------------------
    def open_worklist_dialog(self) -> None:
        folder = dialogs.choose_folder(self.owner, "A folder of subjects (one sub-folder each)")
        if folder:
            self.open_worklist(folder)

    def open_worklist(self, folder: str | Path, resume: bool = True) -> bool:
        try:
            wl = _worklist.Worklist(Path(folder))
        except OSError as exc:
            show_error(f"Cannot open the worklist {folder}: {for_reader(str(exc))}")
            return False
        if not wl.subjects:
            show_error(f"{folder}: no subject folders with DICOM or case files found")
            return False
        self.ensure_reader()
        self.worklist, self.worklist_index = wl, None
        self.owner.worklist_panel.refresh_list()
        return self.open_entry(wl.resume_index(self.reader_id)) if resume else True

    def open_entry(self, index: int) -> bool:
        wl = self.worklist
        if wl is None or not 0 <= index < len(wl.subjects):
            return False
        subject = wl.subjects[index]
        reading = wl.reading_path(subject, self.ensure_reader())
        if reading.exists() or _io.newer_autosave(reading) is not None:
            ok = self.open_case(reading)
        elif subject.case_file is not None:
            ok = self.open_case(subject.case_file, reading_path=reading)
        else:
            ok = self.open_dicom(subject.folder, reading_path=reading)
        if ok:
            self.worklist_index = index
            self.owner.worklist_panel.refresh_list()
        return ok

    def step_worklist(self, delta: int) -> bool:
        if self.worklist is None:
            return False
        current = self.worklist_index if self.worklist_index is not None else -delta
        return self.open_entry(max(0, min(len(self.worklist.subjects) - 1, current + delta)))

    def mark_done(self) -> bool:
        """Save the reading and mark it done (shown in the worklist with the reader's id)."""
        if self.owner.session is None:
            return False
        self._mark_position(_worklist.DONE)
        self.saved_revision = -1
        return self.save()
