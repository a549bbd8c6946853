"""Exit status of every ``mrecist`` command, in one place.

========  =======================================================================================
``0``     success: every input was processed
``1``     some input was refused (each refusal is printed with file, place and reason; the other
          inputs were still processed), or the output could not be written
``2``     usage error: a bad option or argument; nothing was done
``130``   interrupted (Ctrl-C)
========  =======================================================================================
"""

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

__all__ = ["EXIT_INTERRUPTED", "EXIT_OK", "EXIT_REFUSED", "EXIT_USAGE"]
