"""One interface over the places a store can live: a local directory, S3, GCS, Azure.

Keys are relative, ``/``-separated names such as ``spans/dt=2026-01-01/hour=00/w-1.parquet``.
Every write is create-only (:meth:`ObjectStore.put_create`): an existing object is never
replaced, which is what makes publishing idempotent. Readers get a pyarrow filesystem and root
(:meth:`ObjectStore.arrow_filesystem`) so datasets can be scanned on any backend.

The local backend is implemented here with plain ``os`` calls rather than obstore's
``LocalStore``, because durability needs fsync of the file and of its directory, which obstore
does not do. Remote backends go through obstore.
"""

from __future__ import annotations

import abc
import datetime as dt
import errno
import os
import re
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import obstore
from obstore.exceptions import (
    AlreadyExistsError,
    BaseError,
    InvalidPathError,
    NotSupportedError,
    PermissionDeniedError,
    PreconditionError,
    UnauthenticatedError,
    UnknownConfigurationKeyError,
)
from obstore.store import S3Store, from_url

from agenttrace.store.errors import (
    ObjectNotFound,
    StoreError,
    StorePermanentError,
    StoreUnavailable,
)

if TYPE_CHECKING:
    import pyarrow.fs

__all__ = ["ObjectInfo", "ObjectStore", "open_store"]

TEMP_SUFFIX = ".tmp"
"""Local in-flight writes are named ``.<final name>.<random>.tmp`` next to their target.
The leading dot hides them from :meth:`ObjectStore.list` and from pyarrow datasets, which skip
names starting with ``.`` or ``_``."""

_Data = bytes | bytearray | memoryview
_ArrowFactory = Callable[[], "tuple[pyarrow.fs.FileSystem, str]"]


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """One stored object as returned by :meth:`ObjectStore.list`."""

    key: str
    size: int
    last_modified: dt.datetime


def validate_key(key: str) -> str:
    """Return ``key`` if it is a well-formed object key, else raise ``ValueError`` naming why.

    Segments starting with ``.`` are reserved for in-flight temp files.
    """
    if not key or key.startswith("/") or key.endswith("/"):
        raise ValueError(f"invalid object key {key!r}: must be relative and name an object")
    for segment in key.split("/"):
        if not segment or segment in {".", ".."} or segment.startswith("."):
            raise ValueError(
                f"invalid object key {key!r}: empty, '.'/'..' or dot-prefixed segment {segment!r}"
            )
        if "\\" in segment or "\x00" in segment:
            raise ValueError(f"invalid object key {key!r}: backslash or NUL in {segment!r}")
    return key


class ObjectStore(abc.ABC):
    """A flat namespace of immutable objects addressed by key."""

    @property
    @abc.abstractmethod
    def url(self) -> str:
        """The URL this store was opened with, normalised (never contains credentials)."""

    @abc.abstractmethod
    def put_create(self, key: str, data: _Data) -> bool:
        """Atomically create ``key`` with ``data``.

        Returns ``False`` without touching anything if the object already exists. Readers never
        see a partially written object. On return ``True`` the object is durable.
        """

    @abc.abstractmethod
    def get(self, key: str) -> bytes:
        """Return the object's bytes; raises :class:`ObjectNotFound` if absent."""

    @abc.abstractmethod
    def list(self, prefix: str = "") -> list[ObjectInfo]:
        """Every object whose key starts with ``prefix`` (a plain string prefix), sorted by key."""

    @abc.abstractmethod
    def delete(self, key: str) -> None:
        """Delete ``key``; deleting a missing object is not an error (as on S3)."""

    @abc.abstractmethod
    def arrow_filesystem(self) -> tuple[pyarrow.fs.FileSystem, str]:
        """A pyarrow filesystem and the root path under which the keys live."""

    def exists(self, key: str) -> bool:
        """Whether ``key`` exists."""
        return any(info.key == key for info in self.list(key))

    def remove_stale_temp_files(self, older_than_s: float = 3600.0) -> int:
        """Delete in-flight temp files left by crashed writers; returns how many were removed.

        Only the local backend has such files; remote puts are atomic on the server.
        """
        del older_than_s
        return 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"


# --------------------------------------------------------------------------------------------
# Local directory
# --------------------------------------------------------------------------------------------


_PERMANENT_ERRNOS = frozenset(
    {errno.EROFS, errno.ENAMETOOLONG, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV}
)


