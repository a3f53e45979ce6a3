"""Signed URLs for a video's assets, handed out only after the authorization check."""

from __future__ import annotations

from collections.abc import Mapping

from app.video.models import Asset


def asset_url(store, asset: Asset, seconds: int, *, download: bool = False, audience: int | None = None) -> str:
    filename = None
    if download:
        base = asset.video.title.replace("/", "-")[:80] or "lesson"
        ext = asset.key.rsplit(".", 1)[-1] if "." in asset.key.rsplit("/", 1)[-1] else "bin"
        filename = f"{base}.{ext}"
    return store.signed_url(asset.key, seconds, filename=filename, audience=audience)


def poster_urls(store, posters: Mapping[int, Asset], seconds: int, audience: int) -> dict[int, str]:
    """Thumbnails for a list of lessons: each poster's signed URL, made out to the user the list is shown to (the
    media view serves it to that user's session only, and only while they may still see the lesson)."""
    return {video_id: asset_url(store, asset, seconds, audience=audience) for video_id, asset in posters.items()}
