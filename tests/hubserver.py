"""A local stand-in for the Hugging Face Hub, so the speech-model store is tested against real HTTP, offline.

It serves what huggingface_hub's model_info and hf_hub_download ask for, the way the Hub answers them:

    GET  /api/models/{repo}[/revision/{rev}][?blobs=true]   JSON with the commit (sha) and the files (siblings);
                                                             with blobs=true each file's size and blobId, and for LFS
                                                             files lfs.sha256 / lfs.size / lfs.pointerSize
    HEAD/GET /{repo}/resolve/{rev}/{path}                    regular files: 200 with ETag (git blob sha1),
                                                             X-Repo-Commit, Content-Length; LFS files: 302 to the
                                                             "CDN" with X-Linked-Etag (sha256) and X-Linked-Size
    HEAD/GET /cdn/{sha256}/{repo}/{path}                     the LFS bytes, with Range requests (206)

Errors carry the Hub's X-Error-Code (RepoNotFound, RevisionNotFound, EntryNotFound), which huggingface_hub turns
into its exception types. The CDN is addressed as `localhost` while the API is `127.0.0.1`: huggingface_hub follows
a redirect only within one origin, so, as with the real CDN, it reads the file's metadata from the 302 itself and
downloads from the Location.

Large files (*.bin, or over 10 MB, as the Hub's default .gitattributes and its size limit decide) are LFS files.

Switches, for failures a real network produces: cut(repo, path, at, times) drops the connection once the file's
byte `at` is reached (a resumed request that starts past it is dropped before any byte), corrupt(repo, path, at)
sends one wrong byte, hide(repo) answers 404 for a repo, and listing_checksums=False leaves the sizes and
checksums out of the listing (as some mirrors do), so the client must read them from HEAD. `requests` records what
was asked, to check that only the files needed were fetched and that a cut download was resumed with a Range.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

_LFS_THRESHOLD = 10 * 1024 * 1024
_CHUNK = 1 << 20
_hash_cache: dict[tuple[str, int, int], tuple[str, str]] = {}


def _hashes(source: Path | bytes) -> tuple[str, str, int]:
    """(sha256, git blob sha1, size), cached per file so a big model is hashed once per session."""
    if isinstance(source, bytes):
        git = hashlib.sha1(f"blob {len(source)}\0".encode() + source).hexdigest()
        return hashlib.sha256(source).hexdigest(), git, len(source)
    stat = source.stat()
    key = (str(source), stat.st_size, stat.st_mtime_ns)
    if key not in _hash_cache:
        sha256 = hashlib.sha256()
        git = hashlib.sha1(f"blob {stat.st_size}\0".encode())
        with open(source, "rb") as fh:
            while chunk := fh.read(_CHUNK):
                sha256.update(chunk)
                git.update(chunk)
        _hash_cache[key] = (sha256.hexdigest(), git.hexdigest())
    return (*_hash_cache[key], stat.st_size)


@dataclass(frozen=True)
class HubFile:
    path: str
    source: Path | bytes
    size: int
    sha256: str
    git_sha1: str
    lfs: bool

    @property
    def pointer(self) -> bytes:
        return f"version https://git-lfs.github.com/spec/v1\noid sha256:{self.sha256}\nsize {self.size}\n".encode()

    def read(self, start: int, end: int) -> bytes:
        """Bytes [start, end)."""
        if isinstance(self.source, bytes):
            return self.source[start:end]
        with open(self.source, "rb") as fh:
            fh.seek(start)
            return fh.read(end - start)


@dataclass
class Request:
    method: str
    path: str
    range: str | None


@dataclass
class _Repo:
    refs: dict[str, str] = field(default_factory=dict)  # branch -> commit
    commits: dict[str, dict[str, HubFile]] = field(default_factory=dict)


class HubServer:
    """The local Hub: `with HubServer() as hub: hub.add_repo(...); install(..., endpoint=hub.endpoint)`."""

    def __init__(self, cdn_host: str = "localhost"):
        self.repos: dict[str, _Repo] = {}
        self.requests: list[Request] = []
        self.listing_checksums = True
        self._cuts: dict[tuple[str, str], list[int | None]] = {}  # (repo, path) -> [at, responses left or None]
        self._corrupt: dict[tuple[str, str], int] = {}
        self._hidden: set[str] = set()
        self._lock = threading.Lock()
        self._cdn_host = cdn_host
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="hubserver", daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> HubServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> HubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- content

    def add_repo(self, repo_id: str, files: dict[str, Path | bytes], branch: str = "main") -> str:
        """Push `files` as a new commit of `repo_id` on `branch`; the commit's sha."""
        entries = {}
        for path, source in sorted(files.items()):
            sha256, git_sha1, size = _hashes(source)
            lfs = path.endswith(".bin") or size > _LFS_THRESHOLD
            entries[path] = HubFile(path, source, size, sha256, git_sha1, lfs)
        repo = self.repos.setdefault(repo_id, _Repo())
        tree = "".join(f"{e.path}\0{e.git_sha1}\n" for e in entries.values())
        commit = hashlib.sha1(f"{repo_id}\n{len(repo.commits)}\n{tree}".encode()).hexdigest()
        with self._lock:
            repo.commits[commit] = entries
            repo.refs[branch] = commit
        return commit

    @staticmethod
    def folder_files(folder: Path | str, extra: dict[str, Path | bytes] | None = None) -> dict[str, Path | bytes]:
        """A folder's files as add_repo() takes them, with `extra` ones added or replacing some."""
        files: dict[str, Path | bytes] = {p.name: p for p in sorted(Path(folder).iterdir()) if p.is_file()}
        files.update(extra or {})
        return files

    # -- switches

    def cut(self, repo_id: str, path: str, at: int, times: int | None = 1) -> None:
        """Drop the connection at byte `at` of the file, for `times` responses (None: for every one)."""
        with self._lock:
            self._cuts[repo_id, path] = [at, times]

    def corrupt(self, repo_id: str, path: str, at: int) -> None:
        """Serve the byte at offset `at` of the file wrong (flipped), with the right size and headers."""
        with self._lock:
            self._corrupt[repo_id, path] = at

    def hide(self, repo_id: str) -> None:
        with self._lock:
            self._hidden.add(repo_id)

    def reset(self) -> None:
        with self._lock:
            self._cuts.clear()
            self._corrupt.clear()
            self._hidden.clear()
            self.requests.clear()
            self.listing_checksums = True

    def fetched(self, path: str) -> list[Request]:
        """The GET requests that carried bytes of a file named `path` (resolve and CDN)."""
        return [r for r in self.requests if r.method == "GET" and not r.path.startswith("/api/")
                and unquote(r.path.split("?")[0]).endswith("/" + path)]

    # -- used by the handler

    def _find(self, repo_id: str, revision: str) -> tuple[_Repo | None, str | None]:
        with self._lock:
            repo = None if repo_id in self._hidden else self.repos.get(repo_id)
            if repo is None:
                # The Hub's ids are case-insensitive; it answers with its own spelling.
                repo = next((r for k, r in self.repos.items()
                             if k.lower() == repo_id.lower() and k not in self._hidden), None)
            if repo is None:
                return None, None
            commit = repo.refs.get(revision) or (revision if revision in repo.commits else None)
            return repo, commit

    def _canonical(self, repo_id: str) -> str:
        return next((k for k in self.repos if k.lower() == repo_id.lower()), repo_id)

    def _cut_at(self, repo_id: str, path: str) -> int | None:
        with self._lock:
            state = self._cuts.get((repo_id, path))
            if state is None or state[1] == 0:
                return None
            if state[1] is not None:
                state[1] -= 1
            return state[0]

    def _corrupt_at(self, repo_id: str, path: str) -> int | None:
        with self._lock:
            return self._corrupt.get((repo_id, path))


