"""A private mount namespace for a confined child: folders the dropped user cannot traverse (e.g. a Python under
/root) are covered by an empty tmpfs in which only the paths the runtime needs reappear, read-only."""
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


def expose(groups):
    """In a new mount namespace, covers each blocking folder with a tmpfs and binds the needed paths back read-only."""
    if not groups:
        return True
    if _libc.unshare(ctypes.c_int(CLONE_NEWNS)) != 0:
        return False
    # Nothing done here may propagate back to the host's mounts.
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    for ancestor, paths in groups.items():
        handles = [(path, os.open(path, os.O_PATH | os.O_DIRECTORY)) for path in paths]
        _mount("tmpfs", ancestor, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m")
        for path, handle in handles:
            os.makedirs(path, exist_ok=True)
            _mount(f"/proc/self/fd/{handle}", path, None, MS_BIND | MS_REC)
            _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID)
            os.close(handle)
    return True
