"""Running experiments at scale and keeping their results; it imports no science module.

:mod:`.sweep` (grids of parameters x seeds, locally or on Dask), :mod:`.results` (a cache
keyed by configuration and code version, provenance), :mod:`.reproduce` (executing the
notebooks) and :mod:`.reporting` (tables and figures as files).
"""