def _local_error(exc: OSError, what: str) -> StoreError:
    # A read-only or forbidden directory, or a filesystem without hard links, will not fix
    # itself; a full or failing disk may.
    if isinstance(exc, PermissionError) or exc.errno in _PERMANENT_ERRNOS:
        return StorePermanentError(f"{what}: {exc}")
    return StoreUnavailable(f"{what}: {exc}")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalObjectStore(ObjectStore):
    """Objects as files under a root directory, written with temp file + fsync + link."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self._root = Path(root).absolute()

    @property
    def root(self) -> Path:
        return self._root

    @property
    def url(self) -> str:
        return self._root.as_uri()

    def _path(self, key: str) -> Path:
        return self._root.joinpath(*validate_key(key).split("/"))

    def _make_dirs(self, directory: Path) -> None:
        """Create ``directory`` and fsync each parent whose entries changed, so a new
        partition directory survives a power loss together with the file inside it."""
        missing: list[Path] = []
        current = directory
        while not current.exists():
            missing.append(current)
            current = current.parent
        for new_dir in reversed(missing):
            # A concurrent writer may have made it first; fsync anyway, since that writer
            # may die before its own fsync and our file must not outlive its directory entry.
            new_dir.mkdir(exist_ok=True)
            _fsync_dir(new_dir.parent)

    def put_create(self, key: str, data: _Data) -> bool:
        final = self._path(key)
        try:
            self._make_dirs(final.parent)
            temp = final.parent / f".{final.name}.{uuid.uuid4().hex}{TEMP_SUFFIX}"
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                try:
                    view = memoryview(data)
                    while view:
                        written = os.write(fd, view)
                        view = view[written:]
                    os.fsync(fd)
                finally:
                    os.close(fd)
                # link() fails if the target exists, so an existing object is never replaced
                # (rename() would silently overwrite it).
                try:
                    os.link(temp, final)
                except FileExistsError:
                    return False
            finally:
                temp.unlink(missing_ok=True)
            _fsync_dir(final.parent)
            return True
        except OSError as exc:
            raise _local_error(exc, f"cannot write {key!r} in {self.url}") from exc

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise ObjectNotFound(f"object {key!r} not found in {self.url}") from exc
        except OSError as exc:
            raise _local_error(exc, f"cannot read {key!r} in {self.url}") from exc

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str = "") -> list[ObjectInfo]:
        directory, _, _ = prefix.rpartition("/")
        base = self._root.joinpath(*directory.split("/")) if directory else self._root
        found: list[ObjectInfo] = []
        try:
            for dirpath, dirnames, filenames in os.walk(base):
                dirnames[:] = [d for d in dirnames if not d.startswith(".")]
                rel = Path(dirpath).relative_to(self._root).as_posix()
                key_dir = "" if rel == "." else rel + "/"
                for name in filenames:
                    key = key_dir + name
                    if name.startswith(".") or not key.startswith(prefix):
                        continue
                    try:
                        st = os.stat(os.path.join(dirpath, name))
                    except FileNotFoundError:
                        continue  # deleted while listing
                    modified = dt.datetime.fromtimestamp(st.st_mtime, tz=dt.timezone.utc)
                    found.append(ObjectInfo(key, st.st_size, modified))
        except OSError as exc:
            raise _local_error(exc, f"cannot list {prefix!r} in {self.url}") from exc
        found.sort(key=lambda info: info.key)
        return found

    def delete(self, key: str) -> None:
        try:
            self._path(key).unlink(missing_ok=True)
        except OSError as exc:
            raise _local_error(exc, f"cannot delete {key!r} in {self.url}") from exc

    def arrow_filesystem(self) -> tuple[pyarrow.fs.FileSystem, str]:
        import pyarrow.fs

        return pyarrow.fs.LocalFileSystem(), self._root.as_posix()

    def remove_stale_temp_files(self, older_than_s: float = 3600.0) -> int:
        cutoff = time.time() - older_than_s
        removed = 0
        for dirpath, _, filenames in os.walk(self._root):
            for name in filenames:
                if not (name.startswith(".") and name.endswith(TEMP_SUFFIX)):
                    continue
                path = os.path.join(dirpath, name)
                try:
                    if os.stat(path).st_mtime < cutoff:
                        os.unlink(path)
                        removed += 1
                except FileNotFoundError:
                    continue
        return removed


# --------------------------------------------------------------------------------------------
# Remote stores through obstore
# --------------------------------------------------------------------------------------------

_STATUS = re.compile(r"status code: (\d{3})")
_PERMANENT_OBSTORE_ERRORS = (
    PermissionDeniedError,
    UnauthenticatedError,
    InvalidPathError,
    NotSupportedError,
    UnknownConfigurationKeyError,
    ValueError,
)


# Only failures of the store itself are translated; a TypeError is a bug and propagates.
_REMOTE_ERRORS = (BaseError, OSError, ValueError)


def _short(exc: BaseException) -> str:
    # obstore appends a multi-line "Debug source" dump; the first paragraph says it all.
    return str(exc).split("\n\nDebug source", 1)[0].strip()


def _remote_error(exc: Exception, what: str) -> StoreError:
    message = f"{what}: {_short(exc)}"
    if isinstance(exc, FileNotFoundError):
        return ObjectNotFound(message)
    if isinstance(exc, _PERMANENT_OBSTORE_ERRORS):
        return StorePermanentError(message)
    match = _STATUS.search(str(exc))
    if match is not None:
        status = int(match.group(1))
        if 400 <= status < 500 and status not in {408, 429}:
            return StorePermanentError(message)
    # Connection refused/reset, timeouts, 5xx, throttling: the store may come back.
    return StoreUnavailable(message)


@dataclass(frozen=True)
class _S3Settings:
    endpoint: str | None
    region: str
    access_key_id: str | None
    secret_access_key: str | None
    session_token: str | None
    allow_http: bool


class RemoteObjectStore(ObjectStore):
    """An obstore-backed store (S3, GCS, Azure); ``arrow_factory`` builds the reader filesystem."""

    def __init__(self, store: Any, url: str, arrow_factory: _ArrowFactory) -> None:
        self._store = store
        self._url = url
        self._arrow_factory = arrow_factory

    @property
    def url(self) -> str:
        return self._url

    def put_create(self, key: str, data: _Data) -> bool:
        validate_key(key)
        # obstore takes unsigned-byte buffers only (a pyarrow buffer's view is signed 'b').
        payload = memoryview(data).cast("B")
        try:
            # A single PUT carries If-None-Match: *; multipart uploads would not.
            obstore.put(self._store, key, payload, mode="create", use_multipart=False)
        except (AlreadyExistsError, PreconditionError):
            return False
        except _REMOTE_ERRORS as exc:
            raise _remote_error(exc, f"cannot write {key!r} in {self._url}") from exc
        return True

    def get(self, key: str) -> bytes:
        validate_key(key)
        try:
            return bytes(obstore.get(self._store, key).bytes())
        except _REMOTE_ERRORS as exc:
            raise _remote_error(exc, f"cannot read {key!r} in {self._url}") from exc

    def list(self, prefix: str = "") -> list[ObjectInfo]:
        # obstore prefixes match whole path segments; list the directory and filter so that
        # ``prefix`` means the same plain string prefix as on the local backend.
        directory, _, _ = prefix.rpartition("/")
        found: list[ObjectInfo] = []
        try:
            for chunk in obstore.list(self._store, directory or None):
                for meta in chunk:
                    key = meta["path"]
                    if key.startswith(prefix):
                        found.append(ObjectInfo(key, meta["size"], meta["last_modified"]))
        except _REMOTE_ERRORS as exc:
            raise _remote_error(exc, f"cannot list {prefix!r} in {self._url}") from exc
        found.sort(key=lambda info: info.key)
        return found

    def exists(self, key: str) -> bool:
        validate_key(key)
        try:
            obstore.head(self._store, key)
        except FileNotFoundError:
            return False
        except _REMOTE_ERRORS as exc:
            raise _remote_error(exc, f"cannot stat {key!r} in {self._url}") from exc
        return True

    def delete(self, key: str) -> None:
        validate_key(key)
        try:
            obstore.delete(self._store, key)
        except FileNotFoundError:
            return
        except _REMOTE_ERRORS as exc:
            raise _remote_error(exc, f"cannot delete {key!r} in {self._url}") from exc

    def arrow_filesystem(self) -> tuple[pyarrow.fs.FileSystem, str]:
        return self._arrow_factory()


# Option keys understood for every remote store; any other key is passed to obstore's
# store config verbatim (for example ``virtual_hosted_style_request``), which rejects unknown
# keys with a message naming them.
_CLIENT_OPTIONS = {"timeout", "connect_timeout"}
_S3_OPTIONS = {
    "endpoint",
    "region",
    "access_key_id",
    "secret_access_key",
    "session_token",
    "allow_http",
}
_S3_ENV = {
    "endpoint": ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_ENDPOINT"),
    "region": ("AWS_REGION", "AWS_DEFAULT_REGION"),
    "access_key_id": ("AWS_ACCESS_KEY_ID",),
    "secret_access_key": ("AWS_SECRET_ACCESS_KEY",),
    "session_token": ("AWS_SESSION_TOKEN",),
    "allow_http": ("AWS_ALLOW_HTTP",),
}
_DEFAULT_TIMEOUT = "120s"  # a whole request: a 128 MB file over a slow link
_DEFAULT_CONNECT_TIMEOUT = "5s"
# Short internal retries: the collector has its own backoff and must learn of an outage quickly
# to apply back-pressure, instead of blocking for obstore's default 3 minutes.
_DEFAULT_MAX_RETRIES = 2
_DEFAULT_RETRY_TIMEOUT_S = 10.0


def _option_text(value: object) -> str:
    # Config files may give YAML booleans and numbers; obstore wants its string forms.
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _truthy(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _split_options(
    options: Mapping[str, str],
) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
    """Split flat string options into (store config, client options, retry config)."""
    config: dict[str, str] = {}
    client: dict[str, Any] = {
        "timeout": _DEFAULT_TIMEOUT,
        "connect_timeout": _DEFAULT_CONNECT_TIMEOUT,
    }
    retries = _DEFAULT_MAX_RETRIES
    retry_timeout = _DEFAULT_RETRY_TIMEOUT_S
    for key, value in options.items():
        name = key.lower()
        try:
            if name in _CLIENT_OPTIONS:
                client[name] = value
            elif name == "max_retries":
                retries = int(value)
            elif name == "retry_timeout":
                retry_timeout = float(value.removesuffix("s"))
            else:
                config[name] = value
        except ValueError as exc:
            raise StorePermanentError(f"store option {key!r}: invalid value {value!r}") from exc
    retry = {"max_retries": retries, "retry_timeout": dt.timedelta(seconds=retry_timeout)}
    return config, client, retry


def _resolve_s3(options: Mapping[str, str]) -> _S3Settings:
    def pick(name: str) -> str | None:
        if name in options:
            return options[name]
        for var in _S3_ENV[name]:
            if os.environ.get(var):
                return os.environ[var]
        return None

    endpoint = pick("endpoint")
    allow_http_value = pick("allow_http")
    allow_http = (
        _truthy(allow_http_value)
        if allow_http_value is not None
        else bool(endpoint and endpoint.startswith("http://"))
    )
    return _S3Settings(
        endpoint=endpoint,
        region=pick("region") or "us-east-1",
        access_key_id=pick("access_key_id"),
        secret_access_key=pick("secret_access_key"),
        session_token=pick("session_token"),
        allow_http=allow_http,
    )


def _open_s3(bucket: str, prefix: str, url: str, options: Mapping[str, str]) -> ObjectStore:
    lowered = {k.lower(): v for k, v in options.items()}
    settings = _resolve_s3(lowered)
    passthrough = {k: v for k, v in lowered.items() if k not in _S3_OPTIONS}
    config, client, retry = _split_options(passthrough)
    client["allow_http"] = settings.allow_http
    s3_config: dict[str, Any] = dict(config)
    s3_config["region"] = settings.region
    for name in ("endpoint", "access_key_id", "secret_access_key", "session_token"):
        value = getattr(settings, name)
        if value is not None:
            s3_config[name] = value
    try:
        store = S3Store(
            bucket,
            prefix=prefix or None,
            # Flat string options are validated by obstore itself, not by the TypedDicts.
            config=cast("Any", s3_config),
            client_options=cast("Any", client),
            retry_config=cast("Any", retry),
        )
    except _REMOTE_ERRORS as exc:
        raise _remote_error(exc, f"cannot open {url}") from exc

    def arrow() -> tuple[pyarrow.fs.FileSystem, str]:
        import pyarrow.fs

        kwargs: dict[str, Any] = {"region": settings.region}
        if settings.endpoint:
            parsed = urllib.parse.urlsplit(settings.endpoint)
            kwargs["endpoint_override"] = parsed.netloc or settings.endpoint
            kwargs["scheme"] = parsed.scheme or ("http" if settings.allow_http else "https")
        if settings.access_key_id and settings.secret_access_key:
            kwargs["access_key"] = settings.access_key_id
            kwargs["secret_key"] = settings.secret_access_key
            if settings.session_token:
                kwargs["session_token"] = settings.session_token
        kwargs["connect_timeout"] = 5.0
        kwargs["request_timeout"] = 30.0
        root = f"{bucket}/{prefix}" if prefix else bucket
        return pyarrow.fs.S3FileSystem(**kwargs), root

    return RemoteObjectStore(store, url, arrow)


def _open_generic(scheme: str, url: str, options: Mapping[str, str]) -> ObjectStore:
    """GCS and Azure via obstore's URL parsing; untested in CI (no local emulator here)."""
    config, client, retry = _split_options(options)
    try:
        store = from_url(
            url,
            config=cast("Any", config or None),
            client_options=cast("Any", client),
            retry_config=cast("Any", retry),
        )
    except _REMOTE_ERRORS as exc:
        raise _remote_error(exc, f"cannot open {url}") from exc
    parsed = urllib.parse.urlsplit(url)
    root = (parsed.netloc + parsed.path).rstrip("/")

    def arrow() -> tuple[pyarrow.fs.FileSystem, str]:
        import pyarrow.fs

        if scheme == "gs":
            return pyarrow.fs.GcsFileSystem(), root
        account = config.get("account_name") or os.environ.get("AZURE_STORAGE_ACCOUNT_NAME")
        if not account:
            raise StorePermanentError(
                f"{url}: reading Azure with pyarrow needs option 'account_name' "
                "or env AZURE_STORAGE_ACCOUNT_NAME"
            )
        key = config.get("account_key") or os.environ.get("AZURE_STORAGE_ACCOUNT_KEY")
        return pyarrow.fs.AzureFileSystem(account_name=account, account_key=key), root

    return RemoteObjectStore(store, url, arrow)


