"""The terminal app (Textual): record visits offline and follow up the four lists.

``make_app(store)`` in :mod:`visitlog.tui.app` builds the app; the CLI runs it
for bare ``visitlog`` and ``visitlog tui``.  This package is the only part of
visitlog that imports textual; it reads and writes data only through
:class:`visitlog.store.Store` and the other core modules.
"""
