"""Speech recognizers. whisper.py wraps faster-whisper; hypothesis.py holds the engine-neutral result."""
