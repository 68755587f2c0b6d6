"""Builds the optional C accelerators of the collector, the store and redaction; everything
else is declared in pyproject.toml.

``optional=True``: where no C compiler is available the install still succeeds and each
falls back to its pure-Python path (same output, slower).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "agenttrace.store._otlp_columns",
            sources=["src/agenttrace/store/_otlp_columns.c"],
            extra_compile_args=["-O2", "-std=c11"],
            optional=True,
        ),
        Extension(
            "agenttrace.redaction._emails",
            sources=["src/agenttrace/redaction/_emails.c"],
            extra_compile_args=["-O2", "-std=c11"],
            optional=True,
        ),
        Extension(
            "agenttrace.collector._wire",
            sources=["src/agenttrace/collector/_wire.c"],
            extra_compile_args=["-O2", "-std=c11"],
            optional=True,
        ),
    ]
)
