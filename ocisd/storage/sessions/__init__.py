"""Resumable upload sessions (TUS, chunking NG): bytes kept here until `finish` commits them."""
