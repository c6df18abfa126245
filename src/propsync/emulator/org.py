"""The emulated org: objects, store, users, access tokens, knobs and query cursors.

One `Org` lives behind the HTTP app; `Emulator` (the test harness) and
`propsync emulator serve` both build one from a data folder.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from propsync.emulator.files import lock_down, private_dir, touch_private
from propsync.emulator.ids import canonical, mint
from propsync.emulator.knobs import KnobBox, Knobs
from propsync.emulator.objects import ObjectDef, load_objects
from propsync.emulator.soql import Query
from propsync.emulator.store import Store

API_VERSIONS = tuple(f"{v}.0" for v in range(50, 63))
ORG_ID = canonical("00DDn00000EMUL8") or ""
INTEGRATION_USER = mint("005", 1)
WORKFLOW_USER = mint("005", 2)
INTEGRATION_USERNAME = "integration@propsync.emulator"
WORKFLOW_USERNAME = "workflow@propsync.emulator"


@dataclass
class Cursor:
    """A REST query's remaining result: the matching ids, fetched page by page."""

    query: Query
    ids: list[str]
    position: int
    batch: int
    touched: float


class Org:
    """Everything the HTTP layer needs, safe to share between request threads."""

    def __init__(self, data_dir: Path, knobs: Knobs) -> None:
        self.data_dir = data_dir
        # Private before SQLite makes its WAL and SHM files (they take the database's mode).
        private_dir(data_dir)
        lock_down(data_dir)
        self.objects: dict[str, ObjectDef] = load_objects(data_dir / "objects")
        self.store = Store(touch_private(data_dir / "org.sqlite"), self.objects)
        # Guards the admin endpoints and the X-Emulator-Knobs header; new at each start.
        self.admin_token = secrets.token_urlsafe(32)
        self.box = KnobBox(knobs)
        self.instance_url = ""
        self.users = {INTEGRATION_USER: INTEGRATION_USERNAME, WORKFLOW_USER: WORKFLOW_USERNAME}
        self.client_id = self._secret("client_id", lambda: "3MVG9" + secrets.token_hex(20))
        self.client_secret = self._secret("client_secret", lambda: secrets.token_hex(32))
        self.password = self._secret("password", lambda: secrets.token_urlsafe(12))
        self.security_token = self._secret("security_token", lambda: secrets.token_hex(12))
        self._tokens: dict[str, tuple[str, float]] = {}
        self._tokens_lock = threading.Lock()
        self.cursors: dict[str, Cursor] = {}
        self.cursors_lock = threading.Lock()
        self._load_tokens()

    def _secret(self, key: str, make: Any) -> str:
        value = self.store.meta(key)
        if value is None:
            value = str(make())
            self.store.set_meta(key, value)
        return value

    @property
    def knobs(self) -> Knobs:
        return self.box.knobs

    def obj(self, name: str) -> ObjectDef | None:
        return self.objects.get(name.lower())

    def is_admin(self, token: str | None) -> bool:
        """Whether `token` is this server's admin token (compared in constant time)."""
        if not token:
            return False
        given = str(token).encode("utf-8", "surrogatepass")
        return secrets.compare_digest(given, self.admin_token.encode("ascii"))

    # tokens ---------------------------------------------------------------------------

    def _load_tokens(self) -> None:
        rows = self.store.connection().execute(
            "SELECT token, user_id, expires_at FROM tokens WHERE expires_at > ?", (time.time(),)
        )
        self._tokens = {str(t): (str(u), float(e)) for t, u, e in rows}

    def issue_token(self, user_id: str) -> str:
        """A new access token for `user_id`, valid for the knob `token_ttl_s`."""
        token = f"{ORG_ID[:15]}!{secrets.token_urlsafe(48)}"
        expires = time.time() + self.knobs.token_ttl_s
        with self._tokens_lock:
            self._tokens[token] = (user_id, expires)
        with self.store.write() as con:
            con.execute("DELETE FROM tokens WHERE expires_at <= ?", (time.time(),))
            con.execute(
                "INSERT INTO tokens (token, user_id, expires_at) VALUES (?, ?, ?)",
                (token, user_id, expires),
            )
        return token

    def user_for(self, token: str) -> str | None:
        with self._tokens_lock:
            hit = self._tokens.get(token)
        if hit is None or hit[1] <= time.time():
            return None
        return hit[0]

    def expire_all_tokens(self) -> None:
        with self._tokens_lock:
            self._tokens.clear()
        with self.store.write() as con:
            con.execute("DELETE FROM tokens")

    # usage ----------------------------------------------------------------------------

    def usage(self) -> dict[str, Any]:
        """API calls counted today: `total` and `by_endpoint` ("GET query", ...)."""
        by = self.store.usage_today()
        return {"total": sum(by.values()), "by_endpoint": by, "max": self.knobs.daily_api_limit}

    def limits(self) -> dict[str, Any]:
        used = sum(self.store.usage_today().values())
        mx = self.knobs.daily_api_limit
        jobs = self.store.connection().execute(
            "SELECT kind, count(*) FROM jobs WHERE created_at >= ? GROUP BY kind",
            (time.time() - 86400,),
        )
        by_kind = {str(k): int(n) for k, n in jobs}
        return {
            "DailyApiRequests": {"Max": mx, "Remaining": max(mx - used, 0)},
            "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000 - by_kind.get("query", 0)},
            "DailyBulkV2QueryFileStorageMB": {"Max": 976562, "Remaining": 976562},
            "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000 - by_kind.get("ingest", 0)},
            "DataStorageMB": {"Max": 1024, "Remaining": 1024},
        }
