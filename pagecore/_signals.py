"""SIGTERM handled as SIGINT is: the command stops what it runs, keeps what
finished, removes what it had only half written, says so in one line and
exits 128 + the signal's number (130 for SIGINT, 143 for SIGTERM).

Python turns SIGINT into KeyboardInterrupt in the main thread; install()
makes SIGTERM raise Terminated, a KeyboardInterrupt, so that every place
that already cleans up after Ctrl-C (stress stopping its workers, an
interleaving making its tasks give up, bench stopping a suite) does the same
for SIGTERM.  A second SIGTERM while that clean-up runs is ignored, so the
clean-up finishes.
"""

import signal


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread."""

    signum = signal.SIGTERM


_seen = []


def _on_sigterm(signum, frame):
    if _seen:
        return
    _seen.append(signum)
    raise Terminated()


def install():
    """Raise Terminated on SIGTERM (main thread only; a no-op elsewhere)."""
    try:
        signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:      # not the main thread
        pass


def exit_code(exc):
    """128 + the signal that @exc stands for: 143 for Terminated, else 130."""
    return 128 + int(getattr(exc, "signum", signal.SIGINT))


def name(exc):
    return "terminated (SIGTERM)" if isinstance(exc, Terminated) else "interrupted"
