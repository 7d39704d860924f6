"""The dataset store, and the folder an exercise's kernel sees at ./data.

Instructors add a file or a folder once (`adventures data add`, or the Datasets page); graders
then only read small JSON refs and stat files, so a grade never re-reads big data. The store is
a plain directory, so workers on other machines need nothing but the same path (NFS or a copy).

    objects/sha256/<hex>          one blob per distinct content: written once, mode 0444
    refs/<name>.json              the current version of dataset <name>
    versions/<name>/<n>.json      every version, the current one included (not under refs/:
                                  a dataset named "x.json" would clash with the ref of "x")
    views/<slug>-<hash>/          an exercise's ./data: hard links to blobs, plus the manifest
    tmp/                          staging on the same filesystem, so finished files are linked

Bytes are hashed only when they are added, streamed 1 MiB at a time. This module is pure
(no flask, no server): callers pass the store root.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import posixpath
import re
import shutil
import stat
import tarfile
import tempfile
import threading
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import unquote, urlsplit

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
_NAME = re.compile(NAME_PATTERN)
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{1,63}")
CHUNK = 1 << 20
MANIFEST = ".adventures-downloads.json"
WORK = "/home/student/work"
"""The notebook's working directory inside the sandbox; relative dataset paths start here."""
VIEW_FORMAT = 1
ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")


class DatasetError(ValueError):
    """A dataset cannot be added or shown; the message says what to do."""


class DatasetMissing(DatasetError):
    """An exercise names a dataset the store does not hold."""

    def __init__(self, name: str, slug: str, root: Path) -> None:
        self.name, self.slug = name, slug
        super().__init__(
            f"The exercise '{slug}' needs the dataset '{name}', which is not in the dataset "
            f"store ({root}). An instructor adds it with `adventures data add PATH --name {name}` "
            "or on the instructor Datasets page."
        )


class DatasetTooLarge(DatasetError):
    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"The dataset is larger than the limit of {human_size(limit)}.")


@dataclass(frozen=True)
class FileEntry:
    sha256: str
    size: int


@dataclass
class DatasetRef:
    """One version of a dataset, as stored in refs/<name>.json."""

    name: str
    version: int
    kind: str  # "file" | "dir"
    digest: str
    files: dict[str, FileEntry]
    urls: list[str] = field(default_factory=list)
    tfds: bool = False
    tfds_dir: str | None = None
    """Where the TFDS data_dir is, relative to the dataset: "" (the dataset is one), ".." (the
    dataset is a builder folder, so the data folder holding it is the data_dir), or a subfolder."""
    filename: str | None = None
    added_at: str = ""
    size: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "kind": self.kind,
            "digest": self.digest,
            "files": {k: {"sha256": v.sha256, "size": v.size} for k, v in self.files.items()},
            "urls": list(self.urls),
            "tfds": self.tfds,
            "tfds_dir": self.tfds_dir,
            "filename": self.filename,
            "added_at": self.added_at,
            "size": self.size,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> DatasetRef:
        return cls(
            name=doc["name"],
            version=int(doc["version"]),
            kind=doc["kind"],
            digest=doc["digest"],
            files={k: FileEntry(v["sha256"], int(v["size"])) for k, v in doc["files"].items()},
            urls=list(doc.get("urls") or []),
            tfds=bool(doc.get("tfds")),
            tfds_dir=doc.get("tfds_dir"),
            filename=doc.get("filename"),
            added_at=doc.get("added_at", ""),
            size=int(doc.get("size", 0)),
        )

    def summary(self) -> dict[str, Any]:
        """What a listing shows: everything but the file table."""
        doc = self.to_json()
        doc["file_count"] = len(doc.pop("files"))
        return doc


