"""Clearsight: a GB/T 28181 video platform that shares cameras between departments under control."""

__version__ = "0.1.0"
