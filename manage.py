#!/usr/bin/env python
import os
import signal
import sys


def main():
    if sys.argv[1:2] == ["rundemo"]:
        # Held from the first line: a Ctrl-C during Django's start-up can land in a weakref callback, where
        # Python prints the KeyboardInterrupt and goes on, leaving a demo nobody stopped. rundemo lets the
        # signals through once its own handlers are in place.
        signal.pthread_sigmask(signal.SIG_BLOCK, (signal.SIGINT, signal.SIGTERM, signal.SIGHUP))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "couponops.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
