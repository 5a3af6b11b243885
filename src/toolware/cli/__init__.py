"""The ``toolware`` command line: ``toolware demo``, ``toolware list``, ``toolware call``."""
