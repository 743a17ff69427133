"""Parse a multipart upload entirely in memory, with a hard size cap.

Starlette's form parser spools file parts over 1 MB to a temporary file; for us that file would
hold plaintext audio on disk. This parser keeps every part in memory and stops reading as soon as
the body exceeds the limit, before the rest of it is even received.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from sottovoce.core.errors import InvalidInput, TooLarge
from sottovoce.web.upload_limits import within_deadline


@dataclass
class Part:
    name: str = ""
    filename: str | None = None
    content_type: str = ""
    data: bytearray = field(default_factory=bytearray)


async def read_multipart(request: Request, max_bytes: int, max_parts: int = 4, deadline_s: float | None = None) -> dict[str, Part]:
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data" or b"boundary" not in params:
        raise InvalidInput("expected a multipart/form-data body with an 'audio' file and optional 'metadata'")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise TooLarge(f"the upload is {declared} bytes; the limit is {max_bytes}")

    parts: list[Part] = []
    header_field, header_value = bytearray(), bytearray()
    headers: dict[bytes, bytes] = {}

    def on_part_begin() -> None:
        if len(parts) >= max_parts:
            raise InvalidInput(f"too many parts; at most {max_parts}")
        parts.append(Part())
        headers.clear()

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header_field.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header_value.extend(data[start:end])

    def on_header_end() -> None:
        headers[bytes(header_field).lower()] = bytes(header_value)
        header_field.clear()
        header_value.clear()

    def on_headers_finished() -> None:
        _, options = parse_options_header(headers.get(b"content-disposition", b""))
        part = parts[-1]
        part.name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        part.filename = filename.decode("utf-8", "replace") if filename is not None else None
        part.content_type = headers.get(b"content-type", b"").decode("latin-1")

    def on_part_data(data: bytes, start: int, end: int) -> None:
        parts[-1].data.extend(data[start:end])

    parser = MultipartParser(
        params[b"boundary"],
        callbacks={
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
        },
    )
    received = 0
    stream = request.stream() if deadline_s is None else within_deadline(request.stream(), deadline_s)
    async for chunk in stream:
        received += len(chunk)
        if received > max_bytes:
            raise TooLarge(f"the upload is over the limit of {max_bytes} bytes")
        try:
            parser.write(chunk)
        except InvalidInput:
            raise
        except Exception:
            raise InvalidInput("the multipart body is malformed") from None
    try:
        parser.finalize()
    except Exception:
        raise InvalidInput("the multipart body is malformed") from None
    by_name: dict[str, Part] = {}
    for part in parts:
        if part.name in by_name:
            raise InvalidInput(f"the part '{part.name[:40]}' appears twice")
        by_name[part.name] = part
    return by_name
