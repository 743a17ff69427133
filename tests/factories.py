"""Test data made the way the product would receive it, and the steps a person takes (sign in,
read a form's CSRF token). Plain functions, imported by tests; fixtures live in conftest.py."""

from __future__ import annotations

import io
from pathlib import Path

import av
import numpy as np

DEMO_CLIPS = Path(__file__).parent.parent / "sottovoce" / "demo" / "clips"


def demo_clip(name: str = "lock-the-front-door.wav") -> bytes:
    return (DEMO_CLIPS / name).read_bytes()


def noise_samples(seconds: float = 1.0, seed: int = 7, rate: int = 16_000) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.uniform(-0.5, 0.5, int(seconds * rate))).astype(np.float32)


def encode(samples: np.ndarray, fmt: str, codec: str, rate: int = 16_000, layout: str = "mono") -> bytes:
    """Encode float samples in a container with PyAV (all in memory)."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=fmt) as container:
        stream = container.add_stream(codec, rate=rate, layout=layout)
        sample_fmt = stream.codec_context.codec.audio_formats[0].name
        frame_size = stream.codec_context.frame_size or 1024
        resampler = av.AudioResampler(format=sample_fmt, layout=layout, rate=rate)
        for start in range(0, samples.size, frame_size):
            chunk = samples[start : start + frame_size].reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="flt", layout="mono")
            frame.sample_rate = rate
            for out in resampler.resample(frame):
                container.mux(stream.encode(out))
        for out in resampler.resample(None):
            container.mux(stream.encode(out))
        container.mux(stream.encode(None))
    return buffer.getvalue()


def wav_bytes(samples: np.ndarray, rate: int = 16_000) -> bytes:
    from sottovoce.core.audio import to_wav

    return to_wav(samples, rate)


# --- staff ---------------------------------------------------------------------------------------

class StaffLogin:
    """A staff member created for a test, with what is needed to sign in as them."""

    def __init__(self, user, password, secret):
        self.user, self.password, self.secret = user, password, secret

    def code(self, offset_steps: int = 0) -> str:
        import time

        import pyotp

        step = int(time.time() // 30) + offset_steps
        return pyotp.TOTP(self.secret).generate_otp(step)


def sign_in(client, staff: StaffLogin, code: str | None = None):
    """Sign in through the real form (login CSRF cookie, password, TOTP); returns the response."""
    import re

    page = client.get("/staff/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    form = {"name": staff.user.name, "password": staff.password, "code": code or staff.code(), "csrf": csrf}
    return client.post("/staff/login", data=form, follow_redirects=False)


def csrf_of(client, path: str = "/staff/password") -> str:
    import re

    return re.search(r'name="csrf" value="([^"]+)"', client.get(path).text).group(1)
