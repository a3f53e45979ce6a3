"""Signed URLs for a video's assets, handed out only after the authorization check."""

from __future__ import annotations

from app.video.models import Asset


def asset_url(store, asset: Asset, seconds: int, *, download: bool = False, audience: int | None = None) -> str:
    filename = None
    if download:
        base = asset.video.title.replace("/", "-")[:80] or "lesson"
        ext = asset.key.rsplit(".", 1)[-1] if "." in asset.key.rsplit("/", 1)[-1] else "bin"
        filename = f"{base}.{ext}"
    return store.signed_url(asset.key, seconds, filename=filename, audience=audience)
