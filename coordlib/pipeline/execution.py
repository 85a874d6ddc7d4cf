"""A notebook executed with papermill on a kernel that listens on local IPC sockets.

Papermill's default kernel listens on TCP ports of the machine, unencrypted (ipykernel warns so
on every run); a notebook run here needs no network, so its kernel talks through Unix sockets in
a private temporary folder instead, and is shut down when the notebook ends.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Optional


def execute_notebook(source, output, parameters: dict, cwd,
                     kernel_name: Optional[str] = "python3") -> None:
    """Run notebook ``source`` with ``parameters`` into ``output`` (papermill), in folder ``cwd``,
    on a ``kernel_name`` kernel (None: the one the notebook names) over IPC sockets; papermill's
    errors propagate."""
    # deferred: papermill and jupyter_client take seconds to import; only notebook runs need them
    import nbformat
    import papermill
    from jupyter_client.manager import KernelManager

    if kernel_name is None:
        spec = nbformat.read(str(source), as_version=4).metadata.get("kernelspec", {})
        kernel_name = spec.get("name", "python3")

    with tempfile.TemporaryDirectory(prefix="coordlib-kernel-") as sockets:
        kernel = KernelManager(kernel_name=kernel_name, transport="ipc",
                               ip=os.path.join(sockets, "kernel"))
        try:
            papermill.execute_notebook(str(source), str(output), parameters=parameters,
                                       kernel_name=kernel_name, cwd=str(Path(cwd)), km=kernel,
                                       progress_bar=False, log_output=False)
        finally:
            if kernel.has_kernel:
                kernel.shutdown_kernel(now=True)