@dataclass
class AddResult:
    ref: DatasetRef
    created: bool
    """False when the same bytes were already the current version (URLs may have been merged)."""
    updated: bool = False

    @property
    def message(self) -> str:
        ref = self.ref
        what = f"'{ref.name}' version {ref.version} ({ref.kind}, {len(ref.files)} file"
        what += f"{'s' if len(ref.files) != 1 else ''}, {human_size(ref.size)})"
        if self.created:
            return f"added {what}"
        if self.updated:
            return f"unchanged {what}: same bytes; URLs/TFDS flag updated"
        return f"unchanged {what}: the same bytes are already the current version"


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise DatasetError(
            f"bad dataset name {name!r}: use letters, digits, '.', '_' and '-' (up to 128), "
            "starting with a letter or digit; give one (--name, or Name on the Datasets page)"
        )
    return name


def check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https", "ftp") or not parts.netloc:
        raise DatasetError(f"bad URL {url!r}: give an http(s) or ftp URL")
    return url


def url_filename(url: str) -> str | None:
    """The file name a download of url would get (wget's default), or None."""
    name = posixpath.basename(unquote(urlsplit(url).path))
    return name or None


def _digest(kind: str, files: dict[str, FileEntry]) -> str:
    body = {
        "kind": kind,
        "files": sorted((k if kind == "dir" else "", v.sha256) for k, v in files.items()),
    }
    return hashlib.sha256(json.dumps(body, separators=(",", ":")).encode()).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _copy_hashing(src: BinaryIO, dst: BinaryIO, limit: int | None = None) -> FileEntry:
    """Copy src to dst in chunks while hashing: the only place dataset bytes are read."""
    digest = hashlib.sha256()
    size = 0
    while chunk := src.read(CHUNK):
        size += len(chunk)
        if limit is not None and size > limit:
            raise DatasetTooLarge(limit)
        digest.update(chunk)
        dst.write(chunk)
    return FileEntry(digest.hexdigest(), size)


def _clean_relpath(rel: str) -> str:
    """A relative path inside a folder dataset, or DatasetError (no '..', no absolute paths)."""
    rel = rel.replace("\\", "/")
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    if not parts or rel.startswith("/") or ".." in parts or any("\x00" in p for p in parts):
        raise DatasetError(f"unsafe path in the folder: {rel!r}")
    return "/".join(parts)


# --- the store ----------------------------------------------------------------------------

_ref_cache: dict[tuple[str, int, int, int], DatasetRef] = {}
_ref_cache_lock = threading.Lock()


