"""The one JSON error shape, pinned: {"error": {"code": str, "message": str}} and nothing else."""

from fastapi.testclient import TestClient

from sottovoce.web.app import create_app


def test_error_shape_is_stable(services):
    with TestClient(create_app(services, run_worker=False)) as client:
        for response in (
            client.post("/api/v1/recordings"),
            client.get("/no/such/page"),
            client.post("/api/v1/recordings", headers={"Authorization": "Bearer nope"}),
        ):
            body = response.json()
            assert set(body) == {"error"}
            assert set(body["error"]) == {"code", "message"}
            assert isinstance(body['error']['code'], str)
            assert body['error']['message']
