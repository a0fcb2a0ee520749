"""Recordings of the CLI protocol: the recorder, the library on disk, and the replay."""