class DatasetStore:
    """The store at root. Cheap to make; every method reads the directory afresh."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    @property
    def objects(self) -> Path:
        return self.root / "objects" / "sha256"

    @property
    def refs(self) -> Path:
        return self.root / "refs"

    @property
    def versions_dir(self) -> Path:
        return self.root / "versions"

    @property
    def views(self) -> Path:
        return self.root / "views"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    def blob(self, sha256: str) -> Path:
        return self.objects / sha256

    def _ensure(self) -> None:
        for folder in (self.objects, self.refs, self.views, self.tmp):
            folder.mkdir(parents=True, exist_ok=True)
        # The sandbox runs as another uid: it must reach views/ and the blobs they link.
        for folder in (self.root, self.root / "objects", self.objects, self.views):
            with contextlib.suppress(OSError):
                folder.chmod(0o755)

    # --- reading ------------------------------------------------------------------------

    def _read_ref(self, path: Path) -> DatasetRef | None:
        try:
            st = path.stat()
        except FileNotFoundError:
            return None
        # refs are replaced, never rewritten in place: a new inode is a new ref
        key = (str(path), st.st_ino, st.st_mtime_ns, st.st_size)
        with _ref_cache_lock:
            cached = _ref_cache.get(key)
        if cached is not None:
            return cached
        try:
            ref = DatasetRef.from_json(json.loads(path.read_text()))
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError) as exc:
            raise DatasetError(f"{path}: not a dataset ref ({exc})") from exc
        with _ref_cache_lock:
            if len(_ref_cache) > 4096:
                _ref_cache.clear()
            _ref_cache[key] = ref
        return ref

    def get(self, name: str, version: int | None = None) -> DatasetRef | None:
        """The current version of name (or the given version); None if there is none."""
        if not _NAME.fullmatch(name):
            return None
        if version is None:
            return self._read_ref(self.refs / f"{name}.json")
        return self._read_ref(self.versions_dir / name / f"{int(version)}.json")

    def versions(self, name: str) -> list[DatasetRef]:
        folder = self.versions_dir / name
        if not _NAME.fullmatch(name) or not folder.is_dir():
            return []
        found = [self._read_ref(p) for p in folder.glob("*.json") if p.stem.isdigit()]
        return sorted((r for r in found if r is not None), key=lambda r: r.version)

    def all(self) -> list[DatasetRef]:
        """Every dataset's current version, by name."""
        if not self.refs.is_dir():
            return []
        found = [self._read_ref(p) for p in sorted(self.refs.glob("*.json")) if p.is_file()]
        return [r for r in found if r is not None]

    # --- adding -------------------------------------------------------------------------

    def add(
        self,
        path: Path | str,
        *,
        name: str | None = None,
        urls: Iterable[str] = (),
        tfds: bool | None = None,
        unpack: bool = False,
        limit: int | None = None,
    ) -> AddResult:
        """Add a file or a folder (or, with unpack, an archive's contents) as dataset name.

        tfds None detects a TFDS data_dir by its dataset_info.json files; True requires one.
        """
        path = Path(path)
        if not path.exists():
            raise DatasetError(f"no such file or folder: {path}")
        if path.is_dir():
            return self._add_folder(
                path, name=name or path.resolve().name, urls=urls, tfds=tfds, limit=limit
            )
        if not path.is_file():
            raise DatasetError(f"{path} is neither a regular file nor a folder")
        if unpack:
            with path.open("rb") as stream:
                return self.add_archive(
                    stream, path.name, name=name, urls=urls, tfds=tfds, limit=limit
                )
        with path.open("rb") as stream:
            return self.add_stream(
                stream,
                name=name or path.name,
                filename=path.name,
                urls=urls,
                tfds=tfds,
                limit=limit,
            )

    def add_stream(
        self,
        stream: BinaryIO,
        *,
        name: str,
        filename: str | None = None,
        urls: Iterable[str] = (),
        tfds: bool | None = None,
        limit: int | None = None,
    ) -> AddResult:
        """Add one file read from stream (an upload, say) without holding it in memory."""
        check_name(name)
        urls = [check_url(u) for u in urls]
        if tfds:
            raise DatasetError("--tfds needs a folder (a TFDS data_dir), not a single file")
        self._ensure()
        entry = self._ingest(stream, limit)
        key = filename if filename and _NAME.fullmatch(filename) else name
        return self._commit(name, "file", {key: entry}, urls, False, None, filename)

    def add_archive(
        self,
        stream: BinaryIO,
        archive_name: str,
        *,
        name: str | None = None,
        urls: Iterable[str] = (),
        tfds: bool | None = None,
        limit: int | None = None,
    ) -> AddResult:
        """Add the files in a .zip or .tar(.gz) as a folder dataset (a lone top folder is dropped)."""
        urls = [check_url(u) for u in urls]
        if name is not None:
            check_name(name)
        self._ensure()
        members = _archive_members(stream, archive_name)
        files: dict[str, FileEntry] = {}
        total = 0
        rels: list[str] = []
        with members as entries:
            for rel, opened in entries:
                with opened() as src:
                    entry = self._ingest(src, None if limit is None else limit - total)
                total += entry.size
                files[rel] = entry
                rels.append(rel)
        if not files:
            raise DatasetError(f"{archive_name}: the archive holds no files")
        tops = {r.split("/", 1)[0] for r in rels}
        stem = _strip_archive_suffix(archive_name)
        if len(tops) == 1 and all("/" in r for r in rels):
            top = tops.pop()
            files = {r.split("/", 1)[1]: e for r, e in files.items()}
            stem = top
        return self._commit_folder(name or stem, files, urls, tfds)

    def _add_folder(
        self, folder: Path, *, name: str, urls: Iterable[str], tfds: bool | None, limit: int | None
    ) -> AddResult:
        check_name(name)
        urls = [check_url(u) for u in urls]
        self._ensure()
        files: dict[str, FileEntry] = {}
        total = 0
        for path in _walk_files(folder):
            rel = _clean_relpath(path.relative_to(folder).as_posix())
            with path.open("rb") as src:
                entry = self._ingest(src, None if limit is None else limit - total)
            total += entry.size
            files[rel] = entry
        if not files:
            raise DatasetError(f"{folder}: the folder holds no files")
        return self._commit_folder(name, files, urls, tfds)

    def _commit_folder(
        self, name: str, files: dict[str, FileEntry], urls: list[str], tfds: bool | None
    ) -> AddResult:
        check_name(name)
        tfds_dir = None
        if tfds is not False:
            tfds_dir = _tfds_dir(name, files, self.blob, required=bool(tfds))
        return self._commit(name, "dir", files, urls, tfds_dir is not None, tfds_dir, None)

    def _ingest(self, src: BinaryIO, limit: int | None) -> FileEntry:
        """Stream src into tmp/ while hashing, then link it into objects/ (once per content)."""
        fd, tmp_name = tempfile.mkstemp(dir=self.tmp, prefix="add-")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                entry = _copy_hashing(src, out, limit)
            dest = self.blob(entry.sha256)
            if not dest.exists():
                tmp.chmod(0o444)
                try:
                    os.link(tmp, dest)
                except FileExistsError:
                    pass  # another process stored the same bytes first
                except OSError:
                    os.replace(tmp, dest)  # a filesystem without hard links
            return entry
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        """One writer of refs at a time, across processes (flock; NFSv4 supports it)."""
        self.refs.mkdir(parents=True, exist_ok=True)
        with open(self.refs / ".lock", "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _commit(
        self,
        name: str,
        kind: str,
        files: dict[str, FileEntry],
        urls: list[str],
        tfds: bool,
        tfds_dir: str | None,
        filename: str | None,
    ) -> AddResult:
        digest = _digest(kind, files)
        with self._lock():
            current = self.get(name)
            if current is not None and current.digest == digest and current.kind == kind:
                merged = current.urls + [u for u in urls if u not in current.urls]
                if merged == current.urls and (current.tfds, current.tfds_dir) == (tfds, tfds_dir):
                    return AddResult(current, created=False)
                ref = dataclasses.replace(current, urls=merged, tfds=tfds, tfds_dir=tfds_dir)
                self._write_ref(ref)
                return AddResult(ref, created=False, updated=True)
            versions = [r.version for r in self.versions(name)]
            ref = DatasetRef(
                name=name,
                version=max(versions, default=current.version if current else 0) + 1,
                kind=kind,
                digest=digest,
                files=dict(sorted(files.items())),
                urls=list(dict.fromkeys(urls)),
                tfds=tfds,
                tfds_dir=tfds_dir,
                filename=filename,
                added_at=_now(),
                size=sum(f.size for f in files.values()),
            )
            self._write_ref(ref)
            return AddResult(ref, created=True)

    def _write_ref(self, ref: DatasetRef) -> None:
        text = json.dumps(ref.to_json(), indent=2) + "\n"
        (self.versions_dir / ref.name).mkdir(parents=True, exist_ok=True)
        _write_atomic(self.versions_dir / ref.name / f"{ref.version}.json", text)
        _write_atomic(self.refs / f"{ref.name}.json", text)


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def _walk_files(folder: Path) -> list[Path]:
    """Regular files under folder (symlinks to files followed, to folders not), sorted."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for filename in sorted(filenames):
            path = Path(dirpath) / filename
            if path.is_file():
                found.append(path)
    return found


def _strip_archive_suffix(filename: str) -> str:
    base = Path(filename).name
    for suffix in sorted(ARCHIVE_SUFFIXES, key=len, reverse=True):
        if base.lower().endswith(suffix):
            return base[: -len(suffix)] or base
    return base


@contextlib.contextmanager
def _archive_members(stream: BinaryIO, archive_name: str) -> Iterator[Iterator[tuple[str, Any]]]:
    """(relative path, opener) for each regular file of a zip or tar; links are refused."""
    lower = archive_name.lower()
    if lower.endswith(".zip"):
        try:
            archive = zipfile.ZipFile(stream)
        except zipfile.BadZipFile as exc:
            raise DatasetError(f"{archive_name}: not a zip file ({exc})") from exc
        with archive:

            def zip_entries() -> Iterator[tuple[str, Any]]:
                for info in archive.infolist():
                    if info.is_dir():
                        continue
                    if stat.S_ISLNK(info.external_attr >> 16):
                        raise DatasetError(
                            f"{archive_name}: links are not accepted ({info.filename})"
                        )
                    yield _clean_relpath(info.filename), lambda info=info: archive.open(info)

            yield zip_entries()
        return
    if not lower.endswith(ARCHIVE_SUFFIXES):
        raise DatasetError(f"{archive_name}: unpack takes {', '.join(ARCHIVE_SUFFIXES)} archives")
    try:
        archive = tarfile.open(fileobj=stream, mode="r|*")  # streamed: no seeking, no memory
    except tarfile.TarError as exc:
        raise DatasetError(f"{archive_name}: not a tar file ({exc})") from exc
    with archive:

        def tar_entries() -> Iterator[tuple[str, Any]]:
            try:
                for member in archive:
                    if member.isdir():
                        continue
                    if not member.isfile():
                        raise DatasetError(
                            f"{archive_name}: only files and folders are accepted ({member.name})"
                        )
                    source = archive.extractfile(member)
                    yield _clean_relpath(member.name), lambda source=source: source
            except tarfile.TarError as exc:
                raise DatasetError(f"{archive_name}: cannot read the tar file ({exc})") from exc

        yield tar_entries()


_VERSION = re.compile(r"^\d+\.\d+\.\d+$")


def _tfds_dir(name: str, files: dict[str, FileEntry], blob: Any, *, required: bool) -> str | None:
    """Where the TFDS data_dir is, found from each <builder>/[<config>/]<version>/dataset_info.json."""
    roots: set[str] = set()
    for rel, entry in files.items():
        parts = rel.split("/")
        if parts[-1] != "dataset_info.json" or len(parts) < 2 or not _VERSION.match(parts[-2]):
            continue
        try:
            builder = json.loads(Path(blob(entry.sha256)).read_text()).get("name")
        except (OSError, ValueError, AttributeError):
            builder = None
        above = parts[:-1]
        if not isinstance(builder, str) or not builder:
            continue
        index = next(
            (
                i
                for i in range(len(above) - 1, -1, -1)
                if above[i] == builder and len(above) - i - 1 in (1, 2)
            ),
            None,
        )
        if index is not None:
            roots.add("/".join(above[:index]))
        elif len(above) in (1, 2):
            if name != builder:
                if required:
                    raise DatasetError(
                        f"this folder is the TFDS builder folder of '{builder}': name the dataset "
                        f"'{builder}' (--name {builder}) so tfds.load finds it"
                    )
                continue
            roots.add("..")
    if len(roots) > 1:
        raise DatasetError(
            f"the folder holds several TFDS data_dirs ({', '.join(sorted(roots))}); add each alone"
        )
    if not roots:
        if required:
            raise DatasetError(
                "--tfds: no <builder>/[<config>/]<version>/dataset_info.json found; give the folder "
                "tfds prepared (its data_dir, e.g. ~/tensorflow_datasets) or one builder folder"
            )
        return None
    return roots.pop()


# --- the per-exercise data view -----------------------------------------------------------


@dataclass
class _Plan:
    """What a view holds: relpath -> source, and the manifest the kernel shim reads."""

    entries: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    paths: dict[str, str] = field(default_factory=dict)
    tfds_dir: str | None = None

    def taken(self, prefix: str) -> bool:
        return any(
            rel == prefix or rel.startswith(prefix + "/") or prefix.startswith(rel + "/")
            for rel in self.entries
        )

    def place(self, ref: DatasetRef, prefix: str) -> None:
        """Put ref at prefix, replacing whatever was there."""
        self.entries = {
            rel: src
            for rel, src in self.entries.items()
            if not (rel == prefix or rel.startswith(prefix + "/") or prefix.startswith(rel + "/"))
        }
        if ref.kind == "file":
            (entry,) = ref.files.values()
            self.entries[prefix] = ("blob", entry.sha256)
        else:
            for rel, entry in ref.files.items():
                self.entries[f"{prefix}/{rel}"] = ("blob", entry.sha256)

    def describe(self, ref: DatasetRef, prefix: str) -> None:
        """Manifest entries for a placed dataset (first writer of a key wins)."""
        for url in ref.urls:
            self.urls.setdefault(url, prefix)
        self.names.setdefault(posixpath.basename(prefix), prefix)
        if ref.kind == "file":
            for other in [ref.filename, *(url_filename(u) for u in ref.urls)]:
                if other:
                    self.names.setdefault(other, prefix)
        elif not ref.tfds:
            for rel in ref.files:
                self.names.setdefault(posixpath.basename(rel), f"{prefix}/{rel}")
        if ref.tfds and ref.tfds_dir is not None and self.tfds_dir is None:
            self.tfds_dir = posixpath.normpath(posixpath.join(prefix, ref.tfds_dir))

    def manifest(self) -> dict[str, Any]:
        return {
            "urls": dict(sorted(self.urls.items())),
            "names": dict(sorted(self.names.items())),
            "tfds_dir": self.tfds_dir,
            "paths": dict(sorted(self.paths.items())),
        }


def _own_files(data: Path) -> list[tuple[str, Path, os.stat_result]]:
    if not data.is_dir():
        return []
    out = []
    for path in _walk_files(data):
        rel = path.relative_to(data).as_posix()
        if rel == MANIFEST:
            continue
        out.append((rel, path, path.stat()))
    return out


def _plan(store: DatasetStore, spec: Any, folder: Path) -> _Plan | None:
    """The view's content, or None when the exercise needs nothing from the store."""
    if getattr(spec, "notebook", None) is None:
        return None  # short answers run no kernel
    uses = list(spec.notebook.datasets)
    listed: list[tuple[Any, DatasetRef]] = []
    for use in uses:
        ref = store.get(use.name)
        if ref is None:
            raise DatasetMissing(use.name, spec.slug, store.root)
        listed.append((use, ref))
    wanted = {use.name for use, _ in listed}
    shared = [r for r in store.all() if r.name not in wanted and (r.urls or r.tfds)]
    if not listed and not shared:
        return None
    plan = _Plan()
    own = _own_files(folder / "data")
    for rel, path, st in own:
        plan.entries[rel] = ("file", str(path), st.st_size, st.st_mtime_ns)
    for use, ref in listed:
        plan.place(ref, ref.name)
        for extra in use.paths:
            rel = posixpath.normpath(extra)
            if rel.startswith(WORK + "/"):
                rel = rel[len(WORK) + 1 :]  # in the notebook's folder: same as relative
            if rel.startswith("/"):
                plan.paths[rel] = ref.name
                continue
            if rel.startswith("data/"):
                plan.place(ref, rel[len("data/") :])
                plan.names.setdefault(posixpath.basename(rel), rel[len("data/") :])
            elif rel not in (".", "data"):
                plan.paths[f"{WORK}/{rel}"] = ref.name
    for _use, ref in listed:
        plan.describe(ref, ref.name)
    for rel, _path, _st in own:
        if rel in plan.entries:
            plan.names.setdefault(posixpath.basename(rel), rel)
    for ref in shared:
        # Offered to every exercise so a lesson's `!wget URL` or tfds.load finds it, but never
        # over the exercise's own files or the datasets it lists.
        if not plan.taken(ref.name):
            plan.place(ref, ref.name)
            plan.describe(ref, ref.name)
    return plan


