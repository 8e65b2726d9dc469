#!/usr/bin/env python3
"""`make run`: boot Zazen under QEMU TCG (AMD-V) with a config and the
test guests, the console on this terminal. QEMU exits when Zazen powers
the machine off; Ctrl-A X leaves it at any time."""
import argparse
import glob
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from tests.harness import qemu  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--config", required=True, help="zazen.cfg to boot with")
    p.add_argument("--cpu", default=qemu.SVM_CPU)
    p.add_argument("--memory", default="512M")
    args = p.parse_args()
    with open(args.config) as f:
        config = f.read()
    files = sorted(glob.glob(os.path.join(qemu.BUILD, "guests", "*.bin")))
    # disk images the config names, from build/guests or build/linux
    for line in config.splitlines():
        key, _, value = line.partition("=")
        key, value = key.strip(), value.split("#")[0].split(",")[0].strip()
        if key.startswith("disk") or key == "cdrom":
            for d in ("guests", "linux"):
                path = os.path.join(qemu.BUILD, d, value)
                if os.path.exists(path):
                    files.append(path)
    print("zazen: booting %s under QEMU TCG (-cpu %s); Ctrl-A X quits" % (args.config, args.cpu))
    return qemu.run_interactive(config, files, cpu=args.cpu, memory=args.memory)


if __name__ == "__main__":
    sys.exit(main())
