#!/usr/bin/env python3
"""mkdisk.py OUT SECTORS: the test disk the device guests read. Sector n
starts with "ZAZEN-TEST-SECTOR nnnnnnnn" and is filled after that with the
byte (n + offset) & 0xff, so a guest can recognise any sector."""
import sys


def sector(n):
    head = b"ZAZEN-TEST-SECTOR %08d" % n
    return head + bytes((n + i) & 0xFF for i in range(len(head), 512))


def main():
    out, count = sys.argv[1], int(sys.argv[2])
    with open(out, "wb") as f:
        for n in range(count):
            f.write(sector(n))


if __name__ == "__main__":
    main()
