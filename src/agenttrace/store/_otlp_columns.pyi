from collections.abc import Sequence
from typing import Any

def decode(
    payloads: Sequence[bytes], spec: tuple[tuple[str, int], ...], service_key: str, /
) -> tuple[int, Any, Any]: ...
