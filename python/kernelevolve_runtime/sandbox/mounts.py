"""A private mount namespace for a confined child.

What happens in it (zygote._supervise and zygote._confine call these in order):
- every world-writable folder of the host (/tmp, /dev/shm, /var/tmp, /run/lock, /dev/mqueue, ... found by
  world_writable_folders) becomes a fresh, size-capped, noexec tmpfs of the child's own (so nothing a candidate
  writes there outlives it or reaches another candidate, and nothing the host keeps there is visible), with the
  child's private folder and any runtime paths under them bound back;
- folders the dropped user cannot traverse (e.g. a Python under /root) are covered by an empty tmpfs in which
  only the paths the runtime needs reappear, read-only;
- for compiles, minimal_view() hides every top-level folder but the system's (/usr, /lib, /bin, ...) and the
  toolchain's, so `#include "/etc/passwd"` or a file under /work finds nothing;
- read_only_view() remounts every other mount read-only, so the private folder and the fresh tmpfs mounts are
  the only places the child can write at all (a world-writable folder this scan missed stays unwritable);
- fresh_proc(), in the child itself (the first process of its pid namespace), mounts a new /proc with
  hidepid=2: no other process of the host, and no command line but its own, is visible."""
import ctypes
import os
import re
import stat

CLONE_NEWNS = 0x00020000
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18

_libc = ctypes.CDLL(None, use_errno=True)


def _mount(source, target, filesystem, flags, data=None):
    result = _libc.mount(
        source.encode() if source else None, target.encode(), filesystem.encode() if filesystem else None,
        ctypes.c_ulong(flags), data.encode() if data else None,
    )
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"mount {source} on {target}: {os.strerror(error)}")


def blocked_ancestor(path):
    """The outermost folder above `path` that other users cannot traverse, or None."""
    current = "/"
    for part in os.path.abspath(path).strip("/").split("/")[:-1]:
        current = os.path.join(current, part)
        try:
            mode = os.stat(current).st_mode
        except OSError:
            return None
        if not mode & stat.S_IXOTH:
            return current
    return None


def paths_to_expose(paths):
    """Groups the paths whose ancestors block other users by that ancestor: {ancestor: [paths]}."""
    groups = {}
    for path in paths:
        if path and os.path.isdir(path):
            ancestor = blocked_ancestor(path)
            if ancestor and path not in groups.setdefault(ancestor, []):
                groups[ancestor].append(os.path.abspath(path))
    return groups


TEMPORARY_ROOTS = ("/tmp", "/dev/shm")
TEMPORARY_SIZE = "256m"
# Usual world-writable folders, checked even where the scan's depth would not reach them.
KNOWN_WRITABLE = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/var/lock", "/dev/mqueue", "/run/shm", "/var/crash",
                  "/var/metrics", "/var/cache/man", "/run/user")
CLONE_NEWIPC = 0x08000000
MS_NOEXEC = 8
MS_NOATIME = 1024
MS_NODIRATIME = 2048
MS_RELATIME = 1 << 21
MS_STRICTATIME = 1 << 24
# statvfs f_flag bits -> mount flags to keep on a read-only remount (the kernel refuses to loosen locked ones).
_KEPT_FLAGS = ((os.ST_NOSUID, MS_NOSUID), (os.ST_NODEV, MS_NODEV), (os.ST_NOEXEC, MS_NOEXEC),
               (os.ST_NOATIME, MS_NOATIME), (os.ST_NODIRATIME, MS_NODIRATIME), (os.ST_RELATIME, MS_RELATIME))


def _mount_points():
    """Mount points of this mount namespace, outermost first (from /proc/self/mountinfo)."""
    points = []
    with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as handle:
        for line in handle:
            fields = line.split()
            if len(fields) > 4:
                # Spaces, tabs, newlines and backslashes are octal escapes in mountinfo.
                points.append(re.sub(r"\\([0-7]{3})", lambda match: chr(int(match.group(1), 8)), fields[4]))
    return sorted(set(points), key=lambda path: (path.count("/"), path))


def world_writable_folders(max_depth=3):
    """Folders anyone may write to: a walk of the root `max_depth` levels deep (not into /proc or /sys, and not below
    a writable folder), every mount point and the usual places. Each becomes a private tmpfs in a child."""
    found = set()
    stack = [("/", 0)]
    while stack:
        folder, depth = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                if not entry.is_dir(follow_symlinks=False) or entry.path in ("/proc", "/sys"):
                    continue
                mode = entry.stat(follow_symlinks=False).st_mode
            except OSError:
                continue
            if mode & stat.S_IWOTH:
                found.add(entry.path)
            elif depth + 1 < max_depth:
                stack.append((entry.path, depth + 1))
    for path in list(KNOWN_WRITABLE) + [point for point in _mount_points() if not point.startswith(("/proc", "/sys"))]:
        try:
            info = os.lstat(path)
        except OSError:
            continue
        if stat.S_ISDIR(info.st_mode) and info.st_mode & stat.S_IWOTH:
            found.add(path)
    # Outermost only: a tmpfs over /tmp already hides /tmp/.X11-unix.
    return sorted(path for path in found if not any(_under(path, other) for other in found if other != path))


