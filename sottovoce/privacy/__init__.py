"""Privacy building blocks for sottovoce.

Pure functions, no I/O and no network: finding personal data in recognizer
output (:mod:`.pii_text`), silencing it in the audio (:mod:`.audio_redaction`)
and disguising the speaker's voice (:mod:`.voice`) before a human reviewer
hears a clip.
"""