def _handler(hub: HubServer) -> type[BaseHTTPRequestHandler]:
    api = re.compile(r"^/api/models/(?P<repo>[^/]+/[^/]+)(?:/revision/(?P<rev>[^/]+))?/?$")
    resolve = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<path>.+)$")
    cdn = re.compile(r"^/cdn/(?P<sha>[0-9a-f]{64})/(?P<repo>[^/]+/[^/]+)/(?P<path>.+)$")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's signature
            pass

        def do_HEAD(self) -> None:
            self._route(body=False)

        def do_GET(self) -> None:
            self._route(body=True)

        def _route(self, body: bool) -> None:
            with hub._lock:
                hub.requests.append(Request(self.command, self.path, self.headers.get("Range")))
            url = urlsplit(self.path)
            path = url.path
            try:
                if m := api.match(path):
                    blobs = parse_qs(url.query).get("blobs", ["false"])[0].lower() == "true"
                    self._listing(unquote(m["repo"]), unquote(m["rev"] or "main"), blobs, body)
                elif m := resolve.match(path):
                    self._resolve(unquote(m["repo"]), unquote(m["rev"]), unquote(m["path"]), body)
                elif m := cdn.match(path):
                    self._cdn(m["sha"], unquote(m["repo"]), unquote(m["path"]), body)
                else:
                    self._error(404, "EntryNotFound", "Not found", body)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up; nothing to answer

        # -- answers

        def _error(self, status: int, code: str, message: str, body: bool) -> None:
            payload = json.dumps({"error": message}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-Error-Code", code)
            self.send_header("X-Error-Message", message)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if body:
                self.wfile.write(payload)

        def _json(self, data: object, body: bool) -> None:
            payload = json.dumps(data).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if body:
                self.wfile.write(payload)

        def _lookup(self, repo_id: str, revision: str, body: bool) -> tuple[dict[str, HubFile], str] | None:
            repo, commit = hub._find(repo_id, revision)
            if repo is None:
                self._error(404, "RepoNotFound", "Repository not found", body)
                return None
            if commit is None:
                self._error(404, "RevisionNotFound", "Invalid rev id", body)
                return None
            return repo.commits[commit], commit

        def _listing(self, repo_id: str, revision: str, blobs: bool, body: bool) -> None:
            found = self._lookup(repo_id, revision, body)
            if found is None:
                return
            files, commit = found
            siblings = []
            for f in files.values():
                entry: dict[str, object] = {"rfilename": f.path}
                if blobs and hub.listing_checksums:
                    entry["size"] = f.size
                    if f.lfs:
                        entry["blobId"] = hashlib.sha1(f"blob {len(f.pointer)}\0".encode() + f.pointer).hexdigest()
                        entry["lfs"] = {"sha256": f.sha256, "size": f.size, "pointerSize": len(f.pointer)}
                    else:
                        entry["blobId"] = f.git_sha1
                siblings.append(entry)
            canonical = hub._canonical(repo_id)
            self._json({"_id": commit[:24], "id": canonical, "modelId": canonical, "sha": commit,
                        "private": False, "gated": False, "disabled": False, "library_name": "ctranslate2",
                        "tags": ["ctranslate2", "audio", "automatic-speech-recognition"], "siblings": siblings},
                       body)

        def _resolve(self, repo_id: str, revision: str, path: str, body: bool) -> None:
            found = self._lookup(repo_id, revision, body)
            if found is None:
                return
            files, commit = found
            f = files.get(path)
            if f is None:
                self._error(404, "EntryNotFound", f"{path} does not exist on {revision}", body)
                return
            if f.lfs:
                location = f"http://{hub._cdn_host}:{hub.port}/cdn/{f.sha256}/{hub._canonical(repo_id)}/{quote(path)}"
                self.send_response(302)
                self.send_header("Location", location)
                self.send_header("X-Repo-Commit", commit)
                self.send_header("ETag", f'"{f.sha256}"')
                self.send_header("X-Linked-Etag", f'"{f.sha256}"')
                self.send_header("X-Linked-Size", str(f.size))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self._bytes(f, hub._canonical(repo_id), body, {"X-Repo-Commit": commit, "ETag": f'"{f.git_sha1}"'})

        def _cdn(self, sha256: str, repo_id: str, path: str, body: bool) -> None:
            with hub._lock:
                f = next((files[path] for repo in hub.repos.values() for files in repo.commits.values()
                          if path in files and files[path].sha256 == sha256), None)
            if f is None:
                self._error(404, "EntryNotFound", "No such object", body)
                return
            self._bytes(f, repo_id, body, {"ETag": f'"{sha256}"'})

        def _bytes(self, f: HubFile, repo_id: str, body: bool, headers: dict[str, str]) -> None:
            start, end = 0, f.size  # [start, end)
            requested = self.headers.get("Range")
            if requested:
                m = re.fullmatch(r"bytes=(\d+)-(\d*)", requested.strip())
                if m is None or int(m[1]) >= max(f.size, 1):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{f.size}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                start = int(m[1])
                end = min(f.size, int(m[2]) + 1) if m[2] else f.size
            self.send_response(206 if requested else 200)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(end - start))
            if requested:
                self.send_header("Content-Range", f"bytes {start}-{end - 1}/{f.size}")
            self.end_headers()
            if not body:
                return
            cut = hub._cut_at(repo_id, f.path)
            flip = hub._corrupt_at(repo_id, f.path)
            stop = end if cut is None else max(start, min(end, cut))
            position = start
            while position < stop:
                chunk = bytearray(f.read(position, min(stop, position + _CHUNK)))
                if flip is not None and position <= flip < position + len(chunk):
                    chunk[flip - position] ^= 0xFF
                self.wfile.write(chunk)
                position += len(chunk)
            if stop < end:
                # The network fails mid-file: the client has fewer bytes than Content-Length promised.
                self.wfile.flush()
                self.close_connection = True

    return Handler
