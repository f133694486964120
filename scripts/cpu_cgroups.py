"""CPU cgroups with a CFS quota, one per side of a benchmark, on cgroup v2 or v1.

A Fargate task's vCPUs are a CFS quota on its cgroup; here each side of a loopback test gets
its own cgroup with the same kind of quota, so the sender and the receiver are limited apart,
as two tasks are. The cpu controller lives on the unified (v2) hierarchy on most current
distributions (cpu.max) and on a v1 hierarchy on older ones and some VMs (cpu.cfs_quota_us);
whichever this machine has is used, and `describe()` says which.

Needs root. Every cgroup made is removed by `remove_all()` (the caller's `finally`).
"""
import os

PERIOD_US = 100_000


def _mounts(text):
    """(mount point, fstype, options) of each line of /proc/mounts."""
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 4:
            yield fields[1], fields[2], fields[3].split(",")


class CpuCgroups:
    """Makes cgroups with a CPU quota under one parent named after this process."""

    def __init__(self, version, root, error=None):
        self.version, self.root, self.error = version, root, error
        self.parent = os.path.join(root, f"fargate-bench-{os.getpid()}") if root else None
        self.made = []

    @classmethod
    def detect(cls, mounts_text=None):
        """The hierarchy that has the cpu controller: v2 first, then v1."""
        if mounts_text is None:
            with open("/proc/mounts") as f:
                mounts_text = f.read()
        v1 = None
        for point, fstype, options in _mounts(mounts_text):
            if fstype == "cgroup2":
                try:
                    with open(os.path.join(point, "cgroup.controllers")) as f:
                        if "cpu" in f.read().split():
                            return cls._usable(cls(2, point))
                except OSError:
                    continue
            elif fstype == "cgroup" and "cpu" in options and v1 is None:
                v1 = point
        if v1:
            return cls._usable(cls(1, v1))
        return cls(None, None, "no cgroup hierarchy (v1 or v2) has the cpu controller here")

    @staticmethod
    def _usable(cgroups):
        if os.geteuid() != 0 or not os.access(cgroups.root, os.W_OK):
            cgroups.error = f"making cgroups under {cgroups.root} needs root"
        return cgroups

    def describe(self):
        if self.version == 2:
            return f"cgroup v2 at {self.root}, cpu.max with a {PERIOD_US} us period"
        return (f"cgroup v1 cpu controller at {self.root}, cpu.cfs_quota_us with a "
                f"{PERIOD_US} us period (this machine has no cpu controller on v2)")

    def _write(self, path, name, value):
        with open(os.path.join(path, name), "w") as f:
            f.write(value)

    def make(self, name, vcpus):
        """A fresh cgroup `name` with a quota of `vcpus` CPUs; returns its path."""
        if self.error:
            raise RuntimeError(self.error)
        if not os.path.isdir(self.parent):
            os.mkdir(self.parent)
            self.made.append(self.parent)
            if self.version == 2:
                # Children get the cpu controller; the parent holds no process (v2's rule).
                self._write(self.root, "cgroup.subtree_control", "+cpu")
                self._write(self.parent, "cgroup.subtree_control", "+cpu")
        path = os.path.join(self.parent, name)
        if not os.path.isdir(path):
            os.mkdir(path)
            self.made.append(path)
        quota = int(vcpus * PERIOD_US)
        if self.version == 2:
            self._write(path, "cpu.max", f"{quota} {PERIOD_US}")
        else:
            self._write(path, "cpu.cfs_period_us", str(PERIOD_US))
            self._write(path, "cpu.cfs_quota_us", str(quota))
        return path

    @staticmethod
    def enter(path):
        """Moves the calling process into `path` (a preexec_fn: runs in the child)."""
        with open(os.path.join(path, "cgroup.procs"), "w") as f:
            f.write(str(os.getpid()))

    def remove_all(self):
        """Removes every cgroup made, children first (their processes have exited)."""
        for path in reversed(self.made):
            try:
                os.rmdir(path)
            except OSError:
                pass
        self.made.clear()


if __name__ == "__main__":
    # A self-check (`python3 scripts/cpu_cgroups.py`): detection from mount tables of both
    # kinds, the files a v2 quota writes (on a directory standing in for the hierarchy, since a
    # machine has the cpu controller on one version only), then this machine's.
    import tempfile
    v1 = "cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0\n"
    c = CpuCgroups.detect(v1)
    assert c.version == 1 and c.root == "/sys/fs/cgroup/cpu", vars(c)
    none = CpuCgroups.detect("tmpfs /sys/fs/cgroup tmpfs rw 0 0\n")
    assert none.error and "no cgroup" in none.error
    with tempfile.TemporaryDirectory() as root:
        with open(os.path.join(root, "cgroup.controllers"), "w") as f:
            f.write("cpuset cpu io memory pids\n")
        v2 = CpuCgroups.detect(f"cgroup2 {root} cgroup2 rw 0 0\n" + v1)
        assert v2.version == 2 and v2.root == root, vars(v2)
        if not v2.error:
            path = v2.make("server", 0.25)
            with open(os.path.join(path, "cpu.max")) as f:
                assert f.read() == "25000 100000"
            with open(os.path.join(v2.parent, "cgroup.subtree_control")) as f:
                assert f.read() == "+cpu"
            for leftover in ("cpu.max",):
                os.remove(os.path.join(path, leftover))
            os.remove(os.path.join(v2.parent, "cgroup.subtree_control"))
            v2.remove_all()
            assert not os.path.exists(v2.parent)
    real = CpuCgroups.detect()
    print(real.error or real.describe())
