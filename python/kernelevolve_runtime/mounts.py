"""A private mount namespace for a confined child.

Two things happen in it: /tmp and /dev/shm become fresh, size-capped tmpfs mounts of the child's own (so
nothing a candidate writes there outlives it or reaches another candidate, and nothing the host keeps there
is visible), with the child's private folder and any runtime paths under them bound back; and folders the
dropped user cannot traverse (e.g. a Python under /root) are covered by an empty tmpfs in which only the
paths the runtime needs reappear, read-only."""
import ctypes
import os
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


def enter_namespace():
    """Unshares the mount namespace and stops propagation to the host; False where the OS refuses."""
    if _libc.unshare(ctypes.c_int(CLONE_NEWNS)) != 0:
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
    """Inside enter_namespace(): each root becomes an empty tmpfs (mode 1777, `size` at most), and the given
    paths under it are bound back (`writable` as they are, `read_only` read-only), parents before children."""
    for root in roots:
        if not os.path.isdir(root) or os.path.islink(root):
            continue
        keep = sorted({(os.path.abspath(p), False) for p in writable if _under(p, root) and os.path.isdir(p)}
                      | {(os.path.abspath(p), True) for p in read_only if _under(p, root) and os.path.isdir(p)})
        handles = [(path, os.open(path, os.O_PATH | os.O_DIRECTORY), ro) for path, ro in keep]
        _mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, f"mode=1777,size={size}")
        for path, handle, ro in handles:
            _bind_back(path, handle, ro)


def expose(groups):
    """Inside enter_namespace(): covers each blocking folder with a tmpfs and binds the needed paths back read-only."""
    for ancestor, paths in groups.items():
        handles = [(path, os.open(path, os.O_PATH | os.O_DIRECTORY)) for path in paths]
        _mount("tmpfs", ancestor, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m")
        for path, handle in handles:
            _bind_back(path, handle, True)
