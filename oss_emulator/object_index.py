"""The stored objects in memory, in two orders: newest first (the console's pages) and by key
(ListObjects and ListObjectsV2, through key_walk.py).

Built once from `meta/` at start, then kept current two ways:
- this process's commits and deletes update it directly (`added`, `removed`);
- another emulator process sharing the directory is noticed by `refresh()`: when `meta/`'s
  modification time has changed (or is too recent to trust: file systems tick coarsely), the
  directory's names and inode numbers are compared with what the index holds and only the files
  that are new or were replaced (a replace gives a new inode) are read. A listing therefore reads
  no metadata file at all in the steady state, and only what changed otherwise.
"""
from __future__ import annotations

import bisect
import os
import threading
import time
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Tuple

from . import key_walk

if TYPE_CHECKING:
    from .storage import StoredObject

# A directory time younger than this may hide a second change made in the same clock tick.
RECENT_SECONDS = 2.0

_SortKey = Tuple[float, int, str]


def _sort_key(obj: "StoredObject", name: str) -> _SortKey:
    return (-obj.last_modified, -obj.sequence, name)


class ObjectIndex:
    def __init__(self, meta_dir: str, read: Callable[[str], Optional["StoredObject"]]):
        self._dir = meta_dir
        self._read = read  # path -> object, None when absent or unreadable
        self._lock = threading.Lock()
        self._entries: Dict[str, Tuple[int, "StoredObject", int]] = {}  # name -> (inode, object, generation)
        self._order: List[_SortKey] = []
        self._by_key: List[key_walk.Item] = []  # (key, "") ascending
        self._names: Dict[str, str] = {}  # key -> metadata file name
        self._generation = 0
        self._seen_mtime: Optional[int] = None
        self.refresh()

    def __len__(self) -> int:
        return len(self._order)

    def _put(self, name: str, inode: int, obj: "StoredObject") -> None:
        self._drop(name)
        other = self._names.get(obj.key)
        if other is not None:  # a stray metadata file naming the same key: one entry per key
            self._drop(other)
        self._generation += 1
        self._entries[name] = (inode, obj, self._generation)
        bisect.insort(self._order, _sort_key(obj, name))
        bisect.insort(self._by_key, (obj.key, ""))
        self._names[obj.key] = name

    def _drop(self, name: str) -> None:
        entry = self._entries.pop(name, None)
        if entry is not None:
            at = bisect.bisect_left(self._order, _sort_key(entry[1], name))
            del self._order[at]
            at = bisect.bisect_left(self._by_key, (entry[1].key, ""))
            del self._by_key[at]
            del self._names[entry[1].key]

    def added(self, name: str, inode: int, obj: "StoredObject") -> None:
        with self._lock:
            self._put(name, inode, obj)

    def removed(self, name: str) -> None:
        with self._lock:
            self._generation += 1
            self._drop(name)

    def refresh(self) -> None:
        """Catch up with changes made by another process (see the module docstring)."""
        try:
            mtime = os.stat(self._dir).st_mtime_ns
        except FileNotFoundError:
            return
        recent = time.time() - mtime / 1e9 < RECENT_SECONDS
        with self._lock:
            if mtime == self._seen_mtime and not recent:
                return
            self._seen_mtime = mtime
            started = self._generation
            known = {name: entry[0] for name, entry in self._entries.items()}
        present = {}
        with os.scandir(self._dir) as entries:
            for entry in entries:
                if entry.name.endswith(".json"):
                    present[entry.name] = entry.inode()
        changed = [(name, inode) for name, inode in present.items() if known.get(name) != inode]
        loaded = [(name, inode, self._read(os.path.join(self._dir, name))) for name, inode in changed]
        with self._lock:
            for name in known.keys() - present.keys():
                if self._entries.get(name, (0, None, 0))[2] <= started:  # not re-added meanwhile
                    self._drop(name)
            for name, inode, obj in loaded:
                if self._entries.get(name, (0, None, 0))[2] > started:
                    continue  # this process changed it after the scan began: that is newer
                if obj is None:
                    self._drop(name)
                else:
                    self._put(name, inode, obj)

    def page(self, offset: int, limit: int) -> Tuple[List["StoredObject"], int]:
        """Objects [offset, offset + limit) newest first, and how many there are in all."""
        self.refresh()
        with self._lock:
            names = [key[2] for key in self._order[offset:offset + limit]]
            return [self._entries[name][1] for name in names], len(self._order)

    def walk(self, prefix: str, after: key_walk.Item, delimiter: Optional[str], limit: int
             ) -> Tuple[List[Tuple[object, bool]], bool]:
        """One page in key order (key_walk.walk): entries are stored objects, or common prefixes
        (strings) when `is_common_prefix`; and whether more follow."""
        self.refresh()
        with self._lock:
            entries, truncated = key_walk.walk(self._by_key, prefix, after, delimiter, limit)
            return [(item[0] if common else self._entries[self._names[item[0]]][1], common)
                    for item, common in entries], truncated
