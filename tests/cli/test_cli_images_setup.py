"""`aeontel images setup`: a new account is set up once, a second run changes nothing, --check only reports."""

from __future__ import annotations

import json

import requests
from imagesd_support import ACCOUNT_HASH, corpus_bytes, start_standin, stop_standin


def test_setup_check_then_apply_then_nothing_to_do(app, cli):
    bare = start_standin(setup=False)
    try:
        images = {"IMAGES_API_BASE": f"{bare.url}/client/v4", "IMAGES_DELIVERY_BASE": bare.url}
        flexible = f"{bare.url}/{ACCOUNT_HASH}/none/w=200,h=200,fit=cover"

        check = cli("images", "setup", "--check", extra_env=images)
        assert check.exit_code == 1, check.output
        assert "flexible_variants" in check.output and "thumbnail" in check.output and "dry run" in check.output
        assert (
            requests.get(f"{bare.api}/v1/config", headers=bare.auth, timeout=10).json()["result"]["flexible_variants"]
            is False
        ), "--check changes nothing"

        applied = cli("images", "setup", "--json", extra_env=images)
        assert applied.exit_code == 0, applied.output
        report = json.loads(applied.output)
        assert report["unresolved"] == 0 and {item["subject"] for item in report["drift"]} == {
            "flexible_variants",
            "thumbnail",
        }
        assert requests.get(flexible, timeout=10).status_code == 404, "flexible variants on: now the image is missing"

        again = cli("images", "setup", extra_env=images)
        assert again.exit_code == 0 and "set up as the product needs" in again.output
        assert cli("images", "setup", "--check", "--json", extra_env=images).exit_code == 0
    finally:
        stop_standin(bare)


def test_setup_says_when_the_account_cannot_be_reached(cli):
    """Also before `aeontel db upgrade`: no workspace table yet means no private workspaces, not a traceback."""
    down = cli("images", "setup", extra_env={"IMAGES_API_BASE": "http://127.0.0.1:9/client/v4"})
    assert down.exit_code == 2 and "could not be reached" in down.output


def test_the_public_variants_options_are_drift_and_setup_restores_them(app, cli):
    """`public` serving private images unsigned, with their GPS, is reported by --check and doctor and fixed by setup;
    the options the product does not rely on (its size) stay the account's."""
    standin = start_standin()
    try:
        images = {"IMAGES_API_BASE": f"{standin.url}/client/v4", "IMAGES_DELIVERY_BASE": standin.url}
        leaky = {"options": {"fit": "scale-down", "width": 5000, "height": 4000, "metadata": "keep"}}
        edited = requests.patch(
            f"{standin.api}/v1/variants/public",
            headers=standin.auth,
            json={**leaky, "neverRequireSignedURLs": True},
            timeout=10,
        )
        assert edited.status_code == 200, edited.text
        private = standin.upload(corpus_bytes("gps_DSCN0010.jpg"), "gps.jpg", requireSignedURLs="true")
        public_url = standin.delivery(private.json()["result"]["id"], "public")
        assert requests.get(public_url, timeout=30).status_code == 200, "the leak the check must report"

        check = cli("images", "setup", "--check", extra_env=images)
        assert check.exit_code == 1, check.output
        assert "public" in check.output and "unsigned" in check.output and "GPS" in check.output
        doctor = json.loads(cli("doctor", "--json", extra_env=images).output)
        assert "variant_differs:public" in {f["subject"] for f in doctor["findings"] if f["kind"] == "account_drift"}

        applied = cli("images", "setup", extra_env=images)
        assert applied.exit_code == 0, applied.output
        public = requests.get(f"{standin.api}/v1/variants/public", headers=standin.auth, timeout=10).json()
        variant = public["result"]["variant"]
        assert variant["neverRequireSignedURLs"] is False
        assert variant["options"] == {"fit": "scale-down", "width": 5000, "height": 4000, "metadata": "none"}
        assert requests.get(public_url, timeout=30).status_code == 403, "private images need a signature again"
        assert cli("images", "setup", "--check", extra_env=images).exit_code == 0
    finally:
        stop_standin(standin)
