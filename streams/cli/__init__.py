"""The ``newsstream`` command: every argparse command lives here, over the library modules."""