def _link_or_copy(source: Path, dest: Path) -> None:
    try:
        os.link(source, dest)
    except FileNotFoundError:
        if not source.exists():
            raise DatasetError(
                f"{source} is missing from the dataset store; add the dataset again"
            ) from None
        raise
    except OSError:  # another filesystem, or links not allowed: a copy, once per view
        shutil.copyfile(source, dest)
        dest.chmod(0o444)


def _build(store: DatasetStore, plan: _Plan, final: Path, slug: str) -> None:
    store._ensure()
    tmp = Path(tempfile.mkdtemp(prefix=f".build-{slug}-", dir=store.views))
    try:
        tmp.chmod(0o755)
        for rel, source in sorted(plan.entries.items()):
            dest = tmp / rel
            if not dest.parent.is_dir():
                dest.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
            _link_or_copy(store.blob(source[1]) if source[0] == "blob" else Path(source[1]), dest)
        for dirpath, _dirs, _files in os.walk(tmp):
            os.chmod(dirpath, 0o755)
        manifest = tmp / MANIFEST
        manifest.write_text(json.dumps(plan.manifest(), indent=2, sort_keys=True) + "\n")
        manifest.chmod(0o444)
        try:
            os.rename(tmp, final)
        except OSError:
            if not final.is_dir():
                raise
            shutil.rmtree(tmp, ignore_errors=True)  # another worker built the same view first
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def data_view(store_root: Path | str, spec: Any, exercise_folder: Path | str) -> Path:
    """The folder the exercise's kernel sees at ./data.

    An exercise that lists no datasets, while the store offers none with URLs or TFDS data,
    gets its own data/ folder as before. Otherwise the view under views/ holds the exercise's
    data/ files, each listed dataset at NAME (and at each relative `paths` entry under data/),
    every other dataset with URLs or TFDS data at NAME where that is free, and the manifest
    `.adventures-downloads.json`. All files are hard links, so a view costs no data bytes; it is
    built once per content hash and reused. Raises DatasetMissing for a listed dataset the
    store does not hold.
    """
    folder = Path(exercise_folder)
    store = DatasetStore(store_root)
    plan = _plan(store, spec, folder)
    if plan is None:
        return folder / "data"
    key_doc = {
        "format": VIEW_FORMAT,
        "slug": spec.slug,
        "entries": sorted(plan.entries.items()),
        "manifest": plan.manifest(),
    }
    key = hashlib.sha256(json.dumps(key_doc, sort_keys=True, default=list).encode()).hexdigest()
    final = store.views / f"{spec.slug}-{key[:20]}"
    if not final.is_dir():
        _build(store, plan, final, spec.slug)
    return final


