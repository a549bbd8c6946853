"""The Qt side of the plugin: the dock widget, its panels, the per-timepoint layers, the linked
prior viewer and the canvas's PACS-style mouse and keys.  The reading itself lives in the
Qt-free :class:`~napari_mrecist._session.Session`."""
