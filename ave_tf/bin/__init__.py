"""Thin absl binaries (flags -> config -> library call); the console scripts of setup.py."""
