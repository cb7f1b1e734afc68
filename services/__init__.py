"""The composition root: the `ancoef` command line, the gRPC services and their clients."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ancoef")
except PackageNotFoundError:  # a source tree that is not installed
    __version__ = "0.1.0"