_spec_cache: dict[str, tuple[tuple[int, int, int], Any]] = {}


def exercise_views(
    store_root: Path | str, exercises_root: Path | str, *, spec_file: str = "exercise.yaml"
) -> dict[str, Path]:
    """{slug: data folder} for every exercise under exercises_root that has one.

    For the sandbox, which mounts every exercise's data at once so one zygote serves them all.
    An exercise whose spec does not load is left out; one whose dataset is missing gets its plain
    data/ (its own grade reports the missing dataset through data_view).
    """
    from graders.spec import SpecError, load_spec

    out: dict[str, Path] = {}
    for path in sorted(Path(exercises_root).glob(f"*/{spec_file}")):
        folder = path.parent
        if not _SLUG.fullmatch(folder.name):
            continue
        try:
            st = path.stat()
            cached = _spec_cache.get(str(path))
            if cached is not None and cached[0] == (st.st_ino, st.st_mtime_ns, st.st_size):
                spec = cached[1]
            else:
                spec = load_spec(path)
                _spec_cache[str(path)] = ((st.st_ino, st.st_mtime_ns, st.st_size), spec)
        except (SpecError, OSError):
            continue
        try:
            view = data_view(store_root, spec, folder)
        except DatasetMissing:
            view = folder / "data"
        if view.is_dir():
            out[folder.name] = view
    return out
