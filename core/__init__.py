"""The pack's own logic over the client, without Prefect.

Expansion engine and graph, alert checkpoint and listing state machines, submission planning,
collection diffing, verdict ranking, triage assembly, report rendering, VirusTotal page links and
defanged display live here (see DESIGN.md). This package imports `prefect_virustotal.client` and
well-kept libraries, never Prefect.
"""

from ._safety import (
    MAX_TEXT_INPUT_BYTES,
    check_mass_removal,
    decode_text,
    escape_control,
    read_text_file,
    regular_file,
    run_wide_failure,
    target_identity,
    unused_lines,
)

__all__: list[str] = [
    "MAX_TEXT_INPUT_BYTES",
    "check_mass_removal",
    "decode_text",
    "escape_control",
    "read_text_file",
    "regular_file",
    "run_wide_failure",
    "target_identity",
    "unused_lines",
]
