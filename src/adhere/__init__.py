"""Adhere: real-time schedule adherence and workforce automation for contact centers."""

from importlib.metadata import version

__version__ = version("adhere")
