"""Bad input, and the exit statuses every command shares.

0: it ran and found nothing to report (verify, try: no safety failure in the
   variants it gates; choose: a fix to recommend).
1: it ran and the answer is no: a gated variant has a safety failure (verify,
   try), or no variant is left to recommend (choose, report).
2: bad input (PagecoreError), one line on stderr, nothing run.
3: no verdict: a gated variant's cell was inconclusive, and none had a failure.
130, 143: stopped by SIGINT or SIGTERM (pagecore._signals), keeping what finished.
"""

EXIT_OK = 0
EXIT_FOUND = 1
EXIT_BAD_INPUT = 2
EXIT_INCONCLUSIVE = 3


class PagecoreError(Exception):
    """Bad input: the CLI prints 'pagecore: <message>' and exits 2, no traceback.

    Example:

    >>> from pagecore import PagecoreError, get_variant
    >>> try:
    ...     get_variant("no-such-variant")
    ... except PagecoreError as e:
    ...     print(str(e).split(" (")[0])
    unknown variant 'no-such-variant'
    """
