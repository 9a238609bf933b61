#!/usr/bin/python3
"""A FUSE file system with one file whose reads stop answering: the stuck import source of issue 17, defect 4.

    stall-fs.py MOUNTPOINT SIZE STALL_AT

MOUNTPOINT/image.raw is SIZE bytes of 0x5a. A read that touches a byte at or past STALL_AT never returns (until this
process ends: then the kernel fails it with ENOTCONN), as a read from a hung network or FUSE file system does. Runs
in the foreground, multi-threaded, so that open/getattr keep answering while reads hang; says "stalling a read at
offset N" on stderr for each read it hangs. The test ends it with SIGKILL (a hung request keeps SIGTERM from ending
it) and then `fusermount -u -z`; the kernel then fails the hung reads.
"""
import errno
import stat
import sys
import threading

import fusepy

NAME = "/image.raw"


class StallFs(fusepy.Operations):
    def __init__(self, size, stall_at):
        self.size = size
        self.stall_at = stall_at
        self.never = threading.Event()

    def getattr(self, path, fh=None):
        if path == "/":
            return {"st_mode": stat.S_IFDIR | 0o755, "st_nlink": 2}
        if path == NAME:
            return {"st_mode": stat.S_IFREG | 0o444, "st_nlink": 1, "st_size": self.size}
        raise fusepy.FuseOSError(errno.ENOENT)

    def readdir(self, path, fh):
        return [".", "..", NAME[1:]]

    def open(self, path, flags):
        if path != NAME:
            raise fusepy.FuseOSError(errno.ENOENT)
        return 0

    def read(self, path, size, offset, fh):
        end = min(offset + size, self.size)
        if end > self.stall_at:
            print(f"stalling a read at offset {offset}", file=sys.stderr, flush=True)
            self.never.wait()  # hangs this request for good
        return b"\x5a" * max(0, end - offset)


def main():
    mountpoint, size, stall_at = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    # direct_io: every read reaches us (no page cache answering from earlier reads); allow_other: hangard may run
    # as another user than the test.
    fusepy.FUSE(StallFs(size, stall_at), mountpoint, foreground=True, nothreads=False, direct_io=True,
                allow_other=True)


if __name__ == "__main__":
    main()
