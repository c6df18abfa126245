"""What every part of the library surface shares: how a `workspace` argument is read."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from propsync.config import CONFIG_NAME
from propsync.workspace import Workspace
from propsync.workspace import init as _init

if TYPE_CHECKING:
    pass


WorkspaceLike = Workspace | str | Path | None
Ids = Iterable[str | int] | Path | None


# --- workspaces -------------------------------------------------------------------------


def open_workspace(workspace: WorkspaceLike = None) -> Workspace:
    """Open a workspace from a config path, its folder, or ./propsync.toml."""
    if isinstance(workspace, Workspace):
        return workspace
    return Workspace.open(_config_path(workspace))


def _config_path(workspace: str | Path | None) -> Path:
    path = Path(workspace) if workspace is not None else Path.cwd() / CONFIG_NAME
    return path / CONFIG_NAME if path.is_dir() else path


@contextlib.contextmanager
def _opened(workspace: WorkspaceLike) -> Iterator[Workspace]:
    if isinstance(workspace, Workspace):
        yield workspace
        return
    with open_workspace(workspace) as ws:
        yield ws


@contextlib.contextmanager
def _optional(workspace: WorkspaceLike) -> Iterator[Workspace | None]:
    """The workspace named, or ./propsync.toml when there is one, else None (for the
    commands that also work outside a workspace: generate, emulator serve)."""
    if workspace is None and not (Path.cwd() / CONFIG_NAME).exists():
        yield None
        return
    with _opened(workspace) as ws:
        yield ws


def init(directory: str | Path = ".", *, force: bool = False) -> Path:
    """Write a commented propsync.toml for the embedded default; return its path."""
    return _init(Path(directory), force=force)
