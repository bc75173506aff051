"""When one rank fails, every rank stops: none is left waiting forever in a collective.

- A rank that raises an exception nothing catches: ``init_process_group`` installs a
  ``sys.excepthook`` that prints the traceback, says which rank failed, and calls
  ``MPI_Abort``; ``mpiexec`` then ends every rank of the job, and exits with a non-zero
  status. (An exception a ``try`` catches is the program's business: nothing happens.)
- A rank killed by a signal or that exits abnormally (``os._exit``, a crash): ``mpiexec``
  sees it and ends the job itself.
- A rank that leaves early without an error (``sys.exit(1)``, or a ``return`` while the
  others still train): the others wait in their next collective until the group's timeout
  (``init_process_group(timeout=...)``, 30 minutes by default), which raises on each of them
  a RuntimeError naming the collective, and so aborts the job as above.
"""

import sys

_previous_hook = None


def install(MPI, rank, size) -> None:
    """Abort the job on an uncaught exception in this process (groups of 2 ranks or more)."""
    global _previous_hook
    if _previous_hook is not None or size < 2:
        return
    _previous_hook = sys.excepthook

    def abort_job(kind, value, traceback) -> None:
        _previous_hook(kind, value, traceback)  # the traceback, as Python prints it
        print(
            f"[forgegrad.distributed] rank {rank} of {size} stopped on {kind.__name__}: "
            f"calling MPI_Abort, which ends every rank of the job",
            file=sys.stderr,
            flush=True,
        )
        MPI.COMM_WORLD.Abort(1)

    sys.excepthook = abort_job


def uninstall() -> None:
    """Puts back the exception hook that ``install`` replaced."""
    global _previous_hook
    if _previous_hook is not None:
        sys.excepthook = _previous_hook
        _previous_hook = None
