"""Profiles the worker's loop (in this process) with pyinstrument: where the Python time goes.

    .venv/bin/python -m bench.profile --rows 1000000

Python is one of three busy processes (Trino's JVM and the PostgreSQL backend are the others), so
this shows the Python share only; bench.run's "where the time goes" table shows the whole.
"""

import argparse

from pyinstrument import Profiler

from bench.run import running_services, setup_django


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with running_services() as (pg_url, trino_port):
        setup_django(pg_url, trino_port)
        from bench import measure  # models can be imported only once Django is set up

        measure.prepare(args.rows)
        measure.instrumented_loop(args.rows)  # warm Trino's JIT first
        profiler = Profiler(interval=0.001)
        with profiler:
            measure.instrumented_loop(args.rows)
        print(profiler.output_text(unicode=True, color=False, show_all=False))


if __name__ == "__main__":
    main()
