"""The reader's variants, read alone (no PostgreSQL): what each costs in seconds and in CPU.

    .venv/bin/python -m bench.reader --rows 10000000 [--repeats 2]

Also part of `make bench` ("Where the time goes"). CPU is counted for this process (the client's decoding)
and for the Trino server's JVM when it runs on this machine, so that a loaded machine's wall-clock noise can
be told from the work itself.
"""

import argparse
import os
import resource
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from distribution.sources import get_source
from distribution.sources.base import Source


@dataclass
class Read:
    method: str
    rows: int
    seconds: float
    client_cpu: float
    trino_cpu: float | None

    @property
    def rate(self):
        return self.rows / self.seconds


def row_per_id(source):
    """The reader before blocks.py: base.Source.read, one row per id."""
    return lambda target, **kwargs: Source.read(source, target, **kwargs)


# (name, source options, the read to time: None for today's reader).
VARIANTS = [
    ("one row per id, direct protocol", {"encoding": "direct"}, row_per_id),
    ("one array per key block, direct protocol", {"encoding": "direct"}, None),
    ("one array per key block, spooled json+lz4", {"encoding": "json+lz4"}, None),
    ("one array per key block, spooled json+zstd", {"encoding": "json+zstd"}, None),
]


def read_once(table, name, options, wrap):
    source = get_source("warehouse")
    source.options = {**source.options, **options}
    read = wrap(source) if wrap else source.read
    target = source.resolve(table, "user_id")
    jvm = trino_jvm(source.options["port"])
    before, cpu_before, started = jvm_cpu(jvm), client_cpu(), time.perf_counter()
    count = sum(len(batch) for batch in read(target, after=None, batch_size=settings.DISTRIBUTION_CHUNK_SIZE))
    seconds = time.perf_counter() - started
    trino = jvm_cpu(jvm) - before if jvm else None
    return Read(name, count, seconds, client_cpu() - cpu_before, trino)


def measure(table, repeats=2):
    results = []
    for name, options, wrap in VARIANTS:
        samples = [read_once(table, name, options, wrap) for _ in range(repeats)]
        results.append(min(samples, key=lambda r: r.seconds))
    return results


def client_cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def trino_jvm(port):
    """The pid of the Trino server listening on `port` on this machine, or None."""
    out = subprocess.run(["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True).stdout
    marker = out.find("pid=")
    return int(out[marker + 4 :].split(",")[0]) if marker >= 0 else None


def jvm_cpu(pid):
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def markdown(results):
    lines = ["| reader | rows | seconds | rows/s | client CPU s | Trino CPU s |", "|---|---:|---:|---:|---:|---:|"]
    for r in results:
        trino = f"{r.trino_cpu:,.1f}" if r.trino_cpu is not None else "–"
        lines.append(f"| {r.method} | {r.rows:,} | {r.seconds:,.1f} | {r.rate:,.0f} | {r.client_cpu:,.1f} | {trino} |")
    return "\n".join(lines)


def main():
    from bench.run import running_services, setup_django

    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    with running_services() as (pg_url, trino_port):
        setup_django(pg_url, trino_port)
        from bench import measure as bench  # models can be imported only once Django is set up

        bench.prepare(args.rows)
        print(markdown(measure(bench.audience_table(args.rows), args.repeats)))


if __name__ == "__main__":
    main()
