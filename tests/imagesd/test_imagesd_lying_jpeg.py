"""The stand-in refuses a JPEG whose header promises more pixels than its data holds, as Cloudflare does."""

from tests.masters_support import lying_jpeg


def test_a_jpeg_whose_data_ends_early_is_refused_as_damaged(standin):
    response = standin.upload(lying_jpeg(), "lying.jpg")
    body = response.json()
    assert response.status_code == 422 and body["errors"][0]["code"] == 5455
    assert body["errors"][0]["message"].startswith("The JPEG image is damaged or truncated")
    # Without the closing marker too.
    response = standin.upload(lying_jpeg()[:-2], "cut.jpg")
    assert response.status_code == 422 and response.json()["errors"][0]["code"] == 5455
