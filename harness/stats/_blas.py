"""One BLAS thread for the statistics' matrix products.

The bootstrap here is many matrix products of middling size (2,000 resamples by a few thousand
cases). On a machine whose cores are busy with other work, BLAS threads that must wait for each
other at every product make them slower, not faster: on a loaded 2-core machine the
style-controlled ratings of 8 models x 2,000 cases took 14.5 s with two threads and 1.1 s with
one. So each statistic that multiplies matrices runs with BLAS limited to one thread, through
threadpoolctl; without it installed, BLAS keeps its own setting.
"""

from __future__ import annotations

import contextlib
import functools
import threading

_controller = None
_controller_lock = threading.Lock()


def one_blas_thread():
    """A context in which BLAS (numpy's matrix products) uses one thread."""
    global _controller
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        return contextlib.nullcontext()
    with _controller_lock:
        if _controller is None:
            _controller = ThreadpoolController()  # finds the loaded BLAS libraries once
    return _controller.limit(limits=1, user_api="blas")


def single_threaded_blas(function):
    """Run `function` inside `one_blas_thread()`."""
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with one_blas_thread():
            return function(*args, **kwargs)

    return wrapper
