"""Media bytes live behind one interface with two backends: local files and S3."""

from storage.base import ObjectNotFound, Storage, StorageError, open_storage

__all__ = ["ObjectNotFound", "Storage", "StorageError", "open_storage"]
