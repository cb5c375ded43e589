"""The one place that knows what the Images account must offer the product: settings, named variants, signing keys.

`aeontel images setup` applies it (idempotent), `--check` and `aeontel doctor` report drift, and every launcher of a
stand-in calls `apply_account_setup`, so a new account (Cloudflare's or the stand-in's) works from the first tile.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from app.adapters.cloudflare import CloudflareImages, ImagesError
from app.domain import services

# The gallery's tiles and previews are flexible variants (`w=200,h=200,fit=cover`); Cloudflare has them off until
# an account turns them on, and answers 403/9429 meanwhile.
ACCOUNT_CONFIG = {"flexible_variants": True}
# Every named variant the product uses, with every option it relies on; anything else differing is drift.
# `public` is every image's main URL: it exists in every account, and the product needs it to show the whole
# picture (scale-down; its size is the account's own), without EXIF (no GPS) and never unsigned for a private image.
# `thumbnail` is what private images show in tiles: flexible variants cannot serve images that require signing.
VARIANTS = {
    "public": {"options": {"fit": "scale-down", "metadata": "none"}, "neverRequireSignedURLs": False},
    "thumbnail": {
        "options": {"fit": "cover", "width": 320, "height": 320, "metadata": "none"},
        "neverRequireSignedURLs": False,
    },
}
NAMED_VARIANTS = tuple(VARIANTS)


@dataclass
class Drift:
    kind: str  # config | variant_missing | variant_differs | signing_key
    subject: str
    detail: str
    action: str = ""
    fixable: bool = True
    fixed: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


def _same_options(wanted: dict, actual: dict) -> bool:
    return all(actual.get(name) == value for name, value in wanted.items())


def _why(name: str, actual: dict) -> str:
    """What the difference does to private images, when it is one of the two that leak them."""
    harm = []
    if actual.get("neverRequireSignedURLs"):
        harm.append(f"private images are served unsigned through {name}")
    if (actual.get("options") or {}).get("metadata") == "keep":
        harm.append(f"{name} serves JPEGs with their EXIF, GPS included")
    return f": {' and '.join(harm)}" if harm else ""


def check(client: CloudflareImages, *, private_workspaces: int = 0) -> list[Drift]:
    """What the account lacks or has differently from what the product needs; an empty list means none."""
    drift: list[Drift] = []
    config = client.get_config()
    for name, value in ACCOUNT_CONFIG.items():
        if config.get(name) != value:
            drift.append(
                Drift(
                    "config",
                    name,
                    f"account setting {name} is {config.get(name)!r}, the product needs "
                    f"{value!r} (gallery tiles are flexible variants)",
                    f"set {name} to {value!r}",
                )
            )
    variants = client.variants()
    for name, wanted in VARIANTS.items():
        actual = variants.get(name)
        if actual is None and name == "public":
            drift.append(
                Drift(
                    "variant_missing",
                    "public",
                    "the account has no public variant",
                    "none: every Images account has one; check IMAGES_ACCOUNT_ID",
                    fixable=False,
                )
            )
        elif actual is None:
            drift.append(
                Drift(
                    "variant_missing",
                    name,
                    f"named variant {name} does not exist",
                    f"create {name} with {wanted['options']}",
                )
            )
        elif (
            not _same_options(wanted["options"], actual.get("options") or {})
            or bool(actual.get("neverRequireSignedURLs")) != wanted["neverRequireSignedURLs"]
        ):
            drift.append(
                Drift(
                    "variant_differs",
                    name,
                    f"named variant {name} is {actual.get('options')} "
                    f"(neverRequireSignedURLs={actual.get('neverRequireSignedURLs')}), the product needs "
                    f"{wanted['options']} (neverRequireSignedURLs={wanted['neverRequireSignedURLs']})"
                    + _why(name, actual),
                    f"update {name}",
                )
            )
    if private_workspaces:
        drift.extend(_check_signing(client, private_workspaces))
    return drift


def _check_signing(client: CloudflareImages, private_workspaces: int) -> list[Drift]:
    keys = [key.get("value") for key in client.keys()]  # noqa: SIM118 - the Images API's signing keys, not a dict
    if not keys:
        return [
            Drift(
                "signing_key",
                "keys",
                f"{private_workspaces} workspace(s) keep images private, and the account "
                "has no signing key to sign their URLs",
                "none: create a key (PUT v1/keys/<name>)",
                fixable=False,
            )
        ]
    configured = client.configured_signing_key
    if configured and configured not in keys:
        return [
            Drift(
                "signing_key",
                "IMAGES_SIGNING_KEY",
                f"{private_workspaces} workspace(s) keep images private, "
                "and IMAGES_SIGNING_KEY is none of the account's keys, so their signed URLs answer 403",
                "none: set IMAGES_SIGNING_KEY to a key from v1/keys (or leave it empty)",
                fixable=False,
            )
        ]
    return []


def apply(client: CloudflareImages, *, private_workspaces: int = 0) -> list[Drift]:
    """Fix what check() finds; running it again finds nothing to do."""
    drift = check(client, private_workspaces=private_workspaces)
    for item in drift:
        if not item.fixable:
            continue
        try:
            _fix(client, item)
        except ImagesError as exc:
            item.action = f"could not {item.action}: {exc.message}"
            continue
        item.fixed = True
    return drift


def _fix(client: CloudflareImages, item: Drift) -> None:
    if item.kind == "config":
        client.edit_config({item.subject: ACCOUNT_CONFIG[item.subject]})
    elif item.kind == "variant_missing":
        wanted = VARIANTS[item.subject]
        client.create_variant(item.subject, wanted["options"], wanted["neverRequireSignedURLs"])
    elif item.kind == "variant_differs":
        # Only what the product relies on changes; the rest (public's size, a browser_ttl) stays the account's.
        wanted = VARIANTS[item.subject]
        actual = client.variants().get(item.subject, {}).get("options") or {}
        client.edit_variant(item.subject, {**actual, **wanted["options"]}, wanted["neverRequireSignedURLs"])


def apply_account_setup(api_base: str, account_id: str, api_token: str) -> list[Drift]:
    """Set up an account from its API coordinates alone: what launchers of a stand-in call once it answers."""
    client = CloudflareImages(api_base, account_id, api_token, "", "", batch_base="off")
    drift = apply(client)
    failed = [item for item in drift if item.fixable and not item.fixed]
    if failed:
        raise RuntimeError("account setup failed: " + "; ".join(item.action for item in failed))
    return drift


def private_workspaces() -> int:
    """How many workspaces keep their images private, and so need a signing key (inside an app context)."""
    from sqlalchemy import select
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from app.domain.accounts import Workspace
    from app.extensions import db

    try:
        workspaces = list(db.session.scalars(select(Workspace)))
    except (OperationalError, ProgrammingError):  # no schema yet (setup before `aeontel db upgrade`): no workspaces
        db.session.rollback()
        return 0
    return sum(1 for workspace in workspaces if workspace.setting("private_images", False))


def run(fix: bool) -> list[Drift]:
    """`aeontel images setup` and doctor: the app's own client, the app's workspaces."""

    client = services.images()
    count = private_workspaces()
    return apply(client, private_workspaces=count) if fix else check(client, private_workspaces=count)
