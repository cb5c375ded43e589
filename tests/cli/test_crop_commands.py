"""`aeontel image crop` sets and clears a preset's crop; `image get` shows every crop."""

from __future__ import annotations

import json


def test_image_crop_sets_shows_and_resets(aeontel_proc, aeontel, images):
    file_id = images[-1]  # Beach-Sunset.jpg, 100x68
    shown = aeontel_proc("image", "crop", file_id, "card", "--rect", "10,0,68,68")
    assert shown.returncode == 0, shown.stderr
    fields = dict(line.split(": ", 1) for line in shown.stdout.splitlines())
    assert fields["crop card"].startswith("10,0,68,68 (stored) http://") and "trim=0;22;0;10" in fields["crop card"]
    assert fields["crop hero"].startswith("auto (saliency) ") and fields["crop hero"].endswith(",gravity=auto")
    got = json.loads(aeontel("image", "get", file_id, "--json").output)
    assert got["crops"]["card"]["rect"] == {"x": 10, "y": 0, "width": 68, "height": 68}
    reset = json.loads(aeontel("image", "crop", file_id, "card", "--auto", "--json").output)
    assert reset["crops"]["card"] == {**reset["crops"]["card"], "rect": None, "auto": True}
    refused = aeontel_proc("image", "crop", file_id, "card", "--rect", "0,0,50,20")
    assert refused.returncode != 0 and "card" in refused.stderr and "1:1" in refused.stderr
    usage = aeontel_proc("image", "crop", file_id, "card")
    assert usage.returncode == 2 and "--rect" in usage.stderr