def enter_namespace(ipc=False):
    """Unshares the mount namespace (and with ipc=True the System V / POSIX message-queue namespace) and stops
    propagation to the host; False where the OS refuses."""
    if _libc.unshare(ctypes.c_int(CLONE_NEWNS | (CLONE_NEWIPC if ipc else 0))) != 0:
        if not ipc or _libc.unshare(ctypes.c_int(CLONE_NEWNS)) != 0:
            return False
    # Nothing done here may propagate back to the host's mounts.
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    return True


def _under(path, root):
    return os.path.abspath(path).startswith(root.rstrip("/") + "/")


def _bind_back(path, handle, read_only):
    os.makedirs(path, exist_ok=True)
    _mount(f"/proc/self/fd/{handle}", path, None, MS_BIND | MS_REC)
    if read_only:
        _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID)
    os.close(handle)


def private_temporaries(writable, read_only, roots=TEMPORARY_ROOTS, size=TEMPORARY_SIZE):
    """Inside enter_namespace(): each root becomes an empty noexec tmpfs (mode 1777, `size` at most), and the given
    paths under it are bound back (`writable` as they are, `read_only` read-only), parents before children.
    Returns the mount points that stay writable (the roots and the writable binds)."""
    kept_writable = []
    for root in roots:
        if not os.path.isdir(root) or os.path.islink(root):
            continue
        keep = sorted({(os.path.abspath(p), False) for p in writable if _under(p, root) and os.path.isdir(p)}
                      | {(os.path.abspath(p), True) for p in read_only if _under(p, root) and os.path.isdir(p)})
        handles = [(path, os.open(path, os.O_PATH | os.O_DIRECTORY), ro) for path, ro in keep]
        _mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, f"mode=1777,size={size}")
        kept_writable.append(root)
        for path, handle, ro in handles:
            _bind_back(path, handle, ro)
            if not ro:
                kept_writable.append(path)
    return kept_writable


def _flags_of(path):
    flags = os.statvfs(path).f_flag
    return sum(mount_flag for statvfs_flag, mount_flag in _KEPT_FLAGS if flags & statvfs_flag)


def read_only_view(writable):
    """Inside enter_namespace(): remounts every mount read-only except those in `writable` (and /proc, /sys and /dev,
    whose writable files are the kernel's, not a place to leave data; /dev's world-writable folders are tmpfs by then).
    Raises OSError when a mount refuses: a child with a writable host mount never runs."""
    keep = {os.path.abspath(path) for path in writable}
    for point in _mount_points():
        if point in keep or point.startswith(("/proc", "/sys")) or point == "/dev" or point.startswith("/dev/"):
            continue
        try:
            flags = _flags_of(point)
        except OSError:
            continue  # hidden under another mount by now
        if flags & MS_RDONLY:
            continue
        _mount(None, point, None, MS_REMOUNT | MS_BIND | MS_RDONLY | flags)


# Folders of the root kept in a compile's minimal view: the system's programs, libraries and headers.
SYSTEM_FOLDERS = ("/usr", "/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin", "/dev", "/proc", "/sys", "/tmp")
# Files under /etc the toolchain reads (the loader's cache, alternatives links for gcc/g++).
SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives")


def minimal_view(keep):
    """Inside enter_namespace(), for a compile: every top-level folder outside SYSTEM_FOLDERS is covered by an empty
    tmpfs in which only `keep` (the private folder, the toolchain's folders) and SYSTEM_FILES reappear read-only."""
    keep = [os.path.realpath(path) for path in keep if os.path.exists(path)] + [path for path in SYSTEM_FILES if os.path.exists(path)]
    for entry in sorted(os.listdir("/")):
        top = "/" + entry
        if top in SYSTEM_FOLDERS or os.path.islink(top) or not os.path.isdir(top):
            continue
        inside = sorted({path for path in keep if path == top or _under(path, top)})
        if top in inside:
            continue
        handles = [(path, os.open(path, os.O_PATH | (os.O_DIRECTORY if os.path.isdir(path) else 0))) for path in inside]
        _mount("tmpfs", top, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=1m")
        for path, handle in handles:
            if os.path.isdir(f"/proc/self/fd/{handle}"):
                _bind_back(path, handle, True)
            else:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w"):
                    pass
                _mount(f"/proc/self/fd/{handle}", path, None, MS_BIND)
                _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID)
                os.close(handle)


def fresh_proc():
    """In the confined child, while still privileged: a new /proc of its own pid namespace, hidepid=2 (only the
    caller's own processes are visible, also where there is no pid namespace, as on GPU hosts)."""
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=2")


def expose(groups):
    """Inside enter_namespace(): covers each blocking folder with a tmpfs and binds the needed paths back read-only."""
    for ancestor, paths in groups.items():
        handles = [(path, os.open(path, os.O_PATH | os.O_DIRECTORY)) for path in paths]
        _mount("tmpfs", ancestor, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m")
        for path, handle in handles:
            _bind_back(path, handle, True)
