class PagecoreError(Exception):
    """Bad input: the CLI prints 'pagecore: <message>' and exits 2, no traceback."""
