"""Shim so that older pip versions can install the package; metadata lives in setup.cfg."""
from setuptools import setup

setup()
