"""The processor contract and registry shared by the collector and its processors.

A processor transforms one ``ExportTraceServiceRequest`` before it is written to the WAL
(so redaction happens before anything touches disk). A forwarder receives each request only
after it is durable and acknowledged. Both are built from the ``processors:`` list of the
collector config through this registry::

    processors:
      - type: redaction          # registered type name
        name: redact-secrets     # optional, defaults to the type; unique
        ...                      # everything else goes to the config class's from_dict

Contract for implementers:

* ``config_cls`` is a dataclass with ``from_dict(d) -> config`` (a classmethod) and
  ``validate() -> None``. Both raise :class:`ConfigError` whose ``key_path`` is relative to the
  processor's own section (``"max_attribute_length"``); the loader prefixes it with
  ``processors[<index>].`` so users see the full path.
* ``factory(config)`` returns a :class:`Processor` or a :class:`Forwarder`.
* ``Processor.process`` is called serially (never concurrently with itself) on the collector's
  single ingest thread, one request at a time, in list order. It may mutate the
  request in place (declare ``mutates = True``) and returns it, or returns ``None`` to drop the
  whole request (it is then acknowledged but not stored). Raising
  :class:`~agenttrace.collector.errors.InvalidRequest` rejects the request with 400; any other
  exception is logged and answered with 500/INTERNAL without writing anything.
* ``Forwarder.submit`` is called on the event loop thread after the request is fsync'ed and
  acknowledged. It must not block: queue the request and send it from your own thread/task.
  The collector never mutates a submitted request afterwards.
* Optional, for processors that hold spans back (tail sampling): ``flush_due()`` is polled
  about once a second and ``flush_all()`` once at shutdown, on the same ingest thread; each
  returns a request of released spans (or ``None``), which continues through the processors
  after this one, then the WAL and forwarders. Held spans were acknowledged before they are
  durable: document that for your processor.
* Optional, for speed: ``process_encoded(request, encoded) -> (request | None, encoded)``.
  ``encoded`` (:class:`~agenttrace.collector._layout.EncodedRequest`) holds the request's
  current protobuf bytes and their layout, so the processor can screen the bytes and touch
  only the spans that need it. It returns the request with its bytes: ``encoded`` itself when
  it changed nothing, new bytes when it changed the request and spliced them (see
  ``EncodedRequest.with_units``), or ``None`` when it changed the request and the collector
  must serialize it. The next processor and the WAL get those bytes without a re-encode. The
  collector calls it instead of ``process``, which must give the same result. When it changed
  only the bytes (then new ones), it may return :data:`STALE` in place of the request: the
  collector parses the bytes if anything after it needs the message. A processor that declares
  ``handles_stale = True`` is handed :data:`STALE` as it is, and calls :func:`as_message` only
  if it needs the message after all (most requests then skip a second parse). It is also
  handed bytes with scope_spans fields still pending (``EncodedRequest.appended``, folded in by
  its ``with_units``); any other processor gets them spliced in first.
* With ``receivers.workers`` > 1 every worker process builds its own instance from the same
  config, so ``process`` must not depend on earlier requests. A processor that does (tail
  sampling holds spans until their trace completes) declares ``stateful = True`` and the
  collector then refuses to start with more than one worker.
* Optional: ``metrics() -> Mapping[str, float]`` returning cumulative counters
  (e.g. ``{"spans_redacted": 12}``); the collector exports each as
  ``agenttrace_processor_<key>_total{processor="<name>"}``.
* ``shutdown()`` is called once when the collector stops (forwarders should flush there,
  within a few seconds).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol, runtime_checkable

from agenttrace.collector.errors import ConfigError

# ``opentelemetry.proto`` has no type information; the alias keeps signatures readable.
ExportTraceServiceRequest = Any


class _Stale:
    def __repr__(self) -> str:
        return "STALE"


STALE: Final = _Stale()
"""What ``process_encoded`` returns in place of a request whose bytes it changed but whose
message it left behind (parsing the span again would cost more than the change)."""


def as_message(request: Any, encoded: Any) -> Any:
    """``process_encoded``'s request as a message: parsed from its bytes (an
    :class:`~agenttrace.collector._layout.EncodedRequest`) if only those are current."""
    if request is STALE:
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

        return trace_service_pb2.ExportTraceServiceRequest.FromString(encoded.complete().data)
    return request


@runtime_checkable
class Processor(Protocol):
    name: str

    @property
    def mutates(self) -> bool: ...  # a plain attribute satisfies this too

    def process(self, request: ExportTraceServiceRequest) -> ExportTraceServiceRequest | None: ...

    def shutdown(self) -> None: ...


@runtime_checkable
class Forwarder(Protocol):
    name: str

    def submit(self, request: ExportTraceServiceRequest) -> None: ...

    def shutdown(self) -> None: ...


class ProcessorConfig(Protocol):
    def validate(self) -> None: ...


ConfigParser = Callable[[Mapping[str, Any]], Any]
Factory = Callable[[Any], "Processor | Forwarder"]


@dataclass(frozen=True)
class Registration:
    type_name: str
    config_cls: Any
    factory: Factory


_REGISTRY: dict[str, Registration] = {}


def register_processor(type_name: str, config_cls: Any, factory: Factory) -> None:
    """Make ``type_name`` usable under ``processors:``. Re-registering replaces the entry."""
    _REGISTRY[type_name] = Registration(type_name, config_cls, factory)


def registered_types() -> list[str]:
    return sorted(_REGISTRY)


def build_processor(
    type_name: str, name: str, options: Mapping[str, Any], key_path: str
) -> Processor | Forwarder:
    """Parse, validate and construct one processor; config errors carry the full key path."""
    registration = _REGISTRY.get(type_name)
    if registration is None:
        known = ", ".join(registered_types()) or "none"
        raise ConfigError(
            f"{key_path}.type", f"unknown processor type {type_name!r} (known: {known})"
        )
    try:
        config = registration.config_cls.from_dict(dict(options))
        config.validate()
    except ConfigError as err:
        raise ConfigError(f"{key_path}.{err.key_path}", err.message) from err
    built = registration.factory(config)
    # A read-only ``name`` means the processor names itself.
    with contextlib.suppress(AttributeError):
        built.name = name
    return built


__all__ = [
    "ConfigError",
    "ExportTraceServiceRequest",
    "Forwarder",
    "Processor",
    "ProcessorConfig",
    "Registration",
    "build_processor",
    "register_processor",
    "registered_types",
]
