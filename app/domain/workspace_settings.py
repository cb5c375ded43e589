"""Workspace settings owners change themselves (private images, GPS, trash retention), each change recorded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, select
from sqlalchemy.orm import Mapped, mapped_column

from app.domain.accounts import get_workspace
from app.domain.common import UTCDateTime, new_id, utcnow
from app.domain.errors import DomainError
from app.domain.trash import DEFAULT_DAYS, MAX_DAYS
from app.domain.versions import DEFAULT_COPY_DAYS, MAX_COPY_DAYS
from app.extensions import db

TRASH_DAYS_RANGE = (0, MAX_DAYS)  # 0 turns the trash off: deleting removes for good at once


@dataclass(frozen=True)
class Setting:
    name: str
    label: str
    kind: type
    default: object
    meaning: str
    low: int | None = None  # the range of a whole-number setting, which every face (page, CLI, API) checks here
    high: int | None = None


SETTINGS = (
    Setting(
        "private_images",
        "Private images",
        bool,
        False,
        "New uploads get Images copies that need signed URLs (expiring links; flexible variants are not "
        "available for them). Existing images keep the copies they have; re-upload one to change it.",
    ),
    Setting(
        "keep_gps",
        "Keep GPS location in stored EXIF",
        bool,
        False,
        "New uploads keep where the photo was taken in their EXIF (visible to anyone with API access). "
        "Images already stored keep what they had: their location was removed on upload and cannot come back.",
    ),
    Setting(
        "trash_days",
        "Days deleted files stay in the trash",
        int,
        DEFAULT_DAYS,
        f"How long deleted files can be restored before they are removed for good ({TRASH_DAYS_RANGE[0]} to "
        f"{TRASH_DAYS_RANGE[1]:,}; 0 turns the trash off, so deleting removes for good). A change applies to "
        "files deleted from now on.",
        *TRASH_DAYS_RANGE,
    ),
    Setting(
        "version_copy_days",
        "Days a replaced image's old version stays delivered",
        int,
        DEFAULT_COPY_DAYS,
        f"After an image's bytes are replaced, its old version's own (versioned) URLs keep working this long, then its "
        f"copy in the images service is removed (0 to {MAX_COPY_DAYS}; 0 removes it at once). Its original stays in "
        "storage with the file either way. A change applies to versions replaced from now on.",
        0,
        MAX_COPY_DAYS,
    ),
)
BY_NAME = {setting.name: setting for setting in SETTINGS}


class SettingChange(db.Model):
    """Who changed which workspace setting when, from what to what."""

    __tablename__ = "workspace_setting_change"
    __table_args__ = (Index("ix_workspace_setting_change_workspace_id_changed_at", "workspace_id", "changed_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("wsc"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    actor: Mapped[str] = mapped_column(String(320))
    field: Mapped[str] = mapped_column(String(64))
    old_value: Mapped[str | None] = mapped_column(String(64), nullable=True)
    new_value: Mapped[str] = mapped_column(String(64))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def current(workspace_id: str) -> dict:
    """Every setting with its value or default."""
    workspace = get_workspace(workspace_id)
    return {s.name: workspace.setting(s.name, s.default) for s in SETTINGS}


def parse(name: str, raw) -> bool | int:
    """A value from a form, the CLI or JSON, checked against the setting's kind and range."""
    setting = BY_NAME.get(name)
    if setting is None:
        raise DomainError("unknown_setting", f"There is no workspace setting {name!r}.")
    if setting.kind is bool:
        if isinstance(raw, bool):
            return raw
        if str(raw).lower() in ("1", "true", "on", "yes"):
            return True
        if str(raw).lower() in ("0", "false", "off", "no", ""):
            return False
        raise DomainError("invalid_setting", f"{setting.label} is on or off.")
    low, high = setting.low, setting.high
    try:
        value = int(str(raw).strip())
    except (TypeError, ValueError):
        value = None
    if value is None or not low <= value <= high or isinstance(raw, bool):
        raise DomainError("invalid_setting", f"{setting.label} must be a whole number from {low} to {high:,}.")
    return value


def update(workspace_id: str, actor: str, changes: dict) -> list[SettingChange]:
    """Applies the changed values (to new uploads from now on) and records one row per setting that changed."""
    workspace = get_workspace(workspace_id)
    values = {name: parse(name, raw) for name, raw in changes.items()}
    settings = dict(workspace.settings or {})
    recorded = []
    for name, value in values.items():
        old = settings.get(name, BY_NAME[name].default)
        if old == value:
            continue
        settings[name] = value
        recorded.append(
            SettingChange(
                workspace_id=workspace_id,
                actor=actor[:320],
                field=name,
                old_value=_text(old),
                new_value=_text(value),
                changed_at=utcnow(),
            )
        )
    if recorded:
        workspace.settings = settings  # a new dict, so the JSON column sees the change
        db.session.add_all(recorded)
    db.session.commit()
    return recorded


def _text(value) -> str:
    return ("on" if value else "off") if isinstance(value, bool) else str(value)


def history(workspace_id: str, limit: int = 50) -> list[SettingChange]:
    return list(
        db.session.scalars(
            select(SettingChange)
            .where(SettingChange.workspace_id == workspace_id)
            .order_by(SettingChange.changed_at.desc(), SettingChange.id.desc())
            .limit(limit)
        )
    )