def _redact_url(url: str) -> str:
    parsed = urllib.parse.urlsplit(url)
    if parsed.password or parsed.username:
        parsed = parsed._replace(netloc=parsed.hostname or "")
    return urllib.parse.urlunsplit(parsed)


def open_store(
    url: str | os.PathLike[str], *, options: Mapping[str, object] | None = None
) -> ObjectStore:
    """Open a store by URL.

    * a path or ``file:///abs/path``: local directory (created on first write);
    * ``s3://bucket/prefix`` (also ``s3a://``): endpoint, region and credentials from
      ``options`` (``endpoint``, ``region``, ``access_key_id``, ``secret_access_key``,
      ``session_token``, ``allow_http``) or the usual ``AWS_*`` environment variables;
    * ``gs://bucket/prefix``, ``az://container/prefix`` (also ``abfs(s)://``): through obstore.

    Common options: ``timeout`` and ``connect_timeout`` (``"30s"``), ``max_retries`` and
    ``retry_timeout`` (seconds). Other keys go to obstore's store config unchanged.
    """
    text = os.fspath(url)
    opts = {key: _option_text(value) for key, value in (options or {}).items()}
    if "://" not in text:
        if not text:
            raise StorePermanentError("store URL is empty")
        return LocalObjectStore(Path(text).expanduser())
    parsed = urllib.parse.urlsplit(text)
    scheme = parsed.scheme.lower()
    if scheme == "file":
        if parsed.netloc not in {"", "localhost"}:
            raise StorePermanentError(f"file URL {text!r} must not name a host")
        return LocalObjectStore(urllib.request.url2pathname(parsed.path))
    if scheme in {"s3", "s3a"}:
        if not parsed.netloc:
            raise StorePermanentError(f"S3 URL {text!r} has no bucket (s3://bucket/prefix)")
        prefix = parsed.path.strip("/")
        return _open_s3(parsed.netloc, prefix, f"s3://{parsed.netloc}/{prefix}".rstrip("/"), opts)
    if scheme in {"gs", "az", "abfs", "abfss", "azure"}:
        return _open_generic("gs" if scheme == "gs" else "az", _redact_url(text), opts)
    raise StorePermanentError(
        f"unsupported store URL scheme {parsed.scheme!r} in {_redact_url(text)!r}: "
        "use a path, file://, s3://, gs:// or az://"
    )
