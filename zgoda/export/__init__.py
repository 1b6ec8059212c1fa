"""Consent-log exports: records to CSV or NDJSON as a stream, and export files back to records.

An export carries every hashed field and the chain hashes, so `flask consents verify FILE`
can rebuild each record exactly and check the chain offline.
"""

from zgoda.export.format import (
    FORMATS,
    MEDIA_TYPES,
    Format,
    choice_cells,
    csv_header,
    gzip_chunks,
    parse_moment,
)
from zgoda.export.reader import ExportReader, MalformedExport, record_from_json, record_parts_of
from zgoda.export.stream import export_chunks, sequence_range

__all__ = [
    "FORMATS",
    "MEDIA_TYPES",
    "ExportReader",
    "Format",
    "MalformedExport",
    "choice_cells",
    "csv_header",
    "export_chunks",
    "gzip_chunks",
    "parse_moment",
    "record_from_json",
    "record_parts_of",
    "sequence_range",
]
